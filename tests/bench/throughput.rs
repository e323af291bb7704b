//! Throughput benchmark with its own report: `cargo bench -p aish --bench throughput`.
//!
//! A. Events per second through the WebAssembly SSE plugin against native parsing
//!    (eventsource-stream plus serde_json) of the same bytes from the same loopback server.
//! B. A 100,000-event stream over loopback through `aish -c` against `curl -N`.
//! C. The same tokens as WebSocket messages through the WebAssembly WebSocket plugin, against
//!    the SSE plugin (A).
//!
//! Each figure is the median of several runs; the ratios are what to compare, since the
//! machines are shared and noisy.

#[path = "../support/server.rs"]
mod server;
#[allow(dead_code)]
#[path = "../support/ws.rs"]
mod ws;

use std::borrow::Cow;
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use futures::StreamExt;
use serde::Deserialize;
use serde_json::{Value, json};

use aish::config::Config;
use aish::plugin::{Registry, Runtime};
use aish::transport::{ConnectOptions, Connector, Event, Outgoing};
use server::{Part, Reply, TestServer};

const EVENTS: usize = 100_000;
const RUNS: usize = 5;

/// The stream: EVENTS token events in the aish dialect, then `done`, in 64 KiB writes.
fn stream_body() -> Vec<u8> {
    let mut body = Vec::with_capacity(EVENTS * 64);
    for i in 0..EVENTS {
        body.extend_from_slice(
            format!("data: {{\"event\":\"token\",\"data\":{{\"token\":\"tok{} \"}}}}\n\n", i % 1000).as_bytes(),
        );
    }
    body.extend_from_slice(b"event: done\ndata: {}\n\n");
    body
}

fn serve(body: Vec<u8>) -> TestServer {
    let parts: Vec<Part> = body.chunks(64 * 1024).map(|c| Part::Data(c.to_vec())).collect();
    let reply = Reply { status: 200, headers: vec![("content-type".into(), "text/event-stream".into())], parts };
    TestServer::always(reply)
}

fn median(mut samples: Vec<Duration>) -> Duration {
    samples.sort();
    samples[samples.len() / 2]
}

/// Native: reqwest, eventsource-stream and serde_json, reading the same fields the plugin reads.
async fn native(url: &str) -> (usize, usize) {
    #[derive(Deserialize)]
    struct Message<'a> {
        #[serde(borrow)]
        event: Option<Cow<'a, str>>,
        data: Option<Value>,
    }
    let response = reqwest::Client::new().post(url).body("{}").send().await.expect("native request");
    let mut events = eventsource_stream::EventStream::new(response.bytes_stream());
    let (mut tokens, mut bytes) = (0, 0);
    while let Some(event) = events.next().await {
        let event = event.expect("native event");
        if event.event == "done" {
            break;
        }
        let message: Message<'_> = serde_json::from_str(&event.data).expect("JSON");
        if message.event.as_deref() == Some("token")
            && let Some(token) = message.data.as_ref().and_then(|d| d.get("token")).and_then(Value::as_str)
        {
            tokens += 1;
            bytes += token.len();
        }
    }
    (tokens, bytes)
}

/// Through the compiled SSE plugin, as aish runs it.
async fn wasm(connector: &Connector, url: &str) -> (usize, usize) {
    through(connector, "sse", url).await
}

/// Through a compiled transport plugin, as aish runs it.
async fn through(connector: &Connector, transport: &str, url: &str) -> (usize, usize) {
    let host = aish::plugin::capabilities::host_pattern_of(url).unwrap();
    let grant = connector.grant(transport, &[host]).unwrap();
    let options =
        ConnectOptions { url: url.into(), dialect: "aish".into(), model: None, api_key: None, settings: json!({}) };
    let mut session = connector.connect(transport, grant, options).await.expect("connect");
    session.send(&Outgoing::new("go", json!({}), true)).await.expect("send");
    let (mut tokens, mut bytes) = (0, 0);
    loop {
        let events = session.receive().await.expect("receive");
        if events.is_empty() {
            break;
        }
        for event in events {
            match event {
                Event::Token(text) => bytes += text.len(),
                Event::Done(usage) => tokens = usage.and_then(|u| u.output_tokens).unwrap_or(0) as usize,
                _ => {}
            }
        }
    }
    session.close().await;
    (tokens, bytes)
}

fn time_command(command: &mut Command) -> Duration {
    let started = Instant::now();
    let status = command.stdout(Stdio::null()).stderr(Stdio::null()).status().expect("run command");
    assert!(status.success(), "{command:?} failed");
    started.elapsed()
}

