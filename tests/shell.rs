//! The interactive shell in a pseudo-terminal: banner, a streamed answer, Ctrl-C mid-stream,
//! the next command, Ctrl-D.

use std::process::Command;

use rexpect::ReadUntil;
use rexpect::session::{PtySession, spawn_command};

use crate::support::home;

/// Waits for the prompt, answering the cursor-position queries a real terminal answers.
fn prompt(shell: &mut PtySession) {
    for _ in 0..10 {
        let (_, matched) = shell
            .exp_any(vec![ReadUntil::String("\x1b[6n".into()), ReadUntil::String("\x1b[?25h".into())])
            .expect("a prompt");
        if matched == "\x1b[?25h" {
            return;
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
