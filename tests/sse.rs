//! The compiled SSE plugin against real HTTP servers: every WHATWG parsing rule, each dialect
//! with streams shaped as the public API docs show them, server errors, drops and trickles.

use std::time::Duration;

use aish::transport::{ErrorKind, Event, Usage};

use crate::support::server::{Gate, Part, Reply, TestServer};
use crate::support::{Answer, ask, ask_with, connector};

async fn raw(reply: Reply) -> Answer {
    let server = TestServer::always(reply);
    ask(&connector(None, ""), "sse", &server.url("/events"), "raw", "").await
}

fn ev(event: &str, data: &str, id: &str) -> (String, String, String) {
    (event.into(), data.into(), id.into())
}

#[tokio::test(flavor = "multi_thread")]
async fn bom_and_every_line_end_split_across_reads() {
    let answer = raw(Reply::sse([
        &b"\xEF\xBB"[..],
        b"\xBFdata: one\r",
        b"\n\r\n",
        b"data: two\r",
        b"\r",
        b"id: 5\n",
        b"data: th",
        b"ree\n\n",
    ]))
    .await;
    assert!(answer.error.is_none(), "{:?}", answer.error);
    assert_eq!(answer.raw(), vec![ev("message", "one", ""), ev("message", "two", ""), ev("message", "three", "5")]);
    assert_eq!(answer.events.last(), Some(&Event::Done(None)), "raw ends when the server closes");
}

#[tokio::test(flavor = "multi_thread")]
async fn fields_comments_ids_and_spaces() {
    let answer = raw(Reply::sse([
        ": keep-alive\n",
        "event: add\ndata: 1\n\n",
        "id: 7\ndata:  two spaces\n\n",
        "id: 8\0bad\ndata: nul id ignored\n\n",
        "data\n\n",
        "retry: 3000\nunknown: x\ndata: a\ndata: b\n\n",
        "id\ndata: id reset\n\n",
    ]))
    .await;
    assert_eq!(
        answer.raw(),
        vec![
            ev("add", "1", ""),
            ev("message", " two spaces", "7"),
            ev("message", "nul id ignored", "7"),
            ev("message", "", "7"),
            ev("message", "a\nb", "7"),
            ev("message", "id reset", ""),
        ]
    );
    assert!(answer.events.contains(&Event::Heartbeat), "a comment is a heartbeat");
}

#[tokio::test(flavor = "multi_thread")]
async fn utf8_split_across_reads_and_invalid_bytes() {
    let answer =
        raw(Reply::sse([&b"data: caf\xC3"[..], b"\xA9 \xE4\xB8", b"\x96\xE7\x95\x8C\n", b"data: bad\xFF\xFEend\n\n"]))
            .await;
    assert_eq!(answer.raw(), vec![ev("message", "café 世界\nbad\u{FFFD}\u{FFFD}end", "")]);
}

/// Thousands of small writes back to back reach the plugin as several frames gathered into each
/// read: each byte must land where it belongs, characters split between writes and frames
/// included.
#[tokio::test(flavor = "multi_thread")]
async fn many_small_frames_in_one_read_arrive_byte_for_byte() {
    let events: Vec<String> = (0..4000).map(|i| format!("{i}:{}", "é世".repeat(i % 7))).collect();
    let mut parts: Vec<Vec<u8>> = Vec::new();
    for (i, data) in events.iter().enumerate() {
        let event = format!("data: {data}\n\n").into_bytes();
        if i % 5 == 0 && data.len() > 4 {
            // The cut falls inside a character: "é" is two bytes, "世" three.
            let cut = data.find('é').map_or(3, |at| at + 1) + 6;
            parts.push(event[..cut].to_vec());
            parts.push(event[cut..].to_vec());
        } else {
            parts.push(event);
        }
    }
    // Written back to back (no pauses, unlike `Reply::sse`): the client takes them in frames of
    // up to 8 KiB, cut anywhere, several of which are waiting at each read.
    let parts = parts.into_iter().map(Part::Data).collect();
    let answer =
        raw(Reply { status: 200, headers: vec![("content-type".into(), "text/event-stream".into())], parts }).await;
    assert!(answer.error.is_none(), "{:?}", answer.error);
    let expected: Vec<_> = events.iter().map(|data| ev("message", data, "")).collect();
    assert_eq!(answer.raw(), expected);
}

