//! Display benchmark with its own report: `cargo bench -p aish --bench render`.
//!
//! D. 100,000 small tokens of a Markdown answer through the display as a terminal sees them:
//!    rendered as Markdown against shown plain (both sanitised), in one process, median of runs.
//! E. The same answer streamed by a server on 127.0.0.1 through `aish -c` in a pseudo-terminal,
//!    whole process: rendered against `--plain`.
//! F. Start-up: `aish -c session`, whole process, median of runs.

#[path = "../support/server.rs"]
mod server;

use std::io::Write;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use aish::config::Render;
use aish::display::Display;
use aish::pipeline::{EventSink, StageEvent, StageInfo};

const TOKENS: usize = 100_000;
const RUNS: usize = 7;

/// A long Markdown answer cut into small tokens (words with their spaces), as models stream.
fn tokens() -> Vec<String> {
    let block = "## Section heading\n\nSome **bold** text with `inline code` and a [link](https://example.com) \
                 that runs on for a while so it wraps at the width of the terminal, as prose does.\n\n\
                 - a list item with a few words\n  - a nested item\n1. numbered\n\n> a quote that is \
                 quoted\n\n```rust\nfn main() { let x = 42; println!(\"{x}\"); }\n```\n\n| a | b |\n|---|---|\n| 1 | 2 |\n\n";
    let words: Vec<String> = block.split_inclusive(' ').map(str::to_owned).collect();
    words.iter().cycle().take(TOKENS).cloned().collect()
}

/// A writer that keeps only the count, so the figure is the display's own work.
struct Counter(usize);

impl Write for Counter {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0 += buf.len();
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

fn show(render: Render, tokens: &[String]) -> Duration {
    let mut display = Display::terminal(Box::new(Counter(0)), Box::new(Counter(0)), true).with_render(render);
    let info = StageInfo {
        ai: "bench".into(),
        streamed: true,
        labelled: false,
        fan_out: false,
        last: true,
        redirected: false,
    };
    let started = Instant::now();
    display.event(StageEvent::Stage(&info));
    display.event(StageEvent::Answering);
    for token in tokens {
        display.event(StageEvent::Token(token));
    }
    display.event(StageEvent::Completed { elapsed: started.elapsed(), tokens: TOKENS as u64, input_tokens: None });
    started.elapsed()
}

fn median(mut samples: Vec<Duration>) -> Duration {
    samples.sort();
    samples[samples.len() / 2]
}

fn main() {
    let tokens = tokens();
    // Warm both paths (the syntax set loads on the first code block).
    show(Render::Markdown, &tokens[..1000]);
    show(Render::Plain, &tokens[..1000]);
    let mut plain = Vec::new();
    let mut markdown = Vec::new();
    for _ in 0..RUNS {
        plain.push(show(Render::Plain, &tokens));
        markdown.push(show(Render::Markdown, &tokens));
    }
    let (plain, markdown) = (median(plain), median(markdown));
    println!("D. {TOKENS} Markdown tokens through the display alone, output discarded (seconds)");
    println!("   plain (sanitised)                       {:>12.4}", plain.as_secs_f64());
    println!("   rendered as Markdown                    {:>12.4}", markdown.as_secs_f64());
    println!(
        "   ratio markdown/plain                    {:>11.2}x  (the renderer's own CPU; see E)\n",
        markdown.as_secs_f64() / plain.as_secs_f64()
    );

    let home = tempfile::tempdir().expect("temp dir");
    let binary = env!("CARGO_BIN_EXE_aish");

    let mut body = Vec::new();
    for token in &tokens {
        body.extend_from_slice(
            format!("data: {}\n\n", serde_json::json!({"event": "token", "data": {"token": token}})).as_bytes(),
        );
    }
    body.extend_from_slice(b"event: done\ndata: {}\n\n");
    let parts = body.chunks(16 * 1024).map(|c| server::Part::Data(c.to_vec())).collect();
    let server = server::TestServer::always(server::Reply {
        status: 200,
        headers: vec![("content-type".into(), "text/event-stream".into())],
        parts,
    });
    std::fs::write(home.path().join("config.toml"), format!("[ai.md]\nurl = \"{}\"\n", server.url("/")))
        .expect("config");
    let in_pty = |plain: bool| {
        let mut command = Command::new(binary);
        if plain {
            command.arg("--plain");
        }
        command.args(["-c", "md go"]).env("AISH_HOME", home.path()).env("TERM", "xterm-256color");
        let started = Instant::now();
        let mut session = rexpect::session::spawn_command(command, Some(120_000)).expect("start aish in a pty");
        session.exp_eof().expect("aish ends");
        started.elapsed()
    };
    let mut pty_plain = Vec::new();
    let mut pty_markdown = Vec::new();
    for _ in 0..3 {
        pty_plain.push(in_pty(true));
        pty_markdown.push(in_pty(false));
    }
    let (pty_plain, pty_markdown) = (median(pty_plain), median(pty_markdown));
    println!("E. the same {TOKENS} tokens from a server through `aish -c` in a pty (seconds)");
    println!("   --plain                                 {:>12.3}", pty_plain.as_secs_f64());
    println!("   rendered as Markdown                    {:>12.3}", pty_markdown.as_secs_f64());
    println!(
        "   ratio markdown/plain                    {:>11.2}x  (aim: 1.5x or less)\n",
        pty_markdown.as_secs_f64() / pty_plain.as_secs_f64()
    );

    let mut starts = Vec::new();
    for _ in 0..21 {
        let started = Instant::now();
        let status = Command::new(binary)
            .args(["-c", "session"])
            .env("AISH_HOME", home.path())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .expect("run aish");
        assert!(status.success());
        starts.push(started.elapsed());
    }
    println!("F. start-up, `aish -c session`, whole process (ms, lower is better)");
    println!("   median of 21                            {:>12.1}", median(starts).as_secs_f64() * 1000.0);
}
