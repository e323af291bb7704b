//! The plugin runtime's limits hold against a plugin that tries to slip past them: a loop on
//! cheap host calls is stopped by the compute limit (time really spent waiting on I/O is still
//! free), a flood of stderr is truncated with a note instead of trapping the plugin, and the
//! compiled-code cache follows the plugins installed (owner-only, no entry left behind).

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use aish::transport::ErrorKind;
use sha2::{Digest, Sha256};

use crate::support::server::{Part, Reply, TestServer};
use crate::support::{Answer, aish, ask, connector, test_plugin, write_config};

/// Asks the `busy` test plugin (in a fresh user plugin folder) to keep busy in `mode`, with a
/// compute limit of `limit_ms`; at most 15 s.
async fn ask_busy(mode: &str, limit_ms: u64, url: &str) -> Answer {
    let dir = tempfile::tempdir().unwrap();
    std::fs::copy(test_plugin("busy"), dir.path().join("busy.wasm")).expect("the busy test plugin was built");
    let connector = connector(Some(dir.path()), &format!("[plugins.busy]\ntime_limit_ms = {limit_ms}\n"));
    let asked = ask(&connector, "busy", url, "aish", mode);
    tokio::time::timeout(Duration::from_secs(15), asked)
        .await
        .unwrap_or_else(|_| panic!("`busy` in mode {mode} was not stopped within 15 s"))
}

