//! Streaming benchmark with its own report: `cargo bench -p aish --bench throughput`.
//!
//! For 100,000-chunk streams in the OpenAI chat (plain, and padded as OpenAI's own API pads
//! them), OpenAI Responses, Anthropic and aish (plain, and with an ID each, as servers that
//! support resuming send them) dialects, each served over loopback by another process (this
//! binary, `--serve`), as a real server is, in one sitting:
//! - the wire limit: `curl -N` copying the bytes (a byte-copying reader when curl is missing);
//! - the best native parse: the same HTTP client aish uses, and the `sse` transport's own
//!   reading (its event-stream parser and the dialects' one-pass fast paths, no tree) compiled
//!   natively, in this process;
//! - the WebAssembly `sse` plugin alone, through aish's runtime, in this process: through one
//!   connector, as the shell keeps one, so from the second answer on it runs in the instance
//!   the last answer left (`-- --repeat plugin STREAM N --fresh` instantiates it every time);
//! - the whole `aish -c` process, its answer piped.
//!
//! Then the one-token round trip (start-up included) against curl. Each figure is the median
//! of several runs; the ratios are what to compare, since the machines are shared and noisy.
//! The native and plugin reads alternate in pairs, and plugin/native is the median of the
//! pairs' ratios, in wall time and in the CPU time of the thread that reads (both readers run
//! on it): over loopback the server shares the machine, and the faster reader's wall time is
//! partly the server's pace. Beside it, the ratio of each reader's fastest read: interference
//! only ever adds time, so on a busy machine that ratio is the nearer to what the code costs.
//! Curl and `aish -c` run side by side, taking turns to go first.

#[path = "../support/server.rs"]
mod server;

use std::io::{Read, Write};
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use futures::StreamExt;
use serde_json::json;

use aish::config::Config;
use aish::plugin::{Registry, Runtime};
use aish::transport::{ConnectOptions, Connector, Event, Outgoing};
use server::{Part, Reply, TestServer};

const CHUNKS: usize = 100_000;
const RUNS: usize = 11;
/// Native and plugin reads per run, alternated: each takes a few milliseconds, where one
/// scheduling hiccup moves a single figure by a fifth.
const PAIRS: usize = 9;

/// The text of chunk `i`.
fn token(i: usize) -> String {
    format!("tok{} ", i % 1000)
}

