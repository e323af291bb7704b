//! The `websocket` transport against a real WebSocket server (tokio-tungstenite): the `aish`
//! dialect's frames, fragmented messages, ping/pong, close codes, a connection cut without a
//! close frame, 16 MiB messages, heartbeat and dead connections, and fallback when the upgrade
//! is refused.

use std::time::Duration;

use futures::{SinkExt, StreamExt};
use serde_json::json;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::protocol::frame::Frame;
use tokio_tungstenite::tungstenite::protocol::frame::coding::{Data, OpCode};

use aish::transport::{ErrorKind, Event};

use crate::support::server::{Reply, TestServer};
use crate::support::ws::WsServer;
use crate::support::{aish, aish_with_env, ask, ask_with_settings, connector, home, write_config};

fn fragment(text: &str, first: bool, last: bool) -> Message {
    let opcode = if first { OpCode::Data(Data::Text) } else { OpCode::Data(Data::Continue) };
    Message::Frame(Frame::message(text.as_bytes().to_vec(), opcode, last))
}

#[test]
fn an_ai_answers_over_websocket_with_fragments_and_pings() {
    let server = WsServer::start(|mut conn| async move {
        let request = conn.message().await;
        conn.text(&json!({"seen": request}).to_string()).await;
        conn.token("Hello").await;
        // One token message in three fragments, a ping in the middle (RFC 6455 section 5.4).
        conn.ws.send(fragment(r#"{"event":"token","da"#, true, false)).await.unwrap();
        conn.ws.send(Message::Ping(b"are you there".to_vec().into())).await.unwrap();
        // The client must answer the ping, with the same payload, before the rest comes.
        loop {
            match conn.ws.next().await {
                Some(Ok(Message::Pong(payload))) => {
                    assert_eq!(&payload[..], b"are you there");
                    break;
                }
                Some(Ok(Message::Ping(_))) => continue,
                other => panic!("expected a pong, got {other:?}"),
            }
        }
        conn.ws.send(fragment(r#"ta":{"token":", wor"#, false, false)).await.unwrap();
        conn.ws.send(fragment(r#"ld"}}"#, false, true)).await.unwrap();
        conn.text(r#"{"event":"done"}"#).await;
        // A polite client closes after the answer.
        while let Some(Ok(message)) = conn.ws.next().await {
            if let Message::Close(frame) = message {
                assert_eq!(frame.map(|f| u16::from(f.code)), Some(1000));
                break;
            }
        }
    });
    let home = home();
    write_config(
        home.path(),
        &format!(
            "[ai.sock]\nurl = \"{}\"\ntransport = \"websocket\"\napi_key_env = \"AISH_TEST_WS_KEY\"\n",
            server.url("/chat?room=1")
        ),
    );
    let run = aish_with_env(home.path(), &["-c", "echo hi there | sock"], None, &[("AISH_TEST_WS_KEY", "sk-ws")]);
    assert_eq!(run.code, 0, "{run:?}");
    assert_eq!(run.stdout, "Hello, world\n");
    let handshakes = server.handshakes.lock().unwrap().clone();
    assert_eq!(handshakes.len(), 1);
    let header = |name: &str| handshakes[0].iter().find(|(n, _)| n == name).map(|(_, v)| v.clone());
    assert_eq!(header("authorization").as_deref(), Some("Bearer sk-ws"));
    assert_eq!(header("host"), Some(server.addr.to_string()));
    let history = std::fs::read_to_string(home.path().join("history.jsonl")).unwrap();
    assert!(history.contains(r#""sock":"Hello, world""#), "{history}");
}

#[tokio::test(flavor = "multi_thread")]
async fn the_message_frame_carries_the_message_and_context() {
    let (tx, rx) = std::sync::mpsc::channel();
    let server = WsServer::start(move |mut conn| {
        let tx = tx.clone();
        async move {
            tx.send(conn.message().await).unwrap();
            conn.text(r#"{"event":"done"}"#).await;
        }
    });
    let answer = ask(&connector(None, ""), "websocket", &server.url("/"), "aish", "the question").await;
    assert!(answer.error.is_none(), "{:?}", answer.error);
    assert_eq!(
        rx.recv_timeout(Duration::from_secs(5)).unwrap(),
        json!({"message": "the question", "context": {}, "history": []})
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn an_error_frame_fails_the_answer_and_keeps_what_arrived() {
    let server = WsServer::start(|mut conn| async move {
        conn.message().await;
        conn.token("partial ").await;
        conn.text(r#"{"event":"error","data":{"message":"the model is overloaded"}}"#).await;
    });
    let answer = ask(&connector(None, ""), "websocket", &server.url("/"), "aish", "hi").await;
    assert_eq!(answer.text(), "partial ");
    assert_eq!(answer.events.last(), Some(&Event::Error("the model is overloaded".into())));
}

#[tokio::test(flavor = "multi_thread")]
async fn close_codes_and_cut_connections_are_named() {
    // A close frame with an error code before the answer's end.
    let server = WsServer::start(|mut conn| async move {
        conn.message().await;
        conn.token("so far").await;
        conn.close(1011, "backend crashed").await;
    });
    let answer = ask(&connector(None, ""), "websocket", &server.url("/"), "aish", "hi").await;
    assert_eq!(answer.text(), "so far", "what arrived is kept");
    let error = answer.error.expect("an error");
    assert_eq!(error.kind, ErrorKind::Server);
    assert!(
        error.message.contains("closed the WebSocket (1011 internal server error: backend crashed)"),
        "{}",
        error.message
    );

    // The TCP connection cut with no close frame at all.
    let server = WsServer::start(|mut conn| async move {
        conn.message().await;
        conn.token("half an ans").await;
        drop(conn);
    });
    let answer = ask(&connector(None, ""), "websocket", &server.url("/"), "aish", "hi").await;
    assert_eq!(answer.text(), "half an ans");
    let error = answer.error.expect("an error");
    assert_eq!(error.kind, ErrorKind::Interrupted);
    assert!(error.message.contains("without a WebSocket close frame"), "{}", error.message);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_message_of_16_mib_arrives_whole() {
    let big = "x".repeat(16 << 20);
    let expected = big.clone();
    let server = WsServer::start(move |mut conn| {
        let big = big.clone();
        async move {
            conn.message().await;
            conn.token(&big).await;
            conn.text(r#"{"event":"done"}"#).await;
        }
    });
    let connector = connector(None, "");
    let answer = ask(&connector, "websocket", &server.url("/"), "aish", "hi").await;
    assert!(answer.error.is_none(), "{:?}", answer.error);
    assert!(answer.text() == expected, "16 MiB token arrived: {} bytes", answer.text().len());
}

#[tokio::test(flavor = "multi_thread")]
async fn pings_keep_a_quiet_connection_alive_and_silence_counts_as_dead() {
    // The server says nothing for 3 heartbeat intervals, but answers pings (tungstenite pongs
    // as it reads): the connection stays up.
    let (tx, rx) = std::sync::mpsc::channel();
    let server = WsServer::start(move |mut conn| {
        let tx = tx.clone();
        async move {
            conn.message().await;
            let mut pings = 0;
            let quiet = tokio::time::sleep(Duration::from_millis(900));
            tokio::pin!(quiet);
            loop {
                tokio::select! {
                    _ = &mut quiet => break,
                    message = conn.ws.next() => match message {
                        Some(Ok(Message::Ping(_))) => pings += 1,
                        Some(Ok(_)) => {}
                        _ => return,
                    },
                }
            }
            tx.send(pings).unwrap();
            conn.token("still here").await;
            conn.text(r#"{"event":"done"}"#).await;
        }
    });
    let settings = json!({"heartbeat_ms": 300});
    let answer =
        ask_with_settings(&connector(None, ""), "websocket", &server.url("/"), "aish", "hi", settings.clone(), |_| {})
            .await;
    assert!(answer.error.is_none(), "{:?}", answer.error);
    assert_eq!(answer.text(), "still here");
    let pings = rx.recv_timeout(Duration::from_secs(5)).unwrap();
    assert!(pings >= 2, "the client pinged while waiting: {pings}");
    assert!(!answer.events.iter().any(|e| matches!(e, Event::Token(t) if t.is_empty())));

    // A server that stops reading (so never pongs) and sends nothing: dead after 2 intervals.
    let server = WsServer::start(|mut conn| async move {
        conn.message().await;
        tokio::time::sleep(Duration::from_secs(10)).await;
    });
    let started = std::time::Instant::now();
    let answer =
        ask_with_settings(&connector(None, ""), "websocket", &server.url("/"), "aish", "hi", settings, |_| {}).await;
    let error = answer.error.expect("a dead connection");
    assert_eq!(error.kind, ErrorKind::Interrupted);
    assert!(error.message.contains("counts as dead"), "{}", error.message);
    assert!(started.elapsed() < Duration::from_secs(8), "gave up long before the server woke");
}

#[test]
fn a_refused_upgrade_falls_back_to_sse_and_says_so() {
    // A plain HTTP server: the upgrade GET is refused with 404, the SSE POST is answered.
    let server = TestServer::start(|request| {
        if request.method == "GET" {
            Reply::body(404, "text/plain", "no websockets here")
        } else {
            Reply::sse(["data: {\"event\":\"token\",\"data\":{\"token\":\"via sse\"}}\n\nevent: done\ndata: {}\n\n"])
        }
    });
    let home = home();
    write_config(
        home.path(),
        &format!("[ai.mixed]\nurl = \"{}\"\ntransport = \"websocket\"\nfallback = [\"sse\"]\n", server.url("/chat")),
    );
    let run = aish(home.path(), &["-c", "echo hi | mixed"], None);
    assert_eq!(run.code, 0, "{run:?}");
    assert_eq!(run.stdout, "via sse\n");
    assert!(
        run.stderr
            .contains(&format!("[degraded: {} refused the WebSocket upgrade (HTTP 404), using sse]", server.addr)),
        "{}",
        run.stderr
    );
    let history = std::fs::read_to_string(home.path().join("history.jsonl")).unwrap();
    assert!(history.contains(r#""degraded":true"#), "{history}");
}

#[test]
fn a_host_not_allowed_is_refused_before_connecting() {
    let server = WsServer::start(|_conn| async {});
    let home = home();
    write_config(
        home.path(),
        &format!(
            "[ai.sock]\nurl = \"{}\"\ntransport = \"websocket\"\n[plugins.websocket]\nallow_hosts = [\"example.com:443\"]\n",
            server.url("/")
        ),
    );
    let run = aish(home.path(), &["-c", "echo hi | sock"], None);
    assert_eq!(run.code, 1, "{run:?}");
    assert!(
        run.stderr.contains(&format!("plugin `websocket` may not reach {}", server.addr))
            && run.stderr.contains("[plugins.websocket] allow_hosts"),
        "{}",
        run.stderr
    );
    assert!(server.handshakes.lock().unwrap().is_empty());
}

#[test]
fn the_demo_ais_answer_over_websocket_and_http_after_a_switch() {
    let home = home();
    let script = home.path().join("s.aish");
    std::fs::write(&script, "transport apollo websocket\ntransport athena http\necho an idea | apollo | athena\n")
        .unwrap();
    let run = aish(home.path(), &[script.to_str().unwrap()], None);
    assert_eq!(run.code, 0, "{run:?}");
    assert!(run.stdout.contains("apollo now uses websocket") && run.stdout.contains("athena now uses http"));
    assert!(run.stdout.contains("Athena weighs") && run.stdout.contains("Apollo on"), "{}", run.stdout);
    assert!(!run.stderr.contains("degraded"), "{}", run.stderr);
}

#[test]
fn wss_verifies_the_certificate_and_trusts_a_ca_file() {
    let certified = rcgen::generate_simple_self_signed(vec!["localhost".to_owned()]).unwrap();
    let cert = certified.cert.der().clone();
    let key = rustls::pki_types::PrivateKeyDer::try_from(certified.signing_key.serialize_der()).unwrap();
    let provider = std::sync::Arc::new(rustls::crypto::ring::default_provider());
    let config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_no_client_auth()
        .with_single_cert(vec![cert], key)
        .unwrap();
    let acceptor = tokio_rustls::TlsAcceptor::from(std::sync::Arc::new(config));
    let server = WsServer::start_with(Some(acceptor), |mut conn| async move {
        conn.message().await;
        conn.token("over tls").await;
        conn.text(r#"{"event":"done"}"#).await;
    });
    let home = home();
    std::fs::write(home.path().join("ca.pem"), certified.cert.pem()).unwrap();
    let ai = format!("[ai.secure]\nurl = \"wss://localhost:{}/chat\"\ntransport = \"websocket\"\n", server.addr.port());

    // A certificate no trusted root vouches for is refused.
    write_config(home.path(), &ai);
    let run = aish(home.path(), &["-c", "echo hi | secure"], None);
    assert_eq!(run.code, 1, "{run:?}");
    assert!(run.stderr.contains("TLS handshake failed") && run.stderr.contains("UnknownIssuer"), "{}", run.stderr);

    // Trusted through the plugin's ca_file (relative to the config file).
    write_config(home.path(), &format!("{ai}[plugins.websocket]\nca_file = \"ca.pem\"\n"));
    let run = aish(home.path(), &["-c", "echo hi | secure"], None);
    assert_eq!((run.code, run.stdout.as_str()), (0, "over tls\n"), "{run:?}");
}

#[test]
fn transport_probe_shows_what_the_websocket_plugin_yields() {
    let server = WsServer::start(|mut conn| async move {
        conn.message().await;
        conn.token("probed").await;
        conn.ws.send(Message::Ping(b"x".to_vec().into())).await.unwrap();
        conn.text(r#"{"event":"done"}"#).await;
    });
    let home = home();
    let probe = |dialect: &str, url: &str| {
        let run = aish(
            home.path(),
            &["transport", "probe", "--transport", "websocket", "--dialect", dialect, url, "hi"],
            None,
        );
        assert_eq!(run.code, 0, "{run:?}");
        run.stdout.lines().map(|l| serde_json::from_str(l).unwrap()).collect::<Vec<serde_json::Value>>()
    };
    let lines = probe("aish", &server.url("/"));
    assert_eq!(lines.first(), Some(&json!({"type": "token", "text": "probed"})), "{lines:?}");
    assert_eq!(lines.last().map(|l| l["type"].clone()), Some(json!("done")), "{lines:?}");

    // The raw dialect: the message goes as it is, every text message comes back as an event,
    // and the server's normal close ends the stream.
    let raw = WsServer::start(|mut conn| async move {
        let Some(Ok(Message::Text(text))) = conn.ws.next().await else { panic!("a text message") };
        conn.text(&format!("you said {text}")).await;
        conn.text("bye").await;
        conn.close(1000, "").await;
    });
    let lines = probe("raw", &raw.url("/"));
    assert_eq!(
        lines,
        vec![
            json!({"type": "event", "event": "message", "data": "you said hi", "id": ""}),
            json!({"type": "event", "event": "message", "data": "bye", "id": ""}),
            json!({"type": "done"}),
        ]
    );
}
