//! OpenAI's Responses API (`POST /v1/responses`): `{"model", "input", "instructions", "stream"}`
//! in (the conversation as `{"role", "content"}` input items, the persona and context note as
//! `instructions`); out, typed SSE events: `response.output_text.delta` pieces, `function_call`
//! items whose arguments stream as `response.function_call_arguments.delta`, and one end:
//! `response.completed` (with `usage`), `response.incomplete`, `response.failed` or `error`.
//! There is no `[DONE]`. Over a WebSocket the request is one `response.create` message and the
//! server's messages are the same event objects, named by their `type` field.

use std::borrow::Cow;

use aish_plugin_sdk::{Event, Outgoing, TransportError};
use serde_json::{Value, json};

use crate::conversation::{role_name, system_text};
use crate::provider::{
    Config, HttpShape, Message, Progress, Provider, Tally, TextShape, WholeAnswer, parse_json, usage_at,
};
use crate::skim::{self, Skim};
use crate::tools::{PendingCalls, call};

/// The `responses` dialect; keeps the function calls being streamed and which output index
/// each belongs to.
#[derive(Debug, Default)]
pub(crate) struct Responses {
    calls: PendingCalls,
    /// (output index, item id) of each function call item, for pieces that name only the index.
    items: Vec<(u64, String)>,
}