#[tokio::test(flavor = "multi_thread")]
async fn pending_event_is_dropped_at_end_of_stream() {
    let answer = raw(Reply::sse(["data: kept\n\n", "data: never dispatched\n"])).await;
    assert_eq!(answer.raw(), vec![ev("message", "kept", "")]);
}

#[tokio::test(flavor = "multi_thread")]
async fn raw_posts_a_message_when_given_one() {
    let server = TestServer::always(Reply::sse(["data: ok\n\n"]));
    let answer = ask(&connector(None, ""), "sse", &server.url("/e"), "raw", "ping").await;
    assert_eq!(answer.raw(), vec![ev("message", "ok", "")]);
    let request = &server.requests()[0];
    assert_eq!((request.method.as_str(), request.body.as_slice()), ("POST", &b"ping"[..]));
    assert_eq!(request.header("accept"), Some("text/event-stream"));
}

/// The stream in OpenAI's chat completions streaming docs, with `stream_options.include_usage`.
const OPENAI: &[&str] = &[
    "data: {\"id\":\"chatcmpl-123\",\"object\":\"chat.completion.chunk\",\"created\":1694268190,\"model\":\"gpt-4o-mini\",\"system_fingerprint\":\"fp_44709d6fcb\",\"choices\":[{\"index\":0,\"delta\":{\"role\":\"assistant\",\"content\":\"\"},\"logprobs\":null,\"finish_reason\":null}]}\n\n",
    "data: {\"id\":\"chatcmpl-123\",\"object\":\"chat.completion.chunk\",\"created\":1694268190,\"model\":\"gpt-4o-mini\",\"system_fingerprint\":\"fp_44709d6fcb\",\"choices\":[{\"index\":0,\"delta\":{\"content\":\"Hello\"},\"logprobs\":null,\"finish_reason\":null}]}\n\n",
    "data: {\"id\":\"chatcmpl-123\",\"object\":\"chat.completion.chunk\",\"created\":1694268190,\"model\":\"gpt-4o-mini\",\"system_fingerprint\":\"fp_44709d6fcb\",\"choices\":[{\"index\":0,\"delta\":{\"content\":\" world\"},\"logprobs\":null,\"finish_reason\":null}]}\n\n",
    "data: {\"id\":\"chatcmpl-123\",\"object\":\"chat.completion.chunk\",\"created\":1694268190,\"model\":\"gpt-4o-mini\",\"system_fingerprint\":\"fp_44709d6fcb\",\"choices\":[{\"index\":0,\"delta\":{},\"logprobs\":null,\"finish_reason\":\"stop\"}]}\n\n",
    "data: {\"id\":\"chatcmpl-123\",\"object\":\"chat.completion.chunk\",\"created\":1694268190,\"model\":\"gpt-4o-mini\",\"system_fingerprint\":\"fp_44709d6fcb\",\"choices\":[],\"usage\":{\"prompt_tokens\":9,\"completion_tokens\":2,\"total_tokens\":11}}\n\n",
    "data: [DONE]\n\n",
];

#[tokio::test(flavor = "multi_thread")]
async fn openai_dialect() {
    let server = TestServer::always(Reply::sse(OPENAI));
    let answer = ask(&connector(None, ""), "sse", &server.url("/v1/chat/completions"), "openai", "Say hello").await;
    assert!(answer.error.is_none(), "{:?}", answer.error);
    assert_eq!(answer.text(), "Hello world");
    assert_eq!(answer.events.last(), Some(&Event::Done(Some(Usage { input_tokens: Some(9), output_tokens: Some(2) }))));
    let request = &server.requests()[0];
    assert_eq!(request.header("authorization"), Some("Bearer sk-test"));
    let body = request.json();
    assert_eq!(body["model"], "test-model");
    assert_eq!(body["stream"], true);
    assert_eq!(body["messages"].as_array().unwrap().last().unwrap()["content"], "Say hello");
}

