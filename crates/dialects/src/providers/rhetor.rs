//! Tekton's Rhetor: `{"message", "temperature", "max_tokens", "context_id", …}` in;
//! `{"type":"chunk","content":…}` messages up to `complete` (or `error`) out.

use aish_plugin_sdk::{Event, Outgoing, TransportError, Usage};
use serde_json::{Value, json};

use crate::provider::{Config, HttpShape, Message, Progress, Provider, Tally, parse_json};

/// The `rhetor` dialect.
#[derive(Debug, Default)]
pub(crate) struct Rhetor;

impl Provider for Rhetor {
    fn name(&self) -> &'static str {
        "rhetor"
    }

    fn request(&self, message: &Outgoing, context: &Value, config: &Config) -> Result<HttpShape, TransportError> {
        let mut body = json!({
            "message": message.message,
            "temperature": config.setting_f64("temperature").unwrap_or(0.7),
            "max_tokens": config.setting_u64("max_tokens").unwrap_or(4000),
            "include_metadata": true,
            "stream": message.stream,
        });
        if let Some(id) = config.setting("context_id").or_else(|| context.get("context_id")) {
            body["context_id"] = id.clone();
        }
        Ok(HttpShape::json(&body, Vec::new()))
    }

    fn parse_answer(&self, answer: &Value) -> Option<(String, Option<Usage>)> {
        super::aish::whole_text(answer).map(|text| (text, None))
    }

    fn on_message(
        &mut self,
        message: &Message<'_>,
        tally: &mut Tally,
        out: &mut Vec<Event>,
    ) -> Result<Progress, TransportError> {
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

#[cfg(test)]
mod tests {
    use aish_plugin_sdk::Event;

    use crate::Progress;
    use crate::testing::{dialect, run, text};

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
}
