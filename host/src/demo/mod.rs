//! The demo AIs aish serves itself on 127.0.0.1 when no AI is configured, in the `aish` dialect
//! over SSE, WebSocket (the same URL, upgraded) and plain HTTP (`"stream": false`), so a new user
//! sees streaming, pipelines, history and transport switching with no API key, through the same
//! transport plugins a real backend uses.

mod personas;

use std::convert::Infallible;
use std::net::SocketAddr;
use std::time::Duration;

use bytes::Bytes;
use http_body_util::{BodyExt, Full, StreamBody, combinators::BoxBody};
use hyper::body::{Frame, Incoming};
use hyper::{Request, Response, StatusCode};
use serde_json::{Value, json};
use tokio::net::TcpListener;

pub use personas::{PERSONAS, Persona};

use aish::config::{AiConfig, Config};

/// Delay between demo tokens, so streaming is visible (`AISH_DEMO_DELAY_MS` overrides it).
const DEFAULT_TOKEN_DELAY: Duration = Duration::from_millis(25);

/// A running demo server.
pub struct DemoServer {
    addr: SocketAddr,
    task: tokio::task::JoinHandle<()>,
}

impl DemoServer {
    /// Starts serving on 127.0.0.1 on a free port.
    pub async fn start() -> std::io::Result<DemoServer> {
        let listener = TcpListener::bind(("127.0.0.1", 0)).await?;
        let addr = listener.local_addr()?;
        let delay = std::env::var("AISH_DEMO_DELAY_MS")
            .ok()
            .and_then(|v| v.parse().ok())
            .map(Duration::from_millis)
            .unwrap_or(DEFAULT_TOKEN_DELAY);
        let task = tokio::spawn(async move {
            loop {
                let Ok((stream, _)) = listener.accept().await else { continue };
                let io = hyper_util::rt::TokioIo::new(stream);
                tokio::spawn(async move {
                    let service = hyper::service::service_fn(move |req| handle(req, delay));
                    let _ =
                        hyper::server::conn::http1::Builder::new().serve_connection(io, service).with_upgrades().await;
                });
            }
        });
        Ok(DemoServer { addr, task })
    }

    /// Where it listens.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// The embedded default configuration: every demo AI over the `sse` plugin.
    pub fn config(&self) -> Config {
        let mut config = Config::default();
        for persona in PERSONAS {
            let url = format!("http://{}/ai/{}", self.addr, persona.name);
            config.ai.insert(persona.name.to_owned(), AiConfig::new(url, "sse", "aish"));
        }
        config
    }
}

impl Drop for DemoServer {
    fn drop(&mut self) {
        self.task.abort();
    }
}

type Body = BoxBody<Bytes, Infallible>;

async fn handle(request: Request<Incoming>, delay: Duration) -> Result<Response<Body>, Infallible> {
    let path = request.uri().path().to_owned();
    let Some(name) = path.strip_prefix("/ai/") else {
        let list: Vec<String> = PERSONAS.iter().map(|p| format!("{} - {}", p.name, p.about)).collect();
        return Ok(text(StatusCode::OK, "text/plain; charset=utf-8", list.join("\n") + "\n"));
    };
    let Some(persona) = Persona::find(name) else {
        return Ok(json_error(StatusCode::NOT_FOUND, &format!("no demo AI named {name}")));
    };
    if is_websocket_upgrade(&request) {
        return Ok(upgrade(request, persona, delay));
    }
    if request.method() != hyper::Method::POST {
        return Ok(json_error(StatusCode::METHOD_NOT_ALLOWED, "send a POST with a JSON message"));
    }
    let body = match request.into_body().collect().await {
        Ok(body) => body.to_bytes(),
        Err(_) => return Ok(json_error(StatusCode::BAD_REQUEST, "the request body could not be read")),
    };
    let Ok(request) = serde_json::from_slice::<Value>(&body) else {
        return Ok(json_error(StatusCode::BAD_REQUEST, "the body is not JSON"));
    };
    let message = request.get("message").and_then(Value::as_str).unwrap_or_default();
    let context = request.get("context").cloned().unwrap_or(Value::Null);
    let answer = persona.answer(message, &context, history(&request));
    if request.get("stream").and_then(Value::as_bool) == Some(false) {
        return Ok(text(StatusCode::OK, "application/json", json!({"response": answer}).to_string()));
    }
    let (tx, rx) = tokio::sync::mpsc::channel::<Result<Frame<Bytes>, Infallible>>(16);
    tokio::spawn(async move {
        let _ = tx.send(Ok(Frame::data(Bytes::from_static(b": aish demo\n\n")))).await;
        for token in personas::tokens(&answer) {
            let event = json!({"event": "token", "data": {"token": token}});
            if tx.send(Ok(Frame::data(Bytes::from(format!("data: {event}\n\n"))))).await.is_err() {
                return;
            }
            if !delay.is_zero() {
                tokio::time::sleep(delay).await;
            }
        }
        let _ = tx.send(Ok(Frame::data(Bytes::from_static(b"event: done\ndata: {}\n\n")))).await;
    });
    let body = StreamBody::new(tokio_stream_from(rx)).boxed();
    let response = Response::builder()
        .header("content-type", "text/event-stream")
        .header("cache-control", "no-cache")
        .body(body)
        .expect("static headers are valid");
    Ok(response)
}