impl Provider for Responses {
    fn name(&self) -> &'static str {
        "responses"
    }

    fn request(&self, message: &Outgoing, context: &Value, config: &Config) -> Result<HttpShape, TransportError> {
        let mut body = body(message, context, config);
        body["stream"] = json!(message.stream);
        let mut headers = Vec::new();
        if let Some(key) = &config.api_key {
            headers.push(("authorization".to_owned(), format!("Bearer {key}")));
        }
        Ok(HttpShape::json(&body, headers))
    }

    fn socket_request(&self, message: &Outgoing, context: &Value, config: &Config) -> Result<Vec<u8>, TransportError> {
        // The WebSocket mode's one client event: the body's fields beside its type, no `stream`.
        let mut frame = json!({"type": "response.create"});
        if let (Some(frame), Value::Object(fields)) = (frame.as_object_mut(), body(message, context, config)) {
            frame.extend(fields);
        }
        Ok(frame.to_string().into_bytes())
    }

    fn parse_answer(&self, answer: &Value) -> Option<WholeAnswer> {
        let output = answer.get("output").and_then(Value::as_array)?;
        let mut whole = WholeAnswer {
            usage: usage_at(answer, "/usage/input_tokens", "/usage/output_tokens"),
            ..WholeAnswer::default()
        };
        for item in output {
            match item.get("type").and_then(Value::as_str) {
                Some("message") => {
                    let parts = item.get("content").and_then(Value::as_array).into_iter().flatten();
                    for part in parts {
                        let text = match part.get("type").and_then(Value::as_str) {
                            Some("output_text") => part.get("text"),
                            Some("refusal") => part.get("refusal"),
                            _ => None,
                        };
                        whole.text.push_str(text.and_then(Value::as_str).unwrap_or(""));
                    }
                }
                Some("function_call") => {
                    let field = |key: &str| item.get(key).and_then(Value::as_str).unwrap_or("");
                    whole.tool_calls.push(call(field("call_id"), field("name"), item.get("arguments")));
                }
                _ => {}
            }
        }
        Some(whole)
    }

    fn on_message(
        &mut self,
        message: &Message<'_>,
        tally: &mut Tally,
        out: &mut Vec<Event>,
    ) -> Result<Progress, TransportError> {
        let data = message.data.trim();
        if data.is_empty() {
            return Ok(Progress::More);
        }
        if data == "[DONE]" {
            // Not the Responses API's end, but some compatible servers add it.
            self.calls.finish_all(out);
            out.push(tally.done());
            return Ok(Progress::Finished);
        }
        // The data as it came (the reader skips JSON's whitespace itself): the shape's offsets
        // are then the data's own.
        if let Some((text, shape)) = text_delta(message.data) {
            match shape {
                Some(shape) => tally.token_alone(out, &text, shape),
                None => tally.token(out, &text),
            }
            return Ok(Progress::More);
        }
        let event: Value = parse_json(self.name(), data)?;
        let str_at = |pointer: &str| event.pointer(pointer).and_then(Value::as_str);
        // The event's own `type`; a WebSocket message has no SSE event name besides it.
        let kind = str_at("/type").unwrap_or(message.event);
        match kind {
            "response.output_text.delta" | "response.refusal.delta" => {
                tally.token(out, str_at("/delta").unwrap_or(""));
            }
            "response.output_item.added" | "response.output_item.done" => {
                let item = event.get("item").unwrap_or(&Value::Null);
                if item.get("type").and_then(Value::as_str) == Some("function_call") {
                    let field = |key: &str| item.get(key).and_then(Value::as_str).unwrap_or("");
                    let index = event.get("output_index").and_then(Value::as_u64);
                    let key = match (field("id"), index) {
                        ("", _) => self.key(None, index),
                        (id, Some(index)) => {
                            self.items.push((index, id.to_owned()));
                            id.to_owned()
                        }
                        (id, None) => id.to_owned(),
                    };
                    self.calls.begin(&key, field("call_id"), field("name"));
                    self.calls.set_arguments(&key, field("arguments"));
                    if kind == "response.output_item.done" {
                        self.calls.finish(&key, out);
                    }
                }
            }
            "response.function_call_arguments.delta" => {
                let key = self.key(str_at("/item_id"), event.get("output_index").and_then(Value::as_u64));
                self.calls.append(&key, str_at("/delta").unwrap_or(""));
            }
            "response.function_call_arguments.done" => {
                let key = self.key(str_at("/item_id"), event.get("output_index").and_then(Value::as_u64));
                self.calls.begin(&key, "", str_at("/name").unwrap_or(""));
                self.calls.set_arguments(&key, str_at("/arguments").unwrap_or(""));
                self.calls.finish(&key, out);
            }
            "response.created" => {
                if let Some(model) = event.pointer("/response/model").filter(|m| m.is_string()) {
                    out.push(Event::Metadata(json!({"model": model}).to_string()));
                }
            }
            "response.completed" | "response.incomplete" => {
                let number = |pointer: &str| event.pointer(pointer).and_then(Value::as_u64);
                if let Some(n) = number("/response/usage/input_tokens") {
                    tally.input_tokens = Some(n);
                }
                if let Some(n) = number("/response/usage/output_tokens") {
                    tally.output_tokens = Some(n);
                }
                self.calls.finish_all(out);
                if let Some(reason) = event.pointer("/response/incomplete_details/reason").filter(|r| !r.is_null()) {
                    out.push(Event::Metadata(json!({"incomplete": reason}).to_string()));
                }
                out.push(tally.done());
                return Ok(Progress::Finished);
            }
            "response.failed" => {
                let text = str_at("/response/error/message").unwrap_or("the response failed without a message");
                out.push(Event::Error(text.to_owned()));
                return Ok(Progress::Finished);
            }
            "error" => {
                // Over SSE the fields are the event's own; over a WebSocket, under `error`.
                let text = str_at("/message")
                    .or_else(|| str_at("/error/message"))
                    .or_else(|| str_at("/code"))
                    .unwrap_or("the server reported an error without a message");
                out.push(Event::Error(text.to_owned()));
                return Ok(Progress::Finished);
            }
            _ => {}
        }
        Ok(Progress::More)
    }
}

impl Responses {
    /// The key of the call a piece belongs to: its item id, else the item at its output index.
    fn key(&self, item_id: Option<&str>, index: Option<u64>) -> String {
        match (item_id.filter(|id| !id.is_empty()), index) {
            (Some(id), _) => id.to_owned(),
            (None, Some(index)) => match self.items.iter().find(|(i, _)| *i == index) {
                Some((_, id)) => id.clone(),
                None => format!("#{index}"),
            },
            (None, None) => "#0".to_owned(),
        }
    }
}

/// The request's fields besides `stream` (which a WebSocket request leaves out).
fn body(message: &Outgoing, context: &Value, config: &Config) -> Value {
    let mut input: Vec<Value> =
        message.history.iter().map(|t| json!({"role": role_name(t.role), "content": t.content})).collect();
    input.push(json!({"role": "user", "content": message.message}));
    let mut body = json!({"input": input});
    if let Some(model) = &config.model {
        body["model"] = json!(model);
    }
    if let Some(instructions) = system_text(message, context) {
        body["instructions"] = json!(instructions);
    }
    if let Some(temperature) = config.setting_f64("temperature") {
        body["temperature"] = json!(temperature);
    }
    if let Some(max_tokens) = config.setting_u64("max_tokens") {
        body["max_output_tokens"] = json!(max_tokens);
    }
    body
}

