//! The history files with the real binary and real servers: the exact formats, numbering across
//! runs, two concurrent writers, a damaged file, an interrupted stream, replay and export.

use std::collections::BTreeSet;
use std::path::Path;
use std::process::{Command, Stdio};

use serde_json::Value;

use crate::support::server::{Reply, TestServer};
use crate::support::{aish, home, write_config};

fn entries(home: &Path) -> Vec<Value> {
    let text = std::fs::read_to_string(home.join("history.jsonl")).unwrap();
    text.lines().map(|l| serde_json::from_str(l).expect("a whole JSON entry")).collect()
}

fn token_stream(tokens: &[&str]) -> Reply {
    let mut pieces: Vec<String> =
        tokens.iter().map(|t| format!("data: {{\"event\":\"token\",\"data\":{{\"token\":\"{t}\"}}}}\n\n")).collect();
    pieces.push("event: done\ndata: {}\n\n".into());
    Reply::sse(pieces)
}

#[test]
fn text_and_json_entries_in_the_documented_formats() {
    let apollo = TestServer::always(token_stream(&["First ", "answer."]));
    let long = "x".repeat(150);
    let athena = TestServer::always(token_stream(&[&long, "\\nsecond line"]));
    let home = home();
    write_config(
        home.path(),
        &format!("[ai.apollo]\nurl = \"{}\"\n\n[ai.athena]\nurl = \"{}\"\n", apollo.url("/"), athena.url("/")),
    );
    let run = aish(home.path(), &["-c", "echo \"hi\" | apollo | athena"], None);
    assert_eq!(run.code, 0, "{run:?}");

    let text = std::fs::read_to_string(home.path().join("history")).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 4, "{text}");
    assert_eq!(lines[0], "1: echo \"hi\" | apollo | athena");
    assert!(lines[1].starts_with("      # [Streamed in ") && lines[1].ends_with("s]"), "{}", lines[1]);
    assert_eq!(lines[2], "      # apollo: First answer.");
    assert_eq!(lines[3], format!("      # athena: {}...", "x".repeat(100)));

    let entry = &entries(home.path())[0];
    assert_eq!(entry["number"], 1);
    assert!(entry["timestamp"].as_f64().unwrap() > 1.7e9);
    assert_eq!(entry["command"], "echo \"hi\" | apollo | athena");
    assert_eq!(entry["responses"]["apollo"], "First answer.");
    assert_eq!(entry["responses"]["athena"], format!("{long}\nsecond line"), "the full answer");
    let meta = &entry["metadata"];
    // No backend count: estimated from the text at four characters a token (13 and 162 characters).
    assert_eq!((meta["streamed"].as_bool(), meta["tokens"].as_u64()), (Some(true), Some(4 + 41)));
    assert_eq!(meta["transport"], "sse");
    assert!(meta["duration"].as_f64().unwrap() > 0.0 && meta["first_token"].as_f64().is_some());
    assert_eq!(meta["degraded"], false);
    let stages = meta["stages"].as_array().unwrap();
    assert_eq!(stages.iter().map(|s| s["ai"].as_str().unwrap()).collect::<Vec<_>>(), ["apollo", "athena"]);
    assert_eq!(stages[1]["tokens"], 41);
}