fn is_websocket_upgrade(request: &Request<Incoming>) -> bool {
    let has = |name: &str, token: &str| {
        request
            .headers()
            .get_all(name)
            .iter()
            .any(|v| v.to_str().is_ok_and(|v| v.split(',').any(|t| t.trim().eq_ignore_ascii_case(token))))
    };
    request.method() == hyper::Method::GET && has("upgrade", "websocket") && has("connection", "upgrade")
}

/// Accepts a WebSocket upgrade and answers each text message `{"message", "context"}` with token
/// frames and a `done` frame, as the `aish` dialect does over WebSocket.
fn upgrade(mut request: Request<Incoming>, persona: &'static Persona, delay: Duration) -> Response<Body> {
    use futures::{SinkExt, StreamExt};
    use tokio_tungstenite::tungstenite::Message;
    use tokio_tungstenite::tungstenite::handshake::derive_accept_key;
    use tokio_tungstenite::tungstenite::protocol::Role;

    let Some(key) = request.headers().get("sec-websocket-key").map(|k| derive_accept_key(k.as_bytes())) else {
        return json_error(StatusCode::BAD_REQUEST, "a WebSocket upgrade needs Sec-WebSocket-Key");
    };
    let upgrading = hyper::upgrade::on(&mut request);
    tokio::spawn(async move {
        let Ok(upgraded) = upgrading.await else { return };
        let io = hyper_util::rt::TokioIo::new(upgraded);
        let mut socket = tokio_tungstenite::WebSocketStream::from_raw_socket(io, Role::Server, None).await;
        while let Some(Ok(message)) = socket.next().await {
            let Message::Text(text) = message else { continue };
            let request: Value = serde_json::from_str(text.as_str()).unwrap_or_default();
            let message = request.get("message").and_then(Value::as_str).unwrap_or_default();
            let context = request.get("context").cloned().unwrap_or(Value::Null);
            let answer = persona.answer(message, &context, history(&request));
            for token in personas::tokens(&answer) {
                let event = json!({"event": "token", "data": {"token": token}});
                if socket.send(Message::text(event.to_string())).await.is_err() {
                    return;
                }
                if !delay.is_zero() {
                    tokio::time::sleep(delay).await;
                }
            }
            if socket.send(Message::text(json!({"event": "done"}).to_string())).await.is_err() {
                return;
            }
        }
    });
    Response::builder()
        .status(StatusCode::SWITCHING_PROTOCOLS)
        .header("upgrade", "websocket")
        .header("connection", "Upgrade")
        .header("sec-websocket-accept", key)
        .body(Full::new(Bytes::new()).boxed())
        .expect("static headers are valid")
}

fn tokio_stream_from<T: Send + 'static>(
    mut rx: tokio::sync::mpsc::Receiver<T>,
) -> impl futures::Stream<Item = T> + Send + 'static {
    futures::stream::poll_fn(move |cx| rx.poll_recv(cx))
}

fn text(status: StatusCode, content_type: &str, body: String) -> Response<Body> {
    Response::builder()
        .status(status)
        .header("content-type", content_type)
        .body(Full::new(Bytes::from(body)).boxed())
        .expect("static headers are valid")
}

/// The conversation turns an `aish`-dialect request carries (none when it has no `history`).
fn history(request: &Value) -> &[Value] {
    request.get("history").and_then(Value::as_array).map_or(&[], Vec::as_slice)
}

fn json_error(status: StatusCode, message: &str) -> Response<Body> {
    text(status, "application/json", json!({"error": message}).to_string())
}
