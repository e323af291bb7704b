//! `aish plugin list | info | add | remove`, and WIT versioning.

use crate::support::{aish, home, test_plugin};

#[test]
fn add_list_info_remove() {
    let home = home();
    let snoop = test_plugin("snoop");
    let run = aish(home.path(), &["plugin", "add", snoop.to_str().unwrap()], None);
    assert_eq!(run.code, 0, "{run:?}");
    assert!(run.stdout.starts_with("installed transport plugin `snoop` 0.1.0"), "{}", run.stdout);

    let list = aish(home.path(), &["plugin", "list"], None).stdout;
    let rows: Vec<Vec<&str>> = list.lines().skip(1).map(|l| l.split_whitespace().take(5).collect()).collect();
    assert!(rows.contains(&vec!["sse", "transport", "0.1.0", "0.3.0", "built-in"]), "{list}");
    assert!(rows.contains(&vec!["snoop", "transport", "0.1.0", "0.3.0", "user"]), "{list}");

    let info = aish(home.path(), &["plugin", "info", "snoop"], None).stdout;
    assert!(info.contains("plugin API:    0.3.0 (supported)"), "{info}");
    assert!(info.contains("capabilities:  http"), "{info}");
    assert!(info.contains("allowed hosts: no hosts yet"), "{info}");

    let run = aish(home.path(), &["plugin", "remove", "snoop"], None);
    assert_eq!(run.code, 0, "{run:?}");
    assert!(!aish(home.path(), &["plugin", "list"], None).stdout.contains("snoop"));
    let run = aish(home.path(), &["plugin", "remove", "snoop"], None);
    assert_eq!(
        (run.code, run.stderr.trim()),
        (1, "error: no plugin named `snoop`; `aish plugin list` shows what is installed")
    );
}

/// `plugin add` and `plugin info` report the limits the plugin runs under: the user's
/// `[plugins.NAME]` (each limit on its own), else aish's defaults. (A manifest's `[limits]`
/// between the two: `granted_limits`' own test.)
#[test]
fn add_and_info_report_the_limits_the_plugin_runs_under() {
    let home = home();
    let snoop = test_plugin("snoop");
    let limits = |memory: &str, time: &str| {
        let info = aish(home.path(), &["plugin", "info", "snoop"], None).stdout;
        assert!(info.contains(&format!("memory limit:  {memory} MiB\n")), "{info}");
        assert!(info.contains(&format!("time limit:    {time} ms\n")), "{info}");
    };
    let add = aish(home.path(), &["plugin", "add", snoop.to_str().unwrap()], None);
    assert!(add.stdout.contains("limits: 64 MiB of memory, 2000 ms of compute per call"), "{add:?}");
    limits("64", "2000");
    std::fs::write(home.path().join("config.toml"), "[plugins.snoop]\nmemory_limit_mb = 32\n").unwrap();
    limits("32", "2000");
    std::fs::write(home.path().join("config.toml"), "[plugins.snoop]\ntime_limit_ms = 500\n").unwrap();
    limits("64", "500");
}

#[test]
fn a_user_plugin_overrides_a_builtin_and_removing_it_restores_the_builtin() {
    let home = home();
    let dir = tempfile::tempdir().unwrap();
    // A copy of the snoop plugin renamed to `sse` in its manifest (same length, so offsets hold).
    let bytes = std::fs::read(test_plugin("snoop")).unwrap();
    let renamed = replace(&bytes, b"name = \"snoop\"", b"name = \"sse\"  ");
    let path = dir.path().join("sse.wasm");
    std::fs::write(&path, renamed).unwrap();
    let run = aish(home.path(), &["plugin", "add", path.to_str().unwrap()], None);
    assert!(run.stdout.contains("overrides the built-in plugin"), "{run:?}");
    let list = aish(home.path(), &["plugin", "list"], None).stdout;
    assert!(list.lines().any(|l| l.starts_with("sse ") && l.contains("user (overrides built-in)")), "{list}");
    let run = aish(home.path(), &["plugin", "remove", "sse"], None);
    assert!(run.stdout.contains("the built-in plugin of that name is back"), "{run:?}");
    let run = aish(home.path(), &["plugin", "remove", "sse"], None);
    assert_eq!(run.stderr.trim(), "error: `sse` is built into aish and cannot be removed");
}

#[test]
fn bad_plugin_files_are_refused_with_the_reason() {
    let home = home();
    let dir = tempfile::tempdir().unwrap();
    let not_wasm = dir.path().join("notes.wasm");
    std::fs::write(&not_wasm, "hello").unwrap();
    let run = aish(home.path(), &["plugin", "add", not_wasm.to_str().unwrap()], None);
    assert_eq!(run.code, 1);
    assert!(
        run.stderr.contains("not a WebAssembly component") && run.stderr.contains("wasm32-wasip2"),
        "{}",
        run.stderr
    );

    let future = dir.path().join("future.wasm");
    let bytes = std::fs::read(test_plugin("snoop")).unwrap();
    // A contract from the future, in the exports (where aish reads it) and the manifest alike.
    let bytes = replace(&bytes, b"aish:plugin/transport@0.3.0", b"aish:plugin/transport@9.9.0");
    std::fs::write(&future, replace(&bytes, b"wit = \"0.3.0\"", b"wit = \"9.9.0\"")).unwrap();
    let run = aish(home.path(), &["plugin", "add", future.to_str().unwrap()], None);
    assert_eq!(run.code, 1);
    assert!(
        run.stderr.contains(
            "plugin `snoop` was built for aish plugin API 9.9.0, and this aish loads 0.1.0, 0.2.0, 0.3.0; rebuild it with a matching aish-plugin-sdk or upgrade aish"
        ),
        "{}",
        run.stderr
    );
    let run = aish(home.path(), &["plugin", "add", "/no/such/file.wasm"], None);
    assert!(run.stderr.contains("cannot read /no/such/file.wasm"), "{}", run.stderr);
}