/// A stream of CHUNKS tokens in `dialect`, as its provider sends it.
fn body(dialect: &str) -> Vec<u8> {
    let mut body = Vec::with_capacity(CHUNKS * 200);
    let mut event = |text: String| body.extend_from_slice(text.as_bytes());
    match dialect {
        "openai" | "openai-obfuscated" => {
            let head = r#""id":"chatcmpl-9x7","object":"chat.completion.chunk","created":1732400000,"model":"gpt-4o-mini-2024-07-18","system_fingerprint":"fp_0ba0d124f1""#;
            for i in 0..CHUNKS {
                let delta = json!({"content": token(i)});
                // OpenAI's own API pads each chunk with random characters (a side-channel
                // mitigation, on unless the request turns it off): no two chunks alike.
                let padding = match dialect {
                    "openai" => String::new(),
                    _ => format!(",\"obfuscation\":\"{}\"", &"Zq3vX9pL0aBw"[..(i * 7919) % 12]),
                };
                event(format!(
                    "data: {{{head},\"choices\":[{{\"index\":0,\"delta\":{delta},\"logprobs\":null,\"finish_reason\":null}}]{padding}}}\n\n"
                ));
            }
            event(format!(
                "data: {{{head},\"choices\":[{{\"index\":0,\"delta\":{{}},\"logprobs\":null,\"finish_reason\":\"stop\"}}]}}\n\n"
            ));
            event(format!(
                "data: {{{head},\"choices\":[],\"usage\":{{\"prompt_tokens\":9,\"completion_tokens\":{CHUNKS},\"total_tokens\":{}}}}}\n\n",
                CHUNKS + 9
            ));
            event("data: [DONE]\n\n".into());
        }
        "anthropic" => {
            event("event: message_start\ndata: {\"type\":\"message_start\",\"message\":{\"id\":\"msg_01\",\"type\":\"message\",\"role\":\"assistant\",\"model\":\"claude-sonnet-4-5\",\"content\":[],\"stop_reason\":null,\"stop_sequence\":null,\"usage\":{\"input_tokens\":9,\"output_tokens\":1}}}\n\n".into());
            event("event: content_block_start\ndata: {\"type\":\"content_block_start\",\"index\":0,\"content_block\":{\"type\":\"text\",\"text\":\"\"}}\n\n".into());
            for i in 0..CHUNKS {
                let delta = json!({"type": "text_delta", "text": token(i)});
                event(format!(
                    "event: content_block_delta\ndata: {{\"type\":\"content_block_delta\",\"index\":0,\"delta\":{delta}}}\n\n"
                ));
            }
            event("event: content_block_stop\ndata: {\"type\":\"content_block_stop\",\"index\":0}\n\n".into());
            event(format!(
                "event: message_delta\ndata: {{\"type\":\"message_delta\",\"delta\":{{\"stop_reason\":\"end_turn\",\"stop_sequence\":null}},\"usage\":{{\"output_tokens\":{CHUNKS}}}}}\n\n"
            ));
            event("event: message_stop\ndata: {\"type\":\"message_stop\"}\n\n".into());
        }
        "responses" => {
            event("event: response.created\ndata: {\"type\":\"response.created\",\"sequence_number\":0,\"response\":{\"id\":\"resp_68a1\",\"object\":\"response\",\"status\":\"in_progress\",\"output\":[]}}\n\n".into());
            for i in 0..CHUNKS {
                // As OpenAI's Responses API sends them: a sequence number each, and padding.
                event(format!(
                    "event: response.output_text.delta\ndata: {{\"type\":\"response.output_text.delta\",\"sequence_number\":{},\"item_id\":\"msg_68a1\",\"output_index\":0,\"content_index\":0,\"delta\":{},\"logprobs\":[],\"obfuscation\":\"{}\"}}\n\n",
                    i + 1,
                    json!(token(i)),
                    &"Zq3vX9pL0aBw"[..(i * 7919) % 12]
                ));
            }
            event(format!(
                "event: response.completed\ndata: {{\"type\":\"response.completed\",\"sequence_number\":{},\"response\":{{\"id\":\"resp_68a1\",\"object\":\"response\",\"status\":\"completed\",\"output\":[],\"usage\":{{\"input_tokens\":9,\"output_tokens\":{CHUNKS},\"total_tokens\":{}}}}}}}\n\n",
                CHUNKS + 1,
                CHUNKS + 9
            ));
        }
        // Tekton's Rhetor (not in the report's table; `-- --repeat plugin rhetor`).
        "rhetor" => {
            for i in 0..CHUNKS {
                event(format!("data: {}\n\n", json!({"type": "chunk", "content": token(i)})));
            }
            event("data: {\"type\":\"complete\"}\n\n".into());
        }
        // "aish-ids": with an ID each, as servers that support resuming send them.
        _ => {
            for i in 0..CHUNKS {
                let id = match dialect {
                    "aish-ids" => format!("id: {i}\n"),
                    _ => String::new(),
                };
                event(format!("{id}data: {}\n\n", json!({"event": "token", "data": {"token": token(i)}})));
            }
            event("event: done\ndata: {}\n\n".into());
        }
    }
    body
}

/// The dialect of a benchmark stream.
fn dialect_of(stream: &str) -> &str {
    stream.trim_end_matches("-obfuscated").trim_end_matches("-ids")
}

fn serve(body: &[u8]) -> TestServer {
    let parts: Vec<Part> = body.chunks(64 * 1024).map(|c| Part::Data(c.to_vec())).collect();
    TestServer::always(Reply { status: 200, headers: vec![("content-type".into(), "text/event-stream".into())], parts })
}

/// A stream served by this benchmark's own binary (`--serve`) in another process, as a real
/// server is. A server thread in this process would share the plugin runtime's address space:
/// each plugin memory unmapped at the end of an answer would then interrupt that thread's
/// processor to flush its address cache, a cost no remote server causes.
struct Served {
    child: std::process::Child,
    url: String,
}

impl Served {
    fn start(stream: &str) -> Served {
        let mut child = Command::new(std::env::current_exe().expect("this benchmark's path"))
            .args(["--serve", stream])
            .stdout(Stdio::piped())
            .spawn()
            .expect("start the stream's server");
        let mut url = String::new();
        let stdout = child.stdout.take().expect("piped");
        std::io::BufRead::read_line(&mut std::io::BufReader::new(stdout), &mut url).expect("the server's URL");
        assert!(url.starts_with("http://"), "the server printed {url:?}");
        Served { child, url: url.trim().to_owned() }
    }
}

