//! The answer on screen, in a pseudo-terminal read back through a terminal emulator (vt100):
//! hostile bytes are shown, never obeyed; Markdown is rendered while it streams, append-only,
//! wrapped by words at the pane's width; piped, the same answers' bytes are unchanged.

use std::process::Command;
use std::sync::{Arc, Mutex};

use rexpect::session::spawn_command;
use serde_json::json;

use crate::support::server::{Gate, Part, Reply, TestServer};
use crate::support::{aish, home, write_config};

/// An `aish`-dialect stream of `tokens`, each in a write of its own.
fn tokens(pieces: &[&str]) -> Vec<Part> {
    let mut parts: Vec<Part> = pieces
        .iter()
        .map(|t| Part::Data(format!("data: {}\n\n", json!({"event": "token", "data": {"token": t}})).into_bytes()))
        .collect();
    parts.push(Part::Data(b"event: done\ndata: {}\n\n".to_vec()));
    parts
}

fn stream(parts: Vec<Part>) -> Reply {
    let mut reply = Reply::sse(Vec::<String>::new());
    reply.parts = parts;
    reply
}

/// `sh -c script` as a pseudo-terminal would run it, with `$0` the aish binary, aish's home
/// `home`, an xterm, and colour off (`NO_COLOR`) unless the caller takes that away.
fn terminal_command(home: &std::path::Path, script: impl AsRef<std::ffi::OsStr>) -> Command {
    let mut command = Command::new("sh");
    command
        .arg("-c")
        .arg(script)
        .arg(env!("CARGO_BIN_EXE_aish"))
        .env("AISH_HOME", home)
        .env("TERM", "xterm-256color")
        .env("NO_COLOR", "1");
    command
}

/// What a terminal did besides drawing: titles set, clipboard writes.
#[derive(Clone, Default)]
struct Seen(Arc<Mutex<Vec<String>>>);

impl vt100::Callbacks for Seen {
    fn set_window_title(&mut self, _: &mut vt100::Screen, title: &[u8]) {
        self.0.lock().unwrap().push(format!("title {}", String::from_utf8_lossy(title)));
    }
    fn set_window_icon_name(&mut self, _: &mut vt100::Screen, name: &[u8]) {
        self.0.lock().unwrap().push(format!("icon {}", String::from_utf8_lossy(name)));
    }
    fn copy_to_clipboard(&mut self, _: &mut vt100::Screen, _: &[u8], data: &[u8]) {
        self.0.lock().unwrap().push(format!("clipboard {}", String::from_utf8_lossy(data)));
    }
}

/// Runs `aish -c LINE` in a pty `columns` wide and returns every byte it wrote to the terminal.
fn in_pty(home: &std::path::Path, line: &str, columns: u16, color: bool) -> String {
    let mut command = terminal_command(home, format!("stty cols {columns} rows 60; exec \"$0\" -c \"$1\""));
    command.arg(line);
    if color {
        command.env_remove("NO_COLOR");
    }
    let mut session = spawn_command(command, Some(30_000)).expect("start aish in a pty");
    utf8(&session.exp_eof().expect("aish ends"))
}

/// rexpect hands each byte over as one `char`; the bytes back, read as UTF-8.
fn utf8(read: &str) -> String {
    String::from_utf8_lossy(&read.chars().map(|c| c as u32 as u8).collect::<Vec<u8>>()).into_owned()
}

fn screen(bytes: &str, columns: u16) -> (vt100::Parser<Seen>, Seen) {
    let seen = Seen::default();
    let mut parser = vt100::Parser::new_with_callbacks(60, columns, 0, seen.clone());
    parser.process(bytes.as_bytes());
    (parser, seen)
}

const HOSTILE: &[&str] = &[
    "Safe start. ",
    "\x1b]0;pwned\x07",
    "\x1b[2K\r",
    "[Complete - 0.0s, 1 tokens]\n",
    "\x1b]52;c;ZXZpbA==\x07",
    "\u{9b}31mred ",
    "\u{202e}desrever ",
    "\x1b[31mcolour\r\nend",
];

