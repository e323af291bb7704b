//! The Responses and Gemini dialects and streamed tool calls through the compiled plugins
//! against real HTTP servers: streams shaped as the providers' SDK fixtures show them (tokens,
//! usage, an error mid-stream keeping what came before), whole answers over `http`, Gemini's
//! URL and key header, the persona and conversation on the wire, and an OpenAI tool call split
//! over several chunks arriving as one event.

use std::time::Duration;

use aish::transport::{ConnectOptions, Connector, Event, Outgoing, Role, ToolCall, TransportError, Turn, Usage};
use serde_json::{Value, json};

use crate::support::server::{Reply, TestServer};
use crate::support::ws::WsServer;
use crate::support::{Answer, ask, connector};

fn done(input: u64, output: u64) -> Event {
    Event::Done(Some(Usage { input_tokens: Some(input), output_tokens: Some(output) }))
}

/// An SSE event with a name, as the Responses API sends them.
fn named(event: &str, data: &str) -> String {
    format!("event: {event}\ndata: {data}\n\n")
}

/// Sends `message` (persona, turns and context included) through `transport` and collects the
/// answer, as `support::ask` does for a plain message.
async fn ask_outgoing(connector: &Connector, transport: &str, url: &str, dialect: &str, message: Outgoing) -> Answer {
    let host = aish::plugin::capabilities::host_pattern_of(url).expect("test URL");
    let grant = connector.grant(transport, &[host]).expect("grant");
    let options = ConnectOptions {
        url: url.into(),
        dialect: dialect.into(),
        model: Some("test-model".into()),
        api_key: Some("sk-test".into()),
        settings: json!({}),
    };
    let mut answer = Answer { events: Vec::new(), error: None };
    let run = async {
        let mut session = connector.connect(transport, grant, options).await?;
        session.send(&message).await?;
        loop {
            let events = session.receive().await?;
            if events.is_empty() {
                break;
            }
            answer.events.extend(events);
        }
        session.close().await;
        Ok::<(), TransportError>(())
    };
    match tokio::time::timeout(Duration::from_secs(30), run).await {
        Ok(Ok(())) => {}
        Ok(Err(e)) => answer.error = Some(e),
        Err(_) => panic!("the answer did not end within 30 s"),
    }
    answer
}

/// A second-stage message with a persona and two earlier turns.
fn conversation_message() -> Outgoing {
    let context = json!({
        "pipeline_position": 2,
        "previous_ai": "apollo",
        "previous_response": "ROOFTOP GARDENS",
        "session_id": "session-1234",
    });
    let mut message = Outgoing::new("ROOFTOP GARDENS", context, true);
    message.system = Some("You are Athena.".into());
    message.history = vec![
        Turn { role: Role::User, content: "my name is Zed".into() },
        Turn { role: Role::Assistant, content: "Hello Zed".into() },
    ];
    message
}

const NOTE: &str = "You are Athena.\n\nYou are stage 2 of a pipeline; your input is the answer of apollo.";

/// The Responses stream of dotnet/extensions' `ReasoningTextDelta_Streaming` test
/// (OpenAIResponseClientTests.cs), its message part split into two deltas.
fn responses_stream() -> Vec<String> {
    vec![
        named(
            "response.created",
            r#"{"type":"response.created","sequence_number":0,"response":{"id":"resp_reasoning123","object":"response","created_at":1756752900,"status":"in_progress","model":"o4-mini-2025-04-16","output":[]}}"#,
        ),
        named(
            "response.output_item.added",
            r#"{"type":"response.output_item.added","sequence_number":8,"output_index":1,"item":{"id":"msg_reasoning123","type":"message","status":"in_progress","content":[],"role":"assistant"}}"#,
        ),
        named(
            "response.output_text.delta",
            r#"{"type":"response.output_text.delta","sequence_number":10,"item_id":"msg_reasoning123","output_index":1,"content_index":0,"delta":"The solution"}"#,
        ),
        named(
            "response.output_text.delta",
            r#"{"type":"response.output_text.delta","sequence_number":11,"item_id":"msg_reasoning123","output_index":1,"content_index":0,"delta":" is 42."}"#,
        ),
        named(
            "response.output_text.done",
            r#"{"type":"response.output_text.done","sequence_number":12,"item_id":"msg_reasoning123","output_index":1,"content_index":0,"text":"The solution is 42."}"#,
        ),
        named(
            "response.completed",
            r#"{"type":"response.completed","sequence_number":14,"response":{"id":"resp_reasoning123","object":"response","created_at":1756752900,"status":"completed","model":"o4-mini-2025-04-16","output":[{"id":"msg_reasoning123","type":"message","status":"completed","content":[{"type":"output_text","annotations":[],"text":"The solution is 42."}],"role":"assistant"}],"usage":{"input_tokens":10,"output_tokens":25,"total_tokens":35}}}"#,
        ),
    ]
}