#[test]
fn a_broken_plugin_in_the_folder_is_skipped_with_a_warning() {
    let home = home();
    std::fs::create_dir_all(home.path().join("plugins")).unwrap();
    std::fs::write(home.path().join("plugins/broken.wasm"), b"\0asm\x01\0\0\0").unwrap();
    let run = aish(home.path(), &["-c", "echo hi | hermes"], None);
    assert_eq!(run.code, 0, "{run:?}");
    assert!(
        run.stderr
            .lines()
            .any(|l| l.starts_with("warning: plugin ") && l.contains("broken.wasm") && l.contains("core module")),
        "{}",
        run.stderr
    );
}

/// Replaces every occurrence (the manifest text stands in the custom section and in data).
fn replace(haystack: &[u8], from: &[u8], to: &[u8]) -> Vec<u8> {
    assert_eq!(from.len(), to.len());
    let mut out = haystack.to_vec();
    let mut found = 0;
    let mut at = 0;
    while let Some(pos) = out[at..].windows(from.len()).position(|w| w == from) {
        let start = at + pos;
        out[start..start + to.len()].copy_from_slice(to);
        at = start + to.len();
        found += 1;
    }
    assert!(found > 0, "pattern present");
    out
}

#[test]
fn the_plugin_built_in_changes_plugins_for_the_next_command() {
    let server =
        crate::support::server::TestServer::always(crate::support::server::Reply::body(200, "text/plain", "ok"));
    let home = home();
    crate::support::write_config(
        home.path(),
        &format!("[ai.nosy]\nurl = \"{}\"\ntransport = \"snoop\"\n", server.url("/")),
    );
    let script = home.path().join("s.aish");
    std::fs::write(
        &script,
        format!(
            "plugin add '{}'\necho hi | nosy\nplugin remove snoop\necho hi | nosy\n",
            test_plugin("snoop").display()
        ),
    )
    .unwrap();
    let run = aish(home.path(), &[script.to_str().unwrap()], None);
    assert_eq!(run.code, 1, "{run:?}");
    assert!(run.stdout.contains("installed transport plugin `snoop`"), "{}", run.stdout);
    assert!(run.stdout.contains("env: 0 variables"), "the new plugin answered at once: {}", run.stdout);
    assert!(run.stdout.contains("removed plugin `snoop`"), "{}", run.stdout);
    assert!(run.stderr.contains("error: nosy: no plugin named `snoop`"), "gone at once: {}", run.stderr);
}

#[test]
fn a_plugin_built_against_the_previous_contract_still_loads_and_runs() {
    let server =
        crate::support::server::TestServer::always(crate::support::server::Reply::body(200, "text/plain", "ok"));
    let home = home();
    crate::support::write_config(
        home.path(),
        &format!("[ai.old]\nurl = \"{}\"\ntransport = \"legacy\"\n", server.url("/")),
    );
    let legacy = test_plugin("legacy");
    let run = aish(home.path(), &["plugin", "add", legacy.to_str().unwrap()], None);
    assert_eq!(run.code, 0, "{run:?}");
    let info = aish(home.path(), &["plugin", "info", "legacy"], None).stdout;
    assert!(info.contains("plugin API:    0.1.0 (supported)"), "{info}");
    // Its HTTP import reaches the server through the same host code as the current contract's.
    let run = aish(home.path(), &["-c", "echo still working | old"], None);
    assert_eq!((run.code, run.stdout.as_str()), (0, "[200] still working \n"), "{run:?}");
    assert_eq!(server.requests().len(), 1);
}

#[test]
fn a_plugin_built_against_contract_0_2_0_still_loads_and_uses_its_socket() {
    let server =
        crate::support::server::TestServer::always(crate::support::server::Reply::body(200, "text/plain", "ok"));
    let home = home();
    crate::support::write_config(
        home.path(),
        &format!("[ai.old]\nurl = \"{}\"\ntransport = \"legacy2\"\n", server.url("/")),
    );
    let legacy = test_plugin("legacy2");
    let run = aish(home.path(), &["plugin", "add", legacy.to_str().unwrap()], None);
    assert_eq!(run.code, 0, "{run:?}");
    let info = aish(home.path(), &["plugin", "info", "legacy2"], None).stdout;
    assert!(info.contains("plugin API:    0.2.0 (supported)"), "{info}");
    // Its socket import reaches the server through the same host code as the current contract's.
    let run = aish(home.path(), &["-c", "echo still working | old"], None);
    assert_eq!((run.code, run.stdout.as_str()), (0, "[HTTP/1.1 200 Scripted] still working \n"), "{run:?}");
    assert_eq!(server.requests().len(), 1);
}