#[test]
fn a_hostile_answer_is_shown_never_obeyed_and_piped_unchanged() {
    let server = TestServer::always(stream(tokens(HOSTILE)));
    let home = home();
    write_config(home.path(), &format!("[ai.evil]\nurl = \"{}\"\n", server.url("/")));

    let bytes = in_pty(home.path(), "evil hi", 100, true);
    let (parser, seen) = screen(&bytes, 100);
    let text = parser.screen().contents();
    assert!(seen.0.lock().unwrap().is_empty(), "the terminal was steered: {:?}", seen.0.lock().unwrap());
    assert!(text.contains("[Streaming...]"), "{text}");
    assert!(text.contains("Safe start. ␛]0;pwned␇␛[2K␍[Complete - 0.0s, 1 tokens]"), "kept and visible: {text}");
    assert!(text.contains("␛]52;c;ZXZpbA==␇"), "{text}");
    assert!(text.contains("<U+009B>31mred <U+202E>desrever ␛[31mcolour"), "{text}");
    assert!(text.contains("end"), "a \\r\\n is a line break: {text}");
    assert_eq!(text.matches("[Complete - ").count(), 2, "aish's own line and the forged one, shown: {text}");
    // Only aish's own styling reaches the terminal: no OSC, no 8-bit CSI, no bidi override.
    assert!(!bytes.contains("\x1b]") && !bytes.contains('\u{9b}') && !bytes.contains('\u{202e}'), "{bytes:?}");

    // Piped, the answer is data: every byte as the server sent it.
    let run = aish(home.path(), &["-c", "evil hi"], None);
    assert_eq!(run.code, 0, "{run:?}");
    assert_eq!(run.stdout, format!("{}\n", HOSTILE.concat()));
}

const MARKDOWN: &str = "# Rooftop gardens\n\nThey are **worth it** for three reasons, and the \
reasons are worth reading carefully before anyone decides anything:\n\n- cooler buildings in summer\n  \
- nested: less energy\n- food grown where it is eaten\n\n| crop | yield |\n| --- | ---: |\n| kale | 4 kg |\n| \
tomatoes | 12 kg |\n\n```rust\nfn main() { println!(\"grow\"); }\n```\n\nSee [the study](https://example.com/study).\n";

#[test]
fn markdown_renders_while_it_streams_wrapped_by_words() {
    // Token by token, with the rest held back until the first line is on screen.
    let gate = Gate::default();
    let pieces: Vec<String> = MARKDOWN.split_inclusive(' ').map(str::to_owned).collect();
    let first_line_end = pieces.iter().position(|p| p.contains('\n')).unwrap() + 2;
    let mut parts = tokens(&pieces.iter().map(String::as_str).collect::<Vec<_>>());
    parts.insert(first_line_end, Part::Wait(gate.clone()));
    let server = TestServer::always(stream(parts));
    let home = home();
    write_config(home.path(), &format!("[ai.gardener]\nurl = \"{}\"\n", server.url("/")));

    let mut command = terminal_command(home.path(), "stty cols 40 rows 60; exec \"$0\" -c 'gardener tell me'");
    command.env_remove("NO_COLOR");
    let mut session = spawn_command(command, Some(30_000)).expect("start aish in a pty");
    let before = session.exp_string("Rooftop gardens").expect("the heading shows before the answer is complete");
    gate.open();
    let rest = session.exp_eof().expect("aish ends");
    let bytes = utf8(&format!("{before}Rooftop gardens{rest}"));

    let (parser, _) = screen(&bytes, 40);
    let text = parser.screen().contents();
    for source in ["# ", "**", "```", "| ---", "---:", "](http"] {
        assert!(!text.contains(source), "`{source}` left on screen:\n{text}");
    }
    assert!(text.contains("worth it") && text.contains("kale") && text.contains("tomatoes"), "{text}");
    assert!(text.contains("https://example.com/study"), "the link's URL is shown: {text}");
    assert!(text.contains("fn main() { println!(\"grow\"); }"), "code verbatim: {text}");
    // Words are never split at the pane's width: every screen line ends at a word's end.
    let words: Vec<&str> = MARKDOWN.split(|c: char| !c.is_alphanumeric()).collect();
    for line in text.lines().filter(|l| !l.starts_with("[Streaming") && !l.starts_with("[Complete")) {
        for word in line.split_whitespace() {
            let bare = word.trim_matches(|c: char| !c.is_alphanumeric());
            if bare.len() > 2 && bare.chars().all(char::is_alphabetic) {
                assert!(words.contains(&bare), "`{bare}` is a piece of a split word:\n{text}");
            }
        }
    }
    // The code line is highlighted: its characters carry colours of their own.
    let (row, col) = (0..60)
        .find_map(|r| {
            let line = parser.screen().contents_between(r, 0, r, 40);
            line.find("println").map(|c| (r, c as u16))
        })
        .expect("the code line is on screen");
    assert!(!matches!(parser.screen().cell(row, col).unwrap().fgcolor(), vt100::Color::Default), "code is highlighted");
    // The history keeps the raw answer.
    let history = std::fs::read_to_string(home.path().join("history.jsonl")).unwrap();
    let entry: serde_json::Value = serde_json::from_str(history.lines().last().unwrap()).unwrap();
    assert_eq!(entry["responses"]["gardener"], MARKDOWN);
}