/// The text of a `response.output_text.delta` or `response.refusal.delta` event (nearly every
/// event of an answer), read in one pass with no tree when its `type` and `delta` are strings
/// given once, and where it stood. Its other fields (`sequence_number`, `item_id`, the
/// indexes, `logprobs`, `obfuscation`) are skipped, as the whole parse ignores them. `None` at
/// any other event or shape, which serde then reads in full.
///
/// The shape (for the transport to read the next events alike by their text alone) is given
/// when the event's `sequence_number`, which changes with every event, comes before the text
/// as a plain integer, and at most one string (the padding) after it.
fn text_delta(data: &str) -> Option<(Cow<'_, str>, Option<TextShape>)> {
    let (mut text, mut seen, mut is_delta, mut span, mut number) = (None, 0, false, (0, 0), None);
    let free = skim::object(data, |key, s| match key {
        k if skim::is(k, "type") => {
            skim::first(&mut seen, 1)?;
            let kind = s.string()?;
            is_delta = skim::is(&kind, "response.output_text.delta") || skim::is(&kind, "response.refusal.delta");
            Some(())
        }
        k if skim::is(k, "delta") => skim::first(&mut seen, 2).and_then(|()| skim::text(s, &mut text, &mut span, Skim::string)),
        k if skim::is(k, "sequence_number") => {
            skim::first(&mut seen, 4)?;
            let start = s.value_start();
            s.skip()?;
            let end = s.position();
            // Before the text, as OpenAI sends it: a hole in the bytes the text comes between.
            number = (text.is_none() && data[start..end].bytes().all(|b| b.is_ascii_digit())).then_some((start, end));
            Some(())
        }
        _ => s.skip(),
    })?;
    let text = text.filter(|_| is_delta)?;
    let shape = number.map(|number| TextShape { text: span, free, number: Some(number) });
    Some((text, shape))
}

#[cfg(test)]
mod tests {
    use aish_plugin_sdk::{Event, Role, Usage};
    use serde_json::{Value, json};

    use crate::Progress;
    use crate::testing::{body, dialect, outgoing, run, text, tool};

    fn usage(input: u64, output: u64) -> Event {
        Event::Done(Some(Usage { input_tokens: Some(input), output_tokens: Some(output) }))
    }

