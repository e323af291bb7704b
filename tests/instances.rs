//! A transport plugin whose manifest says `[instance] reuse = true` (as the `tally` test plugin's
//! does) has its instance kept after an answer that ended cleanly, to serve the next answer of
//! the same AI through the same plugin under the same grant; one that trapped, was cut off
//! mid-call or dropped mid-answer, holds a connection, grew large, or was made under another
//! grant or for another AI is not reused, nor any when the user says no.

use std::time::Duration;

use aish::transport::{ConnectOptions, Connector, Event, Outgoing, TransportSession};
use serde_json::json;

use crate::support::server::{Reply, TestServer};
use crate::support::{aish, ask, connector, home, test_plugin};

const URL: &str = "http://127.0.0.1:9/v1";
/// Another host: another grant.
const OTHER_URL: &str = "http://127.0.0.1:10/v1";

/// A connector with the `tally` test plugin installed, under `config`.
fn tally(config: &str) -> (tempfile::TempDir, Connector) {
    let dir = tempfile::tempdir().unwrap();
    std::fs::copy(test_plugin("tally"), dir.path().join("tally.wasm")).expect("the tally test plugin was built");
    let connector = connector(Some(dir.path()), config);
    (dir, connector)
}

/// The answer of `tally` to `message`: which connection of its instance served it.
async fn answer(connector: &Connector, url: &str, message: &str) -> String {
    let answer = ask(connector, "tally", url, "aish", message).await;
    match answer.error {
        Some(e) => format!("error: {}", e.message),
        None => answer.text(),
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn an_instance_serves_the_next_answer_after_a_clean_one() {
    let (_dir, connector) = tally("");
    assert_eq!(answer(&connector, URL, "one").await, "connection 1");
    assert_eq!(answer(&connector, URL, "two").await, "connection 2");
    // A plugin that turns the options down made nothing: its instance is kept too.
    let refused = ask(&connector, "tally", URL, "refuse", "three").await;
    assert_eq!(refused.error.expect("refused").message, "refused connection 3");
    assert_eq!(answer(&connector, URL, "four").await, "connection 4");
}

#[tokio::test(flavor = "multi_thread")]
async fn an_instance_serves_only_the_ai_it_served() {
    let (_dir, connector) = tally("");
    assert_eq!(answer(&connector, URL, "one").await, "connection 1");
    // The same URL with another API key: another AI, another instance.
    assert_eq!(finish(open_as(&connector, "sk-other", "other").await).await, "connection 1");
    assert_eq!(answer(&connector, URL, "two").await, "connection 2");
    assert_eq!(finish(open_as(&connector, "sk-other", "other again").await).await, "connection 2");
}

#[tokio::test(flavor = "multi_thread")]
async fn the_user_can_turn_reuse_off() {
    let (_dir, connector) = tally("[plugins.tally]\nreuse_instance = false\n");
    assert_eq!(answer(&connector, URL, "one").await, "connection 1");
    assert_eq!(answer(&connector, URL, "two").await, "connection 1");
}

#[tokio::test(flavor = "multi_thread")]
async fn an_instance_that_trapped_is_not_reused() {
    let (_dir, connector) = tally("");
    assert_eq!(answer(&connector, URL, "one").await, "connection 1");
    let crashed = answer(&connector, URL, "panic").await;
    assert!(crashed.starts_with("error: plugin `tally` crashed: "), "{crashed}");
    assert_eq!(answer(&connector, URL, "after").await, "connection 1", "a fresh instance");
    // Closed after the trap, rather than dropped: still not kept.
    let mut session = open(&connector, "panic").await;
    let crashed = session.receive().await.expect_err("a trap");
    assert!(crashed.message.starts_with("plugin `tally` crashed: "), "{}", crashed.message);
    session.close().await;
    assert_eq!(answer(&connector, URL, "after").await, "connection 1", "a fresh instance");
}

#[tokio::test(flavor = "multi_thread")]
async fn an_instance_that_trapped_in_close_is_not_reused() {
    let (_dir, connector) = tally("");
    assert_eq!(answer(&connector, URL, "one").await, "connection 1");
    assert_eq!(answer(&connector, URL, "panic in close").await, "connection 2");
    assert_eq!(answer(&connector, URL, "after").await, "connection 1", "a fresh instance");
}

#[tokio::test(flavor = "multi_thread")]
async fn an_instance_cut_off_mid_call_is_not_reused() {
    let (_dir, connector) = tally("");
    assert_eq!(answer(&connector, URL, "one").await, "connection 1");
    let mut session = open(&connector, "spin").await;
    let cut = tokio::time::timeout(Duration::from_millis(50), session.receive()).await;
    assert!(cut.is_err(), "the plugin was still computing");
    session.close().await;
    assert_eq!(answer(&connector, URL, "after").await, "connection 1", "a fresh instance");
}

#[tokio::test(flavor = "multi_thread")]
async fn an_instance_that_holds_a_connection_is_not_reused() {
    let (_dir, connector) = tally("");
    let server = TestServer::always(Reply::body(200, "text/plain", "kept open"));
    let url = server.url("/v1");
    assert_eq!(answer(&connector, &url, "one").await, "connection 1");
    // The plugin keeps the response, and so its connection, in a global.
    assert_eq!(answer(&connector, &url, "leak").await, "connection 2");
    assert_eq!(answer(&connector, &url, "after").await, "connection 1", "a fresh instance");
}

#[test]
fn plugin_info_says_how_instances_are_used() {
    let home = home();
    let info = aish(home.path(), &["plugin", "info", "sse"], None).stdout;
    assert!(info.contains("instances:     one that ended an answer cleanly serves the next"), "{info}");
    let info = aish(home.path(), &["plugin", "info", "json"], None).stdout;
    assert!(info.contains("instances:     one that ended a run cleanly serves the next"), "{info}");
    let config = "[plugins.sse]\nreuse_instance = false\n[plugins.json]\nreuse_instance = false\n";
    std::fs::write(home.path().join("config.toml"), config).unwrap();
    let info = aish(home.path(), &["plugin", "info", "sse"], None).stdout;
    assert!(info.contains("instances:     a fresh one for each answer"), "{info}");
    let info = aish(home.path(), &["plugin", "info", "json"], None).stdout;
    assert!(info.contains("instances:     a fresh one for each run"), "{info}");
}

#[tokio::test(flavor = "multi_thread")]
async fn an_answer_dropped_without_close_does_not_give_its_instance_back() {
    let (_dir, connector) = tally("");
    assert_eq!(answer(&connector, URL, "one").await, "connection 1");
    drop(open(&connector, "left").await);
    assert_eq!(answer(&connector, URL, "after").await, "connection 1", "a fresh instance");
}

#[tokio::test(flavor = "multi_thread")]
async fn an_instance_is_kept_only_for_the_grant_it_was_made_under() {
    let (_dir, connector) = tally("");
    assert_eq!(answer(&connector, URL, "one").await, "connection 1");
    // Another host allowed: another grant, another instance.
    assert_eq!(answer(&connector, OTHER_URL, "elsewhere").await, "connection 1");
    assert_eq!(answer(&connector, URL, "back").await, "connection 2");
    assert_eq!(answer(&connector, OTHER_URL, "elsewhere again").await, "connection 2");
}

#[tokio::test(flavor = "multi_thread")]
async fn an_instance_whose_memory_grew_large_is_let_go() {
    let (_dir, connector) = tally("[plugins.tally]\nmemory_limit_mb = 256\n");
    assert_eq!(answer(&connector, URL, "grow 16").await, "connection 1");
    // Two answers at once: the kept instance, and a fresh one that grows past what is kept.
    let (small, large) = (open(&connector, "small").await, open(&connector, "grow 130").await);
    assert_eq!(finish(small).await, "connection 2");
    assert_eq!(finish(large).await, "connection 1");
    // The large one was let go, and the small one kept: letting go of one does not evict others.
    assert_eq!(answer(&connector, URL, "after").await, "connection 3");
    assert_eq!(answer(&connector, URL, "grow 130").await, "connection 4");
    assert_eq!(answer(&connector, URL, "after").await, "connection 1", "a fresh instance");
}

#[tokio::test(flavor = "multi_thread")]
async fn the_kept_instances_share_a_memory_budget_and_the_oldest_goes_first() {
    let (_dir, connector) = tally("[plugins.tally]\nmemory_limit_mb = 256\n");
    let (first, second) = (open(&connector, "grow 70").await, open(&connector, "grow 70").await);
    assert_eq!(finish(first).await, "connection 1");
    // Kept too, over the budget together: the first goes.
    assert_eq!(finish(second).await, "connection 1");
    let (newest, next) = (open(&connector, "one").await, open(&connector, "two").await);
    assert_eq!((finish(newest).await, finish(next).await), ("connection 2".into(), "connection 1".into()));
}

#[tokio::test(flavor = "multi_thread")]
async fn at_most_four_instances_are_kept() {
    let (_dir, connector) = tally("");
    // Five answers open at once: five fresh instances; the four last to close are kept.
    let mut first = Vec::new();
    for _ in 0..5 {
        first.push(open(&connector, "open").await);
    }
    for session in first {
        assert_eq!(finish(session).await, "connection 1");
    }
    let mut second = Vec::new();
    for _ in 0..5 {
        second.push(open(&connector, "open").await);
    }
    let mut answers = Vec::new();
    for session in second {
        answers.push(finish(session).await);
    }
    answers.sort();
    assert_eq!(answers, ["connection 1", "connection 2", "connection 2", "connection 2", "connection 2"]);
}

/// A `tally` session connected to [`URL`] (with the API key [`ask`] gives) and sent
/// `message`, not read yet.
async fn open(connector: &Connector, message: &str) -> TransportSession {
    open_as(connector, "sk-test", message).await
}

/// As [`open`], with API key `api_key`.
async fn open_as(connector: &Connector, api_key: &str, message: &str) -> TransportSession {
    let grant = connector.grant("tally", &["127.0.0.1:9".into()]).unwrap();
    let options = ConnectOptions {
        url: URL.into(),
        dialect: "aish".into(),
        model: None,
        api_key: Some(api_key.into()),
        settings: json!({}),
    };
    let mut session = connector.connect("tally", grant, options).await.expect("connect");
    session.send(&Outgoing::new(message, json!({}), true)).await.expect("send");
    session
}

/// Reads the answer of a session from [`open`], then closes it.
async fn finish(mut session: TransportSession) -> String {
    let mut text = String::new();
    for _ in 0..10 {
        let events = session.receive().await.expect("receive");
        if events.is_empty() {
            break;
        }
        for event in events {
            if let Event::Token(token) = event {
                text.push_str(&token);
            }
        }
    }
    session.close().await;
    text
}

/// Through the binary: answers one after another in a script, and the stages of a pipeline,
/// run in one kept instance (an answer's instance is back before the next answer starts).
#[test]
fn a_script_and_a_pipeline_run_their_answers_in_one_instance() {
    let home = home_with_tally();
    let script = home.path().join("three.aish");
    std::fs::write(&script, "t one\nt two\nt three\n").unwrap();
    let run = aish(home.path(), &[script.to_str().unwrap()], None);
    assert_eq!(run.code, 0, "{run:?}");
    assert_eq!(run.stdout, "connection 1\nconnection 2\nconnection 3\n");
    let run = aish(home.path(), &["-c", "echo hi | t | t | t"], None);
    assert_eq!((run.code, run.stdout.as_str()), (0, "connection 3\n"), "{run:?}");
}

/// An `AISH_HOME` with the `tally` test plugin installed, and AI `t` on it.
pub(crate) fn home_with_tally() -> tempfile::TempDir {
    let home = home();
    let add = aish(home.path(), &["plugin", "add", test_plugin("tally").to_str().unwrap()], None);
    assert_eq!(add.code, 0, "{add:?}");
    let config = format!("[ai.t]\nurl = \"{URL}\"\ntransport = \"tally\"\nstateless = true\n");
    std::fs::write(home.path().join("config.toml"), config).unwrap();
    home
}