#[tokio::test(flavor = "multi_thread")]
async fn responses_streams_over_sse_with_usage_and_the_conversation_on_the_wire() {
    let server = TestServer::always(Reply::sse(responses_stream()));
    let answer =
        ask_outgoing(&connector(None, ""), "sse", &server.url("/v1/responses"), "responses", conversation_message())
            .await;
    assert!(answer.error.is_none(), "{:?}", answer.error);
    assert_eq!(answer.text(), "The solution is 42.");
    assert_eq!(answer.events.last(), Some(&done(10, 25)));
    let request = &server.requests()[0];
    assert_eq!((request.method.as_str(), request.path.as_str()), ("POST", "/v1/responses"));
    assert_eq!(request.header("authorization"), Some("Bearer sk-test"));
    assert_eq!(
        request.json(),
        json!({
            "model": "test-model",
            "input": [
                {"role": "user", "content": "my name is Zed"},
                {"role": "assistant", "content": "Hello Zed"},
                {"role": "user", "content": "ROOFTOP GARDENS"},
            ],
            "instructions": NOTE,
            "stream": true,
        })
    );
    let sent = String::from_utf8(request.body.clone()).unwrap();
    assert_eq!(sent.matches("ROOFTOP GARDENS").count(), 1, "the previous answer is sent once");
    assert!(!sent.contains("session-1234"), "the session id is not the model's business");
}

#[tokio::test(flavor = "multi_thread")]
async fn responses_failure_mid_stream_keeps_the_tokens_before_it() {
    let mut stream = responses_stream();
    stream.truncate(3);
    // The `response.failed` of openai-python's tests/lib/responses/fixtures/websocket_scenarios.json.
    stream.push(named(
        "response.failed",
        r#"{"type":"response.failed","response":{"id":"resp_first","object":"response","created_at":1,"model":"gpt-4o-mini","output":[],"status":"failed","error":{"code":"server_error","message":"Synthetic failure"}},"sequence_number":2}"#,
    ));
    let server = TestServer::always(Reply::sse(stream));
    let answer = ask(&connector(None, ""), "sse", &server.url("/v1/responses"), "responses", "hi").await;
    assert_eq!(answer.text(), "The solution");
    assert_eq!(answer.events.last(), Some(&Event::Error("Synthetic failure".into())));
}

#[tokio::test(flavor = "multi_thread")]
async fn responses_whole_answer_over_http() {
    // dotnet/extensions' `BasicRequestResponse_NonStreaming`.
    let server = TestServer::always(Reply::body(
        200,
        "application/json",
        r#"{"id":"resp_67d327649b288191aeb46a824e49dc40058a5e08c46a181d","object":"response","created_at":1741891428,"status":"completed","model":"gpt-4o-mini-2024-07-18","output":[{"type":"message","id":"msg_67d32764fcdc8191bcf2e444d4088804058a5e08c46a181d","status":"completed","role":"assistant","content":[{"type":"output_text","text":"Hello! How can I assist you today?","annotations":[]}]}],"usage":{"input_tokens":26,"input_tokens_details":{"cached_tokens":0},"output_tokens":10,"output_tokens_details":{"reasoning_tokens":0},"total_tokens":36}}"#,
    ));
    let answer = ask(&connector(None, ""), "http", &server.url("/v1/responses"), "responses", "hello").await;
    assert!(answer.error.is_none(), "{:?}", answer.error);
    assert_eq!(answer.text(), "Hello! How can I assist you today?");
    assert_eq!(answer.events.last(), Some(&done(26, 10)));
    assert_eq!(server.requests()[0].json()["stream"], false);
}

