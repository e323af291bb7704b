//! Memory benchmark with its own report: `cargo bench -p aish --bench memory`.
//!
//! G. Peak resident memory of `aish -c 'big go'` while a 100 MiB answer streams to stdout (a
//!    pipe to /dev/null), against the peak of the same process answering one token after a
//!    pause (idle: everything loaded, nothing held), both whole processes.

#[path = "../support/server.rs"]
mod server;

use std::process::{Command, Stdio};
use std::time::Duration;

use server::{Part, Reply, TestServer};

const ANSWER_MIB: usize = 100;

/// The peak resident set (VmHWM) of a command, in KiB, sampled until it exits, and how many
/// bytes it wrote to stdout (counted, so that a run that failed early cannot pass for a lean one).
fn peak_kib(command: &mut Command) -> (u64, u64) {
    let mut child = command.stdout(Stdio::piped()).stderr(Stdio::null()).spawn().expect("start aish");
    let mut stdout = child.stdout.take().expect("stdout");
    let counter = std::thread::spawn(move || std::io::copy(&mut stdout, &mut std::io::sink()).unwrap_or(0));
    let status_file = format!("/proc/{}/status", child.id());
    let mut peak = 0;
    loop {
        if let Ok(status) = std::fs::read_to_string(&status_file) {
            let hwm = status
                .lines()
                .find_map(|l| l.strip_prefix("VmHWM:"))
                .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok());
            peak = peak.max(hwm.unwrap_or(0));
        }
        if let Some(status) = child.try_wait().expect("wait") {
            assert!(status.success(), "aish failed: {status}");
            return (peak, counter.join().expect("counter"));
        }
        std::thread::sleep(Duration::from_millis(5));
    }
}

fn main() {
    let token = format!("data: {{\"event\":\"token\",\"data\":{{\"token\":\"{}\"}}}}\n\n", "x".repeat(1023) + " ");
    let events = ANSWER_MIB * 1024;
    let mut parts: Vec<Part> = Vec::new();
    let mut chunk = Vec::with_capacity(1 << 20);
    for _ in 0..events {
        chunk.extend_from_slice(token.as_bytes());
        if chunk.len() >= 1 << 20 {
            parts.push(Part::Data(std::mem::take(&mut chunk)));
        }
    }
    chunk.extend_from_slice(b"event: done\ndata: {}\n\n");
    parts.push(Part::Data(chunk));
    let server = TestServer::always(Reply {
        status: 200,
        headers: vec![("content-type".into(), "text/event-stream".into())],
        parts,
    });
    let home = tempfile::tempdir().expect("temp dir");
    let small = TestServer::always(Reply {
        status: 200,
        headers: vec![("content-type".into(), "text/event-stream".into())],
        parts: vec![
            Part::Pause(Duration::from_millis(500)),
            Part::Data(
                b"data: {\"event\":\"token\",\"data\":{\"token\":\"hi\"}}\n\nevent: done\ndata: {}\n\n".to_vec(),
            ),
        ],
    });
    let config = format!("[ai.big]\nurl = \"{}\"\n[ai.small]\nurl = \"{}\"\n", server.url("/"), small.url("/"));
    std::fs::write(home.path().join("config.toml"), config).expect("config");
    let binary = env!("CARGO_BIN_EXE_aish");
    // The first run compiles the transport plugin into the cache; both measured runs find it there.
    peak_kib(Command::new(binary).args(["-c", "small go"]).env("AISH_HOME", home.path()));
    let (idle, _) = peak_kib(Command::new(binary).args(["-c", "small go"]).env("AISH_HOME", home.path()));
    let (streaming, written) = peak_kib(Command::new(binary).args(["-c", "big go"]).env("AISH_HOME", home.path()));
    assert!(written >= (ANSWER_MIB as u64) << 20, "only {written} bytes of the answer reached stdout");
    let history = std::fs::metadata(home.path().join("history.jsonl")).map(|m| m.len()).unwrap_or(0);
    assert!(history >= (ANSWER_MIB as u64) << 20, "the history kept only {history} bytes");
    println!("G. peak resident memory, whole process (MiB, lower is better)");
    println!("   idle: a one-token answer                 {:>10.1}", idle as f64 / 1024.0);
    println!("   a {ANSWER_MIB} MiB answer to stdout              {:>10.1}", streaming as f64 / 1024.0);
    println!(
        "   above idle                               {:>10.1}  (aim: 64 MiB or less)",
        (streaming.saturating_sub(idle)) as f64 / 1024.0
    );
}
