//! The fast paths (`skim`) against the whole parse: for event JSON built around the common
//! shapes, with extra keys, nulls, escapes, tool calls, duplicates and cuts, the dialect's answer
//! is the same as when the event is read in full by serde_json into a `Value` and the documented
//! field is taken from it.

use proptest::prelude::*;
use serde_json::{Value, json};

use crate::Message;
use crate::testing::dialect;

/// Text that needs escapes as often as not.
fn text() -> impl Strategy<Value = String> {
    "(\\PC|[\"\\\\\n\t\u{1}é😀 ]){0,12}"
}

/// Extra keys servers add, or a key aish reads given twice.
fn extras() -> impl Strategy<Value = Vec<(String, Value)>> {
    let value = prop_oneof![Just(Value::Null), text().prop_map(Value::from), any::<i32>().prop_map(Value::from)];
    prop::collection::vec(("[a-z_]{1,8}", value), 0..3)
}

/// An object as text, keys in order (duplicates kept, as a server could send them).
fn object(pairs: &[(String, Value)]) -> String {
    let fields: Vec<String> = pairs.iter().map(|(k, v)| format!("{}:{v}", json!(k))).collect();
    format!("{{{}}}", fields.join(","))
}

/// The answer text one event gives through the dialect.
fn through(name: &str, event: &str, data: &str) -> Result<String, ()> {
    let mut d = dialect(name);
    let mut out = Vec::new();
    if d.on_message(&Message { event, data, id: "" }, &mut out).is_err() {
        return Err(());
    }
    Ok(out
        .iter()
        .filter_map(|e| if let aish_plugin_sdk::Event::Token(t) = e { Some(t.as_str()) } else { None })
        .collect())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 2000, ..ProptestConfig::default() })]

    #[test]
    fn openai_chunks_read_the_same_as_a_whole_parse(
        content in text(),
        extra in extras(),
        delta_extra in prop_oneof![Just(None), Just(Some(("role".to_owned(), json!("assistant")))), Just(Some(("refusal".to_owned(), json!("no"))))],
        finish in prop_oneof![Just(Value::Null), Just(json!("stop"))],
        tool in any::<bool>(),
        twice in any::<bool>(),
    ) {
        let mut delta = vec![("content".to_owned(), json!(content))];
        delta.extend(delta_extra);
        if tool {
            delta.push(("tool_calls".to_owned(), json!([{"index": 0, "id": "c", "function": {"name": "f", "arguments": "{}"}}])));
        }
        let choice = vec![("index".to_owned(), json!(0)), ("delta".to_owned(), Value::Null), ("finish_reason".to_owned(), finish)];
        let choice = object(&choice).replace("\"delta\":null", &format!("\"delta\":{}", object(&delta)));
        let mut top = extra.clone();
        top.push(("choices".to_owned(), Value::Null));
        if twice {
            top.push(("choices".to_owned(), json!([])));
        }
        let data = object(&top).replacen("\"choices\":null", &format!("\"choices\":[{choice}]"), 1);
        let whole: Result<Value, _> = serde_json::from_str(&data);
        let got = through("openai", "message", &data);
        if twice {
            // A duplicate field is the whole parse's to refuse.
            prop_assert!(got.is_err(), "{data}");
        } else {
            let value = whole.unwrap();
            let delta = &value["choices"][0]["delta"];
            let expected = delta["content"].as_str().or(delta["refusal"].as_str()).unwrap_or("").to_owned();
            prop_assert_eq!(got, Ok(expected), "{}", data);
        }
    }

    #[test]
    fn anthropic_deltas_read_the_same_as_a_whole_parse(
        content in text(),
        extra in extras(),
        kind in prop_oneof![Just("text_delta"), Just("input_json_delta"), Just("thinking_delta")],
        index in prop_oneof![Just(json!(0)), Just(json!(3)), Just(Value::Null)],
    ) {
        let delta = object(&[("type".to_owned(), json!(kind)), ("text".to_owned(), json!(content))]);
        let mut top = extra;
        top.push(("type".to_owned(), json!("content_block_delta")));
        top.push(("index".to_owned(), index));
        top.push(("delta".to_owned(), Value::Null));
        let data = object(&top).replacen("\"delta\":null", &format!("\"delta\":{delta}"), 1);
        let expected = if kind == "text_delta" { content } else { String::new() };
        prop_assert_eq!(through("anthropic", "content_block_delta", &data), Ok(expected.clone()), "{}", data);
        // Over a socket, with no SSE event name, the `type` field names the event.
        prop_assert_eq!(through("anthropic", "", &data), Ok(expected), "{}", data);
    }

    #[test]
    fn aish_tokens_read_the_same_as_a_whole_parse(
        token in text(),
        extra in extras(),
        name in prop_oneof![Just(Some("token")), Just(None), Just(Some("metadata"))],
        content in prop::option::of(text()),
    ) {
        let mut fields = vec![("token".to_owned(), json!(token))];
        if let Some(content) = content {
            fields.push(("content".to_owned(), json!(content)));
        }
        let mut top = extra;
        if let Some(name) = name {
            top.push(("event".to_owned(), json!(name)));
        }
        top.push(("data".to_owned(), Value::Null));
        let data = object(&top).replacen("\"data\":null", &format!("\"data\":{}", object(&fields)), 1);
        let value: Value = serde_json::from_str(&data).unwrap();
        let got = through("aish", "message", &data);
        if top.iter().filter(|(k, _)| k == "event" || k == "data").count() > 2 {
            return Ok(());
        }
        let expected = match value["event"].as_str().unwrap_or("message") {
            "token" | "message" => token,
            _ => String::new(),
        };
        prop_assert_eq!(got, Ok(expected), "{}", data);
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 2000, ..ProptestConfig::default() })]

    #[test]
    fn responses_deltas_read_the_same_as_a_whole_parse(
        delta in text(),
        extra in extras(),
        kind in prop_oneof![
            3 => Just("response.output_text.delta"),
            1 => Just("response.refusal.delta"),
            1 => Just("response.function_call_arguments.delta"),
            1 => Just("response.output_text.done"),
        ],
        // Numbers serde reads, and ones past what it holds, which it refuses.
        sequence in prop_oneof![
            4 => any::<u32>().prop_map(|n| n.to_string()),
            1 => Just("0".to_owned()),
            1 => Just("-2.5e3".to_owned()),
            1 => Just("1e400".to_owned()),
            1 => Just("12345678901234567890123".to_owned()),
            1 => Just(format!("1{}", "0".repeat(400))),
        ],
        spaces in 0usize..3,
        twice in prop::option::of(prop_oneof![Just("type"), Just("delta"), Just("item_id")]),
        delta_value in prop_oneof![4 => Just(None), 1 => Just(Some(Value::Null)), 1 => Just(Some(json!(7)))],
    ) {
        let mut fields = vec![
            ("type".to_owned(), json!(kind)),
            ("sequence_number".to_owned(), Value::Null),
            ("item_id".to_owned(), json!("msg_1")),
            ("output_index".to_owned(), json!(0)),
            ("content_index".to_owned(), json!(0)),
            ("delta".to_owned(), delta_value.unwrap_or_else(|| json!(delta))),
            ("logprobs".to_owned(), json!([])),
        ];
        fields.extend(extra);
        if let Some(key) = twice {
            fields.push((key.to_owned(), json!("again")));
        }
        // Whitespace around the object, as a server may send it.
        let pad = " ".repeat(spaces);
        let data = format!("{pad}{}{pad}", object(&fields).replacen("\"sequence_number\":null", &format!("\"sequence_number\":{sequence}"), 1));
        // The whole parse keeps the last of a field given twice, and refuses a number past what
        // a double holds.
        let expected = serde_json::from_str::<Value>(&data).map_err(drop).map(|value| match value["type"].as_str() {
            Some("response.output_text.delta" | "response.refusal.delta") => {
                value["delta"].as_str().unwrap_or("").to_owned()
            }
            _ => String::new(),
        });
        prop_assert_eq!(through("responses", kind, &data), expected.clone(), "{}", data);
        // Over a socket, with no SSE event name, the `type` field names the event.
        prop_assert_eq!(through("responses", "", &data), expected, "{}", data);
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 2000, ..ProptestConfig::default() })]

    #[test]
    fn rhetor_chunks_read_the_same_as_a_whole_parse(
        content in text(),
        extra in extras(),
        kind in prop_oneof![4 => Just("chunk"), 1 => Just("complete"), 1 => Just("status")],
        content_value in prop_oneof![4 => Just(None), 1 => Just(Some(Value::Null)), 1 => Just(Some(json!(3)))],
        twice in prop::option::of(prop_oneof![Just("type"), Just("content")]),
        first_extra in any::<bool>(),
    ) {
        let mut fields = vec![
            ("type".to_owned(), json!(kind)),
            ("content".to_owned(), content_value.unwrap_or_else(|| json!(content))),
        ];
        if first_extra {
            fields.splice(0..0, extra);
        } else {
            fields.extend(extra);
        }
        if let Some(key) = twice {
            fields.push((key.to_owned(), json!("again")));
        }
        let data = object(&fields);
        // The whole parse keeps the last of a field given twice.
        let value: Value = serde_json::from_str(&data).unwrap();
        let expected = match value["type"].as_str() {
            Some("chunk") => value["content"].as_str().unwrap_or("").to_owned(),
            _ => String::new(),
        };
        prop_assert_eq!(through("rhetor", "message", &data), Ok(expected), "{}", data);
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 2000, ..ProptestConfig::default() })]

    #[test]
    fn ollama_lines_read_the_same_as_a_whole_parse(
        content in text(),
        extra in extras(),
        inner_extra in prop_oneof![3 => Just(None), 1 => Just(Some(("thinking", json!("hm")))), 1 => Just(Some(("tool_calls", json!([{"function": {"name": "f", "arguments": {}}}]))))],
        content_value in prop_oneof![4 => Just(None), 1 => Just(Some(Value::Null)), 1 => Just(Some(json!(3)))],
        done in prop_oneof![3 => Just(Some(json!(false))), 1 => Just(Some(json!(true))), 1 => Just(Some(Value::Null)), 1 => Just(None)],
        error in any::<bool>(),
        twice in prop::option::of(prop_oneof![Just("message"), Just("done")]),
    ) {
        let mut message = vec![("role".to_owned(), json!("assistant")), ("content".to_owned(), content_value.unwrap_or_else(|| json!(content)))];
        message.extend(inner_extra.map(|(k, v)| (k.to_owned(), v)));
        let mut fields = vec![
            ("model".to_owned(), json!("llama3.2")),
            ("created_at".to_owned(), json!("2024-07-22T20:41:33.123456Z")),
            ("message".to_owned(), Value::Null),
        ];
        fields.extend(done.map(|d| ("done".to_owned(), d)));
        if error {
            fields.push(("error".to_owned(), json!("model not found")));
        }
        fields.extend(extra);
        if let Some(key) = twice {
            fields.push((key.to_owned(), json!(false)));
        }
        let data = object(&fields).replacen("\"message\":null", &format!("\"message\":{}", object(&message)), 1);
        // The whole parse keeps the last of a field given twice.
        let value: Value = serde_json::from_str(&data).unwrap();
        // Content that is neither text nor null is a protocol error, not an empty piece.
        let content = value.pointer("/message/content");
        let message_kind = value.get("message").is_some_and(|m| !m.is_object() && !m.is_null());
        let bad = value.get("error").is_none()
            && (message_kind || content.is_some_and(|c| !c.is_string() && !c.is_null()));
        let expected = match value.get("error") {
            Some(_) => Ok(String::new()),
            None if bad => Err(()),
            None => Ok(content.and_then(Value::as_str).unwrap_or("").to_owned()),
        };
        prop_assert_eq!(through("ollama", "message", &data), expected, "{}", data);
        // A tool call in the line is never lost to the fast path, nor the answer's end.
        let mut out = Vec::new();
        let progress = dialect("ollama").on_message(&Message { event: "message", data: &data, id: "" }, &mut out);
        if bad {
            prop_assert!(progress.is_err(), "{}", data);
            return Ok(());
        }
        let ends = value.get("error").is_some() || value.get("done") == Some(&json!(true));
        prop_assert_eq!(matches!(progress, Ok(crate::Progress::Finished)), ends, "{}", data);
        let calls = out.iter().filter(|e| matches!(e, aish_plugin_sdk::Event::ToolCall(_))).count();
        let sent = match value.get("error") {
            Some(_) => 0,
            None => value.pointer("/message/tool_calls").and_then(Value::as_array).map_or(0, Vec::len),
        };
        prop_assert_eq!(calls, sent, "{}", data);
    }
}

