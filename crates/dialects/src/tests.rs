//! Tests of the [`Dialect`] front over every provider: lookup, whole answers, error bodies.
//! Each provider's own stream and request tests sit in its module.

use aish_plugin_sdk::{ConnectOptions, ErrorKind, Outgoing, Usage};
use serde_json::Value;

use crate::testing::{dialect, plain};
use crate::{Dialect, Message};

#[test]
fn malformed_json_is_a_protocol_error_naming_the_dialect() {
    let mut d = dialect("openai");
    let mut out = Vec::new();
    let err = d.on_message(&Message { event: "message", data: "{not json", id: "" }, &mut out).unwrap_err();
    assert_eq!(err.kind, ErrorKind::Protocol);
    assert!(err.message.starts_with("openai stream:"), "{}", err.message);
}

#[test]
fn unknown_dialect_names_the_choices() {
    let err = Dialect::new(ConnectOptions {
        url: String::new(),
        dialect: "klingon".into(),
        model: None,
        api_key: None,
        settings: String::new(),
    })
    .unwrap_err();
    assert!(err.message.contains("klingon") && err.message.contains("openai"));
}

#[test]
fn error_message_from_common_bodies() {
    assert_eq!(Dialect::error_message(br#"{"error":{"message":"bad key"}}"#).as_deref(), Some("bad key"));
    assert_eq!(Dialect::error_message(br#"{"error":"nope"}"#).as_deref(), Some("nope"));
    assert_eq!(Dialect::error_message(br#"{"detail":"Not Found"}"#).as_deref(), Some("Not Found"));
    assert_eq!(Dialect::error_message(b"<html>"), None);
}

#[test]
fn whole_answers_in_every_dialect() {
    let cases = [
        ("aish", r#"{"response":"whole"}"#, None),
        ("rhetor", r#"{"content":"whole","model":"x"}"#, None),
        (
            "openai",
            r#"{"id":"chatcmpl-1","object":"chat.completion","choices":[{"index":0,"message":{"role":"assistant","content":"whole"},"finish_reason":"stop"}],"usage":{"prompt_tokens":5,"completion_tokens":1,"total_tokens":6}}"#,
            Some(Usage { input_tokens: Some(5), output_tokens: Some(1) }),
        ),
        (
            "anthropic",
            r#"{"id":"msg_1","type":"message","role":"assistant","content":[{"type":"text","text":"who"},{"type":"text","text":"le"}],"stop_reason":"end_turn","usage":{"input_tokens":3,"output_tokens":2}}"#,
            Some(Usage { input_tokens: Some(3), output_tokens: Some(2) }),
        ),
        (
            "responses",
            r#"{"object":"response","status":"completed","output":[{"type":"message","role":"assistant","content":[{"type":"output_text","text":"whole","annotations":[]}]}],"usage":{"input_tokens":4,"output_tokens":1}}"#,
            Some(Usage { input_tokens: Some(4), output_tokens: Some(1) }),
        ),
        (
            "gemini",
            r#"{"candidates":[{"content":{"parts":[{"text":"who"},{"text":"le"}],"role":"model"},"finishReason":"STOP"}],"usageMetadata":{"promptTokenCount":2,"candidatesTokenCount":1}}"#,
            Some(Usage { input_tokens: Some(2), output_tokens: Some(1) }),
        ),
    ];
    for (kind, body, usage) in cases {
        let whole = dialect(kind).parse_answer(body.as_bytes()).unwrap();
        assert_eq!((whole.text.as_str(), whole.usage), ("whole", usage), "{kind}");
        assert!(whole.tool_calls.is_empty(), "{kind}");
    }
    let err = dialect("openai").parse_answer(br#"{"choices":[]}"#).unwrap_err();
    assert_eq!(err.kind, ErrorKind::Protocol);
}

#[test]
fn non_streaming_requests_ask_for_a_whole_answer() {
    let message = Outgoing { stream: false, ..plain("hi") };
    for kind in ["aish", "rhetor", "openai", "anthropic", "responses"] {
        let body: Value = serde_json::from_slice(&dialect(kind).request(&message).unwrap().body).unwrap();
        assert_eq!(body["stream"], false, "{kind}");
        assert!(body.get("stream_options").is_none(), "{kind}");
    }
    assert_eq!(dialect("raw").request(&message).unwrap_err().kind, ErrorKind::InvalidInput);
}

#[test]
fn socket_requests_per_dialect() {
    let message = Outgoing { context: r#"{"a":1}"#.into(), ..plain("hi") };
    let frame = |kind: &str| dialect(kind).socket_request(&message).unwrap();
    // aish: the message and context, no `stream` (the connection is the stream).
    let aish: Value = serde_json::from_slice(&frame("aish")).unwrap();
    assert_eq!(aish, serde_json::json!({"message": "hi", "context": {"a": 1}, "history": []}));
    // raw: the message as it is; the others: the body of their HTTP request.
    assert_eq!(frame("raw"), b"hi");
    assert_eq!(frame("openai"), dialect("openai").request(&message).unwrap().body);
}

#[test]
fn only_raw_ends_at_close_and_only_ollama_streams_lines() {
    // (Gemini's and OpenAI's close end their streams too, but only after a chunk said why the
    // answer finished.)
    for kind in ["aish", "rhetor", "openai", "anthropic", "ollama", "responses", "gemini", "raw"] {
        let mut d = dialect(kind);
        assert_eq!(d.has_end_marker(), kind != "raw", "{kind}");
        assert_eq!(d.answers_whole(), kind != "raw", "{kind}");
        assert_eq!(d.framing() == crate::Framing::JsonLines, kind == "ollama", "{kind}");
        let mut out = Vec::new();
        let ends = d.on_close(&mut out) == crate::Progress::Finished;
        assert_eq!((ends, out.is_empty()), (kind == "raw", kind != "raw"), "{kind}");
    }
}

#[test]
fn a_token_event_read_by_its_text_alone_says_where_the_text_stood() {
    let cases = [
        (
            "openai",
            "message",
            r#"{"id":"c1","choices":[{"index":0,"delta":{"content":"Hi \"you\""},"finish_reason":null}]}"#,
            r#"{"choices":[{"index":0,"delta":{},"finish_reason":"stop"}]}"#,
        ),
        (
            "anthropic",
            "content_block_delta",
            r#"{"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"Hi \"you\""}}"#,
            r#"{"type":"ping"}"#,
        ),
        (
            "aish",
            "message",
            r#"{"event":"token","data":{"token":"Hi \"you\""}}"#,
            r#"{"event":"status","data":{"message":"busy"}}"#,
        ),
    ];
    for (name, event, token, other) in cases {
        let mut d = dialect(name);
        let mut out = Vec::new();
        d.on_message(&Message { event, data: token, id: "" }, &mut out).unwrap();
        let shape = d.text_shape().unwrap_or_else(|| panic!("{name}: a token event gives its shape"));
        let (start, end) = shape.text;
        assert_eq!(&token[start..end], r#""Hi \"you\"""#, "{name}: the span is the JSON string, quotes included");
        assert_eq!(shape.free, None, "{name}: nothing skipped after the text");
        // Read again: the remembered shape gives the same span.
        d.on_message(&Message { event, data: token, id: "" }, &mut out).unwrap();
        assert_eq!(d.text_shape(), Some(shape), "{name}");
        let event = if name == "anthropic" { "ping" } else { event };
        d.on_message(&Message { event, data: other, id: "" }, &mut out).unwrap();
        assert_eq!(d.text_shape(), None, "{name}: another event has none");
        // `on_text` reads a text as the token event would.
        let mut more = Vec::new();
        d.on_text("more", &mut more);
        assert_eq!(more, [aish_plugin_sdk::Event::Token("more".into())], "{name}");
    }
}

#[test]
fn one_string_skipped_after_the_text_is_free() {
    // OpenAI's own API pads each chunk: a string after the text that means nothing.
    let padded =
        r#"{"id":"c1","choices":[{"index":0,"delta":{"content":"Hi"},"finish_reason":null}],"obfuscation":"x\"Z"}"#;
    let mut d = dialect("openai");
    let mut out = Vec::new();
    d.on_message(&Message { event: "message", data: padded, id: "" }, &mut out).unwrap();
    let shape = d.text_shape().expect("a token event");
    let (start, end) = shape.free.expect("the padding is free");
    assert_eq!(&padded[start..end], r#""x\"Z""#);
    assert_eq!(&padded[shape.text.0..shape.text.1], r#""Hi""#);
    // Recalled from the remembered shape, the same spans.
    d.on_message(&Message { event: "message", data: padded, id: "" }, &mut out).unwrap();
    assert_eq!(d.text_shape(), Some(shape));
    // Strings skipped before the text (the id) are not free; two after it, neither is.
    let two = r#"{"choices":[{"index":0,"delta":{"content":"Hi"},"finish_reason":null}],"a":"1","b":"2"}"#;
    d.on_message(&Message { event: "message", data: two, id: "" }, &mut out).unwrap();
    assert_eq!(d.text_shape().map(|s| s.free), Some(None));
}
