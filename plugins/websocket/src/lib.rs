//! The WebSocket transport plugin (RFC 6455): opens `ws://` or `wss://` (an `http(s)://` URL is
//! upgraded the way browsers do), sends each message as one text frame and turns the frames the
//! server sends into events, in any dialect the `aish-dialects` crate speaks. Pings keep the
//! connection alive; silence for twice the ping interval counts as a dead connection.

pub mod frame;
pub mod handshake;
#[cfg(test)]
mod proptests;

use std::time::{Duration, Instant};

use aish_dialects::http::retry_after_ms;
use aish_dialects::{AnswerState, Dialect, Message, Progress};
use aish_plugin_sdk::socket::{
    Connection, Endpoint, Read, dead_connection, random_u64, transport_error as socket_error,
};
use aish_plugin_sdk::{ConnectOptions, ErrorKind, Event, Outgoing, Transport, TransportError};
use frame::{Decoder, Frame, opcode};

/// The largest message accepted: a 16 MiB answer in one frame, with room for its JSON.
pub const MESSAGE_LIMIT: usize = 20 << 20;
/// The most one socket read asks for.
const READ_SIZE: usize = 1 << 20;

/// One WebSocket conversation.
pub struct WebSocket {
    connection: Connection,
    peer: String,
    dialect: Dialect,
    decoder: Decoder,
    /// How often to ping; no byte for twice this long means the connection is dead.
    interval: Duration,
    last_seen: Instant,
    next_ping: Instant,
    /// Finished, or failed with an error that waits for the events before it.
    state: AnswerState,
    /// We sent our close frame.
    close_sent: bool,
    rng: u64,
}

impl Transport for WebSocket {
    fn connect(options: ConnectOptions) -> Result<Self, TransportError> {
        let endpoint = Endpoint::parse(&options.url).map_err(|e| TransportError::new(ErrorKind::InvalidInput, e))?;
        let tls = match endpoint.scheme.as_str() {
            "ws" | "http" => false,
            "wss" | "https" => true,
            other => {
                return Err(TransportError::new(
                    ErrorKind::InvalidInput,
                    format!("websocket needs a ws://, wss://, http:// or https:// URL, not {other}://"),
                ));
            }
        };
        let default_port = if tls { 443 } else { 80 };
        let port = endpoint.port.unwrap_or(default_port);
        let peer = endpoint.authority(port);
        let api_key = options.api_key.clone();
        let dialect = Dialect::new(options)?;
        let interval = dialect.heartbeat();
        let connection = Connection::connect(&endpoint.host, port, tls).map_err(|e| socket_error(&e, true))?;
        let mut rng = random_u64() | 1;
        let mut nonce = [0u8; 16];
        nonce[..8].copy_from_slice(&next_random(&mut rng).to_le_bytes());
        nonce[8..].copy_from_slice(&next_random(&mut rng).to_le_bytes());
        let key = handshake::key(nonce);
        let host = match (port == default_port, endpoint.host.contains(':')) {
            (false, _) => peer.clone(),
            (true, true) => format!("[{}]", endpoint.host),
            (true, false) => endpoint.host.clone(),
        };
        let mut extra = Vec::new();
        if let Some(key) = api_key {
            extra.push(("Authorization".to_owned(), format!("Bearer {key}")));
        }
        connection
            .write(&handshake::request(&host, &endpoint.path, &key, &extra))
            .map_err(|e| socket_error(&e, true))?;
        let (head, rest) = read_head(&connection, &peer, interval * 2)?;
        check_upgrade(&head, &key, &peer)?;
        let mut decoder = Decoder::new(MESSAGE_LIMIT);
        decoder.push(&rest);
        let now = Instant::now();
        Ok(WebSocket {
            connection,
            peer,
            dialect,
            decoder,
            interval,
            last_seen: now,
            next_ping: now + interval,
            state: AnswerState::default(),
            close_sent: false,
            rng,
        })
    }