#[tokio::test(flavor = "multi_thread")]
async fn responses_over_websocket_sends_response_create_and_reads_typed_messages() {
    let (tx, rx) = std::sync::mpsc::channel();
    let server = WsServer::start(move |mut conn| {
        let tx = tx.clone();
        async move {
            tx.send(conn.message().await).unwrap();
            // The same event objects as over SSE, one per message, named by their `type`.
            for event in responses_stream() {
                conn.text(event.trim_end().rsplit_once("data: ").unwrap().1).await;
            }
        }
    });
    let answer = ask(&connector(None, ""), "websocket", &server.url("/v1/responses"), "responses", "hi").await;
    assert!(answer.error.is_none(), "{:?}", answer.error);
    assert_eq!(answer.text(), "The solution is 42.");
    assert_eq!(answer.events.last(), Some(&done(10, 25)));
    let frame = rx.recv_timeout(Duration::from_secs(5)).unwrap();
    assert_eq!(
        frame,
        json!({"type": "response.create", "model": "test-model", "input": [{"role": "user", "content": "hi"}]})
    );
}

/// google-gemini/generative-ai-js test-utils/mock-responses/streaming-success-search-grounding.txt,
/// cut to three text chunks; every chunk says `finishReason` and the counts so far.
const GEMINI: &[&str] = &[
    "data: {\"candidates\": [{\"content\": {\"parts\": [{\"text\": \"The\"}], \"role\": \"model\"}, \"finishReason\": \"STOP\", \"index\": 0}], \"usageMetadata\": {\"promptTokenCount\": 8, \"candidatesTokenCount\": 1, \"totalTokenCount\": 9}}\r\n\r\n",
    "data: {\"candidates\": [{\"content\": {\"parts\": [{\"text\": \" current stock price\"}], \"role\": \"model\"}, \"finishReason\": \"STOP\", \"index\": 0}], \"usageMetadata\": {\"promptTokenCount\": 8, \"candidatesTokenCount\": 17, \"totalTokenCount\": 25}}\r\n\r\n",
    "data: {\"candidates\": [{\"content\": {\"parts\": [{\"text\": \" is $166.79.\"}], \"role\": \"model\"}, \"finishReason\": \"STOP\", \"index\": 0}], \"usageMetadata\": {\"promptTokenCount\": 8, \"candidatesTokenCount\": 33, \"totalTokenCount\": 41}}\r\n\r\n",
];

const GEMINI_MODEL: &str = "/v1beta/models/gemini-2.0-flash";

