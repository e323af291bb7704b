//! The Tekton specialist socket protocol: one JSON object per line each way. aish sends
//! `{"type":"chat","content","context","stream","request_id"}`, with the AI's persona as
//! `system` and the earlier turns as `history` (`[{"role","content"}]`, as the aish dialect
//! sends them) when it has them; the specialist answers with `stream_chunk` lines ended by
//! `stream_end` or `stream_error`, or with one `chat_response`.

use std::borrow::Cow;

use aish_plugin_sdk::{Event, Outgoing, Role, Usage};
use serde::Deserialize;
use serde_json::Value;

/// The chat request line for `message` (its context parsed), newline included.
pub fn chat_request(message: &Outgoing, context: &Value, request_id: &str) -> Vec<u8> {
    let mut request = serde_json::json!({
        "type": "chat",
        "content": message.message,
        "context": context,
        "stream": message.stream,
        "request_id": request_id,
    });
    if let Some(system) = &message.system {
        request["system"] = Value::String(system.clone());
    }
    if !message.history.is_empty() {
        let turns = message.history.iter().map(|turn| {
            let role = if turn.role == Role::User { "user" } else { "assistant" };
            serde_json::json!({"role": role, "content": turn.content})
        });
        request["history"] = Value::Array(turns.collect());
    }
    let mut line = request.to_string().into_bytes();
    line.push(b'\n');
    line
}

/// What one line means for the answer.
#[derive(Debug, PartialEq)]
pub enum Line {
    /// Events for the answer; `true` when the answer is complete.
    Events(Vec<Event>, bool),
    /// The specialist pinged; answer with this line.
    Ping(Vec<u8>),
    /// Not for this answer (another request's, or a type aish does not use).
    Skip,
}

#[derive(Deserialize)]
struct Message<'a> {
    #[serde(rename = "type", borrow)]
    kind: Cow<'a, str>,
    #[serde(borrow)]
    request_id: Option<Cow<'a, str>>,
    #[serde(borrow)]
    content: Option<Cow<'a, str>>,
    #[serde(borrow)]
    chunk: Option<Cow<'a, str>>,
    #[serde(borrow)]
    response: Option<Cow<'a, str>>,
    error: Option<Value>,
    message: Option<Value>,
    usage: Option<Value>,
    metadata: Option<Value>,
}

/// Reads one line the specialist sent for request `request_id`.
pub fn parse_line(line: &[u8], request_id: &str) -> Result<Line, String> {
    let message: Message<'_> = serde_json::from_slice(line).map_err(|e| {
        let text = String::from_utf8_lossy(&line[..line.len().min(80)]).into_owned();
        format!("the specialist sent a line that is not a Tekton message ({e}): {text:?}")
    })?;
    if message.request_id.as_deref().is_some_and(|id| id != request_id) {
        return Ok(Line::Skip);
    }
    let text =
        |m: &Message<'_>| m.content.as_deref().or(m.chunk.as_deref()).or(m.response.as_deref()).map(str::to_owned);
    Ok(match message.kind.as_ref() {
        "stream_chunk" => match text(&message) {
            Some(token) if !token.is_empty() => Line::Events(vec![Event::Token(token)], false),
            _ => Line::Skip,
        },
        "stream_end" => Line::Events(end_events(&message), true),
        "chat_response" => {
            let mut events = Vec::new();
            if let Some(answer) = text(&message) {
                events.push(Event::Token(answer));
            }
            events.extend(end_events(&message));
            Line::Events(events, true)
        }
        "stream_error" | "error" => {
            let why = [&message.error, &message.message]
                .into_iter()
                .flatten()
                .find_map(|v| match v {
                    Value::String(s) => Some(s.clone()),
                    Value::Object(o) => o.get("message").and_then(Value::as_str).map(str::to_owned),
                    _ => None,
                })
                .unwrap_or_else(|| "the specialist reported an error without a message".to_owned());
            Line::Events(vec![Event::Error(why)], true)
        }
        "ping" => {
            let mut pong = serde_json::json!({"type": "pong"});
            if let Some(id) = &message.request_id {
                pong["request_id"] = Value::String(id.to_string());
            }
            let mut line = pong.to_string().into_bytes();
            line.push(b'\n');
            Line::Ping(line)
        }
        "pong" | "heartbeat" => Line::Events(vec![Event::Heartbeat], false),
        _ => Line::Skip,
    })
}