    fn send(&mut self, message: Outgoing) -> Result<(), TransportError> {
        let payload = self.dialect.socket_request(&message)?;
        self.write_frame(opcode::TEXT, &payload)
    }

    fn receive(&mut self) -> Result<Vec<Event>, TransportError> {
        if let Some(error) = self.state.take_error() {
            return Err(error);
        }
        let mut events = Vec::new();
        loop {
            // Everything already received first, so one call hands over as much as it can.
            while !self.state.is_finished() {
                match self.decoder.next_frame() {
                    Ok(Some(frame)) => {
                        if let Err(error) = self.on_frame(frame, &mut events) {
                            return self.state.fail_after(events, error);
                        }
                    }
                    Ok(None) => break,
                    Err(bad) => {
                        let _ = self.write_close(bad.code, "protocol error");
                        return self.state.fail_after(events, TransportError::new(ErrorKind::Protocol, bad.message));
                    }
                }
            }
            if !events.is_empty() || self.state.is_finished() {
                return Ok(events);
            }
            if let Err(error) = self.wait_for_bytes() {
                return self.state.fail_after(events, error);
            }
        }
    }

    fn heartbeat(&mut self) -> Result<(), TransportError> {
        self.ping()
    }

    fn close(&mut self) {
        if !self.close_sent {
            let _ = self.write_close(1000, "");
        }
        self.connection.shutdown();
    }
}

impl WebSocket {
    /// Reads once, pinging when due; fails when the connection is dead or cut.
    fn wait_for_bytes(&mut self) -> Result<(), TransportError> {
        let now = Instant::now();
        let dead_at = self.last_seen + self.interval * 2;
        if now >= dead_at {
            return Err(dead_connection(&self.peer, self.interval * 2));
        }
        if now >= self.next_ping {
            self.ping()?;
            self.next_ping = now + self.interval;
        }
        let wait = self.next_ping.min(dead_at).saturating_duration_since(now).max(Duration::from_millis(1));
        match self.connection.read(READ_SIZE, wait).map_err(|e| socket_error(&e, false))? {
            Read::Data(bytes) => {
                self.last_seen = Instant::now();
                self.decoder.push(&bytes);
                Ok(())
            }
            Read::Idle => Ok(()),
            // A stream without an end marker ends when the server hangs up, close frame or not.
            Read::Closed if !self.dialect.has_end_marker() && !self.decoder.in_progress() => {
                self.decoder.push(&frame::server_close());
                Ok(())
            }
            Read::Closed => Err(TransportError::new(
                ErrorKind::Interrupted,
                format!(
                    "{} cut the connection without a WebSocket close frame before the answer was complete",
                    self.peer
                ),
            )),
        }
    }

    fn on_frame(&mut self, frame: Frame, events: &mut Vec<Event>) -> Result<(), TransportError> {
        match frame {
            Frame::Text(text) => {
                // A frame has no SSE event type: the message's own fields say what it is, and
                // frames a dialect does not know are skipped.
                if self.dialect.on_message(&Message::data(&text), events)? == Progress::Finished {
                    self.state.finish();
                }
            }
            Frame::Binary(_) => {
                let _ = self.write_close(1003, "binary messages are not understood");
                return Err(TransportError::new(
                    ErrorKind::Protocol,
                    format!(
                        "{} sent a binary message; the {} dialect speaks JSON text",
                        self.peer,
                        self.dialect.name()
                    ),
                ));
            }
            Frame::Ping(payload) => self.write_frame(opcode::PONG, &payload)?,
            Frame::Pong(_) => events.push(Event::Heartbeat),
            Frame::Close(code, reason) => {
                // Answer the closing handshake with the same code, as RFC 6455 asks.
                if !self.close_sent {
                    let _ = self.write_close(code.unwrap_or(1000), "");
                }
                // A normal close ends the answer of a dialect without an end marker.
                if matches!(code, None | Some(1000)) && self.dialect.on_close(events) == Progress::Finished {
                    self.state.finish();
                    return Ok(());
                }
                let code_text = match code {
                    Some(code) => format!("{code} {}", frame::close_code_name(code)),
                    None => "no status".to_owned(),
                };
                let reason = if reason.is_empty() { String::new() } else { format!(": {reason}") };
                let kind = match code {
                    None | Some(1000 | 1001 | 1012) => ErrorKind::Interrupted,
                    _ => ErrorKind::Server,
                };
                return Err(TransportError::new(
                    kind,
                    format!("{} closed the WebSocket ({code_text}{reason}) before the answer was complete", self.peer),
                ));
            }
        }
        Ok(())
    }