#[test]
fn plain_shows_the_answer_as_received_but_sanitised() {
    let server = TestServer::always(stream(tokens(&["**bold** and \x1b[1mraw\x1b[0m"])));
    let home = home();
    write_config(home.path(), &format!("[ai.p]\nurl = \"{}\"\n", server.url("/")));
    let mut command = Command::new(env!("CARGO_BIN_EXE_aish"));
    command.args(["--plain", "-c", "p hi"]).env("AISH_HOME", home.path()).env("NO_COLOR", "1");
    let mut session = spawn_command(command, Some(30_000)).expect("start aish in a pty");
    let bytes = utf8(&session.exp_eof().expect("aish ends"));
    let (parser, _) = screen(&bytes, 80);
    assert!(parser.screen().contents().contains("**bold** and ␛[1mraw␛[0m"), "{}", parser.screen().contents());
}

/// A slow stream's tokens, each held back by the server until the test has seen the one
/// before on the terminal: a display that buffered a token until more arrived would never show
/// it, and the test would time out. No timing is asserted.
fn shows_each_token_before_the_next_is_sent(plain: bool, pieces: &[&str]) {
    let gates: Vec<Gate> = pieces.iter().map(|_| Gate::default()).collect();
    let mut parts = Vec::new();
    for (piece, gate) in pieces.iter().zip(&gates) {
        parts.push(Part::Pause(std::time::Duration::from_millis(50)));
        parts.extend(tokens(&[piece]).into_iter().take(1));
        parts.push(Part::Wait(gate.clone()));
    }
    parts.push(Part::Data(b"event: done\ndata: {}\n\n".to_vec()));
    let server = TestServer::always(stream(parts));
    let home = home();
    write_config(home.path(), &format!("[ai.slow]\nurl = \"{}\"\n", server.url("/")));
    let flag = if plain { "--plain " } else { "" };
    let command = terminal_command(home.path(), format!("stty cols 80 rows 30; exec \"$0\" {flag}-c 'slow go'"));
    let mut session = spawn_command(command, Some(10_000)).expect("start aish in a pty");
    for (piece, gate) in pieces.iter().zip(&gates) {
        // The word itself: rendered, Markdown's markers are gone.
        let word = piece.trim().trim_start_matches(['#', '-', ' ']);
        session.exp_string(word).unwrap_or_else(|e| panic!("`{word}` was not shown before the next token: {e}"));
        gate.open();
    }
    session.exp_string("[Complete").expect("the answer completes");
}

