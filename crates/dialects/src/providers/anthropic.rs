//! Anthropic's Messages API: `{"model", "max_tokens", "messages", "system"}` in; typed SSE
//! events (`message_start`, `content_block_delta`, `message_delta`, `message_stop`, `ping`,
//! `error`) out, usage split between the first and the last.

use std::borrow::Cow;

use aish_plugin_sdk::{Event, Outgoing, TransportError, Usage};
use serde::Deserialize;
use serde_json::{Value, json};

use crate::provider::{Config, HttpShape, Message, Progress, Provider, Tally, parse_json, system_text, usage_at};

/// The `anthropic` dialect.
#[derive(Debug, Default)]
pub(crate) struct Anthropic;

impl Provider for Anthropic {
    fn name(&self) -> &'static str {
        "anthropic"
    }

    fn request(&self, message: &Outgoing, context: &Value, config: &Config) -> Result<HttpShape, TransportError> {
        let mut body = json!({
            "model": config.model.as_deref().unwrap_or("claude-sonnet-4-5"),
            "max_tokens": config.setting_u64("max_tokens").unwrap_or(4096),
            "messages": [{"role": "user", "content": message.message}],
            "stream": message.stream,
        });
        if let Some(system) = system_text(context) {
            body["system"] = json!(system);
        }
        let mut headers = vec![("anthropic-version".to_owned(), "2023-06-01".to_owned())];
        if let Some(key) = &config.api_key {
            headers.push(("x-api-key".to_owned(), key.clone()));
        }
        Ok(HttpShape::json(&body, headers))
    }

    fn parse_answer(&self, answer: &Value) -> Option<(String, Option<Usage>)> {
        let blocks = answer.get("content").and_then(Value::as_array)?;
        let text = blocks
            .iter()
            .filter(|b| b.get("type").and_then(Value::as_str) == Some("text"))
            .filter_map(|b| b.get("text").and_then(Value::as_str))
            .collect();
        Some((text, usage_at(answer, "/usage/input_tokens", "/usage/output_tokens")))
    }

    fn on_message(
        &mut self,
        message: &Message<'_>,
        tally: &mut Tally,
        out: &mut Vec<Event>,
    ) -> Result<Progress, TransportError> {
        let data = message.data;
        match message.event {
            "content_block_delta" => {
                #[derive(Deserialize)]
                struct BlockDelta<'a> {
                    #[serde(borrow)]
                    delta: DeltaBody<'a>,
                }
                #[derive(Deserialize)]
                struct DeltaBody<'a> {
                    #[serde(rename = "type", borrow)]
                    kind: Cow<'a, str>,
                    #[serde(borrow)]
                    text: Option<Cow<'a, str>>,
                }
                let delta: BlockDelta<'_> = parse_json(self.name(), data)?;
                if delta.delta.kind == "text_delta"
                    && let Some(text) = delta.delta.text.as_deref()
                {
                    tally.token(out, text);
                }
                Ok(Progress::More)
            }
            "message_start" => {
                let value: Value = parse_json(self.name(), data)?;
                if let Some(n) = value.pointer("/message/usage/input_tokens").and_then(Value::as_u64) {
                    tally.input_tokens = Some(n);
                }
                if let Some(model) = value.pointer("/message/model") {
                    out.push(Event::Metadata(json!({"model": model}).to_string()));
                }
                Ok(Progress::More)
            }
            "message_delta" => {
                let value: Value = parse_json(self.name(), data)?;
                if let Some(n) = value.pointer("/usage/output_tokens").and_then(Value::as_u64) {
                    tally.output_tokens = Some(n);
                }
                if let Some(reason) = value.pointer("/delta/stop_reason").filter(|v| !v.is_null()) {
                    out.push(Event::Metadata(json!({"stop_reason": reason}).to_string()));
                }
                Ok(Progress::More)
            }
            "message_stop" => {
                out.push(tally.done());
                Ok(Progress::Finished)
            }
            "ping" => {
                out.push(Event::Heartbeat);
                Ok(Progress::More)
            }
            "error" => {
                let value: Value = parse_json(self.name(), data)?;
                let text = value
                    .pointer("/error/message")
                    .and_then(Value::as_str)
                    .unwrap_or("Anthropic reported an error without a message");
                let kind = value.pointer("/error/type").and_then(Value::as_str).unwrap_or("error");
                out.push(Event::Error(format!("{kind}: {text}")));
                Ok(Progress::Finished)
            }
            _ => Ok(Progress::More),
        }
    }
}

#[cfg(test)]
mod tests {
    use aish_plugin_sdk::{Event, Outgoing, Usage};
    use serde_json::Value;

    use crate::Progress;
    use crate::testing::{dialect, run, text};

    #[test]
    fn anthropic_stream_as_documented() {
        let mut d = dialect("anthropic");
        let (out, progress) = run(
            &mut d,
            &[
                (
                    "message_start",
                    r#"{"type":"message_start","message":{"id":"msg_1","type":"message","role":"assistant","content":[],"model":"claude-sonnet-4-5","stop_reason":null,"stop_sequence":null,"usage":{"input_tokens":25,"output_tokens":1}}}"#,
                ),
                (
                    "content_block_start",
                    r#"{"type":"content_block_start","index":0,"content_block":{"type":"text","text":""}}"#,
                ),
                ("ping", r#"{"type": "ping"}"#),
                (
                    "content_block_delta",
                    r#"{"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"Hello"}}"#,
                ),
                (
                    "content_block_delta",
                    r#"{"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"!"}}"#,
                ),
                ("content_block_stop", r#"{"type":"content_block_stop","index":0}"#),
                (
                    "message_delta",
                    r#"{"type":"message_delta","delta":{"stop_reason":"end_turn","stop_sequence":null},"usage":{"output_tokens":15}}"#,
                ),
                ("message_stop", r#"{"type":"message_stop"}"#),
            ],
        );
        assert_eq!(text(&out), "Hello!");
        assert!(out.contains(&Event::Heartbeat));
        assert_eq!(progress, Progress::Finished);
        assert_eq!(out.last(), Some(&Event::Done(Some(Usage { input_tokens: Some(25), output_tokens: Some(15) }))));
    }

    #[test]
    fn anthropic_error_event_fails() {
        let mut d = dialect("anthropic");
        let (out, progress) = run(
            &mut d,
            &[("error", r#"{"type":"error","error":{"type":"overloaded_error","message":"Overloaded"}}"#)],
        );
        assert_eq!(out, vec![Event::Error("overloaded_error: Overloaded".into())]);
        assert_eq!(progress, Progress::Finished);
    }

    #[test]
    fn anthropic_request_headers() {
        let d = dialect("anthropic");
        let shape = d.request(&Outgoing { message: "hi".into(), context: "{}".into(), stream: true }).unwrap();
        assert!(shape.headers.contains(&("x-api-key".into(), "sk-test".into())));
        assert!(shape.headers.iter().any(|(n, _)| n == "anthropic-version"));
        let body: Value = serde_json::from_slice(&shape.body).unwrap();
        assert!(body.get("system").is_none(), "an empty context sends no system prompt");
    }
}