/// An AI that answers twice in one line keeps both answers: `responses` is a JSON object, so it
/// names each AI once (its last answer), and the earlier answer stays in its stage.
#[test]
fn an_ai_that_answers_twice_in_a_line_keeps_both_answers() {
    let calls = std::sync::atomic::AtomicUsize::new(0);
    let oa = TestServer::start(move |_| {
        let n = calls.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        token_stream(&[&format!("answer {}", n + 1)])
    });
    let e = TestServer::always(token_stream(&["between"]));
    let home = home();
    write_config(home.path(), &format!("[ai.oa]\nurl = \"{}\"\n\n[ai.e]\nurl = \"{}\"\n", oa.url("/"), e.url("/")));
    let run = aish(home.path(), &["-c", "echo hi | oa | e | oa"], None);
    assert_eq!(run.code, 0, "{run:?}");

    let line = std::fs::read_to_string(home.path().join("history.jsonl")).unwrap();
    assert_eq!(line.matches("\"oa\":").count(), 1, "one `oa` key in responses: {line}");
    let entry = &entries(home.path())[0];
    assert_eq!(entry["responses"], serde_json::json!({"e": "between", "oa": "answer 2"}));
    let stages = entry["metadata"]["stages"].as_array().unwrap();
    let answers: Vec<Option<&str>> = stages.iter().map(|s| s["answer"].as_str()).collect();
    assert_eq!(answers, [Some("answer 1"), None, None]);
    assert_eq!(stages[2]["message"], "between");

    // Shown, searched and exported by stage, in pipeline order.
    let shown = aish(home.path(), &["-c", "history"], None);
    let lines: Vec<&str> = shown.stdout.lines().filter(|l| l.contains("# oa:") || l.contains("# e:")).collect();
    assert_eq!(lines, ["      # oa: answer 1", "      # e: between", "      # oa: answer 2"], "{shown:?}");
    let found = aish(home.path(), &["-c", "history search 'answer 1'"], None);
    assert!(found.stdout.contains("1: echo hi | oa | e | oa"), "{found:?}");

    // Resumed, oa's conversation holds both of its turns, in order.
    let run = aish(home.path(), &["-C", "-c", "oa again"], None);
    assert_eq!(run.code, 0, "{run:?}");
    let history = oa.requests().last().unwrap().json()["history"].to_string();
    let at = |text: &str| history.find(text).unwrap_or_else(|| panic!("{text:?} in {history}"));
    assert!(at("\"hi\"") < at("answer 1") && at("answer 1") < at("\"between\"") && at("\"between\"") < at("answer 2"));
}

#[test]
fn numbers_go_on_across_runs_and_failures_are_kept() {
    let home = home();
    aish(home.path(), &["-c", "echo one"], None);
    aish(home.path(), &["hermes", "two"], None);
    aish(home.path(), &["-c", "echo 'three"], None);
    let entries = entries(home.path());
    assert_eq!(entries.iter().map(|e| e["number"].as_u64().unwrap()).collect::<Vec<_>>(), [1, 2, 3]);
    assert_eq!(entries[1]["command"], "hermes two");
    assert_eq!(entries[2]["metadata"]["error"], "syntax error at column 6: this ' is never closed; add a closing '");
    let text = std::fs::read_to_string(home.path().join("history")).unwrap();
    assert!(
        text.ends_with(
            "3: echo 'three\n      # error: syntax error at column 6: this ' is never closed; add a closing '\n"
        ),
        "{text}"
    );
}

#[test]
fn two_shells_appending_at_once_lose_nothing() {
    let home = home();
    let mut children = Vec::new();
    for writer in ["a", "b"] {
        let script = home.path().join(format!("{writer}.aish"));
        let lines: String = (0..500).map(|i| format!("echo {writer}-{i}\n")).collect();
        std::fs::write(&script, lines).unwrap();
        children.push(
            Command::new(env!("CARGO_BIN_EXE_aish"))
                .arg(&script)
                .env("AISH_HOME", home.path())
                .stdout(Stdio::null())
                .spawn()
                .unwrap(),
        );
    }
    for mut child in children {
        assert!(child.wait().unwrap().success());
    }
    let entries = entries(home.path());
    assert_eq!(entries.len(), 1000);
    let numbers: BTreeSet<u64> = entries.iter().map(|e| e["number"].as_u64().unwrap()).collect();
    assert_eq!(numbers, (1..=1000).collect(), "every number once");
    let commands: BTreeSet<String> = entries.iter().map(|e| e["command"].as_str().unwrap().to_owned()).collect();
    assert_eq!(commands.len(), 1000, "every entry whole and present");
    // The text file holds the same entries, each whole, in the same order.
    let text = std::fs::read_to_string(home.path().join("history")).unwrap();
    let from_text: Vec<String> = text.lines().map(str::to_owned).collect();
    let from_json: Vec<String> =
        entries.iter().map(|e| format!("{}: {}", e["number"], e["command"].as_str().unwrap())).collect();
    assert_eq!(from_text, from_json);
}