/// A steady stream on one long line (a token every 30 ms, never a pause long enough to count as
/// idle): its words must appear while it still streams, not once it ends. The server tells the
/// test when it has sent its last token; no timing is asserted.
/// Code at a model's pace (a few characters every 30 ms, each line over many frames) is
/// highlighted on screen, every line of it.
#[test]
fn code_streamed_slowly_is_highlighted_line_by_line() {
    let answer = "Here:\n```python\ndef grow(seed):\n    total = seed * 2  # doubled\n    return total\n```\nDone.\n";
    let chars: Vec<char> = answer.chars().collect();
    let mut parts = Vec::new();
    for piece in chars.chunks(3) {
        parts.push(Part::Pause(std::time::Duration::from_millis(30)));
        parts.extend(tokens(&[&piece.iter().collect::<String>()]).into_iter().take(1));
    }
    parts.push(Part::Data(b"event: done\ndata: {}\n\n".to_vec()));
    let server = TestServer::always(stream(parts));
    let home = home();
    write_config(home.path(), &format!("[ai.coder]\nurl = \"{}\"\n", server.url("/")));
    let bytes = in_pty(home.path(), "coder show me", 80, true);
    let (parser, _) = screen(&bytes, 80);
    let screen = parser.screen();
    for code in ["def grow", "total = seed", "return total"] {
        let (row, col) = (0..60)
            .find_map(|r| screen.contents_between(r, 0, r, 80).find(code).map(|c| (r, c as u16)))
            .unwrap_or_else(|| panic!("`{code}` on screen: {}", screen.contents()));
        let fg = screen.cell(row, col).unwrap().fgcolor();
        assert!(!matches!(fg, vt100::Color::Default), "`{code}` is highlighted:\n{bytes:?}");
    }
    let row = (0..60).find(|&r| screen.contents_between(r, 0, r, 80).contains("# doubled")).unwrap();
    let col = screen.contents_between(row, 0, row, 80).find("# doubled").unwrap() as u16;
    let comment = screen.cell(row, col + 2).unwrap().fgcolor();
    let keyword = screen.cell(row, 4).unwrap().fgcolor();
    assert_ne!(comment, keyword, "the comment and the code around it differ in colour");
}

/// A tool call after some text, on a rendered terminal: the text that came before it shows
/// before its line, all of it.
#[test]
fn a_tool_call_line_comes_after_the_text_before_it() {
    let chunk = |delta: serde_json::Value| {
        format!(
            "data: {}\n\n",
            json!({"id":"c1","object":"chat.completion.chunk","choices":[{"index":0,"delta":delta,"finish_reason":null}]})
        )
    };
    let server = TestServer::always(Reply::sse([
        chunk(json!({"role":"assistant","content":"Hello"})),
        chunk(json!({"content":" world"})),
        chunk(
            json!({"tool_calls":[{"index":0,"id":"call_1","type":"function","function":{"name":"get_weather","arguments":"{}"}}]}),
        ),
        "data: [DONE]\n\n".to_owned(),
    ]));
    let home = home();
    write_config(
        home.path(),
        &format!("[ai.gpt]\nurl = \"{}\"\ndialect = \"openai\"\nmodel = \"m\"\n", server.url("/v1/chat/completions")),
    );
    let bytes = in_pty(home.path(), "gpt weather?", 80, false);
    let (parser, _) = screen(&bytes, 80);
    let text = parser.screen().contents();
    let (hello, call) = (text.find("Hello world"), text.find("[tool call] get_weather {}"));
    assert!(hello.is_some() && call.is_some() && hello < call, "the text, then the call:\n{text}");
}