    /// `ReasoningTextDelta_Streaming` in dotnet/extensions
    /// (test/Libraries/Microsoft.Extensions.AI.OpenAI.Tests/OpenAIResponseClientTests.cs): a
    /// reasoning item (not part of the answer), then a message, then `response.completed`.
    const TEXT_STREAM: &[(&str, &str)] = &[
        (
            "response.created",
            r#"{"type":"response.created","sequence_number":0,"response":{"id":"resp_reasoning123","object":"response","created_at":1756752900,"status":"in_progress","model":"o4-mini-2025-04-16","output":[],"reasoning":{"effort":"medium"}}}"#,
        ),
        (
            "response.in_progress",
            r#"{"type":"response.in_progress","sequence_number":1,"response":{"id":"resp_reasoning123","object":"response","created_at":1756752900,"status":"in_progress","model":"o4-mini-2025-04-16","output":[]}}"#,
        ),
        (
            "response.output_item.added",
            r#"{"type":"response.output_item.added","sequence_number":2,"output_index":0,"item":{"id":"rs_reasoning123","type":"reasoning","text":""}}"#,
        ),
        (
            "response.reasoning_text.delta",
            r#"{"type":"response.reasoning_text.delta","sequence_number":3,"item_id":"rs_reasoning123","output_index":0,"delta":"First, "}"#,
        ),
        (
            "response.reasoning_text.done",
            r#"{"type":"response.reasoning_text.done","sequence_number":6,"item_id":"rs_reasoning123","output_index":0,"text":"First, let's analyze the problem."}"#,
        ),
        (
            "response.output_item.done",
            r#"{"type":"response.output_item.done","sequence_number":7,"output_index":0,"item":{"id":"rs_reasoning123","type":"reasoning","text":"First, let's analyze the problem."}}"#,
        ),
        (
            "response.output_item.added",
            r#"{"type":"response.output_item.added","sequence_number":8,"output_index":1,"item":{"id":"msg_reasoning123","type":"message","status":"in_progress","content":[],"role":"assistant"}}"#,
        ),
        (
            "response.content_part.added",
            r#"{"type":"response.content_part.added","sequence_number":9,"item_id":"msg_reasoning123","output_index":1,"content_index":0,"part":{"type":"output_text","annotations":[],"text":""}}"#,
        ),
        (
            "response.output_text.delta",
            r#"{"type":"response.output_text.delta","sequence_number":10,"item_id":"msg_reasoning123","output_index":1,"content_index":0,"delta":"The solution is 42."}"#,
        ),
        (
            "response.output_text.done",
            r#"{"type":"response.output_text.done","sequence_number":11,"item_id":"msg_reasoning123","output_index":1,"content_index":0,"text":"The solution is 42."}"#,
        ),
        (
            "response.content_part.done",
            r#"{"type":"response.content_part.done","sequence_number":12,"item_id":"msg_reasoning123","output_index":1,"content_index":0,"part":{"type":"output_text","annotations":[],"text":"The solution is 42."}}"#,
        ),
        (
            "response.output_item.done",
            r#"{"type":"response.output_item.done","sequence_number":13,"output_index":1,"item":{"id":"msg_reasoning123","type":"message","status":"completed","content":[{"type":"output_text","annotations":[],"text":"The solution is 42."}],"role":"assistant"}}"#,
        ),
        (
            "response.completed",
            r#"{"type":"response.completed","sequence_number":14,"response":{"id":"resp_reasoning123","object":"response","created_at":1756752900,"status":"completed","model":"o4-mini-2025-04-16","output":[{"id":"rs_reasoning123","type":"reasoning","text":"First, let's analyze the problem."},{"id":"msg_reasoning123","type":"message","status":"completed","content":[{"type":"output_text","annotations":[],"text":"The solution is 42."}],"role":"assistant"}],"usage":{"input_tokens":10,"output_tokens":25,"total_tokens":35}}}"#,
        ),
    ];