#[test]
fn a_damaged_line_is_skipped_with_one_warning() {
    let home = home();
    aish(home.path(), &["-c", "echo one"], None);
    let path = home.path().join("history.jsonl");
    let mut text = std::fs::read_to_string(&path).unwrap();
    text.push_str("{\"number\": 2, \"comm\n\u{0}\u{1}garbage\n");
    std::fs::write(&path, text).unwrap();
    aish(home.path(), &["-c", "echo three"], None);
    let run = aish(home.path(), &["-c", "history"], None);
    assert_eq!(run.code, 0);
    assert_eq!(run.stdout, "1: echo one\n2: echo three\n", "numbering goes on from the last whole entry");
    let warnings: Vec<&str> = run.stderr.lines().filter(|l| l.starts_with("warning:")).collect();
    assert_eq!(warnings.len(), 1, "{}", run.stderr);
    assert!(warnings[0].contains("skipped 2 damaged lines (the first is line 2)"), "{}", warnings[0]);
    // Looked at again in the same session, the same damage is not told again.
    let script = home.path().join("looks.aish");
    std::fs::write(&script, "history\nhistory 1\nhistory search echo\n!1\n").unwrap();
    let run = aish(home.path(), &[script.to_str().unwrap()], None);
    assert_eq!(run.code, 0, "{run:?}");
    assert_eq!(run.stderr.lines().filter(|l| l.starts_with("warning:")).count(), 1, "{}", run.stderr);
}

#[test]
fn an_interrupted_answer_is_kept_and_marked() {
    let server = TestServer::always(Reply::sse(["data: {\"event\":\"token\",\"data\":{\"token\":\"half \"}}\n\n"]));
    let home = home();
    write_config(home.path(), &format!("[ai.flaky]\nurl = \"{}\"\n", server.url("/")));
    let run = aish(home.path(), &["-c", "echo go | flaky"], None);
    assert_eq!(run.code, 1);
    let entry = &entries(home.path())[0];
    assert_eq!(entry["responses"]["flaky"], "half ");
    assert_eq!(entry["metadata"]["interrupted"], true);
    assert_eq!(entry["metadata"]["error"], "flaky: the server closed the stream before the answer was complete");
    let text = std::fs::read_to_string(home.path().join("history")).unwrap();
    assert!(text.contains("# [Streamed in ") && text.contains(", interrupted]"), "{text}");
}

#[test]
fn replay_runs_the_command_again() {
    let server = TestServer::always(token_stream(&["again"]));
    let home = home();
    write_config(home.path(), &format!("[ai.echoer]\nurl = \"{}\"\n", server.url("/")));
    aish(home.path(), &["-c", "echo 'the same words' | echoer"], None);
    let run = aish(home.path(), &["-c", "!1"], None);
    assert_eq!((run.code, run.stdout.as_str()), (0, "again\n"), "{run:?}");
    assert!(
        run.stderr.starts_with("echo 'the same words' | echoer\n"),
        "the replayed command is shown: {}",
        run.stderr
    );
    let requests = server.requests();
    assert_eq!(requests.len(), 2);
    assert_eq!(requests[1].json()["message"], "the same words");
    assert_eq!(entries(home.path())[1]["command"], "echo 'the same words' | echoer");
    let run = aish(home.path(), &["-c", "!7"], None);
    assert_eq!((run.code, run.stderr.as_str()), (2, "error: !7: event not found\n"));
}

