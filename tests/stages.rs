//! The built-in WebAssembly stage plugins between real AIs, and their errors.

use crate::support::server::{Reply, TestServer};
use crate::support::{aish, home, write_config};

fn answer(text: &str) -> Reply {
    let token = serde_json::json!({"event": "token", "data": {"token": text}});
    Reply::sse([format!("data: {token}\n\n"), "event: done\ndata: {}\n\n".into()])
}

#[test]
fn stages_transform_text_between_ais() {
    let writer =
        TestServer::always(answer("Plan:\nStrength: focus\nRisk: cost\nRisk: time\n{\"score\": {\"value\": 7}}"));
    let reader = TestServer::always(answer("noted"));
    let home = home();
    write_config(
        home.path(),
        &format!("[ai.writer]\nurl = \"{}\"\n[ai.reader]\nurl = \"{}\"\n", writer.url("/"), reader.url("/")),
    );

    let run = aish(home.path(), &["-c", "echo go | writer | grep -i risk | tail 1"], None);
    assert_eq!((run.code, run.stdout.as_str()), (0, "Risk: time\n"), "{run:?}");

    let run = aish(home.path(), &["-c", "echo go | writer | grep -v Risk | head -n 2"], None);
    assert_eq!(run.stdout, "Plan:\nStrength: focus\n");

    let run = aish(home.path(), &["-c", "echo go | writer | json .score.value"], None);
    assert_eq!(run.stdout, "7\n");

    let run = aish(
        home.path(),
        &[
            "-c",
            "echo go | writer | grep Risk | template 'Weigh these ({previous_ai}, stage {pipeline_position}): {input}' | reader",
        ],
        None,
    );
    assert_eq!((run.code, run.stdout.as_str()), (0, "noted\n"), "{run:?}");
    let sent = reader.requests()[0].json();
    assert_eq!(sent["message"], "Weigh these (writer, stage 3): Risk: cost\nRisk: time\n");
    assert_eq!(sent["context"]["pipeline_position"], 4);
}

#[test]
fn a_stage_error_names_the_stage_and_stops_the_pipeline() {
    let reader = TestServer::always(answer("never"));
    let home = home();
    write_config(home.path(), &format!("[ai.reader]\nurl = \"{}\"\n", reader.url("/")));
    let run = aish(home.path(), &["-c", "echo 'not json' | json .a | reader"], None);
    assert_eq!(run.code, 1);
    assert_eq!(run.stderr, "error: json: the input holds no JSON object or list (it starts: \"not json\")\n");
    assert!(reader.requests().is_empty());
    let run = aish(home.path(), &["-c", "echo x | template '{nope}'"], None);
    assert_eq!(run.code, 1);
    assert!(run.stderr.starts_with("error: template: unknown placeholder {nope}"), "{}", run.stderr);
    let run = aish(home.path(), &["-c", "echo x | grep"], None);
    assert_eq!(run.stderr, "error: grep: needs a PATTERN: grep [-i] [-v] [-F] PATTERN\n");
}

#[test]
fn stage_plugins_are_listed_and_cannot_fan_out() {
    let home = home();
    let list = aish(home.path(), &["plugin", "list"], None).stdout;
    for name in ["json", "grep", "head", "tail", "template"] {
        assert!(list.lines().any(|l| l.starts_with(&format!("{name} ")) && l.contains(" stage ")), "{name}: {list}");
    }
    let run = aish(home.path(), &["-c", "echo x | apollo & grep x"], None);
    assert_eq!(run.code, 2);
    assert!(run.stderr.contains("cannot run side by side"), "{}", run.stderr);
}