impl Drop for Served {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The CPU time this thread has used, where the system tells it.
fn thread_cpu() -> Option<Duration> {
    #[cfg(unix)]
    {
        let mut now = libc::timespec { tv_sec: 0, tv_nsec: 0 };
        // SAFETY: `now` is a valid timespec for the call to fill.
        if unsafe { libc::clock_gettime(libc::CLOCK_THREAD_CPUTIME_ID, &mut now) } == 0 {
            return Some(Duration::new(now.tv_sec as u64, now.tv_nsec as u32));
        }
    }
    None
}

/// Runs `read`, returning what it gives, its wall time and the CPU time this thread spent on it.
fn timed<T>(read: impl FnOnce() -> T) -> (T, Duration, Option<Duration>) {
    let (cpu, started) = (thread_cpu(), Instant::now());
    let value = read();
    let wall = started.elapsed();
    (value, wall, cpu.zip(thread_cpu()).map(|(before, after)| after - before))
}

/// The median of `ratios`.
fn median_ratio(mut ratios: Vec<f64>) -> f64 {
    ratios.sort_by(f64::total_cmp);
    ratios[ratios.len() / 2]
}

fn median(mut samples: Vec<Duration>) -> Duration {
    samples.sort();
    samples[samples.len() / 2]
}

/// The best native parse: the same HTTP client, and the `sse` transport's own reading (its
/// parser and the dialect code, remembered event shapes included) compiled natively. Returns
/// the answer's length in bytes.
async fn native(client: &reqwest::Client, dialect: &str, url: &str) -> usize {
    let options = aish_plugin_sdk::ConnectOptions {
        url: url.into(),
        dialect: dialect.into(),
        model: None,
        api_key: None,
        settings: "{}".into(),
    };
    let mut dialect = aish_dialects::Dialect::new(options).expect("dialect");
    let (mut parser, mut state) = (aish_plugin_sse::parser::Parser::new(), aish_dialects::AnswerState::default());
    let response = client.post(url).body("{}").send().await.expect("native request");
    let mut stream = response.bytes_stream();
    let (mut answer, mut out) = (0usize, Vec::new());
    while let Some(bytes) = stream.next().await {
        aish_plugin_sse::read_events(&mut parser, &mut dialect, &mut state, &bytes.expect("body"), &mut out);
        for piece in out.drain(..) {
            if let aish_plugin_sdk::Event::Token(text) = piece {
                answer += text.len();
            }
        }
        if !state.is_open() {
            break;
        }
    }
    assert!(state.is_finished(), "the stream ended the answer");
    answer
}

/// The compiled `sse` plugin alone, as aish runs it: the answer's length in bytes.
async fn plugin(connector: &Connector, dialect: &str, url: &str) -> usize {
    let host = aish::plugin::capabilities::host_pattern_of(url).unwrap();
    let grant = connector.grant("sse", &[host]).unwrap();
    let options =
        ConnectOptions { url: url.into(), dialect: dialect.into(), model: None, api_key: None, settings: json!({}) };
    let mut session = connector.connect("sse", grant, options).await.expect("connect");
    session.send(&Outgoing::new("go", json!({}), true)).await.expect("send");
    let mut answer = 0;
    loop {
        let events = session.receive().await.expect("receive");
        if events.is_empty() {
            break;
        }
        for event in events {
            if let Event::Token(text) = event {
                answer += text.len();
            }
        }
    }
    session.close().await;
    answer
}

/// curl copying the body, or a plain reader when curl is missing: the wire's own speed.
fn wire(url: &str, curl: bool) -> Duration {
    let started = Instant::now();
    if curl {
        let status = Command::new("curl")
            .args(["-sN", "-X", "POST", "-d", "{}", "-o", "/dev/null", url])
            .status()
            .expect("run curl");
        assert!(status.success(), "curl failed");
    } else {
        let address = url.trim_start_matches("http://").split('/').next().unwrap().to_owned();
        let mut stream = std::net::TcpStream::connect(&address).expect("connect");
        write!(stream, "POST / HTTP/1.1\r\nhost: {address}\r\ncontent-length: 2\r\nconnection: close\r\n\r\n{{}}")
            .unwrap();
        let mut buffer = vec![0; 64 * 1024];
        while stream.read(&mut buffer).expect("read") > 0 {}
    }
    started.elapsed()
}

fn aish_run(home: &std::path::Path, line: &str) -> (Duration, usize) {
    let started = Instant::now();
    let output = Command::new(env!("CARGO_BIN_EXE_aish"))
        .args(["-c", line])
        .env("AISH_HOME", home)
        .stderr(Stdio::null())
        .output()
        .expect("run aish");
    let took = started.elapsed();
    assert!(output.status.success(), "aish -c {line:?} failed");
    (took, output.stdout.len())
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    if args.iter().any(|a| a == "--list") {
        return;
    }
    // `-- --serve DIALECT`: serve one stream until killed and print its URL, to profile a
    // whole `aish -c` run (`perf record`) against it.
    if let Some(at) = args.iter().position(|a| a == "--serve") {
        let dialect = args.get(at + 1).map_or("aish", String::as_str);
        let server = serve(&body(dialect));
        println!("{}", server.url("/v1/bench"));
        loop {
            std::thread::park();
        }
    }
    // One thread, as `aish -c` runs: the plugin and the native reader each read and parse where
    // the bytes arrive.
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    let cache = tempfile::tempdir().unwrap();
    let (registry, _) = Registry::discover(std::path::Path::new("/nonexistent"));
    let config = match args.iter().any(|a| a == "--fresh") {
        true => Config::parse("[plugins.sse]\nreuse_instance = false\n", std::path::Path::new("bench")).unwrap(),
        false => Config::default(),
    };
    let connector =
        Connector::new(Arc::new(Runtime::new(Some(cache.path().to_path_buf()))), Arc::new(registry), Arc::new(config));
    // One client for every native run, as the plugin runtime keeps one.
    let client = runtime.block_on(async { reqwest::Client::new() });
    let curl = Command::new("curl").arg("--version").stdout(Stdio::null()).status().is_ok_and(|s| s.success());
    let wire_name = if curl { "curl -N" } else { "byte reader" };
    let expected: usize = (0..CHUNKS).map(|i| token(i).len()).sum();
    // `-- --repeat native|plugin STREAM [TIMES] [--fresh]` (`aish-ids`, say): that measure alone,
    // 50 times (or TIMES), to profile it or average it.
    if let Some(at) = args.iter().position(|a| a == "--repeat") {
        let (what, stream) =
            (args.get(at + 1).map_or("plugin", String::as_str), args.get(at + 2).map_or("aish", String::as_str));
        let (served, dialect) = (Served::start(stream), dialect_of(stream));
        let url = served.url.clone();
        runtime.block_on(plugin(&connector, dialect, &url));
        let times = args.get(at + 3).and_then(|n| n.parse::<u32>().ok()).unwrap_or(50).max(1);
        let ((), wall, cpu) = timed(|| {
            for _ in 0..times {
                let read = match what {
                    "native" => runtime.block_on(native(&client, dialect, &url)),
                    _ => runtime.block_on(plugin(&connector, dialect, &url)),
                };
                assert_eq!(read, expected);
            }
        });
        let each = |d: Duration| d.as_secs_f64() * 1000.0 / f64::from(times);
        match cpu {
            Some(cpu) => println!("{what} {stream}: {:.3} ms a run, {:.3} ms CPU", each(wall), each(cpu)),
            None => println!("{what} {stream}: {:.3} ms a run", each(wall)),
        }
        return;
    }

    println!(
        "aish streaming benchmark: {CHUNKS} chunks per stream, median of {RUNS} runs (seconds; ratios in brackets)\n"
    );
    println!(
        "{:<18} {:>7} {:>16} {:>16} {:>16} {:>16}",
        "stream", "MiB", wire_name, "native parse", "wasm plugin", "aish -c"
    );
    // `-- --only STREAM`: that stream's rows alone.
    let only = args.iter().position(|a| a == "--only").and_then(|at| args.get(at + 1));
    for stream in ["openai", "openai-obfuscated", "responses", "anthropic", "aish", "aish-ids"] {
        if only.is_some_and(|only| only != stream) {
            continue;
        }
        let body = body(stream);
        let dialect = dialect_of(stream);
        let served = Served::start(stream);
        let url = served.url.clone();
        let home = tempfile::tempdir().unwrap();
        std::fs::write(
            home.path().join("config.toml"),
            format!("[ai.bench]\nurl = \"{url}\"\ndialect = \"{dialect}\"\n"),
        )
        .unwrap();
        // Warm up: compile the plugin into both caches, fill the page cache.
        runtime.block_on(plugin(&connector, dialect, &url));
        aish_run(home.path(), "bench go");
        let (mut wires, mut natives, mut plugins, mut whole) = (Vec::new(), Vec::new(), Vec::new(), Vec::new());
        let (mut ratios, mut native_cpus, mut plugin_cpus) = (Vec::new(), Vec::new(), Vec::new());
        for run in 0..RUNS {
            for pair in 0..PAIRS {
                let read_native = || timed(|| runtime.block_on(native(&client, dialect, &url)));
                let read_plugin = || timed(|| runtime.block_on(plugin(&connector, dialect, &url)));
                // Each goes first in every other pair: the one read second finds the caches
                // filled by the other's code and data.
                let ((read, native, native_cpu), (plugin_read, plugin, plugin_cpu)) = match pair % 2 {
                    0 => (read_native(), read_plugin()),
                    _ => {
                        let plugin = read_plugin();
                        (read_native(), plugin)
                    }
                };
                assert_eq!(read, expected, "native read every token");
                assert_eq!(plugin_read, expected, "the plugin read every token");
                // Each pair's ratio, so a slow spell of the machine counts against both sides.
                ratios.push(plugin.as_secs_f64() / native.as_secs_f64());
                if let Some((plugin, native)) = plugin_cpu.zip(native_cpu) {
                    native_cpus.push(native);
                    plugin_cpus.push(plugin);
                }
                natives.push(native);
                plugins.push(plugin);
            }
            // curl and `aish -c` side by side, taking turns to go first, so that whatever state
            // the reads above left the machine in weighs on both.
            let whole_run = || {
                let (took, printed) = aish_run(home.path(), "bench go");
                assert_eq!(printed, expected + 1, "aish printed every token and a line end");
                took
            };
            if run % 2 == 0 {
                wires.push(wire(&url, curl));
                whole.push(whole_run());
            } else {
                whole.push(whole_run());
                wires.push(wire(&url, curl));
            }
        }
        // Each reader's fastest read: what its code costs when nothing else on the machine
        // got in the way (interference only ever adds time).
        let fastest = |plugins: &[Duration], natives: &[Duration]| {
            let least = |reads: &[Duration]| reads.iter().min().map_or(0.0, Duration::as_secs_f64);
            least(plugins) / least(natives)
        };
        let fastest_wall = fastest(&plugins, &natives);
        let fastest_cpu = (!plugin_cpus.is_empty()).then(|| fastest(&plugin_cpus, &native_cpus));
        let (wire, native, plugin, whole) = (median(wires), median(natives), median(plugins), median(whole));
        let cell = |d: Duration, base: Duration| {
            format!("{:.3} ({:.2}x)", d.as_secs_f64(), d.as_secs_f64() / base.as_secs_f64())
        };
        println!(
            "{stream:<18} {:>7.1} {:>16} {:>16} {:>16} {:>16}",
            body.len() as f64 / (1 << 20) as f64,
            format!("{:.3}", wire.as_secs_f64()),
            cell(native, wire),
            cell(plugin, wire),
            cell(whole, wire),
        );
        let cpu = |ratio: Option<f64>| ratio.map_or(String::new(), |ratio| format!(", CPU {ratio:.2}x"));
        let cpu_ratios: Vec<f64> = plugin_cpus
            .iter()
            .zip(&native_cpus)
            .map(|(plugin, native)| plugin.as_secs_f64() / native.as_secs_f64())
            .collect();
        let median_cpu = (!cpu_ratios.is_empty()).then(|| median_ratio(cpu_ratios));
        println!(
            "{:>93}",
            format!(
                "plugin/native: median of pairs {:.2}x{}; fastest reads {fastest_wall:.2}x{}",
                median_ratio(ratios),
                cpu(median_cpu),
                cpu(fastest_cpu)
            )
        );
    }

    // One token: start-up, connection and the first token, against curl doing the same request.
    let server = serve(b"data: {\"event\":\"token\",\"data\":{\"token\":\"hi\"}}\n\nevent: done\ndata: {}\n\n");
    let url = server.url("/v1/one");
    let home = tempfile::tempdir().unwrap();
    std::fs::write(home.path().join("config.toml"), format!("[ai.one]\nurl = \"{url}\"\n")).unwrap();
    aish_run(home.path(), "one go");
    let (mut wires, mut whole) = (Vec::new(), Vec::new());
    for _ in 0..RUNS * 4 {
        wires.push(wire(&url, curl));
        whole.push(aish_run(home.path(), "one go").0);
    }
    let (wire, whole) = (median(wires), median(whole));
    println!(
        "\none-token round trip, start-up included: {wire_name} {:.4} s, aish -c {:.4} s ({:.2}x; aim 1.1x or less)",
        wire.as_secs_f64(),
        whole.as_secs_f64(),
        whole.as_secs_f64() / wire.as_secs_f64()
    );
}
