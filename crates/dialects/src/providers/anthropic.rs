//! Anthropic's Messages API: `{"model", "max_tokens", "system", "messages"}` in (the persona
//! and context note in `system`, the conversation as alternating user/assistant turns); typed
//! SSE events out (`message_start`, `content_block_start`/`_delta`/`_stop` for text and
//! `tool_use` blocks, `message_delta`, `message_stop`, `ping`, `error`), usage split between
//! the first and the last.

use std::borrow::Cow;

use aish_plugin_sdk::{Event, Outgoing, TransportError};
use serde::Deserialize;
use serde_json::{Value, json};

use crate::conversation::{alternating, role_name, system_text};
use crate::skim;
use crate::provider::{Config, HttpShape, Message, Progress, Provider, Tally, WholeAnswer, parse_json, usage_at};
use crate::tools::{PendingCalls, call};

/// The `anthropic` dialect; keeps the `tool_use` blocks being streamed.
#[derive(Debug, Default)]
pub(crate) struct Anthropic {
    calls: PendingCalls,
    memo: skim::Memo,
}

impl Provider for Anthropic {
    fn name(&self) -> &'static str {
        "anthropic"
    }

    fn request(&self, message: &Outgoing, context: &Value, config: &Config) -> Result<HttpShape, TransportError> {
        // Anthropic wants turns that alternate and start with the user.
        let messages: Vec<Value> = alternating(message)
            .into_iter()
            .map(|(role, content)| json!({"role": role_name(role), "content": content}))
            .collect();
        let mut body = json!({
            "model": config.model.as_deref().unwrap_or("claude-sonnet-4-5"),
            "max_tokens": config.setting_u64("max_tokens").unwrap_or(4096),
            "messages": messages,
            "stream": message.stream,
        });
        if let Some(system) = system_text(message, context) {
            body["system"] = json!(system);
        }
        if let Some(temperature) = config.setting_f64("temperature") {
            body["temperature"] = json!(temperature);
        }
        let mut headers = vec![("anthropic-version".to_owned(), "2023-06-01".to_owned())];
        if let Some(key) = &config.api_key {
            headers.push(("x-api-key".to_owned(), key.clone()));
        }
        Ok(HttpShape::json(&body, headers))
    }

    fn parse_answer(&self, answer: &Value) -> Option<WholeAnswer> {
        let blocks = answer.get("content").and_then(Value::as_array)?;
        let kind = |b: &Value| b.get("type").and_then(Value::as_str).unwrap_or("").to_owned();
        let text =
            blocks.iter().filter(|b| kind(b) == "text").filter_map(|b| b.get("text").and_then(Value::as_str)).collect();
        let tool_calls = blocks
            .iter()
            .filter(|b| kind(b) == "tool_use")
            .map(|b| {
                let field = |key: &str| b.get(key).and_then(Value::as_str).unwrap_or("");
                call(field("id"), field("name"), b.get("input"))
            })
            .collect();
        let usage = usage_at(answer, "/usage/input_tokens", "/usage/output_tokens");
        Some(WholeAnswer { text, usage, tool_calls })
    }

    fn on_message(
        &mut self,
        message: &Message<'_>,
        tally: &mut Tally,
        out: &mut Vec<Event>,
    ) -> Result<Progress, TransportError> {
        let data = message.data;
        // Over a socket a message has no SSE event name; its `type` field says the same.
        let unnamed = message.event.is_empty() || message.event == "message";
        if unnamed && self.memo.read_token(data, "", |memo| text_delta(data, true, memo), tally, out) {
            return Ok(Progress::More);
        }
        let named = if unnamed {
            let value: Value = parse_json(self.name(), data)?;
            Cow::Owned(value.get("type").and_then(Value::as_str).unwrap_or("").to_owned())
        } else {
            Cow::Borrowed(message.event)
        };
        match named.as_ref() {
            "content_block_delta" => {
                if self.memo.read_token(data, "named", |memo| text_delta(data, false, memo), tally, out) {
                    return Ok(Progress::More);
                }
                #[derive(Deserialize)]
                struct BlockDelta<'a> {
                    index: Option<u64>,
                    #[serde(borrow)]
                    delta: DeltaBody<'a>,
                }
                #[derive(Deserialize)]
                struct DeltaBody<'a> {
                    #[serde(rename = "type", borrow)]
                    kind: Cow<'a, str>,
                    #[serde(borrow)]
                    text: Option<Cow<'a, str>>,
                    #[serde(borrow)]
                    partial_json: Option<Cow<'a, str>>,
                }
                let delta: BlockDelta<'_> = parse_json(self.name(), data)?;
                match (delta.delta.kind.as_ref(), delta.delta.text, delta.delta.partial_json) {
                    ("text_delta", Some(text), _) => tally.token(out, &text),
                    ("input_json_delta", _, Some(piece)) => {
                        self.calls.append(&delta.index.unwrap_or(0).to_string(), &piece);
                    }
                    _ => {}
                }
                Ok(Progress::More)
            }
            "content_block_start" => {
                let value: Value = parse_json(self.name(), data)?;
                let block = value.get("content_block");
                if block.and_then(|b| b.get("type")).and_then(Value::as_str) == Some("tool_use") {
                    let key = value.get("index").and_then(Value::as_u64).unwrap_or(0).to_string();
                    let field = |name: &str| block.and_then(|b| b.get(name)).and_then(Value::as_str).unwrap_or("");
                    self.calls.begin(&key, field("id"), field("name"));
                }
                Ok(Progress::More)
            }
            "content_block_stop" => {
                let value: Value = parse_json(self.name(), data)?;
                let key = value.get("index").and_then(Value::as_u64).unwrap_or(0).to_string();
                self.calls.finish(&key, out);
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
                self.calls.finish_all(out);
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

/// The event nearly every stream is made of, `{"type":"content_block_delta","index":N,
/// "delta":{"type":"text_delta","text":…}}`, read in one pass; `None` for any other shape,
/// which serde then reads in full.
fn text_delta<'a>(data: &'a str, type_named: bool, memo: &mut skim::Memo) -> Option<Cow<'a, str>> {
    let (mut text, mut seen, mut named, mut span) = (None, 0, false, (0, 0));
    let free = skim::object(data, |key, s| match key {
        // Over a socket there is no SSE event name: the `type` field must say what it is.
        k if skim::is(k, "type") => {
            skim::first(&mut seen, 4)?;
            named = skim::is(&s.string()?, "content_block_delta");
            named.then_some(())
        }
        k if skim::is(k, "index") => skim::first(&mut seen, 1).and_then(|()| skim::optional_unsigned(s)),
        k if skim::is(k, "delta") => {
            skim::first(&mut seen, 2)?;
            let mut kind_is_text = false;
            let mut inner = 0;
            s.object(|key, s| match key {
                k if skim::is(k, "type") => {
                    skim::first(&mut inner, 1)?;
                    kind_is_text = skim::is(&s.string()?, "text_delta");
                    Some(())
                }
                k if skim::is(k, "text") => skim::text(s, &mut text, &mut span, skim::optional_string),
                k if skim::is(k, "partial_json") => skim::first(&mut inner, 2).and_then(|()| skim::optional_string(s)).map(drop),
                _ => s.skip(),
            })?;
            kind_is_text.then_some(())
        }
        _ => s.skip(),
    })?;
    if type_named && !named {
        return None;
    }
    let text = text.flatten()?;
    memo.learn(data, span, if type_named { "" } else { "named" }, free);
    Some(text)
}

