//! Plugins in any language, as an author meets them: `aish plugin new` in a folder outside the
//! repository, the language's own build, `aish plugin add` (manifest from the component, from a
//! `plugin.toml` beside it, or `--manifest`), and the plugin running in the real binary.

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::support::server::{Part, Reply, TestServer};
use crate::support::{
    aish, aish_with_env, build_standalone, home, standalone_target, toolchains, without_host_build_flags, write_config,
};

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().expect("host/ sits in the workspace").to_path_buf()
}

/// `aish plugin new NAME --kind KIND --lang LANG` in a fresh folder outside the repository.
fn new_plugin(home: &Path, name: &str, kind: &str, lang: &str) -> (tempfile::TempDir, PathBuf) {
    let outside = tempfile::tempdir().unwrap();
    let dir = outside.path().to_str().unwrap();
    let run = aish(home, &["plugin", "new", name, "--kind", kind, "--lang", lang, "--dir", dir], None);
    assert_eq!(run.code, 0, "{run:?}");
    assert!(run.stdout.contains(&format!("created {dir}/{name}")), "{}", run.stdout);
    let folder = outside.path().join(name);
    (outside, folder)
}

/// The `[build]` command of a plugin folder, run as `plugin dev` runs it, with `path_first`
/// ahead on `PATH`.
fn build(folder: &Path, path_first: Option<&Path>) -> PathBuf {
    let manifest: toml::Table = toml::from_str(&std::fs::read_to_string(folder.join("plugin.toml")).unwrap()).unwrap();
    let command = manifest["build"]["command"].as_str().unwrap();
    let output = folder.join(manifest["build"]["output"].as_str().unwrap());
    let mut sh = Command::new("sh");
    sh.arg("-c").arg(command).current_dir(folder);
    if let Some(dir) = path_first {
        sh.env("PATH", toolchains::path_with(dir));
    }
    let run = sh.output().expect("run the build");
    assert!(
        run.status.success(),
        "`{command}` failed:\n{}{}",
        String::from_utf8_lossy(&run.stdout),
        String::from_utf8_lossy(&run.stderr)
    );
    assert!(output.is_file(), "{} was built", output.display());
    output
}

/// A server that streams `pieces` as a plain-text body.
fn plain_server(pieces: &[&str]) -> TestServer {
    let mut reply = Reply::body(200, "text/plain", "");
    reply.parts = pieces.iter().map(|p| Part::Data(p.as_bytes().to_vec())).collect();
    TestServer::always(reply)
}

fn check_transport(home: &Path, name: &str) {
    let server = plain_server(&["Hello ", "from ", "the wire ✓"]);
    write_config(home, &format!("[ai.mine]\nurl = \"{}\"\ntransport = \"{name}\"\n", server.url("/chat")));
    let run = aish_with_env(home, &["-c", "mine say hello"], None, &[("AISH_LOG", "1")]);
    assert_eq!(run.code, 0, "{run:?}");
    assert_eq!(run.stdout, "Hello from the wire ✓\n");
    // It says `[instance] reuse = true`, and lets go of its response: its instance is kept.
    let kept = format!("[plugin {name}] debug: instance kept for the next answer");
    assert!(run.stderr.contains(&kept), "{}", run.stderr);
    let sent = server.requests()[0].json();
    assert_eq!(sent["message"], "say hello", "{sent}");
}

#[test]
fn plugin_wit_writes_the_contract_the_binary_carries() {
    let home = home();
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("contract");
    let run = aish(home.path(), &["plugin", "wit", out.to_str().unwrap()], None);
    assert_eq!(run.code, 0, "{run:?}");
    let version = aish_plugin_sdk::WIT_VERSION;
    assert!(run.stdout.contains(&format!("aish:plugin@{version}")), "{}", run.stdout);
    for file in ["types.wit", "transport.wit", "stage.wit", "http.wit", "socket.wit"] {
        let ours = std::fs::read(out.join(file)).unwrap();
        assert!(ours == std::fs::read(root().join(format!("wit/v{version}/{file}"))).unwrap(), "{file}");
    }
}