#[test]
fn search_and_export_with_dates() {
    let home = home();
    aish(home.path(), &["-c", "echo apples"], None);
    aish(home.path(), &["hermes", "Pears are sweet."], None);
    let run = aish(home.path(), &["-c", "history search PEARS"], None);
    assert!(run.stdout.starts_with("2: hermes 'Pears are sweet.'\n"), "{}", run.stdout);
    assert!(!run.stdout.contains("apples"));
    let run = aish(home.path(), &["-c", "history 1"], None);
    assert!(run.stdout.starts_with("2: ") && !run.stdout.contains("1: "), "{}", run.stdout);

    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs();
    let export = |args: &[&str]| {
        let mut all = vec!["history", "--json"];
        all.extend_from_slice(args);
        let run = aish(home.path(), &all, None);
        assert_eq!(run.code, 0, "{run:?}");
        run.stdout
            .lines()
            .map(|l| serde_json::from_str::<Value>(l).unwrap()["number"].as_u64().unwrap())
            .collect::<Vec<_>>()
    };
    assert_eq!(export(&[]), [1, 2]);
    assert_eq!(export(&["--since", &(now - 3600).to_string()]), [1, 2]);
    assert_eq!(export(&["--since", &(now + 3600).to_string()]), Vec::<u64>::new());
    assert_eq!(export(&["--until", "2000-01-01"]), Vec::<u64>::new());
    assert_eq!(export(&["--since", "2000-01-01", "--until", "2999-12-31T00:00:00Z"]), [1, 2]);
    let run = aish(home.path(), &["history", "--since", "last tuesday"], None);
    assert_eq!(run.code, 2);
    assert!(run.stderr.contains("`last tuesday` is not a date"), "{}", run.stderr);
}

#[test]
fn api_keys_never_reach_the_history() {
    let server = TestServer::always(token_stream(&["your key is sk-secret-0123456789"]));
    let home = home();
    write_config(
        home.path(),
        &format!("[ai.leaky]\nurl = \"{}\"\napi_key_env = \"AISH_TEST_SECRET\"\n", server.url("/")),
    );
    let output = Command::new(env!("CARGO_BIN_EXE_aish"))
        .args(["-c", "echo hi | leaky"])
        .env("AISH_HOME", home.path())
        .env("AISH_TEST_SECRET", "sk-secret-0123456789")
        .output()
        .unwrap();
    assert!(output.status.success());
    for file in ["history", "history.jsonl"] {
        let text = std::fs::read_to_string(home.path().join(file)).unwrap();
        assert!(!text.contains("sk-secret-0123456789") && text.contains("your key is [redacted]"), "{file}: {text}");
    }
}

#[test]
fn history_files_are_private() {
    use std::os::unix::fs::PermissionsExt;
    let home = home();
    aish(home.path(), &["-c", "echo private"], None);
    for file in ["history", "history.jsonl"] {
        let mode = std::fs::metadata(home.path().join(file)).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600, "{file}");
    }
}

/// A hand edit that numbers an entry past anything aish writes is a damaged line: numbering goes
/// on from the last real entry, and does not wrap round to 0.
#[test]
fn an_absurd_entry_number_does_not_wrap_the_numbering() {
    let home = home();
    aish(home.path(), &["-c", "echo one"], None);
    let path = home.path().join("history.jsonl");
    let mut text = std::fs::read_to_string(&path).unwrap();
    let last = text.lines().last().unwrap().replacen("\"number\":1", "\"number\":18446744073709551615", 1);
    text.push_str(&last);
    text.push('\n');
    std::fs::write(&path, text).unwrap();
    aish(home.path(), &["-c", "echo two"], None);
    let run = aish(home.path(), &["-c", "history"], None);
    assert_eq!(run.stdout, "1: echo one\n2: echo two\n", "{run:?}");
    assert!(run.stderr.contains("skipped 1 damaged line"), "{}", run.stderr);
    assert_eq!(aish(home.path(), &["-c", "!2"], None).stdout, "two\n");
}
