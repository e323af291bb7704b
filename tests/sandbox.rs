//! The sandbox's network edges against real servers: a plugin cannot open a connection to a
//! live server by itself (no WASI sockets, files or environment), a redirect to another server
//! carries no credential header whatever the dialect, and a redirect to a host not allowed is
//! refused with the line to add. Names that resolve to loopback or private addresses are
//! covered by the unit tests of `plugin::addresses`, `host_http` and `host_socket`, whose
//! resolver can be faked (no test may depend on outside DNS).

use std::net::TcpListener;

use crate::support::server::{Recorded, Reply, TestServer};
use crate::support::{aish, ask, connector, home, test_plugin, write_config};

/// Every header a dialect puts an API key in.
const CREDENTIALS: [&str; 4] = ["authorization", "x-api-key", "x-goog-api-key", "api-key"];

/// A user plugin folder holding the snoop test plugin.
fn snoop_dir() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    std::fs::copy(test_plugin("snoop"), dir.path().join("snoop.wasm")).expect("test plugin was built");
    dir
}

/// The credential headers `request` carried.
fn credentials(request: &Recorded) -> Vec<&'static str> {
    CREDENTIALS.into_iter().filter(|name| request.header(name).is_some()).collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn a_plugin_cannot_open_a_connection_to_a_live_server() {
    // Listening, never accepting: any connection attempt that gets through stays in the backlog.
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let live = format!("127.0.0.1:{port}");
    let dir = snoop_dir();
    // The plugin's own HTTP request goes to a host not allowed, so only its raw probes remain.
    let elsewhere = format!("http://127.0.0.2:{port}/");
    let answer = ask(&connector(Some(dir.path()), ""), "snoop", &format!("http://{live}/"), "aish", &elsewhere).await;
    let report = answer.text();
    assert!(report.contains("tcp: ") && report.contains(&format!("(probing {live})")), "{report}");
    assert!(!report.contains("tcp: connected"), "WASI sockets are not granted: {report}");
    assert!(
        report.contains(&format!("socket: not allowed: plugin `snoop` has no socket capability (probing {live})")),
        "{report}"
    );
    assert!(report.contains("file: ") && !report.contains("read /etc/passwd"), "{report}");
    assert!(report.contains("env: 0 variables"), "{report}");
    assert!(report.contains(&format!("http {elsewhere}: not allowed: ")), "{report}");
    listener.set_nonblocking(true).unwrap();
    let reached = std::iter::from_fn(|| listener.accept().ok()).count();
    assert_eq!(reached, 0, "no connection reached the live server: {report}");
}

/// A whole answer of `dialect` saying "whole".
fn whole_answer(dialect: &str) -> &'static str {
    match dialect {
        "openai" => r#"{"choices":[{"index":0,"message":{"role":"assistant","content":"whole"}}]}"#,
        "anthropic" => r#"{"type":"message","content":[{"type":"text","text":"whole"}]}"#,
        _ => r#"{"candidates":[{"content":{"role":"model","parts":[{"text":"whole"}]}}]}"#,
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_redirect_to_another_server_drops_every_credential_header_of_every_dialect() {
    let allow_both = "[plugins.http]\nallow_hosts = [\"127.0.0.1:*\"]\n";
    for status in [302, 307] {
        for (dialect, header) in [("openai", "authorization"), ("anthropic", "x-api-key"), ("gemini", "x-goog-api-key")]
        {
            let b = TestServer::always(Reply::body(200, "application/json", whole_answer(dialect)));
            let a = TestServer::always(Reply::body(status, "text/plain", "moved").header("location", &b.url("/there")));
            let answer = ask(&connector(None, allow_both), "http", &a.url("/v1"), dialect, "hi").await;
            assert!(answer.error.is_none(), "{dialect} {status}: {:?}", answer.error);
            assert_eq!(answer.text(), "whole", "{dialect} {status}: the answer still arrives");
            let (sent, moved) = (a.requests(), b.requests());
            assert_eq!(credentials(&sent[0]), vec![header], "{dialect} {status}: the first server got the key");
            assert_eq!(moved.len(), 1, "{dialect} {status}");
            assert!(credentials(&moved[0]).is_empty(), "{dialect} {status}: {:?}", moved[0].headers);
            // 307 keeps the method and the body; 302 turns a POST into a GET without one.
            let kept = status == 307;
            assert_eq!(moved[0].method, if kept { "POST" } else { "GET" }, "{dialect} {status}");
            assert_eq!(moved[0].body == sent[0].body, kept, "{dialect} {status}");
        }
    }
}

#[test]
fn through_the_binary_a_redirect_keeps_no_key_and_a_host_not_allowed_is_refused() {
    let b = TestServer::always(Reply::body(200, "text/plain", "fine"));
    let a = TestServer::always(Reply::body(307, "text/plain", "moved").header("location", &b.url("/there")));
    let home = home();
    std::fs::create_dir_all(home.path().join("plugins")).unwrap();
    std::fs::copy(test_plugin("snoop"), home.path().join("plugins/snoop.wasm")).unwrap();
    let ai = format!("[ai.nosy]\nurl = \"{}\"\ntransport = \"snoop\"\n", a.url("/start"));

    // Both servers allowed: the answer arrives, the second server sees no key.
    write_config(home.path(), &format!("{ai}\n[plugins.snoop]\nallow_hosts = [\"127.0.0.1:*\"]\n"));
    let run = aish(home.path(), &["nosy", "hi"], None);
    assert!(run.stdout.contains(&format!("http {}: status 200", a.url("/start"))), "{run:?}");
    assert_eq!(credentials(&a.requests()[0]), CREDENTIALS.to_vec(), "snoop sent every key header");
    assert_eq!(b.requests().len(), 1, "{run:?}");
    assert!(credentials(&b.requests()[0]).is_empty(), "{:?}", b.requests()[0].headers);

    // Only the configured server allowed: the redirect is refused, naming what to add.
    write_config(home.path(), &ai);
    let run = aish(home.path(), &["nosy", "hi"], None);
    let expected = |config: &std::path::Path| {
        format!(
            "http {}: not allowed: plugin `snoop` may not follow a redirect from {} to {}; to allow it, add \"{}\" to [plugins.snoop] allow_hosts in {}",
            a.url("/start"),
            a.addr,
            b.addr,
            b.addr,
            config.display()
        )
    };
    let expected_here = expected(&home.path().join("config.toml"));
    assert!(run.stdout.lines().any(|line| line == expected_here), "{expected_here}\n{run:?}");
    assert_eq!(b.requests().len(), 1, "the refused redirect reached nothing");
    // With another config file, that file is the one named.
    let other = home.path().join("other.toml");
    std::fs::write(&other, &ai).unwrap();
    let run = aish(home.path(), &["--config", other.to_str().unwrap(), "nosy", "hi"], None);
    let expected_there = expected(&other);
    assert!(run.stdout.lines().any(|line| line == expected_there), "{expected_there}\n{run:?}");
}
