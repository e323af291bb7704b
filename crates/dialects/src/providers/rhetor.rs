//! Tekton's Rhetor: `{"message", "context", "system"?, "temperature", "max_tokens",
//! "context_id", …}` in, with one `context_id` for the whole run (the configured one, else the
//! session id), since Rhetor keeps the conversation itself; `{"type":"chunk","content":…}`
//! messages up to `complete` (or `error`) out.

use std::borrow::Cow;

use aish_plugin_sdk::{Event, Outgoing, TransportError};
use serde_json::{Value, json};

use crate::provider::{Config, HttpShape, Message, Progress, Provider, Tally, WholeAnswer, parse_json};
use crate::skim::{self, Skim};

/// The `rhetor` dialect; remembers the bytes around the last chunk's text.
#[derive(Debug, Default)]
pub(crate) struct Rhetor {
    memo: skim::Memo,
}

impl Provider for Rhetor {
    fn name(&self) -> &'static str {
        "rhetor"
    }

    fn request(&self, message: &Outgoing, context: &Value, config: &Config) -> Result<HttpShape, TransportError> {
        let mut body = json!({
            "message": message.message,
            "context": context,
            "temperature": config.setting_f64("temperature").unwrap_or(0.7),
            "max_tokens": config.setting_u64("max_tokens").unwrap_or(4000),
            "include_metadata": true,
            "stream": message.stream,
        });
        // One Rhetor conversation per run: the configured id, else one the caller set, else
        // the session's. No history array: Rhetor keeps the turns under that id.
        let id = [config.setting("context_id"), context.get("context_id"), context.get("session_id")]
            .into_iter()
            .flatten()
            .find(|id| !id.is_null());
        if let Some(id) = id {
            body["context_id"] = id.clone();
        }
        if let Some(system) = &message.system {
            body["system"] = json!(system);
        }
        Ok(HttpShape::json(&body, Vec::new()))
    }

    fn parse_answer(&self, answer: &Value) -> Option<WholeAnswer> {
        super::aish::whole_text(answer).map(|text| WholeAnswer::text(text, None))
    }

    fn on_message(
        &mut self,
        message: &Message<'_>,
        tally: &mut Tally,
        out: &mut Vec<Event>,
    ) -> Result<Progress, TransportError> {
        if self.memo.read_token(message.data, "", |memo| chunk_text(message.data, memo), tally, out) {
            return Ok(Progress::More);
        }
        let value: Value = parse_json(self.name(), message.data)?;
        match value.get("type").and_then(Value::as_str) {
            Some("chunk") => {
                if let Some(text) = value.get("content").and_then(Value::as_str) {
                    tally.token(out, text);
                }
                Ok(Progress::More)
            }
            Some("complete") => {
                if let Some(meta) = value.get("metadata") {
                    out.push(Event::Metadata(meta.to_string()));
                }
                out.push(tally.done());
                Ok(Progress::Finished)
            }
            Some("error") => {
                let text =
                    value.get("error").and_then(Value::as_str).unwrap_or("Rhetor reported an error without a message");
                out.push(Event::Error(text.to_owned()));
                Ok(Progress::Finished)
            }
            _ => Ok(Progress::More),
        }
    }
}

/// The text of a `chunk` message (nearly every message of an answer), read in one pass with no
/// tree when its `type` and `content` are strings given once; other fields are skipped, as the
/// whole parse ignores them. `None` at any other message or shape, which serde then reads in
/// full.
fn chunk_text<'a>(data: &'a str, memo: &mut skim::Memo) -> Option<Cow<'a, str>> {
    let (mut text, mut seen, mut span, mut chunk) = (None, 0, (0, 0), false);
    let free = skim::object(data, |key, s| match key {
        k if skim::is(k, "type") => {
            skim::first(&mut seen, 1)?;
            chunk = skim::is(&s.string()?, "chunk");
            Some(())
        }
        k if skim::is(k, "content") => {
            skim::first(&mut seen, 2).and_then(|()| skim::text(s, &mut text, &mut span, Skim::string))
        }
        _ => s.skip(),
    })?;
    if !chunk {
        return None;
    }
    memo.learn(data, span, "", free);
    text
}

#[cfg(test)]
mod tests {
    use aish_plugin_sdk::{ConnectOptions, Event, Role};
    use serde_json::json;

    use crate::testing::{body, dialect, outgoing, run, text};
    use crate::{Dialect, Progress};

    #[test]
    fn rhetor_chunks_complete_and_error() {
        let mut d = dialect("rhetor");
        let (out, progress) = run(
            &mut d,
            &[
                ("message", r#"{"type":"chunk","content":"Hi"}"#),
                ("message", r#"{"type":"complete","metadata":{"model":"x"}}"#),
            ],
        );
        assert_eq!(text(&out), "Hi");
        assert_eq!(progress, Progress::Finished);
        let mut d = dialect("rhetor");
        let (out, _) = run(&mut d, &[("message", r#"{"type":"error","error":"no budget"}"#)]);
        assert_eq!(out, vec![Event::Error("no budget".into())]);
    }

    #[test]
    fn rhetor_keeps_one_context_id_per_run_and_sends_the_persona() {
        let context = r#"{"session_id":"sess-42","pipeline_position":1}"#;
        let message = outgoing("hi", Some("You are Rhetor."), &[(Role::User, "a"), (Role::Assistant, "b")], context);
        let body_of = |settings: &str| {
            let d = Dialect::new(ConnectOptions {
                url: "http://127.0.0.1:1/".into(),
                dialect: "rhetor".into(),
                model: None,
                api_key: None,
                settings: settings.into(),
            })
            .unwrap();
            body(&d, &message)
        };
        let sent = body_of("");
        assert_eq!(sent["context_id"], "sess-42");
        assert_eq!(sent["system"], "You are Rhetor.");
        assert_eq!(sent["context"], json!({"session_id": "sess-42", "pipeline_position": 1}));
        assert!(sent.get("history").is_none(), "Rhetor keeps the turns itself");
        assert_eq!(body_of(r#"{"context_id":"mine"}"#)["context_id"], "mine");
        assert!(body(&dialect("rhetor"), &outgoing("hi", None, &[], "{}")).get("system").is_none());
    }
}
