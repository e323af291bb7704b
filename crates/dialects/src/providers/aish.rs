//! aish's own protocol (and the embedded demo AIs'): `{"message", "context", "stream",
//! "system"?, "history"}` in (the whole context object, the persona when set, the earlier turns
//! as `{"role", "content"}`); `{"event":"token","data":{"token":…}}` messages up to `done` (or
//! `error`) out; a whole answer is `{"response": …}`.

use std::borrow::Cow;

use aish_plugin_sdk::{Event, Outgoing, TransportError};
use serde::Deserialize;
use serde_json::value::RawValue;
use serde_json::{Value, json};

use crate::conversation::role_name;
use crate::skim::{self, Skim};
use crate::provider::{Config, HttpShape, Message, Progress, Provider, Tally, WholeAnswer, parse_json, protocol};

/// The `aish` dialect.
#[derive(Debug, Default)]
pub(crate) struct Aish {
    memo: skim::Memo,
}

impl Provider for Aish {
    fn name(&self) -> &'static str {
        "aish"
    }

    fn request(&self, message: &Outgoing, context: &Value, _config: &Config) -> Result<HttpShape, TransportError> {
        let mut body = aish_body(message, context);
        body["stream"] = json!(message.stream);
        Ok(HttpShape::json(&body, Vec::new()))
    }

    fn socket_request(&self, message: &Outgoing, context: &Value, _config: &Config) -> Result<Vec<u8>, TransportError> {
        // On a socket the connection is the stream: no `stream` field.
        Ok(aish_body(message, context).to_string().into_bytes())
    }

    fn parse_answer(&self, answer: &Value) -> Option<WholeAnswer> {
        whole_text(answer).map(|text| WholeAnswer::text(text, None))
    }

    fn on_message(
        &mut self,
        message: &Message<'_>,
        tally: &mut Tally,
        out: &mut Vec<Event>,
    ) -> Result<Progress, TransportError> {
        if message.event == "done" {
            // `event: done` may carry the counts: `{"usage": {"input_tokens", "output_tokens"}}`.
            let value: Value = serde_json::from_str(message.data).unwrap_or_default();
            counts(tally, value.get("usage").unwrap_or(&value));
            out.push(tally.done());
            return Ok(Progress::Finished);
        }
        if self.memo.read_token(message.data, message.event, |memo| token_event(message, memo), tally, out) {
            return Ok(Progress::More);
        }
        // Borrowed fields and a raw `data`: no allocation per token on the hot path.
        #[derive(Deserialize)]
        struct Envelope<'a> {
            #[serde(borrow)]
            event: Option<Cow<'a, str>>,
            #[serde(borrow)]
            data: Option<&'a RawValue>,
        }
        #[derive(Deserialize, Default)]
        struct Fields<'a> {
            #[serde(borrow)]
            token: Option<Cow<'a, str>>,
            #[serde(borrow)]
            content: Option<Cow<'a, str>>,
            #[serde(borrow)]
            message: Option<Cow<'a, str>>,
            #[serde(borrow)]
            error: Option<Cow<'a, str>>,
        }
        let data = message.data;
        let envelope: Envelope<'_> = parse_json(self.name(), data)?;
        let name = envelope.event.as_deref().unwrap_or(message.event);
        let fields = || -> Result<Fields<'_>, TransportError> {
            match envelope.data {
                Some(raw) => parse_json(self.name(), raw.get()),
                None => Ok(Fields::default()),
            }
        };
        match name {
            "token" | "message" => {
                let fields = fields()?;
                let token = fields
                    .token
                    .or(fields.content)
                    .ok_or_else(|| protocol(self.name(), "a token event without data.token", data))?;
                tally.token(out, &token);
                Ok(Progress::More)
            }
            "done" => {
                if let Some(raw) = envelope.data {
                    let value: Value = serde_json::from_str(raw.get()).unwrap_or_default();
                    counts(tally, value.get("usage").unwrap_or(&value));
                }
                out.push(tally.done());
                Ok(Progress::Finished)
            }
            "error" => {
                let fields = fields().unwrap_or_default();
                let text = fields.message.or(fields.error);
                let text = text.as_deref().unwrap_or("the server reported an error without a message");
                out.push(Event::Error(text.to_owned()));
                Ok(Progress::Finished)
            }
            "metadata" => {
                if let Some(raw) = envelope.data {
                    out.push(Event::Metadata(raw.get().to_owned()));
                }
                Ok(Progress::More)
            }
            "heartbeat" | "ping" => {
                out.push(Event::Heartbeat);
                Ok(Progress::More)
            }
            _ => Ok(Progress::More),
        }
    }
}