/// Standard error sent to a file while standard output is the terminal: its lines are plain.
#[test]
fn errors_sent_to_a_file_carry_no_colour() {
    let home = home();
    // Nothing listens on port 9 (discard): the answer fails to connect, with an error on stderr.
    write_config(home.path(), "[ai.gone]\nurl = \"http://127.0.0.1:9/\"\n");
    let errors = home.path().join("errors.txt");
    let mut command = terminal_command(home.path(), "stty cols 80 rows 30; exec \"$0\" -c 'gone hello' 2>\"$1\"");
    command.arg(&errors).env_remove("NO_COLOR");
    let mut session = spawn_command(command, Some(30_000)).expect("start aish in a pty");
    session.exp_eof().expect("aish ends");
    let written = std::fs::read_to_string(&errors).unwrap();
    assert!(written.contains("error: "), "{written:?}");
    assert!(!written.contains('\x1b'), "no escape sequences in the file: {written:?}");
}

#[test]
fn a_steady_markdown_stream_shows_its_line_while_it_streams() {
    let words: Vec<String> = (0..300).map(|i| format!("w{i:03} ")).collect();
    let sent_all = Gate::default();
    let mut parts = Vec::new();
    for word in &words {
        parts.push(Part::Pause(std::time::Duration::from_millis(30)));
        parts.extend(tokens(&[word]).into_iter().take(1));
    }
    parts.push(Part::Signal(sent_all.clone()));
    parts.push(Part::Data(b"event: done\ndata: {}\n\n".to_vec()));
    let server = TestServer::always(stream(parts));
    let home = home();
    write_config(home.path(), &format!("[ai.steady]\nurl = \"{}\"\n", server.url("/")));
    let command = terminal_command(home.path(), "stty cols 80 rows 30; exec \"$0\" -c 'steady go'");
    let mut session = spawn_command(command, Some(15_000)).expect("start aish in a pty");
    // The first word, and one on the fourth screen line: held lines are let go as they wrap too.
    for word in ["w000", "w060"] {
        session.exp_string(word).unwrap_or_else(|e| panic!("`{word}` was never shown: {e}"));
        assert!(!sent_all.wait(std::time::Duration::ZERO), "`{word}` was shown only after the stream's last token");
    }
}

#[test]
fn a_slow_stream_shows_every_token_as_it_arrives() {
    shows_each_token_before_the_next_is_sent(true, &["alpha ", "bravo ", "charlie ", "delta ", "echo"]);
}

#[test]
fn a_slow_markdown_stream_shows_every_line_as_it_arrives() {
    // Rendered, a line is shown when it ends (or after a short pause); each token ends one.
    shows_each_token_before_the_next_is_sent(false, &["# alpha\n", "bravo\n\n", "- charlie\n", "- delta\n"]);
}

/// Ctrl-C while the first of side-by-side answers is on screen stops them all, and shows what
/// each of the others had got: one finished in full, one cut short.
#[test]
fn ctrl_c_shows_what_every_side_by_side_answer_got() {
    let (a_shown, b_sent, c_sent, never) = (Gate::default(), Gate::default(), Gate::default(), Gate::default());
    let first = tokens(&["alpha starts"]).remove(0);
    let server_a = TestServer::always(stream(vec![first, Part::Signal(a_shown.clone()), Part::Wait(never.clone())]));
    // Its server knows when aish has read all of it: aish closes the connection once it has.
    let mut finished = tokens(&["bravo ", "in full"]);
    finished.push(Part::Closed(b_sent.clone()));
    let server_b = TestServer::always(stream(finished));
    let cut = tokens(&["charlie partly"]).remove(0);
    let server_c = TestServer::always(stream(vec![cut, Part::Signal(c_sent.clone()), Part::Wait(never.clone())]));
    let home = home();
    let config: String = [("a", &server_a), ("b", &server_b), ("c", &server_c)]
        .iter()
        .map(|(name, server)| format!("[ai.{name}]\nurl = \"{}\"\n", server.url("/")))
        .collect();
    write_config(home.path(), &config);
    let command = terminal_command(home.path(), "stty cols 100 rows 30; exec \"$0\" --plain -c 'team-chat go'");
    let mut session = spawn_command(command, Some(15_000)).expect("start aish in a pty");
    session.exp_string("alpha starts").expect("the first answer on screen");
    for gate in [&a_shown, &b_sent, &c_sent] {
        assert!(gate.wait(std::time::Duration::from_secs(10)), "a server did not get this far");
    }
    session.send_control('c').unwrap();
    let bytes = utf8(&session.exp_eof().expect("aish ends"));
    never.open();
    let (parser, _) = screen(&bytes, 100);
    let text = parser.screen().contents();
    assert!(text.contains("bravo in full"), "the finished answer is shown: {text}");
    // The cut one is labelled and marked, whether or not aish had read its text yet.
    assert!(text.contains("c: "), "the cut one is shown: {text}");
    assert_eq!(text.matches("[Interrupted - stopped by Ctrl-C").count(), 2, "a and c were stopped: {text}");
}

