//! The interactive shell in a pseudo-terminal: banner, a streamed answer, Ctrl-C mid-stream,
//! the next command, Ctrl-D.

use std::process::Command;

use rexpect::ReadUntil;
use rexpect::session::{PtySession, spawn_command};

use crate::support::home;

/// Waits for a new prompt, answering the cursor-position queries a real terminal answers.
/// Every new prompt starts with such a query, which tells it from a repaint of the old one.
fn prompt(shell: &mut PtySession) -> String {
    shell.exp_string("\x1b[6n").expect("a new prompt asks where the cursor is");
    shell.send("\x1b[1;1R").unwrap();
    shell.flush().unwrap();
    let mut painted = String::new();
    for _ in 0..10 {
        let (before, matched) = shell
            .exp_any(vec![ReadUntil::String("\x1b[6n".into()), ReadUntil::String("\x1b[?25h".into())])
            .expect("a prompt");
        painted.push_str(&before);
        if matched == "\x1b[?25h" {
            return painted;
        }
        shell.send("\x1b[1;1R").unwrap();
        shell.flush().unwrap();
    }
    panic!("no prompt after 10 cursor queries");
}

#[test]
fn shell_streams_stops_on_ctrl_c_and_exits_on_ctrl_d() {
    let home = home();
    let mut command = Command::new(env!("CARGO_BIN_EXE_aish"));
    // Slow demo tokens so Ctrl-C lands mid-stream.
    command.env("AISH_HOME", home.path()).env("AISH_DEMO_DELAY_MS", "150").env("NO_COLOR", "1").env("TERM", "xterm");
    let mut shell = spawn_command(command, Some(20_000)).expect("start aish in a pty");
    shell.exp_string("AIs: apollo, athena, hermes").expect("banner");
    prompt(&mut shell);
    shell.send_line("echo \"one small idea\" | hermes").unwrap();
    shell.exp_string("[Streaming...]").expect("streaming starts");
    shell.exp_string("In one line: one small idea.").expect("the answer streams");
    shell.exp_string("[Complete - ").expect("completion line");

    prompt(&mut shell);
    shell.send_line("echo \"gardens on every roof\" | apollo").unwrap();
    shell.exp_string("Apollo on").expect("first tokens");
    shell.send_control('c').unwrap();
    shell.exp_string("[Interrupted - stopped by Ctrl-C; the answer so far is kept]").expect("stopped");

    prompt(&mut shell);
    shell.send_line("hermes still here").unwrap();
    shell.exp_string("In one line: still here.").expect("the shell goes on");
    prompt(&mut shell);
    shell.send_control('d').unwrap();
    shell.exp_eof().expect("Ctrl-D leaves");

    // The line editor keeps its own file; the command history keeps every command with answers.
    let history = std::fs::read_to_string(home.path().join("history")).unwrap();
    assert!(history.starts_with("1: echo \"one small idea\" | hermes\n"), "{history}");
    assert!(history.contains("3: hermes still here\n"), "{history}");
    let jsonl = std::fs::read_to_string(home.path().join("history.jsonl")).unwrap();
    assert!(jsonl.lines().nth(1).unwrap().contains("\"interrupted\":true"), "the Ctrl-C answer is marked: {jsonl}");
    let lines = std::fs::read_to_string(home.path().join("line-history")).unwrap();
    assert!(lines.contains("hermes still here") && !lines.contains("# [Streamed"), "{lines}");
}

fn start(home: &std::path::Path, color: bool) -> PtySession {
    let mut command = Command::new(env!("CARGO_BIN_EXE_aish"));
    command.env("AISH_HOME", home).env("AISH_DEMO_DELAY_MS", "0").env("TERM", "xterm");
    if color {
        command.env_remove("NO_COLOR");
    } else {
        command.env("NO_COLOR", "1");
    }
    spawn_command(command, Some(20_000)).expect("start aish in a pty")
}

#[test]
fn tab_completes_multi_line_continues_and_ctrl_c_clears_the_line() {
    let home = home();
    let mut shell = start(home.path(), false);
    assert!(prompt(&mut shell).contains("aish demo> "), "the prompt names the demo");

    // Tab completes a unique command name.
    shell.send("her\t").unwrap();
    shell.flush().unwrap();
    shell.exp_string("hermes").expect("completed");
    shell.send_line("'Tabs work.'").unwrap();
    shell.exp_string("In one line: Tabs work.").expect("the completed command ran");

    // An unclosed quote goes on to a second line.
    prompt(&mut shell);
    shell.send_line("echo \"first part").unwrap();
    shell.exp_string("... ").expect("a continuation prompt");
    shell.send_line("second part\" | hermes").unwrap();
    shell.exp_string("In one line: first part.").expect("both lines ran as one");

    // Ctrl-C at the prompt clears the line.
    prompt(&mut shell);
    shell.send("apollo this is thrown away").unwrap();
    shell.flush().unwrap();
    shell.send_control('c').unwrap();
    prompt(&mut shell);
    shell.send_line("hermes Kept.").unwrap();
    shell.exp_string("In one line: Kept.").expect("the next line runs alone");

    // list-ais checks the AIs now.
    prompt(&mut shell);
    shell.send_line("list-ais").unwrap();
    shell.exp_regex(r"apollo +sse +aish +http://127\.0\.0\.1:\d+/ai/apollo +up").expect("apollo is up");
    prompt(&mut shell);
    shell.send_line("exit").unwrap();
    shell.exp_eof().expect("exit leaves");
    assert!(!std::fs::read_to_string(home.path().join("history")).unwrap().contains("thrown away"));
}