#[tokio::test(flavor = "multi_thread")]
async fn gemini_streams_over_sse_ending_at_the_close() {
    let server = TestServer::always(Reply::sse(GEMINI));
    let answer =
        ask_outgoing(&connector(None, ""), "sse", &server.url(GEMINI_MODEL), "gemini", conversation_message()).await;
    assert!(answer.error.is_none(), "{:?}", answer.error);
    assert_eq!(answer.text(), "The current stock price is $166.79.");
    assert_eq!(answer.events.last(), Some(&done(8, 33)), "the close ends the answer with the last counts");
    let request = &server.requests()[0];
    assert_eq!(request.path, format!("{GEMINI_MODEL}:streamGenerateContent?alt=sse"));
    assert_eq!(request.header("x-goog-api-key"), Some("sk-test"));
    assert_eq!(request.header("authorization"), None);
    assert_eq!(
        request.json(),
        json!({
            "contents": [
                {"role": "user", "parts": [{"text": "my name is Zed"}]},
                {"role": "model", "parts": [{"text": "Hello Zed"}]},
                {"role": "user", "parts": [{"text": "ROOFTOP GARDENS"}]},
            ],
            "systemInstruction": {"parts": [{"text": NOTE}]},
        })
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn gemini_error_mid_stream_keeps_the_tokens_before_it() {
    let error = "data: {\"error\": {\"code\": 503, \"message\": \"The model is overloaded.\", \"status\": \"UNAVAILABLE\"}}\r\n\r\n";
    let server = TestServer::always(Reply::sse([GEMINI[0], GEMINI[1], error]));
    let answer = ask(&connector(None, ""), "sse", &server.url(GEMINI_MODEL), "gemini", "price?").await;
    assert_eq!(answer.text(), "The current stock price");
    assert_eq!(answer.events.last(), Some(&Event::Error("UNAVAILABLE: The model is overloaded.".into())));
}

#[tokio::test(flavor = "multi_thread")]
async fn gemini_whole_answer_over_http_asks_generate_content() {
    // generative-ai-js unary-success-search-grounding.json, cut to its text and usage.
    let server = TestServer::always(Reply::body(
        200,
        "application/json",
        r#"{"candidates": [{"content": {"parts": [{"text": "The current stock price for Alphabet Inc (Google) Class C (GOOG) is $166.94."}], "role": "model"}, "finishReason": "STOP", "index": 0}], "usageMetadata": {"promptTokenCount": 8, "candidatesTokenCount": 70, "totalTokenCount": 78}}"#,
    ));
    // The configured URL already names a method: swapped for the right one.
    let url = server.url(&format!("{GEMINI_MODEL}:streamGenerateContent?alt=sse"));
    let answer = ask(&connector(None, ""), "http", &url, "gemini", "price?").await;
    assert!(answer.error.is_none(), "{:?}", answer.error);
    assert_eq!(answer.text(), "The current stock price for Alphabet Inc (Google) Class C (GOOG) is $166.94.");
    assert_eq!(answer.events.last(), Some(&done(8, 70)));
    let request = &server.requests()[0];
    assert_eq!(request.path, format!("{GEMINI_MODEL}:generateContent"));
    assert_eq!(request.header("x-goog-api-key"), Some("sk-test"));
    assert_eq!(request.json()["contents"], json!([{"role": "user", "parts": [{"text": "price?"}]}]));
}

#[tokio::test(flavor = "multi_thread")]
async fn openai_tool_call_split_over_chunks_arrives_as_one_event() {
    // Shaped as the "Streaming" section of OpenAI's function-calling guide shows it.
    let chunk = |delta: Value, finish: Value| {
        let chunk = json!({"id": "chatcmpl-9", "object": "chat.completion.chunk", "model": "gpt-4o",
            "choices": [{"index": 0, "delta": delta, "finish_reason": finish}]});
        format!("data: {chunk}\n\n")
    };
    let piece = |arguments: &str| {
        chunk(
            json!({"tool_calls": [{"index": 0, "id": null, "type": null, "function": {"name": null, "arguments": arguments}}]}),
            Value::Null,
        )
    };
    let mut stream = vec![chunk(
        json!({"role": "assistant", "content": null, "tool_calls": [{"index": 0, "id": "call_DdmO9pD3xa9XTPNJ32zg2hcA",
            "type": "function", "function": {"name": "get_weather", "arguments": ""}}]}),
        Value::Null,
    )];
    stream.extend(["{\"", "location", "\":\"", "Paris", ",", " France", "\"}"].map(piece));
    stream.push(chunk(json!({}), json!("tool_calls")));
    stream.push(
        "data: {\"id\":\"chatcmpl-9\",\"object\":\"chat.completion.chunk\",\"model\":\"gpt-4o\",\"choices\":[],\"usage\":{\"prompt_tokens\":80,\"completion_tokens\":18,\"total_tokens\":98}}\n\n".into(),
    );
    stream.push("data: [DONE]\n\n".into());
    let server = TestServer::always(Reply::sse(stream));
    let answer =
        ask(&connector(None, ""), "sse", &server.url("/v1/chat/completions"), "openai", "weather in Paris?").await;
    assert!(answer.error.is_none(), "{:?}", answer.error);
    let calls: Vec<&ToolCall> =
        answer.events.iter().filter_map(|e| if let Event::ToolCall(call) = e { Some(call) } else { None }).collect();
    assert_eq!(
        calls,
        vec![&ToolCall {
            id: "call_DdmO9pD3xa9XTPNJ32zg2hcA".into(),
            name: "get_weather".into(),
            arguments: r#"{"location":"Paris, France"}"#.into(),
        }]
    );
    assert_eq!(answer.text(), "", "no text, and still a complete answer");
    assert_eq!(answer.events.last(), Some(&done(80, 18)));
}