#[test]
fn a_new_rust_stage_builds_outside_the_repository_and_runs() {
    let home = home();
    let (_outside, folder) = new_plugin(home.path(), "shout", "stage", "rust");
    // It also sleeps when asked: the time limit must stop a stage that waits, not only one that
    // computes (the compute check runs only while the plugin's code runs).
    let source = folder.join("src/lib.rs");
    let code = std::fs::read_to_string(&source).unwrap().replace(
        "        Ok(chunk.to_uppercase())",
        "        if chunk.contains(\"sleep\") {\n            std::thread::sleep(std::time::Duration::from_secs(600));\n        }\n        Ok(chunk.to_uppercase())",
    );
    std::fs::write(&source, code).unwrap();
    let wasm = build_standalone(&folder, "shout");
    let add = aish(home.path(), &["plugin", "add", wasm.to_str().unwrap()], None);
    assert_eq!(add.code, 0, "{add:?}");
    assert!(add.stdout.contains("installed stage plugin `shout` 0.1.0 (contract"), "{}", add.stdout);
    assert!(add.stdout.contains("compiled in"), "{}", add.stdout);
    let run = aish(home.path(), &["-c", "echo hello there | shout"], None);
    assert_eq!((run.code, run.stdout.as_str()), (0, "HELLO THERE\n"), "{run:?}");
    write_config(home.path(), "[plugins.shout]\ntime_limit_ms = 300\n");
    // `aish` gives up on a run after 60 s: a sleep the limit does not stop fails the test.
    let run = aish(home.path(), &["-c", "echo sleep now | shout"], None);
    assert_eq!(run.code, 1, "{run:?}");
    assert!(run.stderr.contains("plugin `shout` was stopped: it ran for more than 300 ms"), "{}", run.stderr);
}

#[test]
fn a_new_rust_transport_builds_outside_the_repository_and_streams() {
    let home = home();
    let (_outside, folder) = new_plugin(home.path(), "relay", "transport", "rust");
    let wasm = build_standalone(&folder, "relay");
    let add = aish(home.path(), &["plugin", "add", wasm.to_str().unwrap()], None);
    assert_eq!(add.code, 0, "{add:?}");
    assert!(add.stdout.contains("it asks for http"), "{}", add.stdout);
    check_transport(home.path(), "relay");
}

/// Waits for a prompt in the pty, answering the cursor-position query a real terminal answers.
fn prompt(shell: &mut rexpect::session::PtySession) {
    shell.exp_string("\x1b[6n").expect("a new prompt asks where the cursor is");
    shell.send("\x1b[1;1R").unwrap();
    shell.flush().unwrap();
}

/// The shell in a pseudo-terminal with `plugin dev FOLDER` started: the first build runs in the
/// background and the shell has taken its next line.
fn shell_developing(home: &Path, folder: &Path) -> rexpect::session::PtySession {
    let mut command = Command::new(env!("CARGO_BIN_EXE_aish"));
    command.env("AISH_HOME", home).env("NO_COLOR", "1").env("TERM", "xterm");
    without_host_build_flags(&mut command);
    let mut shell = rexpect::session::spawn_command(command, Some(120_000)).expect("start aish in a pty");
    prompt(&mut shell);
    shell.send_line(&format!("plugin dev {}", folder.display())).unwrap();
    shell.exp_string("building").expect("the first build starts");
    shell.exp_string("watching").expect("and the folder is watched");
    // A new prompt: the shell takes the next line while the first build runs.
    prompt(&mut shell);
    shell
}

