//! Reconnection: a stream cut or stalled after events with ids resumes with Last-Event-ID and
//! every token arrives once; a busy server's Retry-After is honoured; without ids, or once the
//! attempts are spent, what arrived is kept and marked interrupted.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::support::server::{Part, Reply, TestServer};
use crate::support::{aish, home, write_config};

fn token(id: u32, text: &str) -> String {
    format!("id: {id}\ndata: {{\"event\":\"token\",\"data\":{{\"token\":\"{text}\"}}}}\n\n")
}

const DONE: &str = "event: done\ndata: {}\n\n";

fn config(url: &str, extra: &str) -> String {
    format!("[ai.flaky]\nurl = \"{url}\"\nreconnect = {{ initial_delay_ms = 20 }}\n{extra}")
}

fn last_entry(home: &std::path::Path) -> Value {
    let text = std::fs::read_to_string(home.join("history.jsonl")).unwrap();
    serde_json::from_str(text.lines().last().unwrap()).unwrap()
}

#[test]
fn a_cut_stream_resumes_after_the_last_event_id() {
    let server = TestServer::start(|request| match request.header("last-event-id") {
        None => Reply::sse([token(1, "one "), token(2, "two ")]),
        Some("2") => Reply::sse([token(3, "three"), DONE.to_owned()]),
        Some(other) => Reply::body(400, "text/plain", &format!("unexpected id {other}")),
    });
    let home = home();
    write_config(home.path(), &config(&server.url("/"), ""));
    let run = aish(home.path(), &["-c", "echo go | flaky"], None);
    assert_eq!((run.code, run.stdout.as_str()), (0, "one two three\n"), "every token once: {run:?}");
    let requests = server.requests();
    assert_eq!(requests.len(), 2);
    assert_eq!(requests[1].header("last-event-id"), Some("2"));
    assert_eq!(requests[1].json()["message"], "go", "the same message again");
    assert_eq!(last_entry(home.path())["metadata"].get("interrupted"), None);
}

#[test]
fn a_stalled_stream_counts_as_dead_after_twice_the_heartbeat() {
    let server = TestServer::start(|request| match request.header("last-event-id") {
        // Nothing for 30 s after the first token: far past twice the 200 ms heartbeat.
        None => Reply::sse([token(1, "slow ")]).then(Part::Pause(Duration::from_secs(30))),
        Some(_) => Reply::sse([token(2, "then fast"), DONE.to_owned()]),
    });
    let home = home();
    write_config(home.path(), &config(&server.url("/"), "heartbeat_ms = 200\n"));
    let started = Instant::now();
    let run = aish(home.path(), &["-c", "echo go | flaky"], None);
    assert_eq!((run.code, run.stdout.as_str()), (0, "slow then fast\n"), "{run:?}");
    assert!(started.elapsed() < Duration::from_secs(20), "the stall was noticed, not waited out");
}

#[test]
fn a_busy_server_is_asked_again_after_retry_after() {
    let calls = Arc::new(AtomicUsize::new(0));
    let seen = calls.clone();
    let server = TestServer::start(move |_| {
        if seen.fetch_add(1, Ordering::SeqCst) == 0 {
            Reply::body(429, "application/json", r#"{"error":"slow down"}"#).header("retry-after", "1")
        } else {
            Reply::sse([token(1, "patient"), DONE.to_owned()])
        }
    });
    let home = home();
    write_config(home.path(), &config(&server.url("/"), ""));
    let started = Instant::now();
    let run = aish(home.path(), &["-c", "echo go | flaky"], None);
    assert_eq!((run.code, run.stdout.as_str()), (0, "patient\n"), "{run:?}");
    assert!(started.elapsed() >= Duration::from_secs(1), "waited as Retry-After asked");
    assert_eq!(calls.load(Ordering::SeqCst), 2);
}

#[test]
fn without_ids_or_attempts_the_answer_is_kept_and_marked() {
    // No ids: nothing to resume from, so no second request.
    let server = TestServer::always(Reply::sse(["data: {\"event\":\"token\",\"data\":{\"token\":\"partial\"}}\n\n"]));
    let home = home();
    write_config(home.path(), &config(&server.url("/"), ""));
    let run = aish(home.path(), &["-c", "echo go | flaky"], None);
    assert_eq!((run.code, run.stdout.as_str()), (1, "partial\n"));
    assert_eq!(server.requests().len(), 1);
    assert_eq!(last_entry(home.path())["metadata"]["interrupted"], true);

    // Ids, but every connection is cut: after the attempts, what arrived is kept.
    let server = TestServer::start(|request| {
        let next = request.header("last-event-id").map_or(1, |id| id.parse::<u32>().unwrap() + 1);
        Reply::sse([token(next, &format!("t{next} "))])
    });
    write_config(
        home.path(),
        &config(&server.url("/"), "reconnect = { initial_delay_ms = 10, attempts = 2 }\n")
            .replace("reconnect = { initial_delay_ms = 20 }\n", ""),
    );
    let run = aish(home.path(), &["-c", "echo go | flaky"], None);
    assert_eq!(run.code, 1, "{run:?}");
    assert_eq!(run.stdout, "t1 t2 t3 \n", "one first try and two reconnections, each token once");
    assert_eq!(server.requests().len(), 3);
    assert_eq!(last_entry(home.path())["metadata"]["interrupted"], true);
}