/// The stream in Anthropic's Messages streaming docs.
const ANTHROPIC: &[&str] = &[
    "event: message_start\ndata: {\"type\": \"message_start\", \"message\": {\"id\": \"msg_1nZdL29xx5MUA1yADyHTEsnR8uuvGzszyY\", \"type\": \"message\", \"role\": \"assistant\", \"content\": [], \"model\": \"claude-sonnet-4-5\", \"stop_reason\": null, \"stop_sequence\": null, \"usage\": {\"input_tokens\": 25, \"output_tokens\": 1}}}\n\n",
    "event: content_block_start\ndata: {\"type\": \"content_block_start\", \"index\": 0, \"content_block\": {\"type\": \"text\", \"text\": \"\"}}\n\n",
    "event: ping\ndata: {\"type\": \"ping\"}\n\n",
    "event: content_block_delta\ndata: {\"type\": \"content_block_delta\", \"index\": 0, \"delta\": {\"type\": \"text_delta\", \"text\": \"Hello\"}}\n\n",
    "event: content_block_delta\ndata: {\"type\": \"content_block_delta\", \"index\": 0, \"delta\": {\"type\": \"text_delta\", \"text\": \"!\"}}\n\n",
    "event: content_block_stop\ndata: {\"type\": \"content_block_stop\", \"index\": 0}\n\n",
    "event: message_delta\ndata: {\"type\": \"message_delta\", \"delta\": {\"stop_reason\": \"end_turn\", \"stop_sequence\":null}, \"usage\": {\"output_tokens\": 15}}\n\n",
    "event: message_stop\ndata: {\"type\": \"message_stop\"}\n\n",
];

#[tokio::test(flavor = "multi_thread")]
async fn anthropic_dialect() {
    let server = TestServer::always(Reply::sse(ANTHROPIC));
    let answer = ask(&connector(None, ""), "sse", &server.url("/v1/messages"), "anthropic", "Hi").await;
    assert!(answer.error.is_none(), "{:?}", answer.error);
    assert_eq!(answer.text(), "Hello!");
    assert!(answer.events.contains(&Event::Heartbeat));
    assert_eq!(
        answer.events.last(),
        Some(&Event::Done(Some(Usage { input_tokens: Some(25), output_tokens: Some(15) })))
    );
    let request = &server.requests()[0];
    assert_eq!(request.header("x-api-key"), Some("sk-test"));
    assert_eq!(request.header("anthropic-version"), Some("2023-06-01"));
    assert_eq!(request.json()["messages"][0]["content"], "Hi");
}

#[tokio::test(flavor = "multi_thread")]
async fn anthropic_error_event_fails_the_answer() {
    let answer = raw_dialect(
        "anthropic",
        Reply::sse([
            ANTHROPIC[0],
            "event: error\ndata: {\"type\": \"error\", \"error\": {\"type\": \"overloaded_error\", \"message\": \"Overloaded\"}}\n\n",
        ]),
    )
    .await;
    assert_eq!(answer.events.last(), Some(&Event::Error("overloaded_error: Overloaded".into())));
}

async fn raw_dialect(dialect: &str, reply: Reply) -> Answer {
    let server = TestServer::always(reply);
    ask(&connector(None, ""), "sse", &server.url("/x"), dialect, "hello").await
}

#[tokio::test(flavor = "multi_thread")]
async fn aish_dialect_and_its_request() {
    let server = TestServer::always(Reply::sse([
        "data: {\"event\":\"token\",\"data\":{\"token\":\"Hel\"}}\n\n",
        "data: {\"event\":\"token\",\"data\":{\"token\":\"lo\"}}\n\n",
        "event: done\ndata: {}\n\n",
    ]));
    let answer = ask(&connector(None, ""), "sse", &server.url("/chat"), "aish", "hi there").await;
    assert_eq!(answer.text(), "Hello");
    assert!(matches!(answer.events.last(), Some(Event::Done(_))));
    let body = server.requests()[0].json();
    assert_eq!(body["message"], "hi there");
    assert_eq!(body["stream"], true);
    assert!(body["context"].is_object());
}

#[tokio::test(flavor = "multi_thread")]
async fn rhetor_dialect() {
    let answer = raw_dialect(
        "rhetor",
        Reply::sse([
            "data: {\"type\":\"chunk\",\"content\":\"Tek\"}\n\n",
            "data: {\"type\":\"chunk\",\"content\":\"ton\"}\n\n",
            "data: {\"type\":\"complete\",\"metadata\":{\"model\":\"x\"}}\n\n",
        ]),
    )
    .await;
    assert_eq!(answer.text(), "Tekton");
    assert!(matches!(answer.events.last(), Some(Event::Done(_))));
    let answer =
        raw_dialect("rhetor", Reply::sse(["data: {\"type\":\"error\",\"error\":\"budget exhausted\"}\n\n"])).await;
    assert_eq!(answer.events.last(), Some(&Event::Error("budget exhausted".into())));
}