    fn ping(&mut self) -> Result<(), TransportError> {
        let payload = next_random(&mut self.rng).to_be_bytes();
        self.write_frame(opcode::PING, &payload)
    }

    fn write_close(&mut self, code: u16, reason: &str) -> Result<(), TransportError> {
        self.close_sent = true;
        self.write_frame(opcode::CLOSE, &frame::close_payload(code, reason))
    }

    fn write_frame(&mut self, opcode: u8, payload: &[u8]) -> Result<(), TransportError> {
        let mask = (next_random(&mut self.rng) as u32).to_be_bytes();
        self.connection.write(&frame::encode(opcode, payload, mask)).map_err(|e| socket_error(&e, false))
    }
}

/// Reads the handshake's response head; returns it and the bytes after it.
fn read_head(
    connection: &Connection,
    peer: &str,
    patience: Duration,
) -> Result<(handshake::Head, Vec<u8>), TransportError> {
    let started = Instant::now();
    let mut buffer = Vec::new();
    loop {
        let left = patience.saturating_sub(started.elapsed());
        if left.is_zero() {
            return Err(TransportError::new(
                ErrorKind::Connect,
                format!("{peer} did not answer the WebSocket handshake within {}s", patience.as_secs_f32()),
            ));
        }
        match connection.read(handshake::HEAD_LIMIT, left).map_err(|e| socket_error(&e, true))? {
            Read::Data(bytes) => buffer.extend_from_slice(&bytes),
            Read::Idle => continue,
            Read::Closed => {
                return Err(TransportError::new(
                    ErrorKind::StreamUnavailable,
                    format!("{peer} closed the connection instead of answering the WebSocket handshake"),
                ));
            }
        }
        let head = handshake::parse_head(&buffer)
            .map_err(|e| TransportError::new(ErrorKind::StreamUnavailable, format!("{peer}: {e}")))?;
        if let Some(head) = head {
            let rest = buffer.split_off(head.length);
            return Ok((head, rest));
        }
    }
}

/// Turns a refused or broken upgrade into the error that lets aish fall back or retry.
fn check_upgrade(head: &handshake::Head, key: &str, peer: &str) -> Result<(), TransportError> {
    let status = head.status;
    if status == 101 {
        return handshake::verify(head, key)
            .map_err(|e| TransportError::new(ErrorKind::Protocol, format!("{peer}: {e}")));
    }
    let kind = match status {
        401 | 403 | 429 | 500..=599 => ErrorKind::Server,
        _ => ErrorKind::StreamUnavailable,
    };
    let what = match status {
        401 | 403 => "refused the credentials (check the API key)",
        429 => "is rate limiting",
        503 => "is unavailable",
        500..=599 => "failed",
        _ => "refused the WebSocket upgrade",
    };
    let mut error = TransportError::new(kind, format!("{peer} {what} (HTTP {status})")).with_status(status);
    error.retry_after_ms = head.header("retry-after").and_then(retry_after_ms);
    Err(error)
}

/// xorshift64*: masks and nonces need to be unpredictable to the network, not cryptographic.
fn next_random(state: &mut u64) -> u64 {
    *state ^= *state >> 12;
    *state ^= *state << 25;
    *state ^= *state >> 27;
    state.wrapping_mul(0x2545_F491_4F6C_DD1D)
}

aish_plugin_sdk::register_transport!(WebSocket);
