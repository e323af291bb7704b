//! The real `aish` binary end to end: the embedded default, one-shot and script forms, a real
//! backend from config, the display rules on a pipe, probe output and every error exit.

use std::process::{Command, Stdio};

use crate::support::server::{Reply, TestServer};
use crate::support::{aish, home, write_config};

fn assert_no_ansi(text: &str) {
    assert!(!text.contains('\x1b'), "no ANSI codes when not a terminal: {text:?}");
}

#[test]
fn embedded_default_streams_through_a_pipeline() {
    let home = home();
    let run = aish(home.path(), &["-c", r#"echo "rooftop gardens" | apollo | athena"#], None);
    assert_eq!(run.code, 0, "{run:?}");
    // Only the final answer on stdout; athena saw apollo's answer and the pipeline context.
    assert!(
        run.stdout.starts_with("Building on apollo: Athena weighs “Apollo on “rooftop gardens”."),
        "{}",
        run.stdout
    );
    assert_eq!(run.stdout.lines().count(), 1);
    let status: Vec<&str> = run.stderr.lines().collect();
    assert_eq!(status.len(), 4, "{status:?}");
    assert_eq!(status[0], "apollo: [Streaming...]");
    assert!(status[1].starts_with("[Complete - ") && status[1].ends_with(" tokens]"), "{status:?}");
    assert_eq!(status[2], "athena: [Streaming...]");
    assert_no_ansi(&run.stdout);
    assert_no_ansi(&run.stderr);
}

#[test]
fn one_shot_from_arguments_and_from_standard_input() {
    let home = home();
    let run = aish(home.path(), &["hermes", "Ship", "it", "today.", "Then", "rest."], None);
    assert_eq!((run.code, run.stdout.as_str()), (0, "In one line: Ship it today.\n"), "{run:?}");
    let run = aish(home.path(), &["hermes"], Some("Notes from the meeting. More later."));
    assert_eq!((run.code, run.stdout.as_str()), (0, "In one line: Notes from the meeting.\n"), "{run:?}");
    let run = aish(home.path(), &["hermes"], None);
    assert_eq!(run.code, 2);
    assert!(run.stderr.contains("no message for hermes"), "{}", run.stderr);
}

/// `cat notes | aish AI summarise this`: the AI is sent the words, then the piped text.
#[test]
fn a_one_shot_with_words_also_sends_what_is_piped_in() {
    let server = TestServer::always(Reply::sse([
        "data: {\"event\":\"token\",\"data\":{\"token\":\"Done.\"}}\n\n",
        "event: done\ndata: {}\n\n",
    ]));
    let home = home();
    write_config(home.path(), &format!("[ai.scribe]\nurl = \"{}\"\n", server.url("/")));
    let run = aish(home.path(), &["scribe", "summarise", "this"], Some("Notes from the meeting.\n"));
    assert_eq!((run.code, run.stdout.as_str()), (0, "Done.\n"), "{run:?}");
    let message = server.requests()[0].json()["message"].as_str().unwrap().to_owned();
    assert!(message.starts_with("summarise this") && message.contains("Notes from the meeting."), "{message:?}");
}

#[test]
fn a_real_backend_from_config_with_its_key_from_the_environment() {
    let server = TestServer::always(Reply::sse([
        "data: {\"choices\":[{\"delta\":{\"content\":\"From \"}}]}\n\n",
        "data: {\"choices\":[{\"delta\":{\"content\":\"the server\"}}]}\n\n",
        "data: [DONE]\n\n",
    ]));
    let home = home();
    write_config(
        home.path(),
        &format!(
            "[ai.gpt]\nurl = \"{}\"\ndialect = \"openai\"\nmodel = \"gpt-4o-mini\"\napi_key_env = \"AISH_TEST_KEY\"\n",
            server.url("/v1/chat/completions")
        ),
    );
    let run = aish(home.path(), &["-c", "echo hello | gpt"], None);
    assert_eq!(run.code, 1, "the key variable is not set: {run:?}");
    assert!(run.stderr.contains("AISH_TEST_KEY is not set"), "{}", run.stderr);
    let run = crate::support::aish_with_env(home.path(), &["-c", "echo hello | gpt"], None, &[("AISH_TEST_KEY", " ")]);
    assert_eq!(run.code, 1, "an empty key is no key: {run:?}");
    assert!(run.stderr.contains("AISH_TEST_KEY is empty"), "{}", run.stderr);
    assert!(server.requests().is_empty(), "nothing was sent with it");

    let mut command = std::process::Command::new(env!("CARGO_BIN_EXE_aish"));
    let output = command
        .args(["gpt", "hello"])
        .env("AISH_HOME", home.path())
        .env("AISH_TEST_KEY", "sk-from-env")
        .output()
        .unwrap();
    assert_eq!(String::from_utf8_lossy(&output.stdout), "From the server\n");
    let request = &server.requests()[0];
    assert_eq!(request.header("authorization"), Some("Bearer sk-from-env"));
    assert_eq!(request.json()["model"], "gpt-4o-mini");
}

#[test]
fn server_gone_mid_answer_keeps_the_answer_and_exits_1() {
    let server = TestServer::always(Reply::sse([
        "data: {\"event\":\"token\",\"data\":{\"token\":\"half an \"}}\n\n",
        "data: {\"event\":\"token\",\"data\":{\"token\":\"answer\"}}\n\n",
    ]));
    let home = home();
    write_config(home.path(), &format!("[ai.flaky]\nurl = \"{}\"\n", server.url("/")));
    let run = aish(home.path(), &["-c", "echo hi | flaky"], None);
    assert_eq!(run.code, 1, "{run:?}");
    assert_eq!(run.stdout, "half an answer\n");
    let errors: Vec<&str> = run.stderr.lines().filter(|l| l.starts_with("error:")).collect();
    assert_eq!(errors, vec!["error: flaky: the server closed the stream before the answer was complete"]);
}

#[test]
fn syntax_and_usage_errors_exit_2() {
    let home = home();
    let run = aish(home.path(), &["-c", "echo hi | | apollo"], None);
    assert_eq!(run.code, 2);
    assert_eq!(
        run.stderr,
        "error: syntax error at column 11: expected a command between `|` and `|`\necho hi | | apollo\n          ^\n"
    );
    let run = aish(home.path(), &["-c", "echo hi | athna"], None);
    assert_eq!(run.code, 2);
    assert!(run.stderr.contains("unknown command `athna` (did you mean `athena`?)"), "{}", run.stderr);
    let run = aish(home.path(), &["nobody-here"], None);
    assert_eq!(run.code, 2);
    let run = aish(home.path(), &["--frobnicate"], None);
    assert_eq!(run.code, 2);
}

#[test]
fn config_errors_name_the_file_and_the_key() {
    let home = home();
    write_config(home.path(), "[ai.apollo]\nurl = \"http://127.0.0.1:1/\"\ntrasnport = \"sse\"\n");
    let run = aish(home.path(), &["-c", "echo hi | apollo"], None);
    assert_eq!(run.code, 2);
    let config = home.path().join("config.toml");
    assert!(
        run.stderr.starts_with(&format!(
            "error: config error in {} at `ai.apollo.trasnport`: unknown field `trasnport`",
            config.display()
        )),
        "{}",
        run.stderr
    );
    assert_eq!(run.stderr.lines().count(), 1);
    let run = aish(home.path(), &["--config", "/no/such/config.toml", "-c", "echo hi"], None);
    assert_eq!(run.code, 2);
    assert!(run.stderr.contains("/no/such/config.toml") && run.stderr.contains("cannot read it"), "{}", run.stderr);
    for url in ["not a url", "http://", "/v1/chat"] {
        write_config(home.path(), &format!("[ai.apollo]\nurl = \"{url}\"\n"));
        let run = aish(home.path(), &["-c", "echo hi"], None);
        assert_eq!(run.code, 2, "{url}: {run:?}");
        assert!(
            run.stderr.contains("at `ai.apollo.url`: `url` is") && run.stderr.contains("not a URL"),
            "{}",
            run.stderr
        );
    }
    // A transport no plugin provides may be about to be added: said at start, not refused.
    write_config(
        home.path(),
        "[ai.bird]\nurl = \"http://127.0.0.1:1/\"\ntransport = \"carrier-pigeon\"\nfallback = [\"sse\"]\n",
    );
    let run = aish(home.path(), &["-c", "echo hi"], None);
    assert_eq!((run.code, run.stdout.as_str()), (0, "hi\n"), "{run:?}");
    assert!(
        run.stderr.contains("warning: [ai.bird] transport `carrier-pigeon` is no installed transport plugin")
            && !run.stderr.contains("fallback `sse`"),
        "{}",
        run.stderr
    );
    // So is a plugin section that names no installed plugin (settings that would apply to nothing).
    write_config(
        home.path(),
        "[plugins.see]
time_limit_ms = 100

[plugins.sse]
time_limit_ms = 100
",
    );
    let run = aish(home.path(), &["-c", "echo hi"], None);
    assert_eq!((run.code, run.stdout.as_str()), (0, "hi\n"), "{run:?}");
    assert!(
        run.stderr.contains("warning: [plugins.see] names no installed plugin (did you mean `sse`?)"),
        "{}",
        run.stderr
    );
    assert!(!run.stderr.contains("[plugins.sse]"), "{}", run.stderr);
}

#[test]
fn scripts_skip_comments_and_shebang_and_check_syntax_first() {
    let home = home();
    let script = home.path().join("ideas.aish");
    std::fs::write(&script, "#!/usr/bin/env aish\n# a comment\n\necho first\necho \"second | line\"\n").unwrap();
    let run = aish(home.path(), &[script.to_str().unwrap()], None);
    assert_eq!((run.code, run.stdout.as_str()), (0, "first\nsecond | line\n"), "{run:?}");
    std::fs::write(&script, "echo would run\necho 'broken\n").unwrap();
    let run = aish(home.path(), &[script.to_str().unwrap()], None);
    assert_eq!(run.code, 2);
    assert!(run.stdout.is_empty(), "nothing ran: {run:?}");
    assert!(run.stderr.starts_with("error: line 2: syntax error at column 6"), "{}", run.stderr);
}

#[test]
fn redirects_read_and_write_files() {
    let home = home();
    let input = home.path().join("in.txt");
    let output = home.path().join("out.txt");
    std::fs::write(&input, "Read this first. Then that.").unwrap();
    let line = format!("hermes < {} > {}", input.display(), output.display());
    let run = aish(home.path(), &["-c", &line], None);
    assert_eq!(run.code, 0, "{run:?}");
    assert!(run.stdout.is_empty());
    assert_eq!(std::fs::read_to_string(&output).unwrap(), "In one line: Read this first.\n");
    let line = format!("echo again >> {}", output.display());
    aish(home.path(), &["-c", &line], None);
    assert_eq!(std::fs::read_to_string(&output).unwrap(), "In one line: Read this first.\nagain\n");
    let run = aish(home.path(), &["-c", "hermes < /no/such/input"], None);
    assert_eq!(run.code, 1);
    assert!(run.stderr.contains("cannot read /no/such/input"), "{}", run.stderr);
}

#[test]
fn redirects_stand_where_they_act_and_the_output_file_is_checked_first() {
    let server = TestServer::always(Reply::sse(["data: {\"choices\":[{\"delta\":{\"content\":\"hi\"}}]}\n\n"]));
    let home = home();
    write_config(
        home.path(),
        &format!("[ai.gpt]\nurl = \"{}\"\ndialect = \"openai\"\n", server.url("/v1/chat/completions")),
    );
    // Not silently dropped, nor moved to another stage's answer.
    let notes = home.path().join("notes.txt");
    std::fs::write(&notes, "notes").unwrap();
    let run = aish(home.path(), &["-c", &format!("echo hi | gpt < {}", notes.display())], None);
    assert_eq!(run.code, 2, "{run:?}");
    assert!(run.stderr.contains("before the first `|`"), "{}", run.stderr);
    let out = home.path().join("out.txt");
    let run = aish(home.path(), &["-c", &format!("gpt hi > {} | gpt", out.display())], None);
    assert_eq!(run.code, 2, "{run:?}");
    assert!(run.stderr.contains("after the last stage") && !out.exists(), "{}", run.stderr);
    // A file that cannot be written fails the line before the AI is asked.
    let run = aish(home.path(), &["-c", "gpt hi > /no/such/dir/out.txt"], None);
    assert_eq!(run.code, 1, "{run:?}");
    assert!(run.stderr.contains("cannot write /no/such/dir/out.txt"), "{}", run.stderr);
    assert!(server.requests().is_empty(), "the AI was asked all the same");
    // Nor can a folder.
    let run = aish(home.path(), &["-c", &format!("gpt hi > {}", home.path().display())], None);
    assert_eq!(run.code, 1, "{run:?}");
    assert!(run.stderr.contains("it is a folder; name a file in it"), "{}", run.stderr);
    assert!(server.requests().is_empty(), "the AI was asked before the folder was found");
    // A line that fails leaves no empty file behind; one already there keeps its text.
    let gone = TestServer::always(Reply::body(500, "text/plain", "down"));
    write_config(home.path(), &format!("[ai.down]\nurl = \"{}\"\ndialect = \"openai\"\n", gone.url("/v1")));
    let run = aish(home.path(), &["-c", &format!("down hi > {}", out.display())], None);
    assert_eq!(run.code, 1, "{run:?}");
    assert!(!out.exists(), "a failed line left {}", out.display());
    std::fs::write(&out, "kept").unwrap();
    aish(home.path(), &["-c", &format!("down hi > {}", out.display())], None);
    assert_eq!(std::fs::read_to_string(&out).unwrap(), "kept");
    // A link to a file not there yet is the user's: a failed line leaves it, and makes no file.
    let link = home.path().join("link.txt");
    let target = home.path().join("target.txt");
    std::os::unix::fs::symlink(&target, &link).unwrap();
    aish(home.path(), &["-c", &format!("down hi > {}", link.display())], None);
    assert!(std::fs::symlink_metadata(&link).is_ok() && !target.exists(), "the link was taken or its target made");
}

#[test]
fn probe_prints_every_event_as_json_lines() {
    let server =
        TestServer::always(Reply::sse([": hi\n", "id: 1\nevent: greet\ndata: hello\n\n", "data: {\"x\":1}\n\n"]));
    let home = home();
    let run = aish(home.path(), &["transport", "probe", &server.url("/events")], None);
    assert_eq!(run.code, 0, "{run:?}");
    let lines: Vec<serde_json::Value> =
        run.stdout.lines().map(|l| serde_json::from_str(l).expect("JSON line")).collect();
    assert_eq!(
        lines,
        vec![
            serde_json::json!({"type": "heartbeat"}),
            serde_json::json!({"type": "event", "event": "greet", "data": "hello", "id": "1"}),
            serde_json::json!({"type": "event", "event": "message", "data": "{\"x\":1}", "id": "1"}),
            serde_json::json!({"type": "done"}),
        ]
    );
    assert_eq!(server.requests()[0].method, "GET");

    let dead = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap();
    let run = aish(home.path(), &["transport", "probe", "--dialect", "openai", &format!("http://{dead}/"), "hi"], None);
    assert_eq!(run.code, 1);
    let line: serde_json::Value = serde_json::from_str(run.stdout.trim()).unwrap();
    assert_eq!((line["type"].as_str(), line["kind"].as_str()), (Some("error"), Some("connect")));
}

#[test]
fn version_and_help() {
    let home = home();
    let run = aish(home.path(), &["--version"], None);
    assert_eq!((run.code, run.stdout.trim()), (0, concat!("aish ", env!("CARGO_PKG_VERSION"))));
    let run = aish(home.path(), &["--help"], None);
    assert!(run.code == 0 && run.stdout.contains("plugin") && run.stdout.contains("--no-stream"), "{run:?}");
}

#[test]
fn compiled_plugins_are_cached_on_disk() {
    let home = tempfile::tempdir().unwrap();
    let run = aish(home.path(), &["-c", "echo hi | hermes"], None);
    assert_eq!(run.code, 0, "{run:?}");
    let cached: Vec<_> = std::fs::read_dir(home.path().join("cache/components")).unwrap().flatten().collect();
    assert_eq!(cached.len(), 1, "one compiled plugin: {cached:?}");
    // A damaged cache file is replaced, not trusted.
    std::fs::write(cached[0].path(), b"garbage").unwrap();
    let run = aish(home.path(), &["-c", "echo hi | hermes"], None);
    assert_eq!(run.code, 0, "{run:?}");
    assert!(std::fs::metadata(cached[0].path()).unwrap().len() > 1000);
}

#[test]
fn no_stream_asks_for_a_whole_answer() {
    let server = TestServer::always(Reply::body(
        200,
        "application/json",
        r#"{"choices":[{"index":0,"message":{"role":"assistant","content":"All at once."}}],"usage":{"prompt_tokens":3,"completion_tokens":4}}"#,
    ));
    let home = home();
    write_config(
        home.path(),
        &format!("[ai.gpt]\nurl = \"{}\"\ndialect = \"openai\"\n", server.url("/v1/chat/completions")),
    );
    let run = aish(home.path(), &["--no-stream", "gpt", "hi"], None);
    assert_eq!((run.code, run.stdout.as_str()), (0, "All at once.\n"), "{run:?}");
    assert!(!run.stderr.contains("[Streaming"), "{}", run.stderr);
    assert!(run.stderr.contains(", 3 in / 4 out]"), "the backend's count: {}", run.stderr);
    let body = server.requests()[0].json();
    assert_eq!(body["stream"], false);

    // The same AI with `stream = false` in its config.
    write_config(
        home.path(),
        &format!("[ai.gpt]\nurl = \"{}\"\ndialect = \"openai\"\nstream = false\n", server.url("/v1/chat/completions")),
    );
    let run = aish(home.path(), &["gpt", "hi"], None);
    assert_eq!(run.stdout, "All at once.\n");
    assert_eq!(server.requests()[1].json()["stream"], false);
}

#[test]
fn a_tekton_rhetor_lends_its_ais() {
    let rhetor = TestServer::start(|request| {
        if request.path == "/api/ai/specialists" {
            Reply::body(
                200,
                "application/json",
                r#"{"count":2,"specialists":[{"id":"apollo-ai","active":true},{"id":"numa-ai","active":false}]}"#,
            )
        } else {
            Reply::sse([
                "data: {\"type\":\"chunk\",\"content\":\"Rhetor \"}\n\n",
                "data: {\"type\":\"chunk\",\"content\":\"speaks\"}\n\n",
                "data: {\"type\":\"complete\"}\n\n",
            ])
        }
    });
    let home = home();
    let base = format!("http://{}", rhetor.addr);
    let run = aish(home.path(), &["-r", &base, "-c", "list-ais"], None);
    assert_eq!(run.code, 0, "{run:?}");
    assert!(
        run.stdout.contains(&format!("apollo-ai  sse  rhetor  {base}/api/ai/specialists/apollo-ai/message ")),
        "{}",
        run.stdout
    );
    assert!(run.stdout.lines().all(|l| l.ends_with(" up")), "{}", run.stdout);
    assert!(!run.stdout.contains("hermes"), "with Rhetor's AIs, no demo AIs");

    let run = aish(home.path(), &["-r", &base, "apollo-ai", "hello"], None);
    assert_eq!((run.code, run.stdout.as_str()), (0, "Rhetor speaks\n"), "{run:?}");
    let sent = rhetor.requests().into_iter().find(|r| r.method == "POST").unwrap();
    assert_eq!(sent.path, "/api/ai/specialists/apollo-ai/message");
    assert_eq!(sent.json()["include_metadata"], true);

    // TEKTON_RHETOR_PORT points at localhost.
    let output = std::process::Command::new(env!("CARGO_BIN_EXE_aish"))
        .args(["-c", "list-ais"])
        .env("AISH_HOME", home.path())
        .env("TEKTON_RHETOR_PORT", rhetor.addr.port().to_string())
        .output()
        .unwrap();
    assert!(String::from_utf8_lossy(&output.stdout).contains("numa-ai"));

    // A Rhetor that is not there is a warning; the demo AIs stand in.
    let dead = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap();
    let run = aish(home.path(), &["-r", &format!("http://{dead}"), "-c", "list-ais"], None);
    assert_eq!(run.code, 0);
    assert!(
        run.stderr.starts_with(&format!("warning: cannot list the AIs of Rhetor at http://{dead}: ")),
        "{}",
        run.stderr
    );
    assert!(run.stdout.contains("hermes"));
}

#[test]
fn a_builtin_that_fails_fails_its_line_with_its_exit_status() {
    let home = home();
    // A wrong use of a built-in is a usage error (2), named as one; extra words included.
    for (line, says) in [
        ("history abc", "history takes a number of entries, not `abc`"),
        ("conversation clear zeus", "no AI named `zeus`"),
        ("plugin frob", "usage: plugin list"),
        ("session extra", "error: usage: session"),
        ("exit 3", "error: usage: exit"),
        // Piped, redirected or side by side: said to be a built-in, not an unknown command.
        ("echo hi | session", "`session` is a built-in: it runs on a line of its own"),
        ("session > out.txt", "`session` is a built-in: it runs on a line of its own"),
        ("hermes hi & history", "`history` is a built-in"),
        ("echo a | !1", "`!1` is a built-in"),
    ] {
        let run = aish(home.path(), &["-c", line], None);
        assert_eq!(run.code, 2, "{line}: {run:?}");
        assert!(run.stderr.contains(says), "{line}: {}", run.stderr);
        assert!(!run.stderr.contains("unknown command"), "{line} is a built-in: {}", run.stderr);
    }
    // One that cannot do what was asked fails (1), as `aish plugin info` does.
    let run = aish(home.path(), &["-c", "plugin info nope"], None);
    assert_eq!(run.code, 1, "{run:?}");
    assert_eq!(aish(home.path(), &["plugin", "info", "nope"], None).code, 1);
    // A script goes on after a failed line and ends with the worst status.
    let script = home.path().join("script.aish");
    std::fs::write(&script, "history abc\necho still here\n").unwrap();
    let run = aish(home.path(), &[script.to_str().unwrap()], None);
    assert_eq!((run.code, run.stdout.as_str()), (2, "still here\n"), "{run:?}");
    assert!(run.stderr.contains("error: line 1: history takes a number"), "the line is named: {}", run.stderr);
}

/// Answers a full disk refused are not lost without a word: the run says so and fails. A reader
/// that went away (`| head`) is no error.
#[test]
fn stdout_that_refuses_the_answer_fails_the_run_unless_its_reader_left() {
    let home = home();
    let run_into = |stdout: std::process::Stdio| {
        let output = std::process::Command::new(env!("CARGO_BIN_EXE_aish"))
            .args(["-c", "echo an answer | hermes"])
            .env("AISH_HOME", home.path())
            .env("AISH_DEMO_DELAY_MS", "0")
            .stdin(std::process::Stdio::null())
            .stdout(stdout)
            .output()
            .expect("run aish");
        (output.status.code(), String::from_utf8_lossy(&output.stderr).into_owned())
    };
    let full = std::fs::OpenOptions::new().write(true).open("/dev/full").expect("/dev/full (Linux)");
    let (code, stderr) = run_into(full.into());
    assert_eq!(code, Some(1), "{stderr}");
    assert_eq!(stderr.matches("cannot write to standard output").count(), 1, "told once: {stderr}");
    assert!(stderr.contains("No space left on device"), "{stderr}");
    let (reader, writer) = std::io::pipe().unwrap();
    drop(reader);
    let (code, stderr) = run_into(writer.into());
    assert_eq!(code, Some(0), "{stderr}");
    assert!(!stderr.contains("error"), "{stderr}");
}

#[test]
fn an_ai_named_like_a_builtin_or_a_stage_is_warned_of_and_reached_quoted() {
    let server = TestServer::always(Reply::sse([
        "data: {\"choices\":[{\"delta\":{\"content\":\"from the AI\"}}]}\n\n",
        "data: [DONE]\n\n",
    ]));
    let home = home();
    let url = server.url("/v1/chat/completions");
    write_config(
        home.path(),
        &format!(
            "[ai.history]\nurl = \"{url}\"\ndialect = \"openai\"\n[ai.grep]\nurl = \"{url}\"\ndialect = \"openai\"\n"
        ),
    );
    let run = aish(home.path(), &["-c", "'history' hello"], None);
    assert_eq!((run.code, run.stdout.as_str()), (0, "from the AI\n"), "quoted, the name reaches the AI: {run:?}");
    assert!(run.stderr.contains("[ai.history] is named like the built-in `history`"), "{}", run.stderr);
    assert!(run.stderr.contains("[ai.grep] hides the stage plugin `grep`"), "{}", run.stderr);
}

#[test]
fn builtins_read_their_words_quoted_as_pipelines_do() {
    let home = home();
    let script = home.path().join("quoted.aish");
    std::fs::write(
        &script,
        "hermes city gardens\ncontext set key 'two words'\ncontext set json {\"a\": 1}\ncontext set text \"5\"\ncontext\nmemory add 'quoted memory'\nmemory add don't forget #3 & R&D\nmemory\nhistory search 'city gardens'\n",
    )
    .unwrap();
    let run = aish(home.path(), &[script.to_str().unwrap()], None);
    assert_eq!(run.code, 0, "{run:?}");
    assert!(run.stdout.contains("\"key\": \"two words\""), "{}", run.stdout);
    assert!(run.stdout.contains("1: quoted memory\n2: don't forget #3 & R&D\n"), "{}", run.stdout);
    assert!(
        run.stdout.contains("\"a\": 1") && run.stdout.contains("\"text\": \"5\""),
        "JSON as before: {}",
        run.stdout
    );
    assert!(run.stdout.contains("1: hermes city gardens"), "the search found it: {}", run.stdout);
    let run = aish(home.path(), &["-c", "history | hermes"], None);
    assert_eq!(run.code, 2, "{run:?}");
    assert!(run.stderr.contains("`history` is a built-in: it cannot be piped"), "{}", run.stderr);
}

#[test]
fn probe_gives_up_on_a_silent_server_and_names_a_bad_dialect() {
    let never = crate::support::server::Gate::default();
    let silent =
        TestServer::always(Reply::sse(Vec::<String>::new()).then(crate::support::server::Part::Wait(never.clone())));
    let home = home();
    let run = aish(home.path(), &["transport", "probe", "--idle", "1", &silent.url("/events")], None);
    never.open();
    assert_eq!(run.code, 1, "{run:?}");
    let last: serde_json::Value = serde_json::from_str(run.stdout.lines().last().unwrap()).unwrap();
    assert_eq!((last["type"].as_str(), last["kind"].as_str()), (Some("error"), Some("timeout")), "{last}");
    assert!(last["message"].as_str().unwrap().contains("no event for 1 s"), "{last}");
    let run = aish(home.path(), &["transport", "probe", "--dialect", "nope", &silent.url("/events")], None);
    assert_eq!(run.code, 2, "a dialect the transport does not speak is a usage error: {run:?}");
    assert!(run.stdout.contains("unknown dialect `nope`"), "{}", run.stdout);
}

/// A transport that answers `done` on every call (the `busy` test plugin's default) is read by
/// the probe to its first `done`, as an answer is, not for ever.
#[test]
fn probe_ends_at_the_first_done() {
    let home = home();
    let plugins = home.path().join("plugins");
    std::fs::create_dir_all(&plugins).unwrap();
    std::fs::copy(crate::support::test_plugin("busy"), plugins.join("busy.wasm"))
        .expect("the busy test plugin was built");
    let run = aish(home.path(), &["transport", "probe", "--transport", "busy", "http://127.0.0.1:9/", "again"], None);
    assert_eq!((run.code, run.stdout.as_str()), (0, "{\"type\":\"done\"}\n"), "{run:?}");
}

/// The command line's own reports on a standard output that refuses them: a reader that went
/// away ends them quietly (exit 0), a full disk is one error (exit 1); never a panic.
#[test]
fn reports_to_a_closed_pipe_or_a_full_disk_end_cleanly() {
    let home = home();
    // Something in the history to export.
    assert_eq!(aish(home.path(), &["-c", "echo hi"], None).code, 0);
    let run = |args: &[&str], stdout: Stdio| {
        let output = Command::new(env!("CARGO_BIN_EXE_aish"))
            .args(args)
            .env("AISH_HOME", home.path())
            .stdin(Stdio::null())
            .stdout(stdout)
            .stderr(Stdio::piped())
            .output()
            .expect("run aish");
        (output.status.code(), String::from_utf8_lossy(&output.stderr).into_owned())
    };
    let reports: [&[&str]; 4] = [&["plugin", "list"], &["plugin", "info", "sse"], &["history"], &["history", "--json"]];
    for args in reports {
        // The reading end is closed before aish starts: its first write finds no reader.
        let (reader, writer) = std::io::pipe().unwrap();
        drop(reader);
        let (code, stderr) = run(args, Stdio::from(writer));
        assert_eq!((code, stderr.as_str()), (Some(0), ""), "{args:?} to a closed pipe");
        let full = std::fs::OpenOptions::new().write(true).open("/dev/full").unwrap();
        let (code, stderr) = run(args, Stdio::from(full));
        assert_eq!(code, Some(1), "{args:?} to a full disk: {stderr}");
        assert!(stderr.starts_with("error: cannot write to standard output: "), "{args:?}: {stderr}");
        assert_eq!(stderr.lines().count(), 1, "one line: {stderr}");
    }
}

/// `transport probe URL | head -1` on an endless stream: once its output is closed the probe
/// stops, instead of reading for ever.
#[test]
fn a_probe_whose_reader_went_away_stops() {
    let gate = crate::support::server::Gate::default();
    let mut reply = Reply::sse(["data: {\"event\":\"token\",\"data\":{\"token\":\"one\"}}\n\n"]);
    reply.parts.push(crate::support::server::Part::Wait(gate.clone()));
    let server = TestServer::always(reply);
    let (reader, writer) = std::io::pipe().unwrap();
    drop(reader);
    let mut child = Command::new(env!("CARGO_BIN_EXE_aish"))
        .args(["transport", "probe", &server.url("/events")])
        .env("AISH_HOME", home().path())
        .stdin(Stdio::null())
        .stdout(Stdio::from(writer))
        .stderr(Stdio::null())
        .spawn()
        .expect("run aish");
    // Well before the server gives up waiting on its gate (10 s) and ends the stream itself.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break Some(status);
        }
        if std::time::Instant::now() > deadline {
            child.kill().unwrap();
            break None;
        }
        std::thread::sleep(std::time::Duration::from_millis(20));
    };
    gate.open();
    assert_eq!(status.and_then(|s| s.code()), Some(0), "the probe stopped when its output closed");
}