/// The answer the second of two events gives, after the first, through one dialect.
fn after(name: &str, event: &str, first: &str, second: &str) -> Result<String, ()> {
    let mut d = dialect(name);
    let mut out = Vec::new();
    let _ = d.on_message(&Message { event, data: first, id: "" }, &mut out);
    out.clear();
    if d.on_message(&Message { event, data: second, id: "" }, &mut out).is_err() {
        return Err(());
    }
    Ok(out
        .iter()
        .filter_map(|e| if let aish_plugin_sdk::Event::Token(t) = e { Some(t.as_str()) } else { None })
        .collect())
}

/// A second event made from the first: its text replaced, and perhaps the bytes around it
/// changed (a finish reason, a tool call, a cut, garbage after it, an escape in the text).
fn second_event(first: &str, text: &str, change: u8) -> String {
    let replaced = first.replacen("TEXT", text, 1);
    match change {
        0 => replaced,
        1 => replaced.replacen("null", "\"stop\"", 1),
        2 => replaced.replacen("\"content\"", "\"tool_calls\":[],\"content\"", 1),
        3 => replaced[..replaced.floor_char_boundary(replaced.len() / 2)].to_owned(),
        4 => format!("{replaced} x"),
        5 => replaced.replacen("}", ",\"content\":\"twice\"}", 1),
        _ => replaced.replacen(text, &format!("{text}\\u00e9\\\""), 1),
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 1000, ..ProptestConfig::default() })]

    /// Remembering the last event (its bytes around the text) never changes what the next one
    /// reads: through one dialect or a fresh one, the same text or the same refusal.
    #[test]
    fn a_remembered_shape_reads_like_a_fresh_parse(
        a in "[a-z ]{0,8}",
        b in text(),
        change in 0u8..7,
        which in 0usize..4,
    ) {
        let (name, event, template) = [
            ("openai", "message", r#"{"id":"c","choices":[{"index":0,"delta":{"content":"TEXT"},"logprobs":null,"finish_reason":null}],"usage":null}"#),
            ("anthropic", "content_block_delta", r#"{"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"TEXT"}}"#),
            ("aish", "message", r#"{"event":"token","data":{"token":"TEXT"},"extra":null}"#),
            ("rhetor", "message", r#"{"type":"chunk","content":"TEXT","context_id":"c1","finish_reason":null}"#),
        ][which];
        let first = template.replacen("TEXT", &a, 1);
        let text = json!(b).to_string();
        let text = &text[1..text.len() - 1];
        let second = second_event(template, text, change);
        prop_assert_eq!(after(name, event, &first, &second), through(name, event, &second), "{}", second);
    }
}
