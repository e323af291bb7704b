use super::*;

fn dialect(kind: &str) -> Dialect {
    Dialect::new(ConnectOptions {
        url: "http://127.0.0.1:1/".into(),
        dialect: kind.into(),
        model: Some("m".into()),
        api_key: Some("sk-test".into()),
        settings: String::new(),
    })
    .unwrap()
}

/// Feeds (event type, data) pairs and collects every event and the last progress.
fn run(d: &mut Dialect, messages: &[(&str, &str)]) -> (Vec<Event>, Progress) {
    let mut out = Vec::new();
    let mut progress = Progress::More;
    for (event, data) in messages {
        progress = d.on_message(event, data, &mut out).unwrap();
    }
    (out, progress)
}

fn text(events: &[Event]) -> String {
    events.iter().filter_map(|e| if let Event::Token(t) = e { Some(t.as_str()) } else { None }).collect()
}

#[test]
fn openai_stream_as_documented() {
    let mut d = dialect("openai");
    let (out, progress) = run(
        &mut d,
        &[
            (
                "message",
                r#"{"id":"chatcmpl-1","object":"chat.completion.chunk","created":1,"model":"gpt-4o-mini","choices":[{"index":0,"delta":{"role":"assistant","content":""},"logprobs":null,"finish_reason":null}]}"#,
            ),
            (
                "message",
                r#"{"id":"chatcmpl-1","object":"chat.completion.chunk","created":1,"model":"gpt-4o-mini","choices":[{"index":0,"delta":{"content":"Hello"},"logprobs":null,"finish_reason":null}]}"#,
            ),
            (
                "message",
                r#"{"id":"chatcmpl-1","object":"chat.completion.chunk","created":1,"model":"gpt-4o-mini","choices":[{"index":0,"delta":{"content":" there"},"logprobs":null,"finish_reason":null}]}"#,
            ),
            (
                "message",
                r#"{"id":"chatcmpl-1","object":"chat.completion.chunk","created":1,"model":"gpt-4o-mini","choices":[{"index":0,"delta":{},"logprobs":null,"finish_reason":"stop"}]}"#,
            ),
            (
                "message",
                r#"{"id":"chatcmpl-1","object":"chat.completion.chunk","created":1,"model":"gpt-4o-mini","choices":[],"usage":{"prompt_tokens":9,"completion_tokens":2,"total_tokens":11}}"#,
            ),
            ("message", "[DONE]"),
        ],
    );
    assert_eq!(text(&out), "Hello there");
    assert_eq!(progress, Progress::Finished);
    assert_eq!(out.last(), Some(&Event::Done(Some(Usage { input_tokens: Some(9), output_tokens: Some(2) }))));
}

#[test]
fn openai_request_shape() {
    let d = dialect("openai");
    let shape = d
        .request(&Outgoing { message: "hi".into(), context: r#"{"pipeline_position":1}"#.into(), stream: true })
        .unwrap();
    let body: Value = serde_json::from_slice(&shape.body).unwrap();
    assert_eq!(body["model"], "m");
    assert_eq!(body["stream"], true);
    assert_eq!(body["messages"][0]["role"], "system");
    assert!(body["messages"][0]["content"].as_str().unwrap().contains("pipeline_position"));
    assert_eq!(body["messages"][1], json!({"role": "user", "content": "hi"}));
    assert!(shape.headers.contains(&("authorization".into(), "Bearer sk-test".into())));
}

#[test]
fn openai_error_chunk_fails() {
    let mut d = dialect("openai");
    let (out, progress) =
        run(&mut d, &[("message", r#"{"error":{"message":"Rate limit reached","type":"requests"}}"#)]);
    assert_eq!(out, vec![Event::Error("Rate limit reached".into())]);
    assert_eq!(progress, Progress::Finished);
}

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
    let (out, progress) =
        run(&mut d, &[("error", r#"{"type":"error","error":{"type":"overloaded_error","message":"Overloaded"}}"#)]);
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
fn malformed_json_is_a_protocol_error_naming_the_dialect() {
    let mut d = dialect("openai");
    let mut out = Vec::new();
    let err = d.on_message("message", "{not json", &mut out).unwrap_err();
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
    ];
    for (kind, body, usage) in cases {
        let (text, got) = dialect(kind).parse_answer(body.as_bytes()).unwrap();
        assert_eq!((text.as_str(), got), ("whole", usage), "{kind}");
    }
    let err = dialect("openai").parse_answer(br#"{"choices":[]}"#).unwrap_err();
    assert_eq!(err.kind, ErrorKind::Protocol);
}

#[test]
fn non_streaming_requests_ask_for_a_whole_answer() {
    let message = Outgoing { message: "hi".into(), context: "{}".into(), stream: false };
    for kind in ["aish", "rhetor", "openai", "anthropic"] {
        let body: Value = serde_json::from_slice(&dialect(kind).request(&message).unwrap().body).unwrap();
        assert_eq!(body["stream"], false, "{kind}");
        assert!(body.get("stream_options").is_none(), "{kind}");
    }
    assert_eq!(dialect("raw").request(&message).unwrap_err().kind, ErrorKind::InvalidInput);
}

#[test]
fn ollama_ndjson_stream_and_whole_answer() {
    let mut d = dialect("ollama");
    let (out, progress) = run(
        &mut d,
        &[
            (
                "",
                r#"{"model":"llama3.2","created_at":"2023-08-04T08:52:19.385406455-07:00","message":{"role":"assistant","content":"The"},"done":false}"#,
            ),
            (
                "",
                r#"{"model":"llama3.2","created_at":"2023-08-04T08:52:19.385406455-07:00","message":{"role":"assistant","content":" sky"},"done":false}"#,
            ),
            (
                "",
                r#"{"model":"llama3.2","created_at":"2023-08-04T19:22:45.499127Z","message":{"role":"assistant","content":""},"done":true,"total_duration":4883583458,"prompt_eval_count":26,"eval_count":2}"#,
            ),
        ],
    );
    assert_eq!(text(&out), "The sky");
    assert_eq!(progress, Progress::Finished);
    assert_eq!(out.last(), Some(&Event::Done(Some(Usage { input_tokens: Some(26), output_tokens: Some(2) }))));
    let (text, usage) = dialect("ollama")
        .parse_answer(br#"{"model":"llama3.2","message":{"role":"assistant","content":"whole"},"done":true,"prompt_eval_count":4,"eval_count":1}"#)
        .unwrap();
    assert_eq!((text.as_str(), usage), ("whole", Some(Usage { input_tokens: Some(4), output_tokens: Some(1) })));
    let mut d = dialect("ollama");
    let (out, _) = run(&mut d, &[("", r#"{"error":"model 'x' not found"}"#)]);
    assert_eq!(out, vec![Event::Error("model 'x' not found".into())]);
}
