//! The `http` transport (every dialect's whole answer, Ollama's NDJSON stream), fallback from a
//! backend that cannot stream, `--no-stream`, and swapping transports at run time.

use serde_json::Value;

use aish::transport::Event;

use crate::support::server::{Gate, Part, Reply, TestServer};
use crate::support::{aish, ask, ask_with, connector, home, write_config};

#[tokio::test(flavor = "multi_thread")]
async fn http_speaks_every_dialects_whole_answer() {
    let cases = [
        ("aish", r#"{"response":"whole"}"#),
        ("rhetor", r#"{"content":"whole"}"#),
        (
            "openai",
            r#"{"choices":[{"index":0,"message":{"role":"assistant","content":"whole"}}],"usage":{"prompt_tokens":3,"completion_tokens":1}}"#,
        ),
        (
            "anthropic",
            r#"{"type":"message","content":[{"type":"text","text":"whole"}],"usage":{"input_tokens":3,"output_tokens":1}}"#,
        ),
        ("ollama", r#"{"message":{"role":"assistant","content":"whole"},"done":true}"#),
    ];
    for (dialect, body) in cases {
        let server = TestServer::always(Reply::body(200, "application/json", body));
        let answer = ask(&connector(None, ""), "http", &server.url("/"), dialect, "hi").await;
        assert!(answer.error.is_none(), "{dialect}: {:?}", answer.error);
        assert_eq!(answer.text(), "whole", "{dialect}");
        assert!(matches!(answer.events.last(), Some(Event::Done(_))), "{dialect}");
        let sent = server.requests()[0].json();
        // Ollama streams over plain HTTP; every other dialect is asked for a whole answer.
        assert_eq!(sent["stream"], dialect == "ollama", "{dialect}");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn ollama_streams_ndjson_line_by_line() {
    let first_seen = Gate::default();
    let reply = Reply {
        status: 200,
        headers: vec![("content-type".into(), "application/x-ndjson".into())],
        parts: vec![
            Part::Data(br#"{"message":{"role":"assistant","content":"The"},"done":false}"#.to_vec()),
            Part::Data(b"\n{\"message\":{\"role\":\"assistant\",\"con".to_vec()),
            Part::Wait(first_seen.clone()),
            Part::Data(b"tent\":\" sky\"},\"done\":false}\n".to_vec()),
            Part::Data(
                br#"{"message":{"role":"assistant","content":""},"done":true,"prompt_eval_count":26,"eval_count":2}"#
                    .to_vec(),
            ),
            Part::Data(b"\n".to_vec()),
        ],
    };
    let server = TestServer::always(reply);
    let gate = first_seen.clone();
    let answer = ask_with(&connector(None, ""), "http", &server.url("/api/chat"), "ollama", "why?", move |e| {
        if matches!(e, Event::Token(_)) {
            gate.open();
        }
    })
    .await;
    assert!(answer.error.is_none(), "{:?}", answer.error);
    assert_eq!(answer.text(), "The sky");
}

/// A backend whose stream endpoint is missing but which answers whole.
fn cannot_stream(refusal: Reply) -> TestServer {
    TestServer::start(move |request| {
        if request.json()["stream"] == true {
            refusal.clone()
        } else {
            Reply::body(200, "application/json", r#"{"response":"whole answer"}"#)
        }
    })
}

fn history_entry(home: &std::path::Path) -> Value {
    let text = std::fs::read_to_string(home.join("history.jsonl")).unwrap();
    serde_json::from_str(text.lines().last().unwrap()).unwrap()
}

#[test]
fn a_backend_that_cannot_stream_answers_through_the_fallback() {
    for (refusal, why) in [
        (Reply::body(404, "application/json", r#"{"detail":"Not Found"}"#), "the server answered HTTP 404: Not Found"),
        (
            Reply::body(200, "application/json", r#"{"response":"x"}"#),
            "the server answered with application/json, not text/event-stream",
        ),
    ] {
        let server = cannot_stream(refusal);
        let home = home();
        write_config(home.path(), &format!("[ai.old]\nurl = \"{}\"\nfallback = [\"http\"]\n", server.url("/chat")));
        let run = aish(home.path(), &["-c", "echo hi | old"], None);
        assert_eq!((run.code, run.stdout.as_str()), (0, "whole answer\n"), "{run:?}");
        let degraded: Vec<&str> = run.stderr.lines().filter(|l| l.starts_with("[degraded")).collect();
        assert_eq!(degraded, vec![format!("[degraded: {why}, using http]")]);
        let entry = history_entry(home.path());
        assert_eq!(entry["metadata"]["degraded"], true);
        assert_eq!(entry["metadata"]["degraded_reason"], why);
        assert_eq!(entry["metadata"]["transport"], "http");
        assert!(std::fs::read_to_string(home.path().join("history")).unwrap().contains(", degraded]"));
    }
}

#[test]
fn without_a_fallback_the_refusal_is_the_error() {
    let server = cannot_stream(Reply::body(404, "text/plain", "no"));
    let home = home();
    write_config(home.path(), &format!("[ai.old]\nurl = \"{}\"\n", server.url("/")));
    let run = aish(home.path(), &["-c", "echo hi | old"], None);
    assert_eq!(run.code, 1);
    assert_eq!(run.stderr.lines().last().unwrap(), "error: old: the server answered HTTP 404: no");
    // Both failing: the error says what each transport met.
    let server = TestServer::always(Reply::body(404, "text/plain", "gone"));
    write_config(home.path(), &format!("[ai.old]\nurl = \"{}\"\nfallback = [\"http\"]\n", server.url("/")));
    let run = aish(home.path(), &["-c", "echo hi | old"], None);
    assert_eq!(run.code, 1);
    assert_eq!(
        run.stderr.lines().last().unwrap(),
        "error: old: the server answered HTTP 404: gone; and http: the server answered HTTP 404: gone"
    );
}

#[test]
fn no_stream_goes_straight_to_request_response() {
    let server = cannot_stream(Reply::body(500, "text/plain", "never asked"));
    let home = home();
    write_config(home.path(), &format!("[ai.old]\nurl = \"{}\"\n", server.url("/")));
    let run = aish(home.path(), &["--no-stream", "old", "hi"], None);
    assert_eq!((run.code, run.stdout.as_str()), (0, "whole answer\n"), "{run:?}");
    assert!(!run.stderr.contains("degraded"), "{}", run.stderr);
    assert_eq!(server.requests().len(), 1, "one request, no stream attempt");
    assert_eq!(history_entry(home.path())["metadata"]["transport"], "http");
}

#[test]
fn transports_swap_at_run_time() {
    let server = cannot_stream(Reply::body(404, "text/plain", "no stream here"));
    let home = home();
    write_config(home.path(), &format!("[ai.old]\nurl = \"{}\"\n", server.url("/")));
    let script = home.path().join("s.aish");
    std::fs::write(&script, "transport old http\ntransport old\necho hi | old\ntransport old carrier-pigeon\n")
        .unwrap();
    let run = aish(home.path(), &[script.to_str().unwrap()], None);
    assert_eq!(run.stdout, "old now uses http\nold uses http\nwhole answer\n", "{run:?}");
    assert!(run.stderr.contains("no transport plugin named `carrier-pigeon`; installed: "), "{}", run.stderr);
    assert_eq!(server.requests().len(), 1);

    // The demo AIs answer over plain HTTP too.
    let home = crate::support::home();
    let run = aish(home.path(), &["-c", "transport hermes http"], None);
    assert_eq!(run.stdout, "hermes now uses http\n");
    let script = home.path().join("d.aish");
    std::fs::write(&script, "transport hermes http\nhermes Plain is fine.\n").unwrap();
    let run = aish(home.path(), &[script.to_str().unwrap()], None);
    assert_eq!(run.stdout, "hermes now uses http\nIn one line: Plain is fine.\n", "{run:?}");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_stalled_ollama_stream_counts_as_dead_after_twice_the_heartbeat() {
    let reply = Reply {
        status: 200,
        headers: vec![("content-type".into(), "application/x-ndjson".into())],
        parts: vec![
            Part::Data(b"{\"message\":{\"role\":\"assistant\",\"content\":\"slow\"},\"done\":false}\n".to_vec()),
            Part::Pause(std::time::Duration::from_secs(30)),
        ],
    };
    let server = TestServer::always(reply);
    let started = std::time::Instant::now();
    let settings = serde_json::json!({"heartbeat_ms": 300});
    let answer = crate::support::ask_with_settings(
        &connector(None, ""),
        "http",
        &server.url("/api/chat"),
        "ollama",
        "hi",
        settings,
        |_| {},
    )
    .await;
    assert_eq!(answer.text(), "slow", "what arrived is kept");
    let error = answer.error.expect("a dead connection");
    assert!(error.message.contains("no data for"), "{}", error.message);
    assert!(started.elapsed() < std::time::Duration::from_secs(20), "the stall was noticed, not waited out");
}
