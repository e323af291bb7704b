//! aish's own protocol (and the embedded demo AIs'): `{"message", "context", "stream"}` in;
//! `{"event":"token","data":{"token":…}}` messages up to `done` (or `error`) out; a whole
//! answer is `{"response": …}`.

use std::borrow::Cow;

use aish_plugin_sdk::{Event, Outgoing, TransportError, Usage};
use serde::Deserialize;
use serde_json::value::RawValue;
use serde_json::{Value, json};

use crate::provider::{Config, HttpShape, Message, Progress, Provider, Tally, parse_json, protocol};

/// The `aish` dialect.
#[derive(Debug, Default)]
pub(crate) struct Aish;

impl Provider for Aish {
    fn name(&self) -> &'static str {
        "aish"
    }

    fn request(&self, message: &Outgoing, context: &Value, _config: &Config) -> Result<HttpShape, TransportError> {
        let body = json!({"message": message.message, "context": context, "stream": message.stream});
        Ok(HttpShape::json(&body, Vec::new()))
    }

    fn socket_request(&self, message: &Outgoing, context: &Value, _config: &Config) -> Result<Vec<u8>, TransportError> {
        // On a socket the connection is the stream: no `stream` field.
        Ok(json!({"message": message.message, "context": context}).to_string().into_bytes())
    }

    fn parse_answer(&self, answer: &Value) -> Option<(String, Option<Usage>)> {
        whole_text(answer).map(|text| (text, None))
    }

    fn on_message(
        &mut self,
        message: &Message<'_>,
        tally: &mut Tally,
        out: &mut Vec<Event>,
    ) -> Result<Progress, TransportError> {
        if message.event == "done" {
            out.push(tally.done());
            return Ok(Progress::Finished);
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

/// A whole answer's text in aish's shape (and Rhetor's): `response`, else `content`.
pub(super) fn whole_text(answer: &Value) -> Option<String> {
    answer.get("response").or_else(|| answer.get("content")).and_then(Value::as_str).map(str::to_owned)
}

#[cfg(test)]
mod tests {
    use crate::testing::{dialect, run};
    use aish_plugin_sdk::{Event, Usage};

    use crate::Progress;

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
        assert_eq!(
            out,
            vec![Event::Token("ab".into()), Event::Done(Some(Usage { input_tokens: None, output_tokens: Some(2) }))]
        );
        assert_eq!(progress, Progress::Finished);

        let mut d = dialect("aish");
        let (out, _) = run(&mut d, &[("message", r#"{"event":"error","data":{"message":"model offline"}}"#)]);
        assert_eq!(out, vec![Event::Error("model offline".into())]);
    }
}