    #[test]
    fn responses_stream_as_documented() {
        let mut d = dialect("responses");
        let (out, progress) = run(&mut d, TEXT_STREAM);
        assert_eq!(progress, Progress::Finished);
        assert_eq!(text(&out), "The solution is 42.", "reasoning is not the answer");
        assert_eq!(out.first(), Some(&Event::Metadata(r#"{"model":"o4-mini-2025-04-16"}"#.into())));
        assert_eq!(out.last(), Some(&usage(10, 25)));
        // Over a WebSocket the same objects come with no event name.
        let mut d = dialect("responses");
        let unnamed: Vec<(&str, &str)> = TEXT_STREAM.iter().map(|(_, data)| ("", *data)).collect();
        let (out, progress) = run(&mut d, &unnamed);
        assert_eq!((text(&out), progress), ("The solution is 42.".to_owned(), Progress::Finished));
    }

    /// "should stream tool calls" in vercel/ai (packages/azure/src/azure-openai-provider.test.ts),
    /// a recorded Responses stream: two `function_call` items, the second's arguments in pieces.
    #[test]
    fn responses_function_calls_assembled_from_pieces() {
        let mut d = dialect("responses");
        let (out, progress) = run(
            &mut d,
            &[
                (
                    "message",
                    r#"{"type":"response.output_item.added","output_index":0,"item":{"type":"function_call","id":"fc_67cb13a838088190be08eb3927c87501","call_id":"call_6KxSghkb4MVnunFH2TxPErLP","name":"currentLocation","arguments":"","status":"completed"}}"#,
                ),
                (
                    "message",
                    r#"{"type":"response.function_call_arguments.delta","item_id":"fc_67cb13a838088190be08eb3927c87501","output_index":0,"delta":"{}"}"#,
                ),
                (
                    "message",
                    r#"{"type":"response.function_call_arguments.done","item_id":"fc_67cb13a838088190be08eb3927c87501","output_index":0,"arguments":"{}"}"#,
                ),
                (
                    "message",
                    r#"{"type":"response.output_item.done","output_index":0,"item":{"type":"function_call","id":"fc_67cb13a838088190be08eb3927c87501","call_id":"call_pgjcAI4ZegMkP6bsAV7sfrJA","name":"currentLocation","arguments":"{}","status":"completed"}}"#,
                ),
                (
                    "message",
                    r#"{"type":"response.output_item.added","output_index":1,"item":{"type":"function_call","id":"fc_67cb13a858f081908a600343fa040f47","call_id":"call_Dg6WUmFHNeR5JxX1s53s1G4b","name":"weather","arguments":"","status":"in_progress"}}"#,
                ),
                (
                    "message",
                    r#"{"type":"response.function_call_arguments.delta","item_id":"fc_67cb13a858f081908a600343fa040f47","output_index":1,"delta":"{"}"#,
                ),
                (
                    "message",
                    r#"{"type":"response.function_call_arguments.delta","item_id":"fc_67cb13a858f081908a600343fa040f47","output_index":1,"delta":"\"location"}"#,
                ),
                (
                    "message",
                    r#"{"type":"response.function_call_arguments.delta","item_id":"fc_67cb13a858f081908a600343fa040f47","output_index":1,"delta":"\":"}"#,
                ),
                (
                    "message",
                    r#"{"type":"response.function_call_arguments.delta","item_id":"fc_67cb13a858f081908a600343fa040f47","output_index":1,"delta":"\"Rome"}"#,
                ),
                (
                    "message",
                    r#"{"type":"response.function_call_arguments.delta","item_id":"fc_67cb13a858f081908a600343fa040f47","output_index":1,"delta":"\"}"}"#,
                ),
                (
                    "message",
                    r#"{"type":"response.completed","response":{"id":"resp_67cb13a755c08190acbe3839a49632fc","object":"response","status":"completed","model":"test-deployment","output":[],"usage":{"input_tokens":0,"output_tokens":0,"total_tokens":0}}}"#,
                ),
            ],
        );
        assert_eq!(progress, Progress::Finished, "an answer of only tool calls is complete");
        assert_eq!(
            out,
            vec![
                tool("call_6KxSghkb4MVnunFH2TxPErLP", "currentLocation", "{}"),
                tool("call_Dg6WUmFHNeR5JxX1s53s1G4b", "weather", r#"{"location":"Rome"}"#),
                usage(0, 0),
            ],
            "each call once; the second handed over at the end from its pieces"
        );
    }

    #[test]
    fn responses_pieces_naming_only_the_output_index() {
        let mut d = dialect("responses");
        let (out, _) = run(
            &mut d,
            &[
                (
                    "",
                    r#"{"type":"response.output_item.added","output_index":1,"item":{"type":"function_call","id":"fc_1","call_id":"call_1","name":"lookup"}}"#,
                ),
                ("", r#"{"type":"response.function_call_arguments.delta","output_index":1,"delta":"{\"q\":\"x\"}"}"#),
                (
                    "",
                    r#"{"type":"response.completed","response":{"status":"completed","usage":{"input_tokens":2,"output_tokens":3,"total_tokens":5}}}"#,
                ),
            ],
        );
        assert_eq!(out, vec![tool("call_1", "lookup", r#"{"q":"x"}"#), usage(2, 3)]);
    }

    /// `response.failed` and the nested `error` of openai-python's
    /// tests/lib/responses/fixtures/websocket_scenarios.json; the SSE `error` event of OpenAI's
    /// API reference (streaming events).
    #[test]
    fn responses_failures_mid_stream_keep_the_text_before_them() {
        let delta = r#"{"type":"response.output_text.delta","item_id":"msg_test","content_index":0,"output_index":0,"delta":"Synthetic text","sequence_number":1}"#;
        let failed = r#"{"type":"response.failed","response":{"id":"resp_first","object":"response","created_at":1,"model":"gpt-4o-mini","output":[],"status":"failed","error":{"code":"server_error","message":"Synthetic failure"}},"sequence_number":2}"#;
        let nested = r#"{"type":"error","error":{"type":"invalid_request_error","code":"invalid_value","param":"input","message":"Synthetic invalid input"},"status":400}"#;
        let sse_error = r#"{"type":"error","code":"ERR_SOMETHING","message":"Something went wrong","param":null,"sequence_number":1}"#;
        for (event, data, why) in [
            ("response.failed", failed, "Synthetic failure"),
            ("", nested, "Synthetic invalid input"),
            ("error", sse_error, "Something went wrong"),
        ] {
            let mut d = dialect("responses");
            let (out, progress) = run(&mut d, &[("response.output_text.delta", delta), (event, data)]);
            assert_eq!(out, vec![Event::Token("Synthetic text".into()), Event::Error(why.into())]);
            assert_eq!(progress, Progress::Finished);
        }
    }

    #[test]
    fn responses_incomplete_ends_the_answer_and_says_why() {
        let mut d = dialect("responses");
        let (out, progress) = run(
            &mut d,
            &[(
                "",
                r#"{"type":"response.incomplete","response":{"id":"resp_first","status":"incomplete","incomplete_details":{"reason":"max_output_tokens"},"usage":{"input_tokens":5,"output_tokens":16}}}"#,
            )],
        );
        assert_eq!(progress, Progress::Finished);
        assert_eq!(out, vec![Event::Metadata(r#"{"incomplete":"max_output_tokens"}"#.into()), usage(5, 16)]);
    }

    #[test]
    fn responses_request_and_socket_frame() {
        let d = dialect("responses");
        let context = r#"{"pipeline_position":2,"previous_ai":"apollo","previous_response":"PREV","session_id":"s-1"}"#;
        let message =
            outgoing("PREV", Some("You are Athena."), &[(Role::User, "hi"), (Role::Assistant, "hello")], context);
        let shape = d.request(&message).unwrap();
        assert!(shape.headers.contains(&("authorization".into(), "Bearer sk-test".into())));
        let sent = String::from_utf8(shape.body.clone()).unwrap();
        assert_eq!(sent.matches("PREV").count(), 1);
        assert!(!sent.contains("s-1"));
        let expected = json!({
            "model": "m",
            "input": [
                {"role": "user", "content": "hi"},
                {"role": "assistant", "content": "hello"},
                {"role": "user", "content": "PREV"},
            ],
            "instructions": "You are Athena.\n\nYou are stage 2 of a pipeline; your input is the answer of apollo.",
            "stream": true,
        });
        assert_eq!(body(&d, &message), expected);
        let frame: Value = serde_json::from_slice(&d.socket_request(&message).unwrap()).unwrap();
        let mut want = expected.clone();
        want.as_object_mut().unwrap().remove("stream");
        want["type"] = json!("response.create");
        assert_eq!(frame, want);
    }

    /// `BasicRequestResponse_NonStreaming` in dotnet/extensions' OpenAIResponseClientTests.cs,
    /// and the final `output` of the vercel/ai tool-call stream above.
    #[test]
    fn responses_whole_answers() {
        let whole = dialect("responses")
            .parse_answer(br#"{"id":"resp_67d327649b288191aeb46a824e49dc40058a5e08c46a181d","object":"response","created_at":1741891428,"status":"completed","error":null,"model":"gpt-4o-mini-2024-07-18","output":[{"type":"message","id":"msg_67d32764fcdc8191bcf2e444d4088804058a5e08c46a181d","status":"completed","role":"assistant","content":[{"type":"output_text","text":"Hello! How can I assist you today?","annotations":[]}]}],"usage":{"input_tokens":26,"input_tokens_details":{"cached_tokens":0},"output_tokens":10,"output_tokens_details":{"reasoning_tokens":0},"total_tokens":36}}"#)
            .unwrap();
        assert_eq!(whole.into_events(), vec![Event::Token("Hello! How can I assist you today?".into()), usage(26, 10)]);
        let whole = dialect("responses")
            .parse_answer(br#"{"id":"resp_67cb13a755c08190acbe3839a49632fc","object":"response","status":"completed","output":[{"type":"function_call","id":"fc_67cb13a838088190be08eb3927c87501","call_id":"call_KsVqaVAf3alAtCCkQe4itE7W","name":"currentLocation","arguments":"{}","status":"completed"},{"type":"function_call","id":"fc_67cb13a858f081908a600343fa040f47","call_id":"call_X2PAkDJInno9VVnNkDrfhboW","name":"weather","arguments":"{\"location\":\"Rome\"}","status":"completed"}],"usage":{"input_tokens":0,"output_tokens":0,"total_tokens":0}}"#)
            .unwrap();
        assert_eq!(
            whole.into_events(),
            vec![
                tool("call_KsVqaVAf3alAtCCkQe4itE7W", "currentLocation", "{}"),
                tool("call_X2PAkDJInno9VVnNkDrfhboW", "weather", r#"{"location":"Rome"}"#),
                usage(0, 0),
            ]
        );
        assert!(dialect("responses").parse_answer(br#"{"choices":[]}"#).is_err());
    }
}
