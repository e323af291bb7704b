//! Small purpose-built hostile plugins: each is stopped with one clear line naming it, and the
//! next command works.

use std::path::Path;

use aish::transport::ErrorKind;

use crate::support::server::{Reply, TestServer};
use crate::support::{aish, ask, connector, home, test_plugin, write_config};

/// A user plugin folder holding the named test plugins.
fn plugin_dir(names: &[&str]) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    for name in names {
        std::fs::copy(test_plugin(name), dir.path().join(format!("{name}.wasm"))).expect("test plugin was built");
    }
    dir
}

async fn ask_plugin(dir: &Path, config: &str, plugin: &str, url: &str, message: &str) -> crate::support::Answer {
    ask(&connector(Some(dir), config), plugin, url, "aish", message).await
}

#[tokio::test(flavor = "multi_thread")]
async fn endless_loop_is_stopped_by_the_deadline() {
    let dir = plugin_dir(&["spin"]);
    let answer =
        ask_plugin(dir.path(), "[plugins.spin]\ntime_limit_ms = 300\n", "spin", "http://127.0.0.1:9/", "x").await;
    let error = answer.error.expect("stopped");
    assert_eq!(error.kind, ErrorKind::Plugin);
    assert_eq!(
        error.message,
        "plugin `spin` was stopped: it ran for more than 300 ms without returning (the limit; raise it with [plugins.spin] time_limit_ms)"
    );
    // The runtime is fine afterwards: the SSE plugin still answers.
    let server = TestServer::always(Reply::sse([
        "data: {\"event\":\"token\",\"data\":{\"token\":\"ok\"}}\n\nevent: done\ndata: {}\n\n",
    ]));
    let answer = ask(&connector(None, ""), "sse", &server.url("/"), "aish", "x").await;
    assert_eq!(answer.text(), "ok");
}

#[tokio::test(flavor = "multi_thread")]
async fn unbounded_memory_is_stopped_at_the_limit() {
    let dir = plugin_dir(&["hog"]);
    let answer =
        ask_plugin(dir.path(), "[plugins.hog]\nmemory_limit_mb = 16\n", "hog", "http://127.0.0.1:9/", "x").await;
    let error = answer.error.expect("stopped");
    assert_eq!(error.kind, ErrorKind::Plugin);
    assert!(error.message.starts_with("plugin `hog` was stopped: it tried to use "), "{}", error.message);
    assert!(error.message.contains("over its limit of 16 MiB"), "{}", error.message);
}

#[tokio::test(flavor = "multi_thread")]
async fn panic_keeps_what_arrived_and_names_the_plugin() {
    let dir = plugin_dir(&["panic"]);
    let answer = ask_plugin(dir.path(), "", "panic", "http://127.0.0.1:9/", "x").await;
    assert_eq!(answer.text(), "before the crash ");
    let error = answer.error.expect("crashed");
    assert_eq!(error.kind, ErrorKind::Plugin);
    assert!(error.message.starts_with("plugin `panic` crashed: panicked at"), "{}", error.message);
    assert!(error.message.ends_with("the plugin gave up"), "{}", error.message);
    assert!(!error.message.contains('\n'));
}

#[tokio::test(flavor = "multi_thread")]
async fn a_plugin_reaches_only_what_it_was_allowed() {
    let allowed = TestServer::always(Reply::body(200, "text/plain", "fine"));
    // 127.0.0.2 is loopback too, but not on the allow list.
    let elsewhere = format!("http://127.0.0.2:{}/secret", allowed.addr.port());
    let dir = plugin_dir(&["snoop"]);
    let answer = ask_plugin(dir.path(), "", "snoop", &allowed.url("/"), &elsewhere).await;
    let report = answer.text();
    assert!(
        report.contains(&format!(
            "http {elsewhere}: not allowed: plugin `snoop` may not reach 127.0.0.2:{}",
            allowed.addr.port()
        )),
        "{report}"
    );
    assert!(report.contains("[plugins.snoop] allow_hosts"), "the error says how to allow it: {report}");
    assert!(report.contains("file: ") && !report.contains("read /etc/passwd"), "{report}");
    assert!(report.contains("env: 0 variables"), "{report}");
    assert!(report.contains("tcp: ") && !report.contains("tcp: connected"), "{report}");
    assert!(report.contains("socket: not allowed: plugin `snoop` has no socket capability"), "{report}");
    assert!(allowed.requests().is_empty(), "nothing reached any server");
    // The allowed host works.
    let answer = ask_plugin(dir.path(), "", "snoop", &allowed.url("/"), "").await;
    assert!(answer.text().contains("status 200"), "{}", answer.text());
}

#[test]
fn after_a_hostile_plugin_the_next_command_works() {
    let home = home();
    std::fs::create_dir_all(home.path().join("plugins")).unwrap();
    std::fs::copy(test_plugin("spin"), home.path().join("plugins/spin.wasm")).unwrap();
    let server = TestServer::always(Reply::sse([
        "data: {\"event\":\"token\",\"data\":{\"token\":\"still here\"}}\n\nevent: done\ndata: {}\n\n",
    ]));
    write_config(
        home.path(),
        &format!(
            "[ai.stuck]\nurl = \"{url}\"\ntransport = \"spin\"\n\n[ai.fine]\nurl = \"{url}\"\n\n[plugins.spin]\ntime_limit_ms = 200\n",
            url = server.url("/")
        ),
    );
    let script = home.path().join("script.aish");
    std::fs::write(&script, "echo one | stuck\necho two | fine\n").unwrap();
    let run = aish(home.path(), &[script.to_str().unwrap()], None);
    assert_eq!(run.code, 1, "{run:?}");
    assert_eq!(run.stdout, "still here\n");
    let errors: Vec<&str> = run.stderr.lines().filter(|l| l.starts_with("error:")).collect();
    assert_eq!(
        errors,
        vec![
            "error: stuck: plugin `spin` was stopped: it ran for more than 200 ms without returning (the limit; raise it with [plugins.spin] time_limit_ms)"
        ]
    );
}

#[test]
fn plugin_logs_reach_stderr_as_one_clean_line() {
    let home = home();
    std::fs::create_dir_all(home.path().join("plugins")).unwrap();
    std::fs::copy(test_plugin("snoop"), home.path().join("plugins/snoop.wasm")).unwrap();
    let server = TestServer::always(Reply::body(200, "text/plain", "fine"));
    write_config(home.path(), &format!("[ai.nosy]\nurl = \"{}\"\ntransport = \"snoop\"\n", server.url("/")));
    let run = aish(home.path(), &["nosy", "hi"], None);
    let logged: Vec<&str> = run.stderr.lines().filter(|l| l.starts_with("[plugin snoop]")).collect();
    // The ESC is shown as a sign (the one sanitiser's rule), the line break as a space.
    assert_eq!(logged, vec!["[plugin snoop] warning: snooping ␛[31maround second line"], "{}", run.stderr);
    assert!(!run.stderr.contains('\x1b'), "no escape sequence from a plugin reaches the terminal");
}