#[test]
fn plugin_dev_rebuilds_a_changed_plugin_in_the_running_shell_and_keeps_the_last_good_one() {
    let home = home();
    let (_outside, folder) = new_plugin(home.path(), "devshout", "stage", "rust");
    std::fs::copy(root().join("Cargo.lock"), folder.join("Cargo.lock")).unwrap();
    // The template's build, pointed at the shared target folder so only the plugin compiles.
    let target = standalone_target();
    let manifest = std::fs::read_to_string(folder.join("plugin.toml")).unwrap();
    let build = format!(
        "[build]\ncommand = \"CARGO_TARGET_DIR={} cargo build --quiet --offline --release --target wasm32-wasip2\"\noutput = \"{}\"\n",
        target.display(),
        target.join("wasm32-wasip2/release/devshout.wasm").display()
    );
    let manifest = format!("{}{build}", &manifest[..manifest.find("[build]").unwrap()]);
    std::fs::write(folder.join("plugin.toml"), manifest).unwrap();

    let mut shell = shell_developing(home.path(), &folder);
    shell.exp_string("installed stage plugin `devshout`").expect("the first build is installed");
    shell.exp_string("the next command uses it").expect("and used from the next line");
    shell.send_line("echo hello dev | devshout").unwrap();
    shell.exp_string("HELLO DEV").expect("the plugin runs");
    prompt(&mut shell);

    // A broken edit: its errors are shown and the last good build stays.
    let source = folder.join("src/lib.rs");
    let good = std::fs::read_to_string(&source).unwrap();
    std::fs::write(&source, good.replace("Ok(chunk.to_uppercase())", "Ok(chunk.to_uppercase()")).unwrap();
    shell.exp_string("plugin dev: ").expect("the failed build is reported");
    shell.exp_string("the last good version stays installed").expect("and the last good version kept");
    shell.send_line("echo still good | devshout").unwrap();
    shell.exp_string("STILL GOOD").expect("the last good build still runs");
    prompt(&mut shell);

    // A good edit: rebuilt, reinstalled, and the next command uses it.
    std::fs::write(&source, good.replace("Ok(chunk.to_uppercase())", "Ok(chunk.replace(\"hello\", \"bonjour\"))"))
        .unwrap();
    shell.exp_string("the next command uses it").expect("the rebuild is reported");
    shell.send_line("echo hello again | devshout").unwrap();
    shell.exp_string("bonjour again").expect("the new code runs without restarting the shell");
    prompt(&mut shell);
    shell.send_control('d').unwrap();
    shell.exp_eof().expect("Ctrl-D leaves");
}

/// In the shell, `plugin dev` reports every build above the prompt, the first included: a first
/// build that fails says to fix and save (there is no last good version yet), the next good one
/// is installed and used, and a failure after it keeps that one.
#[test]
fn plugin_dev_in_the_shell_reports_each_build_the_first_that_fails_included() {
    let home = home();
    let outside = tempfile::tempdir().unwrap();
    let folder = outside.path().join("devfail");
    std::fs::create_dir(&folder).unwrap();
    let manifest = |command: &str| {
        let toml =
            format!("name = \"devfail\"\nversion = \"0.1.0\"\n[build]\ncommand = \"{command}\"\noutput = \"x.wasm\"\n");
        std::fs::write(folder.join("plugin.toml"), toml).unwrap();
    };
    manifest("echo first-error >&2; exit 1");

    let mut shell = shell_developing(home.path(), &folder);
    shell.exp_string("first-error").expect("the first build's errors");
    shell.exp_string("fix the errors and save").expect("and what to do, with no last good version");

    // A good build: a component copied into place.
    let component = crate::support::test_plugin("snoop");
    manifest(&format!("cp {} x.wasm", component.display()));
    shell.exp_string("installed transport plugin `snoop`").expect("the good build is installed");
    shell.exp_string("the next command uses it").expect("and used");

    manifest("echo second-error >&2; exit 1");
    shell.exp_string("second-error").expect("the failed build's errors");
    shell.exp_string("the last good version stays installed").expect("and the good one kept");
    shell.send_control('d').unwrap();
    shell.exp_eof().expect("Ctrl-D leaves");
}