/// A token event, `{"event":"token","data":{"token":…}}`, read in one pass; `None` for any
/// other shape, which serde then reads in full.
fn token_event<'a>(message: &Message<'a>, memo: &mut skim::Memo) -> Option<Cow<'a, str>> {
    let (mut name, mut token, mut seen, mut span) = (None, None, 0, (0, 0));
    let free = skim::object(message.data, |key, s| match key {
        k if skim::is(k, "event") => skim::once(&mut name, skim::optional_string(s)?),
        k if skim::is(k, "data") => {
            skim::first(&mut seen, 1)?;
            let mut inner = 0;
            s.object(|key, s| match key {
                k if skim::is(k, "token") => skim::text(s, &mut token, &mut span, Skim::string),
                k if skim::is(k, "content") || skim::is(k, "message") || skim::is(k, "error") => {
                    let bit = match key {
                        k if skim::is(k, "content") => 1,
                        k if skim::is(k, "message") => 2,
                        _ => 4,
                    };
                    skim::first(&mut inner, bit).and_then(|()| skim::optional_string(s)).map(drop)
                }
                _ => s.skip(),
            })
        }
        _ => s.skip(),
    })?;
    let name = name.flatten();
    let name = name.as_deref().unwrap_or(message.event);
    matches!(name, "token" | "message").then_some(())?;
    let token = token?;
    memo.learn(message.data, span, message.event, free);
    Some(token)
}

/// The body of an aish request, without `stream`: the message, the whole context, the persona
/// when set and the earlier turns.
fn aish_body(message: &Outgoing, context: &Value) -> Value {
    let history: Vec<Value> =
        message.history.iter().map(|t| json!({"role": role_name(t.role), "content": t.content})).collect();
    let mut body = json!({"message": message.message, "context": context, "history": history});
    if let Some(system) = &message.system {
        body["system"] = json!(system);
    }
    body
}

/// The token counts an aish server reports at the end, when it does.
fn counts(tally: &mut Tally, usage: &Value) {
    if let Some(n) = usage.get("input_tokens").and_then(Value::as_u64) {
        tally.input_tokens = Some(n);
    }
    if let Some(n) = usage.get("output_tokens").and_then(Value::as_u64) {
        tally.output_tokens = Some(n);
    }
}

/// A whole answer's text in aish's shape (and Rhetor's): `response`, else `content`.
pub(super) fn whole_text(answer: &Value) -> Option<String> {
    answer.get("response").or_else(|| answer.get("content")).and_then(Value::as_str).map(str::to_owned)
}

#[cfg(test)]
mod tests {
    use aish_plugin_sdk::{Event, Role};
    use serde_json::json;

    use crate::Progress;
    use crate::testing::{body, dialect, outgoing, run};

    #[test]
    fn aish_dialect_tokens_done_and_errors() {
        let mut d = dialect("aish");
        let (out, progress) = run(
            &mut d,
            &[
                ("message", r#"{"event":"token","data":{"token":"a"}}"#),
                ("message", r#"{"event":"token","data":{"token":"b"}}"#),
                ("done", ""),
            ],
        );
        assert_eq!(out, vec![Event::Token("ab".into()), Event::Done(None)], "no counts from the server: none reported");
        assert_eq!(progress, Progress::Finished);
        let mut d = dialect("aish");
        let (out, _) = run(&mut d, &[("done", r#"{"usage":{"input_tokens":7,"output_tokens":3}}"#)]);
        let usage = aish_plugin_sdk::Usage { input_tokens: Some(7), output_tokens: Some(3) };
        assert_eq!(out, vec![Event::Done(Some(usage))]);

        let mut d = dialect("aish");
        let (out, _) = run(&mut d, &[("message", r#"{"event":"error","data":{"message":"model offline"}}"#)]);
        assert_eq!(out, vec![Event::Error("model offline".into())]);
    }

    #[test]
    fn aish_request_carries_the_whole_context_persona_and_history() {
        let d = dialect("aish");
        let context = r#"{"pipeline_position":2,"previous_ai":"apollo","previous_response":"p","session_id":"s"}"#;
        let message = outgoing("hi", Some("You are Athena."), &[(Role::User, "a"), (Role::Assistant, "b")], context);
        assert_eq!(
            body(&d, &message),
            json!({
                "message": "hi",
                "context": {"pipeline_position": 2, "previous_ai": "apollo", "previous_response": "p", "session_id": "s"},
                "system": "You are Athena.",
                "history": [{"role": "user", "content": "a"}, {"role": "assistant", "content": "b"}],
                "stream": true,
            })
        );
        let frame: serde_json::Value = serde_json::from_slice(&d.socket_request(&message).unwrap()).unwrap();
        assert!(frame.get("stream").is_none() && frame["history"].as_array().unwrap().len() == 2);
    }
}

#[cfg(test)]
mod fast_path_tests {
    use crate::Message;

    #[test]
    fn a_token_event_takes_the_fast_path_and_others_do_not() {
        let token = Message { event: "message", data: r#"{"event":"token","data":{"token":"tok1 "}}"#, id: "" };
        assert_eq!(super::token_event(&token, &mut Default::default()).as_deref(), Some("tok1 "));
        let error = Message { event: "message", data: r#"{"event":"error","data":{"message":"no"}}"#, id: "" };
        assert_eq!(super::token_event(&error, &mut Default::default()), None);
    }
}