/// `-c` with several lines runs each as a command (as `sh -c` does), and a script's command
/// may go on over lines while a quote or a trailing `|` keeps it open.
#[test]
fn several_lines_are_several_commands_and_a_quote_spans_lines() {
    let home = home();
    let run = aish(home.path(), &["-c", "echo one\necho two"], None);
    assert_eq!((run.code, run.stdout.as_str()), (0, "one\ntwo\n"), "{run:?}");
    let run = aish(home.path(), &["-c", "echo 'a\nb' |\n  head 1\necho three"], None);
    assert_eq!((run.code, run.stdout.as_str()), (0, "a\nthree\n"), "{run:?}");
    // A comment ends at its line's end, inside a continued command too.
    let run = aish(home.path(), &["-c", "echo one two | # the first line\n  head 1"], None);
    assert_eq!((run.code, run.stdout.as_str()), (0, "one two\n"), "{run:?}");
    // A syntax error in any of them runs none, and names its line.
    let run = aish(home.path(), &["-c", "echo one\necho 'open | apollo\n"], None);
    assert_eq!((run.code, run.stdout.as_str()), (2, ""), "{run:?}");
    assert!(run.stderr.contains("line 2:"), "{}", run.stderr);
    let script = home.path().join("steps.aish");
    std::fs::write(&script, "#!/usr/bin/env aish\necho 'first line\nsecond line'\n# done\necho after\n").unwrap();
    let run = aish(home.path(), &[script.to_str().unwrap()], None);
    assert_eq!((run.code, run.stdout.as_str()), (0, "first line\nsecond line\nafter\n"), "{run:?}");
}

/// A typo in a one-shot's AI gets the hint `-c` gives, and `team-chat` with nothing to send
/// says what it needs rather than blaming the first AI.
#[test]
fn a_one_shot_typo_is_hinted_and_an_empty_team_chat_is_named() {
    let home = home();
    let run = aish(home.path(), &["apolo", "hi"], None);
    assert_eq!(run.code, 2, "{run:?}");
    assert!(run.stderr.contains("`apolo` (did you mean `apollo`?)"), "{}", run.stderr);
    let run = aish(home.path(), &["-c", "team-chat"], None);
    assert_eq!(run.code, 2, "{run:?}");
    assert!(run.stderr.contains("team-chat needs a message"), "{}", run.stderr);
}