fn main() {
    if std::env::args().any(|a| a == "--list") {
        return;
    }
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let body = stream_body();
    let server = serve(body.clone());
    let url = server.url("/ai/bench");
    let cache = tempfile::tempdir().unwrap();
    let (registry, _) = Registry::discover(std::path::Path::new("/nonexistent"));
    let connector = Connector::new(
        Arc::new(Runtime::new(Some(cache.path().to_path_buf())).unwrap()),
        Arc::new(registry),
        Arc::new(Config::default()),
    );

    println!(
        "aish throughput benchmark: {EVENTS} events, {:.1} MiB, median of {RUNS} runs\n",
        body.len() as f64 / (1 << 20) as f64
    );
    // A: the plugin against native parsing of the same bytes.
    let native_time = runtime.block_on(async {
        let _ = wasm(&connector, &url).await; // compile and warm up
        let (mut native_times, mut wasm_times) = (Vec::new(), Vec::new());
        for _ in 0..RUNS {
            let started = Instant::now();
            let (n, _) = native(&url).await;
            native_times.push(started.elapsed());
            assert_eq!(n, EVENTS, "native saw every event");
            let started = Instant::now();
            let (n, _) = wasm(&connector, &url).await;
            wasm_times.push(started.elapsed());
            assert_eq!(n, EVENTS, "the plugin saw every event");
        }
        let (native, wasm) = (median(native_times), median(wasm_times));
        let rate = |d: Duration| EVENTS as f64 / d.as_secs_f64();
        println!("A. SSE parsing over loopback (events/s, higher is better)");
        println!("   native eventsource-stream + serde_json  {:>12.0}  ({:.3} s)", rate(native), native.as_secs_f64());
        println!("   WASM sse plugin via aish's runtime      {:>12.0}  ({:.3} s)", rate(wasm), wasm.as_secs_f64());
        println!(
            "   ratio WASM/native                       {:>12.2}x  (target 0.8x or better)\n",
            rate(wasm) / rate(native)
        );
        websocket_section(&connector, wasm).await;
        native
    });

    // B: the whole aish binary against curl on the same stream.
    let home = tempfile::tempdir().unwrap();
    std::fs::write(home.path().join("config.toml"), format!("[ai.bench]\nurl = \"{url}\"\n")).unwrap();
    let aish = || {
        let mut command = Command::new(env!("CARGO_BIN_EXE_aish"));
        command.args(["-c", "echo go | bench"]).env("AISH_HOME", home.path());
        command
    };
    let curl_available =
        Command::new("curl").arg("--version").stdout(Stdio::null()).status().is_ok_and(|s| s.success());
    if !curl_available {
        println!("B. skipped: curl is not installed");
        return;
    }
    let curl = || {
        let mut command = Command::new("curl");
        command.args(["-sN", "-X", "POST", "-H", "content-type: application/json", "-d", "{\"message\":\"go\"}", &url]);
        command
    };
    let output = aish().output().expect("aish runs");
    assert!(output.status.success(), "aish failed: {}", String::from_utf8_lossy(&output.stderr));
    assert_eq!(output.stdout.len(), expected_answer_len(), "aish printed every token");
    let (mut aish_times, mut curl_times) = (Vec::new(), Vec::new());
    for _ in 0..RUNS {
        curl_times.push(time_command(&mut curl()));
        aish_times.push(time_command(&mut aish()));
    }
    let (aish_time, curl_time) = (median(aish_times), median(curl_times));
    println!("B. {EVENTS}-event stream over loopback, whole process (seconds, lower is better)");
    println!("   curl -N (bytes only)                    {:>12.3}", curl_time.as_secs_f64());
    println!("   aish -c 'echo go | bench'               {:>12.3}", aish_time.as_secs_f64());
    println!(
        "   ratio aish/curl                         {:>12.2}x  (target 1.3x or better)",
        aish_time.as_secs_f64() / curl_time.as_secs_f64()
    );
    // curl copies bytes and parses nothing; this line shows what parsing alone costs.
    println!(
        "   for scale: native parsing alone (A)     {:>12.3}  ({:.2}x curl)",
        native_time.as_secs_f64(),
        native_time.as_secs_f64() / curl_time.as_secs_f64()
    );
}

/// C: the same tokens as WebSocket messages, one frame each, through the websocket plugin.
async fn websocket_section(connector: &Connector, sse: Duration) {
    use futures::SinkExt;
    let server = ws::WsServer::start(|mut conn| async move {
        conn.message().await;
        for i in 0..EVENTS {
            let frame = format!("{{\"event\":\"token\",\"data\":{{\"token\":\"tok{} \"}}}}", i % 1000);
            // Queued without a flush each, as a server streaming fast writes them.
            conn.ws.feed(tokio_tungstenite::tungstenite::Message::text(frame)).await.unwrap();
        }
        conn.ws.feed(tokio_tungstenite::tungstenite::Message::text(r#"{"event":"done"}"#)).await.unwrap();
        conn.ws.flush().await.unwrap();
        // Wait for the client's close.
        while conn.ws.next().await.is_some_and(|m| m.is_ok()) {}
    });
    let url = server.url("/ai/bench");
    let _ = through(connector, "websocket", &url).await; // compile and warm up
    let mut times = Vec::new();
    for _ in 0..RUNS {
        let started = Instant::now();
        let (n, _) = through(connector, "websocket", &url).await;
        times.push(started.elapsed());
        assert_eq!(n, EVENTS, "the websocket plugin saw every message");
    }
    let time = median(times);
    let rate = |d: Duration| EVENTS as f64 / d.as_secs_f64();
    println!("C. WebSocket messages over loopback (messages/s, higher is better)");
    println!("   WASM websocket plugin via aish's runtime {:>11.0}  ({:.3} s)", rate(time), time.as_secs_f64());
    println!("   ratio websocket/sse plugin               {:>11.2}x\n", rate(time) / rate(sse));
}

/// What aish prints for the benchmark stream: every token, then a newline.
fn expected_answer_len() -> usize {
    (0..EVENTS).map(|i| format!("tok{} ", i % 1000).len()).sum::<usize>() + 1
}