#[tokio::test(flavor = "multi_thread")]
async fn a_loop_on_cheap_host_calls_is_stopped_by_the_compute_limit() {
    // A live server that never says a word: every socket read returns at once, empty-handed.
    let server = TestServer::always(Reply::body(200, "text/plain", "unused"));
    for mode in ["socket", "log", "heartbeats", "sleep"] {
        let started = Instant::now();
        let answer = ask_busy(mode, 300, &server.url("/")).await;
        let took = started.elapsed();
        let error = answer.error.unwrap_or_else(|| panic!("{mode}: stopped"));
        assert_eq!(error.kind, ErrorKind::Plugin, "{mode}");
        assert_eq!(
            error.message,
            "plugin `busy` was stopped: it ran for more than 300 ms without returning (the limit; raise it with [plugins.busy] time_limit_ms)",
            "{mode}"
        );
        // The limit, plus time to compile, instantiate and connect on a busy machine.
        assert!(took < Duration::from_millis(300 + 2500), "{mode}: stopped only after {took:?}");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn time_spent_waiting_on_the_network_is_not_compute() {
    // The server waits longer than the compute limit before the first byte of its stream.
    let server = TestServer::always(Reply {
        status: 200,
        headers: vec![("content-type".into(), "text/event-stream".into())],
        parts: vec![
            Part::Pause(Duration::from_millis(900)),
            Part::Data(
                b"data: {\"event\":\"token\",\"data\":{\"token\":\"worth the wait\"}}\n\nevent: done\ndata: {}\n\n"
                    .to_vec(),
            ),
        ],
    });
    let answer =
        ask(&connector(None, "[plugins.sse]\ntime_limit_ms = 300\n"), "sse", &server.url("/"), "aish", "x").await;
    assert!(answer.error.is_none(), "{:?}", answer.error);
    assert_eq!(answer.text(), "worth the wait");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_plugin_flooding_its_stderr_still_answers() {
    let server = TestServer::always(Reply::body(200, "text/plain", "unused"));
    let answer = ask_busy("stderr", 2000, &server.url("/")).await;
    assert!(answer.error.is_none(), "{:?}", answer.error);
    assert_eq!(answer.text(), "answered after 1 MiB of stderr");
    // A panic after the flood is still reported with its own message.
    let answer = ask_busy("stderr-panic", 2000, &server.url("/")).await;
    let error = answer.error.expect("crashed");
    assert!(error.message.starts_with("plugin `busy` crashed: panicked at"), "{}", error.message);
    assert!(error.message.ends_with("gave up after the flood"), "{}", error.message);
}

#[test]
fn a_flood_of_plugin_stderr_is_shown_bounded_with_one_note_and_only_when_asked() {
    let home = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(home.path().join("plugins")).unwrap();
    std::fs::copy(test_plugin("busy"), home.path().join("plugins/busy.wasm")).unwrap();
    let server = TestServer::always(Reply::body(200, "text/plain", "unused"));
    write_config(home.path(), &format!("[ai.noisy]\nurl = \"{}\"\ntransport = \"busy\"\n", server.url("/")));

    let run = aish(home.path(), &["noisy", "stderr"], None);
    assert_eq!((run.code, run.stdout.as_str()), (0, "answered after 1 MiB of stderr\n"), "{run:?}");
    assert!(!run.stderr.contains("[plugin busy"), "plugin stderr is shown only with AISH_LOG: {}", run.stderr);

    // With AISH_LOG (which the harness's runner always clears).
    let out = Command::new(env!("CARGO_BIN_EXE_aish"))
        .args(["noisy", "stderr"])
        .env("AISH_HOME", home.path())
        .env("AISH_LOG", "1")
        .stdin(Stdio::null())
        .output()
        .expect("run aish");
    let (stdout, stderr) = (String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    assert_eq!((out.status.code(), &*stdout), (Some(0), "answered after 1 MiB of stderr\n"), "{stderr}");
    let shown = stderr.lines().filter(|l| l.starts_with("[plugin busy] stderr: ")).count();
    assert!(shown > 100, "the start of the output is shown: {shown} lines");
    assert!(stderr.len() < 32 * 1024, "at most 16 KiB of it: {} bytes", stderr.len());
    // 1 MiB written, 16 KiB shown, one note for the rest.
    let notes: Vec<&str> = stderr.lines().filter(|l| l.contains("stderr truncated")).collect();
    let note = format!("[plugin busy: stderr truncated, {} bytes dropped]", (1 << 20) - 16 * 1024);
    assert_eq!(notes, vec![note.as_str()]);
}

/// The compiled-code cache entries of the plugin with these bytes, and every other file there.
fn cache_files(components: &Path, bytes: &[u8]) -> (Vec<String>, Vec<String>) {
    let prefix: String = Sha256::digest(bytes).iter().map(|b| format!("{b:02x}")).collect();
    let names: Vec<String> = match std::fs::read_dir(components) {
        Ok(entries) => entries.flatten().map(|e| e.file_name().to_string_lossy().into_owned()).collect(),
        Err(_) => Vec::new(),
    };
    names.into_iter().partition(|n| n.starts_with(&prefix) && n.ends_with(".cwasm"))
}

/// `bytes` with one more custom section: the same plugin, other bytes.
fn variant(bytes: &[u8]) -> Vec<u8> {
    let name = b"aish-test-variant";
    let payload = b"second build";
    let mut out = bytes.to_vec();
    out.extend([0, (1 + name.len() + payload.len()) as u8, name.len() as u8]);
    out.extend(name);
    out.extend(payload);
    out
}

#[cfg(unix)]
#[test]
fn replacing_or_removing_a_plugin_takes_its_compiled_code_out_of_the_owner_only_cache() {
    use std::os::unix::fs::PermissionsExt;
    // A home of its own (not the test run's shared cache), its cache made readable to all.
    let home = tempfile::tempdir().unwrap();
    let components = home.path().join("cache/components");
    std::fs::create_dir_all(&components).unwrap();
    std::fs::set_permissions(&components, std::fs::Permissions::from_mode(0o755)).unwrap();
    let first = std::fs::read(test_plugin("busy")).unwrap();
    let second = variant(&first);
    let files = home.path().join("files");
    std::fs::create_dir(&files).unwrap();
    std::fs::write(files.join("first.wasm"), &first).unwrap();
    std::fs::write(files.join("second.wasm"), &second).unwrap();
    let add = |file: &str| aish(home.path(), &["plugin", "add", files.join(file).to_str().unwrap()], None);

    let run = add("first.wasm");
    assert_eq!(run.code, 0, "{run:?}");
    assert_eq!(cache_files(&components, &first).0.len(), 1, "compiled once, cached");
    assert_eq!(std::fs::metadata(&components).unwrap().permissions().mode() & 0o777, 0o700);

    let run = add("second.wasm");
    assert_eq!(run.code, 0, "{run:?}");
    assert!(cache_files(&components, &first).0.is_empty(), "the replaced plugin's code is gone");
    let (cached, others) = cache_files(&components, &second);
    assert_eq!(cached.len(), 1, "{others:?}");
    assert!(others.is_empty(), "nothing else is left (no temporary file either): {others:?}");
    let mode = std::fs::metadata(components.join(&cached[0])).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o600);

    let run = aish(home.path(), &["plugin", "remove", "busy"], None);
    assert_eq!(run.code, 0, "{run:?}");
    let (cached, others) = cache_files(&components, &second);
    assert!(cached.is_empty() && others.is_empty(), "no entry is left: {cached:?} {others:?}");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_plugin_that_exits_is_told_in_one_line() {
    let server = TestServer::always(Reply::body(200, "text/plain", "unused"));
    let answer = ask_busy("exit", 2000, &server.url("/")).await;
    let error = answer.error.expect("the exit is an error");
    assert_eq!(error.message, "plugin `busy` called exit instead of returning its result or an error");
}
