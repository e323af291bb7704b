//! A WebSocket server on 127.0.0.1:0 (tokio-tungstenite, an independent RFC 6455
//! implementation) whose every connection runs a script the test writes, on its own runtime.

use std::future::Future;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::{Arc, Mutex};

use futures::{SinkExt, StreamExt};
use tokio::io::{AsyncRead, AsyncWrite};
use tokio_tungstenite::WebSocketStream;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::handshake::server::{Request, Response};
use tokio_tungstenite::tungstenite::protocol::CloseFrame;
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;

/// A byte stream: TCP, or TLS over TCP.
pub trait Io: AsyncRead + AsyncWrite + Unpin + Send {}
impl<T: AsyncRead + AsyncWrite + Unpin + Send> Io for T {}

/// One accepted connection, handed to the script.
pub struct Conn {
    pub ws: WebSocketStream<Box<dyn Io>>,
    /// The handshake's header fields, names in lower case.
    pub headers: Vec<(String, String)>,
}

impl Conn {
    /// The next text message from the client, parsed as JSON; pongs and pings are skipped.
    pub async fn message(&mut self) -> serde_json::Value {
        loop {
            match self.ws.next().await {
                Some(Ok(Message::Text(text))) => return serde_json::from_str(text.as_str()).expect("client sent JSON"),
                Some(Ok(Message::Ping(_) | Message::Pong(_))) => continue,
                other => panic!("expected a text message, got {other:?}"),
            }
        }
    }

    /// Sends a text message.
    pub async fn text(&mut self, text: &str) {
        self.ws.send(Message::text(text)).await.expect("send text");
    }

    /// Sends one `aish` token frame.
    pub async fn token(&mut self, token: &str) {
        self.text(&serde_json::json!({"event": "token", "data": {"token": token}}).to_string()).await;
    }

    /// Sends a close frame with a code and reason.
    pub async fn close(&mut self, code: u16, reason: &str) {
        let frame = CloseFrame { code: CloseCode::from(code), reason: reason.to_owned().into() };
        let _ = self.ws.send(Message::Close(Some(frame))).await;
    }
}

/// Header fields, names in lower case.
pub type Headers = Vec<(String, String)>;

type Script = dyn Fn(Conn) -> Pin<Box<dyn Future<Output = ()> + Send>> + Send + Sync;

/// The server; it stops when dropped.
pub struct WsServer {
    pub addr: SocketAddr,
    /// Each connection's handshake headers, in order.
    pub handshakes: Arc<Mutex<Vec<Headers>>>,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
}

impl WsServer {
    /// Serves every connection with `script`.
    pub fn start<F, Fut>(script: F) -> WsServer
    where
        F: Fn(Conn) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = ()> + Send + 'static,
    {
        Self::start_with(None, script)
    }

    /// The same over TLS (`wss://`) when `tls` is given.
    pub fn start_with<F, Fut>(tls: Option<tokio_rustls::TlsAcceptor>, script: F) -> WsServer
    where
        F: Fn(Conn) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = ()> + Send + 'static,
    {
        let script: Arc<Script> = Arc::new(move |conn| Box::pin(script(conn)));
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1:0");
        listener.set_nonblocking(true).unwrap();
        let addr = listener.local_addr().unwrap();
        let handshakes = Arc::new(Mutex::new(Vec::new()));
        let seen = handshakes.clone();
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
            runtime.block_on(async move {
                let listener = tokio::net::TcpListener::from_std(listener).unwrap();
                let serve = async {
                    loop {
                        let Ok((stream, _)) = listener.accept().await else { continue };
                        let (script, seen, tls) = (script.clone(), seen.clone(), tls.clone());
                        tokio::spawn(async move {
                            let stream: Box<dyn Io> = match tls {
                                Some(tls) => match tls.accept(stream).await {
                                    Ok(stream) => Box::new(stream),
                                    Err(_) => return,
                                },
                                None => Box::new(stream),
                            };
                            let headers = Arc::new(Mutex::new(Vec::new()));
                            let record = headers.clone();
                            // The callback's signature is tungstenite's, large error type and all.
                            #[allow(clippy::result_large_err)]
                            let callback = move |request: &Request, response: Response| {
                                *record.lock().unwrap() = request
                                    .headers()
                                    .iter()
                                    .map(|(n, v)| (n.as_str().to_owned(), v.to_str().unwrap_or("").to_owned()))
                                    .collect();
                                Ok(response)
                            };
                            let Ok(ws) = tokio_tungstenite::accept_hdr_async(stream, callback).await else { return };
                            let headers = headers.lock().unwrap().clone();
                            seen.lock().unwrap().push(headers.clone());
                            script(Conn { ws, headers }).await;
                        });
                    }
                };
                tokio::select! {
                    _ = serve => {}
                    _ = stopped => {}
                }
            });
        });
        WsServer { addr, handshakes, stop: Some(stop) }
    }

    /// `ws://127.0.0.1:PORT{path}`.
    pub fn url(&self, path: &str) -> String {
        format!("ws://{}{path}", self.addr)
    }
}

impl Drop for WsServer {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }
}