#[test]
fn a_typo_shows_in_red_before_enter() {
    let home = home();
    let mut shell = start(home.path(), true);
    prompt(&mut shell);
    shell.send("echo hi | apolo").unwrap();
    shell.flush().unwrap();
    shell.exp_string("\x1b[1;31mapolo").expect("an unknown name in bold red");
    shell.send_control('c').unwrap();
    prompt(&mut shell);
    shell.send("echo hi | apollo").unwrap();
    shell.flush().unwrap();
    shell.exp_string("\x1b[1;32mapollo").expect("a configured AI in bold green");
    shell.send_control('c').unwrap();
    prompt(&mut shell);
    shell.send_control('d').unwrap();
    shell.exp_eof().expect("Ctrl-D leaves");
}

#[test]
fn a_bad_config_still_starts_the_shell() {
    let home = home();
    std::fs::write(home.path().join("config.toml"), "[ai.apollo]\nurl = 5\n").unwrap();
    let mut shell = start(home.path(), false);
    let config = home.path().join("config.toml");
    shell
        .exp_string(&format!("warning: config error in {} at `ai.apollo.url`", config.display()))
        .expect("the error names the file and the key");
    shell.exp_string("AIs: apollo, athena, hermes").expect("started on the defaults");
    prompt(&mut shell);
    shell.send_control('d').unwrap();
    shell.exp_eof().expect("Ctrl-D leaves");
}

#[test]
fn colours_can_be_turned_off_in_the_config() {
    let home = home();
    std::fs::write(home.path().join("config.toml"), "[shell]\ncolor = false\nprompt = \"plain\"\n").unwrap();
    let mut shell = start(home.path(), true);
    assert!(prompt(&mut shell).contains("plain> "), "the configured prompt");
    shell.send("echo hi | apolo").unwrap();
    shell.flush().unwrap();
    let (typed, _) = shell.exp_regex("apolo").expect("the line is echoed");
    assert!(!typed.contains("\x1b[1;3"), "no colours: {typed:?}");
    shell.send_control('c').unwrap();
    prompt(&mut shell);
    shell.send_control('d').unwrap();
    shell.exp_eof().expect("Ctrl-D leaves");
}

/// The interactive shell (its runtime has a thread pool, so the reader may let go of an
/// answer while the transport closes it) answers the next question in the instance the last
/// answer left, for a plugin that allows it.
#[test]
fn the_shell_answers_in_the_instance_the_last_answer_left() {
    let home = crate::instances::home_with_tally();
    let mut shell = start(home.path(), false);
    for n in 1..=3 {
        prompt(&mut shell);
        shell.send_line("t again").unwrap();
        shell.exp_string(&format!("connection {n}")).expect("the answer, from the kept instance");
    }
    prompt(&mut shell);
    shell.send_control('d').unwrap();
    shell.exp_eof().expect("Ctrl-D leaves");
}

/// A line recalled from the line history that holds an escape sequence is drawn with signs,
/// never obeyed; a line history that is not all text is repaired, not dropped.
#[test]
fn a_recalled_or_pasted_escape_sequence_does_not_reach_the_terminal() {
    let home = home();
    std::fs::write(home.path().join("line-history"), b"hermes recalled \x1b]0;PWN\x07 \xff title\n").unwrap();
    let mut shell = start(home.path(), false);
    shell.exp_string("shown as signs now").expect("the repair is told");
    prompt(&mut shell);
    shell.send("\x1b[A").unwrap();
    shell.flush().unwrap();
    let recalled = shell.exp_string("title").expect("the line is recalled");
    assert!(recalled.contains("recalled") && !recalled.contains("\x1b]0;"), "{recalled:?}");
    shell.send_control('c').unwrap();
    prompt(&mut shell);
    shell.send_control('d').unwrap();
    shell.exp_eof().expect("Ctrl-D leaves");
}

/// A paste arrives whole (bracketed paste), runs nothing until Enter, and then runs each of
/// its lines as a command; a paste past the terminal reader's 1 KiB buffer does not stall.
#[test]
fn a_paste_runs_on_enter_a_command_a_line_and_a_long_one_arrives_whole() {
    let home = home();
    let mut shell = start(home.path(), false);
    shell.exp_string("\x1b[?2004h").expect("bracketed paste is turned on");
    prompt(&mut shell);
    shell.send("\x1b[200~echo first-pasted\necho second-pasted\x1b[201~").unwrap();
    shell.flush().unwrap();
    // Shown in the line, not run: the paste's second line is drawn, and no answer comes yet.
    shell.exp_string("second-pasted").expect("the paste is drawn");
    shell.send("\r").unwrap();
    shell.flush().unwrap();
    shell.exp_string("first-pasted\r\n").expect("the first line ran");
    shell.exp_string("second-pasted\r\n").expect("the second line ran");
    prompt(&mut shell);
    let long = "x".repeat(3000);
    shell.send(&format!("\x1b[200~echo {long} end-of-paste\x1b[201~")).unwrap();
    shell.flush().unwrap();
    shell.exp_string("end-of-paste").expect("all of a long paste arrives, with no key after it");
    shell.send("\r").unwrap();
    shell.flush().unwrap();
    let shown = shell.exp_string("end-of-paste\r\n").expect("the long line ran");
    assert!(shown.contains(&"x".repeat(200)), "{shown:?}");
    prompt(&mut shell);
    shell.send_control('d').unwrap();
    shell.exp_eof().expect("Ctrl-D leaves");
}