#[cfg(test)]
mod tests {
    use aish_plugin_sdk::{Event, Role, Usage};
    use serde_json::json;

    use crate::Progress;
    use crate::testing::{body, dialect, outgoing, plain, run, text, tool};

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

    /// The "Streaming request with tool use" example of Anthropic's streaming docs: a text
    /// block, then a `tool_use` block whose input arrives as `input_json_delta` pieces.
    #[test]
    fn anthropic_tool_use_assembled_at_its_block_stop() {
        let delta = |piece: &str| {
            json!({"type":"content_block_delta","index":1,"delta":{"type":"input_json_delta","partial_json":piece}})
                .to_string()
        };
        let pieces: Vec<String> =
            ["", "{\"location\":", " \"San", " Francisc", "o,", " CA\"", ", ", "\"unit\": \"fah", "renheit\"}"]
                .map(delta)
                .into();
        let mut messages = vec![
            (
                "message_start",
                r#"{"type":"message_start","message":{"id":"msg_014p7gG3wDgGV9EUtLvnow3U","type":"message","role":"assistant","model":"claude-3-haiku-20240307","stop_sequence":null,"usage":{"input_tokens":472,"output_tokens":2},"content":[],"stop_reason":null}}"#,
            ),
            (
                "content_block_start",
                r#"{"type":"content_block_start","index":0,"content_block":{"type":"text","text":""}}"#,
            ),
            ("ping", r#"{"type": "ping"}"#),
            (
                "content_block_delta",
                r#"{"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"Okay"}}"#,
            ),
            ("content_block_stop", r#"{"type":"content_block_stop","index":0}"#),
            (
                "content_block_start",
                r#"{"type":"content_block_start","index":1,"content_block":{"type":"tool_use","id":"toolu_01T1x1fJ34qAmk2tNTrN7Up6","name":"get_weather","input":{}}}"#,
            ),
        ];
        messages.extend(pieces.iter().map(|p| ("content_block_delta", p.as_str())));
        messages.push(("content_block_stop", r#"{"type":"content_block_stop","index":1}"#));
        let mut d = dialect("anthropic");
        let (out, _) = run(&mut d, &messages);
        let call = tool(
            "toolu_01T1x1fJ34qAmk2tNTrN7Up6",
            "get_weather",
            r#"{"location": "San Francisco, CA", "unit": "fahrenheit"}"#,
        );
        assert_eq!(out.last(), Some(&call), "handed over at its block's stop");
        assert_eq!(text(&out), "Okay");
        let (out, progress) = run(
            &mut d,
            &[
                (
                    "message_delta",
                    r#"{"type":"message_delta","delta":{"stop_reason":"tool_use","stop_sequence":null},"usage":{"output_tokens":89}}"#,
                ),
                ("message_stop", r#"{"type":"message_stop"}"#),
            ],
        );
        assert_eq!(progress, Progress::Finished);
        assert_eq!(out.last(), Some(&Event::Done(Some(Usage { input_tokens: Some(472), output_tokens: Some(89) }))));
        assert!(!out.iter().any(|e| matches!(e, Event::ToolCall(_))), "the call went once");
    }

    #[test]
    fn anthropic_error_mid_stream_keeps_the_text_before_it() {
        let mut d = dialect("anthropic");
        let (out, progress) = run(
            &mut d,
            &[
                (
                    "content_block_delta",
                    r#"{"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"Half"}}"#,
                ),
                ("error", r#"{"type":"error","error":{"type":"overloaded_error","message":"Overloaded"}}"#),
            ],
        );
        assert_eq!(out, vec![Event::Token("Half".into()), Event::Error("overloaded_error: Overloaded".into())]);
        assert_eq!(progress, Progress::Finished);
    }

    #[test]
    fn anthropic_events_named_by_type_over_a_socket() {
        let mut d = dialect("anthropic");
        let (out, progress) = run(
            &mut d,
            &[
                ("", r#"{"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"Hi"}}"#),
                ("", r#"{"type":"message_stop"}"#),
            ],
        );
        assert_eq!((text(&out), progress), ("Hi".to_owned(), Progress::Finished));
    }

    #[test]
    fn anthropic_request_system_field_and_alternating_turns() {
        let d = dialect("anthropic");
        let context =
            r#"{"pipeline_position":2,"previous_ai":"apollo","previous_response":"THE ANSWER","session_id":"s-1"}"#;
        let message =
            outgoing("THE ANSWER", Some("You are Athena."), &[(Role::User, "hi"), (Role::Assistant, "hello")], context);
        let shape = d.request(&message).unwrap();
        assert!(shape.headers.contains(&("x-api-key".into(), "sk-test".into())));
        assert!(shape.headers.iter().any(|(n, _)| n == "anthropic-version"));
        let body = body(&d, &message);
        assert_eq!(
            body["system"],
            "You are Athena.\n\nYou are stage 2 of a pipeline; your input is the answer of apollo."
        );
        assert_eq!(
            body["messages"],
            json!([
                {"role": "user", "content": "hi"},
                {"role": "assistant", "content": "hello"},
                {"role": "user", "content": "THE ANSWER"},
            ])
        );
        let sent = String::from_utf8(shape.body).unwrap();
        assert_eq!(sent.matches("THE ANSWER").count(), 1);
        assert!(!sent.contains("s-1"));
        let body = crate::testing::body(&d, &plain("hi"));
        assert!(body.get("system").is_none(), "an empty context and no persona send no system prompt");
    }

    #[test]
    fn anthropic_whole_answer_with_tool_use() {
        let whole = dialect("anthropic")
            .parse_answer(br#"{"id":"msg_1","type":"message","role":"assistant","content":[{"type":"text","text":"Let me check."},{"type":"tool_use","id":"toolu_01A09q90qw90lq917835lq9","name":"get_weather","input":{"location":"San Francisco, CA"}}],"stop_reason":"tool_use","usage":{"input_tokens":10,"output_tokens":20}}"#)
            .unwrap();
        assert_eq!(
            whole.into_events(),
            vec![
                Event::Token("Let me check.".into()),
                tool("toolu_01A09q90qw90lq917835lq9", "get_weather", r#"{"location":"San Francisco, CA"}"#),
                Event::Done(Some(Usage { input_tokens: Some(10), output_tokens: Some(20) })),
            ]
        );
    }
}

#[cfg(test)]
mod fast_path_tests {
    #[test]
    fn the_common_delta_takes_the_fast_path_and_others_do_not() {
        let delta = r#"{"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"Hello\n"}}"#;
        assert_eq!(super::text_delta(delta, false, &mut Default::default()).as_deref(), Some("Hello\n"));
        assert_eq!(super::text_delta(delta, true, &mut Default::default()).as_deref(), Some("Hello\n"), "over a socket, by its type");
        let unnamed = r#"{"index":0,"delta":{"type":"text_delta","text":"x"}}"#;
        assert_eq!(super::text_delta(unnamed, true, &mut Default::default()), None, "no type, no SSE name: serde decides");
        let json = r#"{"type":"content_block_delta","index":1,"delta":{"type":"input_json_delta","partial_json":"{"}}"#;
        assert_eq!(super::text_delta(json, false, &mut Default::default()), None);
    }
}