/// A terminal echoes Ctrl-C as `^C` where the cursor stands: inside the answer's text. While an
/// answer is on screen that echo is off, and back on after; `-c` then exits with 130. The kernel
/// echoes after sending the signal, so this holds only if aish cannot turn the echo back on in
/// between (it sets NOFLSH too, which makes the two one step; that too is put back).
#[test]
fn ctrl_c_leaves_no_mark_in_the_answer_and_exits_130() {
    let home = home();
    let mut command = terminal_command(
        home.path(),
        "trap : INT; stty echo echoctl -noflsh cols 80 rows 30; \"$0\" -c 'apollo rooftop gardens'; echo \"exit=$?\"; stty -a",
    );
    command.env("AISH_DEMO_DELAY_MS", "150");
    let mut session = spawn_command(command, Some(15_000)).expect("start aish in a pty");
    session.exp_string("Apollo on").expect("the answer streams");
    session.send_control('c').unwrap();
    let (answer, status) = session.exp_regex("exit=[0-9]+").expect("aish ends");
    let rest = session.exp_eof().expect("the shell ends");
    let (parser, _) = screen(&utf8(&answer), 80);
    let text = parser.screen().contents();
    assert!(text.contains("[Interrupted - stopped by Ctrl-C"), "{text}");
    assert!(!text.contains("^C"), "the echo stood in the answer: {text}");
    assert_eq!(status, "exit=130", "{text}");
    let flags: Vec<&str> = rest.split_whitespace().collect();
    assert!(flags.contains(&"echoctl") && !flags.contains(&"-echoctl"), "the echo is back on: {rest}");
    assert!(flags.contains(&"-noflsh"), "Ctrl-C flushes again: {rest}");
}

/// Ctrl-C stops a script, not only the answer on screen.
#[test]
fn ctrl_c_stops_a_script() {
    let home = home();
    let script = home.path().join("two.aish");
    std::fs::write(&script, "apollo rooftop gardens\necho the second line ran\n").unwrap();
    let mut command = terminal_command(home.path(), "trap : INT; \"$0\" \"$1\"; echo \"exit=$?\"");
    command.arg(&script).env("AISH_DEMO_DELAY_MS", "150");
    let mut session = spawn_command(command, Some(15_000)).expect("start aish in a pty");
    session.exp_string("Apollo on").expect("the answer streams");
    session.send_control('c').unwrap();
    let (before, status) = session.exp_regex("exit=[0-9]+").expect("aish ends");
    assert_eq!(status, "exit=130", "{before}");
    assert!(!before.contains("the second line ran"), "{before}");
}

/// A background job (`aish … &` under job control) leaves the terminal's settings alone: a
/// job that changes them is stopped by the terminal until brought to the foreground.
#[test]
fn a_background_answer_is_not_stopped_by_the_terminal() {
    let home = home();
    let mut command = terminal_command(
        home.path(),
        "set -m; stty echo echoctl; \"$0\" -c 'hermes in the background' & wait $!; echo \"exit=$?\"",
    );
    command.env("AISH_DEMO_DELAY_MS", "0");
    let mut session = spawn_command(command, Some(15_000)).expect("start aish in a pty");
    let (before, status) = session.exp_regex("exit=[0-9]+").expect("the job ends");
    assert_eq!(status, "exit=0", "{before}");
    assert!(before.contains("In one line: in the background."), "{before}");
}