/// The metadata and `done` that end an answer.
fn end_events(message: &Message<'_>) -> Vec<Event> {
    let mut events = Vec::new();
    if let Some(metadata) = &message.metadata {
        events.push(Event::Metadata(metadata.to_string()));
    }
    let count = |keys: &[&str]| {
        keys.iter().find_map(|k| message.usage.as_ref().and_then(|u| u.get(*k)).and_then(Value::as_u64))
    };
    let usage = message.usage.as_ref().map(|_| Usage {
        input_tokens: count(&["input_tokens", "prompt_tokens"]),
        output_tokens: count(&["output_tokens", "completion_tokens"]),
    });
    events.push(Event::Done(usage));
    events
}

#[cfg(test)]
mod tests {
    use super::*;

    fn outgoing(system: Option<&str>, history: Vec<aish_plugin_sdk::Turn>) -> Outgoing {
        Outgoing {
            message: "hi".into(),
            context: String::new(),
            stream: true,
            system: system.map(str::to_owned),
            history,
        }
    }

    #[test]
    fn the_request_line() {
        let line = chat_request(&outgoing(None, Vec::new()), &serde_json::json!({"a": 1}), "r1");
        assert_eq!(line.last(), Some(&b'\n'));
        let value: Value = serde_json::from_slice(&line).unwrap();
        assert_eq!(
            value,
            serde_json::json!({"type": "chat", "content": "hi", "context": {"a": 1}, "stream": true, "request_id": "r1"})
        );
        let turns = vec![
            aish_plugin_sdk::Turn { role: Role::User, content: "a".into() },
            aish_plugin_sdk::Turn { role: Role::Assistant, content: "b".into() },
        ];
        let line = chat_request(&outgoing(Some("You are Prometheus."), turns), &serde_json::json!({}), "r2");
        let value: Value = serde_json::from_slice(&line).unwrap();
        assert_eq!(value["system"], "You are Prometheus.");
        assert_eq!(
            value["history"],
            serde_json::json!([{"role": "user", "content": "a"}, {"role": "assistant", "content": "b"}])
        );
    }

    #[test]
    fn lines_become_events() {
        let parse = |line: &str| parse_line(line.as_bytes(), "r1").unwrap();
        assert_eq!(
            parse(r#"{"type":"stream_chunk","request_id":"r1","content":"Hel"}"#),
            Line::Events(vec![Event::Token("Hel".into())], false)
        );
        assert_eq!(
            parse(r#"{"type":"stream_chunk","chunk":"lo"}"#),
            Line::Events(vec![Event::Token("lo".into())], false)
        );
        assert_eq!(parse(r#"{"type":"stream_chunk","request_id":"other","content":"x"}"#), Line::Skip);
        assert_eq!(
            parse(r#"{"type":"stream_end","request_id":"r1","usage":{"input_tokens":3,"output_tokens":2}}"#),
            Line::Events(vec![Event::Done(Some(Usage { input_tokens: Some(3), output_tokens: Some(2) }))], true)
        );
        assert_eq!(
            parse(r#"{"type":"chat_response","request_id":"r1","content":"whole","metadata":{"model":"m"}}"#),
            Line::Events(
                vec![Event::Token("whole".into()), Event::Metadata(r#"{"model":"m"}"#.into()), Event::Done(None)],
                true
            )
        );
        assert_eq!(
            parse(r#"{"type":"stream_error","request_id":"r1","error":"no model loaded"}"#),
            Line::Events(vec![Event::Error("no model loaded".into())], true)
        );
        assert_eq!(
            parse(r#"{"type":"error","error":{"message":"bad request"}}"#),
            Line::Events(vec![Event::Error("bad request".into())], true)
        );
        assert_eq!(
            parse(r#"{"type":"ping","request_id":"r1"}"#),
            Line::Ping(b"{\"request_id\":\"r1\",\"type\":\"pong\"}\n".to_vec())
        );
        assert_eq!(parse(r#"{"type":"status","state":"thinking"}"#), Line::Skip);
        assert!(parse_line(b"hello", "r1").unwrap_err().contains("not a Tekton message"));
    }
}