/// A plugin folder whose build writes its process ID to `pid` (outside the folder) and then
/// runs a minute-long child; ignoring SIGTERM, which that child inherits, when `stubborn`.
fn slow_build_folder(outside: &Path, pid: &Path, stubborn: bool) -> PathBuf {
    let folder = outside.join("slowdev");
    std::fs::create_dir(&folder).unwrap();
    let trap = if stubborn { "trap '' TERM; " } else { "" };
    let toml = format!(
        "name = \"slowdev\"\nversion = \"0.1.0\"\n[build]\ncommand = \"{trap}echo $$ > {}; sleep 60\"\noutput = \"x.wasm\"\n",
        pid.display()
    );
    std::fs::write(folder.join("plugin.toml"), toml).unwrap();
    folder
}

/// The process group a build leads, once it has started (its ID written to `pid`).
fn build_group(pid: &Path) -> i32 {
    for _ in 0..200 {
        if let Some(id) = std::fs::read_to_string(pid).ok().filter(|id| id.ends_with('\n')) {
            return id.trim().parse().expect("a process ID");
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    panic!("the build never started");
}

/// Whether a process of `group` other than a zombie runs, read from `/proc`: a zombie that
/// nothing reaped (in a container without an init) is not a build left running.
fn group_alive(group: i32) -> bool {
    std::fs::read_dir("/proc").expect("/proc").flatten().any(|entry| {
        let Ok(stat) = std::fs::read_to_string(entry.path().join("stat")) else { return false };
        // `pid (comm) state ppid pgrp …`, the command name possibly holding spaces.
        let fields: Vec<&str> = stat.rsplit_once(')').map_or("", |(_, rest)| rest).split_whitespace().collect();
        fields.len() > 2 && fields[0] != "Z" && fields[2] == group.to_string()
    })
}

/// Whether a process of `group` is left, waiting up to ten seconds for them to go (then killing
/// them, so a failing test leaves nothing running either).
fn group_left(group: i32) -> bool {
    for _ in 0..200 {
        if !group_alive(group) {
            return false;
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    // SAFETY: kill(2) takes plain integers; the group is the test's own build's.
    unsafe { libc::kill(-group, libc::SIGKILL) };
    true
}

/// A `plugin dev` build runs in a process group of its own (Ctrl-C on an answer must not reach
/// it), so aish stops it itself when the watch ends: the shell exiting during a long first
/// build (one that ignores SIGTERM is killed), and `aish plugin dev` interrupted by Ctrl-C, leave
/// no build behind.
#[test]
fn a_plugin_dev_build_ends_with_its_watch() {
    let home = home();
    for stubborn in [false, true] {
        let outside = tempfile::tempdir().unwrap();
        let pid = outside.path().join("shell.pid");
        let folder = slow_build_folder(outside.path(), &pid, stubborn);
        let mut shell = shell_developing(home.path(), &folder);
        let group = build_group(&pid);
        assert!(group_alive(group), "the build runs");
        shell.send_control('d').unwrap();
        shell.exp_eof().expect("Ctrl-D leaves during the build");
        assert!(!group_left(group), "the shell left its build running (stubborn: {stubborn})");
    }

    let outside = tempfile::tempdir().unwrap();
    let pid = outside.path().join("cli.pid");
    let folder = slow_build_folder(outside.path(), &pid, false);
    let mut command = Command::new(env!("CARGO_BIN_EXE_aish"));
    command.env("AISH_HOME", home.path()).args(["plugin", "dev", folder.to_str().unwrap()]);
    let mut dev = rexpect::session::spawn_command(command, Some(30_000)).expect("start aish plugin dev in a pty");
    dev.exp_string("Ctrl-C stops").expect("the watch starts");
    let group = build_group(&pid);
    assert!(group_alive(group), "the build runs");
    dev.send_control('c').unwrap();
    dev.exp_eof().expect("Ctrl-C ends aish plugin dev during the build");
    assert!(!group_left(group), "aish plugin dev left its build running");
}

/// A copy of an example folder with the contract written beside it by `aish plugin wit`.
fn example(home: &Path, name: &str) -> (tempfile::TempDir, PathBuf) {
    let outside = tempfile::tempdir().unwrap();
    let folder = outside.path().join(name);
    std::fs::create_dir_all(&folder).unwrap();
    for entry in std::fs::read_dir(root().join("examples").join(name)).unwrap().flatten() {
        if entry.path().is_file() {
            std::fs::copy(entry.path(), folder.join(entry.file_name())).unwrap();
        }
    }
    let run = aish(home, &["plugin", "wit", folder.join("wit").to_str().unwrap()], None);
    assert_eq!(run.code, 0, "{run:?}");
    (outside, folder)
}

#[test]
fn a_new_python_stage_installs_with_only_a_plugin_toml_beside_it_and_runs() {
    let tools = toolchains::componentize_py();
    let home = home();
    let (_outside, folder) = new_plugin(home.path(), "pyshout", "stage", "python");
    let wasm = build(&folder, Some(&tools));
    let add = aish(home.path(), &["plugin", "add", wasm.to_str().unwrap()], None);
    assert_eq!(add.code, 0, "{add:?}");
    assert!(add.stdout.contains("installed stage plugin `pyshout` 0.1.0"), "{}", add.stdout);
    assert!(
        add.stdout.contains(&format!("the manifest in {}", folder.join("plugin.toml").display())),
        "{}",
        add.stdout
    );
    let run = aish(home.path(), &["-c", "echo hello python | pyshout"], None);
    assert_eq!((run.code, run.stdout.as_str()), (0, "HELLO PYTHON\n"), "{run:?}");

    // Without its plugin.toml, the component says what it lacks; --manifest supplies it.
    let alone = tempfile::tempdir().unwrap();
    let copy = alone.path().join("pyshout.wasm");
    std::fs::copy(&wasm, &copy).unwrap();
    let add = aish(home.path(), &["plugin", "add", copy.to_str().unwrap()], None);
    assert_eq!(add.code, 1, "{add:?}");
    assert!(add.stderr.contains("it carries no manifest: put a plugin.toml beside it"), "{}", add.stderr);
    let manifest = folder.join("plugin.toml");
    let add =
        aish(home.path(), &["plugin", "add", "--manifest", manifest.to_str().unwrap(), copy.to_str().unwrap()], None);
    assert_eq!(add.code, 0, "{add:?}");

    // A plugin.toml that happens to sit beside a component may not replace a built-in plugin.
    std::fs::write(alone.path().join("plugin.toml"), "name = \"grep\"\nversion = \"9.0.0\"\n").unwrap();
    let add = aish(home.path(), &["plugin", "add", copy.to_str().unwrap()], None);
    assert_eq!(add.code, 1, "{add:?}");
    assert!(
        add.stderr.contains("names the built-in plugin `grep`; replacing a built-in plugin takes --manifest"),
        "{}",
        add.stderr
    );
}

#[test]
fn a_new_python_transport_streams_from_a_loopback_server() {
    let tools = toolchains::componentize_py();
    let home = home();
    let (_outside, folder) = new_plugin(home.path(), "pystream", "transport", "python");
    let wasm = build(&folder, Some(&tools));
    let add = aish(home.path(), &["plugin", "add", wasm.to_str().unwrap()], None);
    assert_eq!(add.code, 0, "{add:?}");
    check_transport(home.path(), "pystream");
}

#[test]
fn the_python_example_stage_wraps_text() {
    let tools = toolchains::componentize_py();
    let home = home();
    let (_outside, folder) = example(home.path(), "python-stage");
    let wasm = build(&folder, Some(&tools));
    let add = aish(home.path(), &["plugin", "add", wasm.to_str().unwrap()], None);
    assert_eq!(add.code, 0, "{add:?}");
    let run = aish(home.path(), &["-c", "echo one two three four five six | wrap 9"], None);
    assert_eq!((run.code, run.stdout.as_str()), (0, "one two\nthree\nfour five\nsix\n"), "{run:?}");
    let run = aish(home.path(), &["-c", "echo hi | wrap 0"], None);
    assert_eq!(run.code, 1, "{run:?}");
    assert!(run.stderr.contains("wrap: usage: wrap [WIDTH]"), "{}", run.stderr);
}

#[test]
fn the_javascript_example_transport_streams_from_a_loopback_server() {
    let modules = toolchains::componentize_js();
    let home = home();
    let (_outside, folder) = example(home.path(), "js-transport");
    std::os::unix::fs::symlink(&modules, folder.join("node_modules")).unwrap();
    let wasm = build(&folder, None);
    let add = aish(home.path(), &["plugin", "add", wasm.to_str().unwrap()], None);
    assert_eq!(add.code, 0, "{add:?}");
    assert!(add.stdout.contains("installed transport plugin `jsstream`"), "{}", add.stdout);
    check_transport(home.path(), "jsstream");
}

/// `plugin new NAME --kind KIND --lang js`, built with the componentize-js the tests keep (what
/// `npm install` would fetch) and added; returns what `plugin add` printed.
fn new_js_plugin(home: &Path, name: &str, kind: &str) -> (tempfile::TempDir, String) {
    let modules = toolchains::componentize_js();
    let (outside, folder) = new_plugin(home, name, kind, "js");
    std::os::unix::fs::symlink(&modules, folder.join("node_modules")).unwrap();
    let wasm = build(&folder, None);
    let add = aish(home, &["plugin", "add", wasm.to_str().unwrap()], None);
    assert_eq!(add.code, 0, "{add:?}");
    (outside, add.stdout)
}

#[test]
fn a_new_javascript_stage_builds_outside_the_repository_and_runs() {
    let home = home();
    let (_outside, added) = new_js_plugin(home.path(), "jsshout", "stage");
    assert!(added.contains("installed stage plugin `jsshout` 0.1.0"), "{added}");
    let run = aish(home.path(), &["-c", "echo hello javascript | jsshout"], None);
    assert_eq!((run.code, run.stdout.as_str()), (0, "HELLO JAVASCRIPT\n"), "{run:?}");
}

#[test]
fn a_new_javascript_transport_streams_from_a_loopback_server() {
    let home = home();
    let (_outside, added) = new_js_plugin(home.path(), "jsnew", "transport");
    assert!(added.contains("installed transport plugin `jsnew` 0.1.0"), "{added}");
    check_transport(home.path(), "jsnew");
}

/// Ctrl-C during a line that is no answer (here a script's first `plugin dev` build, after an
/// answer already ran) is not lost: the build is stopped, and the script with it, with 130.
#[test]
fn ctrl_c_during_a_scripts_first_dev_build_stops_both() {
    let home = home();
    let outside = tempfile::tempdir().unwrap();
    let pid = outside.path().join("build.pid");
    let folder = slow_build_folder(outside.path(), &pid, false);
    let script = outside.path().join("dev.aish");
    std::fs::write(&script, format!("hermes first\nplugin dev {}\necho after the build\n", folder.display())).unwrap();
    let mut command = Command::new("sh");
    command
        .arg("-c")
        .arg("trap : INT; \"$0\" \"$1\"; echo \"exit=$?\"")
        .arg(env!("CARGO_BIN_EXE_aish"))
        .arg(&script)
        .env("AISH_HOME", home.path())
        .env("AISH_DEMO_DELAY_MS", "0")
        .env("NO_COLOR", "1");
    let mut session = rexpect::session::spawn_command(command, Some(30_000)).expect("start aish in a pty");
    session.exp_string("In one line: first.").expect("the answer");
    let group = build_group(&pid);
    session.send_control('c').unwrap();
    let (before, status) = session.exp_regex("exit=[0-9]+").expect("aish ends before the minute-long build");
    assert_eq!(status, "exit=130", "{before}");
    assert!(before.contains("plugin dev: stopped by Ctrl-C"), "{before}");
    assert!(!before.contains("after the build"), "the script went on: {before}");
    assert!(!group_left(group), "the build outlived the script");
}