#[tokio::test(flavor = "multi_thread")]
async fn server_error_status_carries_the_servers_message() {
    let answer = raw_dialect(
        "openai",
        Reply::body(
            401,
            "application/json",
            r#"{"error":{"message":"Incorrect API key provided: sk-test.","type":"invalid_request_error"}}"#,
        ),
    )
    .await;
    let error = answer.error.expect("an error");
    assert_eq!((error.kind, error.status), (ErrorKind::Server, Some(401)));
    assert!(
        error.message.contains("HTTP 401") && error.message.contains("Incorrect API key provided"),
        "{}",
        error.message
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn endpoints_that_cannot_stream_say_so() {
    for reply in [
        Reply::body(404, "text/plain", "not here"),
        Reply::body(405, "application/json", r#"{"detail":"Method Not Allowed"}"#),
        Reply::body(200, "application/json", r#"{"response":"whole answer"}"#),
    ] {
        let error = raw_dialect("aish", reply).await.error.expect("an error");
        assert_eq!(error.kind, ErrorKind::StreamUnavailable, "{}", error.message);
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn rate_limit_reports_retry_after() {
    let error = raw_dialect(
        "openai",
        Reply::body(429, "application/json", r#"{"error":{"message":"slow down"}}"#).header("retry-after", "7"),
    )
    .await
    .error
    .expect("an error");
    assert_eq!(error.retry_after, Some(Duration::from_secs(7)));
}

#[tokio::test(flavor = "multi_thread")]
async fn server_gone_mid_answer_keeps_what_arrived() {
    let answer = raw_dialect(
        "aish",
        Reply::sse([
            "data: {\"event\":\"token\",\"data\":{\"token\":\"partial \"}}\n\n",
            "data: {\"event\":\"token\",\"data\":{\"token\":\"answer\"}}\n\n",
        ]),
    )
    .await;
    assert_eq!(answer.text(), "partial answer");
    let error = answer.error.expect("an interruption");
    assert_eq!(error.kind, ErrorKind::Interrupted);
    assert!(error.message.contains("before the answer was complete"), "{}", error.message);
}

#[tokio::test(flavor = "multi_thread")]
async fn malformed_stream_is_a_protocol_error_after_the_good_part() {
    let answer = raw_dialect("openai", Reply::sse([OPENAI[1], "data: {\"choices\": [oops\n\n"])).await;
    assert_eq!(answer.text(), "Hello");
    let error = answer.error.expect("an error");
    assert_eq!(error.kind, ErrorKind::Protocol);
    assert!(error.message.starts_with("openai stream:"), "{}", error.message);
}

/// JSON refuses a raw control character in a string. The remembered-event loop that reads
/// runs of tokens (in WebAssembly SIMD in the plugin) must stop at one, up to 0x1f, so that the
/// full parse refuses it (a bound too low would take it as text; the tokens hold spaces).
#[tokio::test(flavor = "multi_thread")]
async fn a_raw_control_character_in_a_run_fails_the_answer_after_the_run() {
    for bad in ["\u{1f}", "\u{1}", "\t"] {
        let token = |text: &str| format!("data: {{\"event\":\"token\",\"data\":{{\"token\":\"{text}\"}}}}\n\n");
        let good: String = (0..40).map(|i| token(&format!("t {i}"))).collect();
        // One part: the bad event comes in the same read as the run before it.
        let body = format!("{good}{}{}", token(&format!("x{bad}y")), token("never"));
        let answer = raw_dialect("aish", Reply::sse([body.as_str()])).await;
        assert_eq!(answer.text(), (0..40).map(|i| format!("t {i}")).collect::<String>(), "{bad:?}");
        let error = answer.error.unwrap_or_else(|| panic!("{bad:?} in a string was taken as text"));
        assert_eq!(error.kind, ErrorKind::Protocol, "{bad:?}: {}", error.message);
    }
}

/// Runs of events with a count in them (an `id:` line, a Responses sequence number), through the
/// compiled plugin: the WebAssembly build's vector steps and its guess that a count keeps the
/// last one's length read every text, across counts gaining a digit; a sequence number of the
/// last length that is not JSON (a leading zero) fails the answer after the texts before it.
#[tokio::test(flavor = "multi_thread")]
async fn runs_with_counts_read_every_text_in_the_plugin() {
    let texts = |counts: std::ops::Range<usize>| counts.map(|i| format!("t{i} ")).collect::<String>();
    let delta = |number: &str, i: usize| {
        format!(
            "event: response.output_text.delta\ndata: {{\"type\":\"response.output_text.delta\",\"sequence_number\":{number},\"item_id\":\"msg_1\",\"output_index\":0,\"content_index\":0,\"delta\":\"t{i} \",\"logprobs\":[],\"obfuscation\":\"Zq3v\"}}\n\n"
        )
    };
    let completed = "event: response.completed\ndata: {\"type\":\"response.completed\",\"sequence_number\":99999,\"response\":{\"status\":\"completed\",\"output\":[]}}\n\n";
    let body = (1..3000).map(|i| delta(&i.to_string(), i)).collect::<String>() + completed;
    let answer = raw_dialect("responses", Reply::sse([body])).await;
    assert_eq!(answer.text(), texts(1..3000));
    assert!(answer.error.is_none(), "{:?}", answer.error);

    let number = |i: usize| if i == 1050 { "0123".to_owned() } else { i.to_string() };
    let body: String = (1000..1100).map(|i| delta(&number(i), i)).collect();
    let answer = raw_dialect("responses", Reply::sse([body + completed])).await;
    assert_eq!(answer.text(), texts(1000..1050));
    assert_eq!(answer.error.expect("a number that is not JSON fails the answer").kind, ErrorKind::Protocol);

    let token = |i: usize| format!("id: {i}\ndata: {{\"event\":\"token\",\"data\":{{\"token\":\"t{i} \"}}}}\n\n");
    let body = (0..3000).map(token).collect::<String>() + "event: done\ndata: {}\n\n";
    let answer = raw_dialect("aish", Reply::sse([body])).await;
    assert_eq!(answer.text(), texts(0..3000));
    assert!(matches!(answer.events.last(), Some(Event::Done(_))));
}

#[tokio::test(flavor = "multi_thread")]
async fn connection_refused_is_a_connect_error() {
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let answer = ask(&connector(None, ""), "sse", &format!("http://127.0.0.1:{port}/x"), "aish", "hi").await;
    let error = answer.error.expect("an error");
    assert_eq!(error.kind, ErrorKind::Connect, "{}", error.message);
}

/// A slow trickle streams: the server holds back the rest until the client has shown the first
/// token, so a client that buffered the answer would never finish.
#[tokio::test(flavor = "multi_thread")]
async fn slow_trickle_arrives_token_by_token() {
    let first_seen = Gate::default();
    let mut reply = Reply::sse(["data: {\"event\":\"token\",\"data\":{\"token\":\"first \"}}\n\n"])
        .then(Part::Wait(first_seen.clone()));
    for i in 0..5 {
        reply = reply.then(Part::Pause(Duration::from_millis(30))).then(Part::Data(
            format!("data: {{\"event\":\"token\",\"data\":{{\"token\":\"t{i} \"}}}}\n\n").into_bytes(),
        ));
    }
    reply = reply.then(Part::Data(b"event: done\ndata: {}\n\n".to_vec()));
    let server = TestServer::always(reply);
    let gate = first_seen.clone();
    let answer = ask_with(&connector(None, ""), "sse", &server.url("/slow"), "aish", "hi", move |event| {
        if matches!(event, Event::Token(_)) {
            gate.open();
        }
    })
    .await;
    assert!(answer.error.is_none(), "{:?}", answer.error);
    assert_eq!(answer.text(), "first t0 t1 t2 t3 t4 ");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_line_without_end_is_a_protocol_error_not_a_crash() {
    let endless: Vec<u8> = b"data: ".iter().copied().chain(std::iter::repeat_n(b'x', 9 << 20)).collect();
    let reply = Reply::sse([b"data: {\"event\":\"token\",\"data\":{\"token\":\"kept\"}}\n\n".to_vec(), endless]);
    let server = TestServer::always(reply);
    let answer = ask(&connector(None, ""), "sse", &server.url("/"), "aish", "hi").await;
    assert_eq!(answer.text(), "kept");
    let error = answer.error.expect("an error");
    assert_eq!(error.kind, ErrorKind::Protocol);
    assert!(error.message.contains("longer than 8 MiB"), "{}", error.message);
}
