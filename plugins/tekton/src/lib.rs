//! The Tekton transport plugin: talks to a Tekton specialist over its socket protocol
//! (newline-delimited JSON over TCP, TLS with `tls://`), streaming or whole. The URL is
//! `tcp://host:port` (or `tekton://host:port`); an AI's `dialect` is not used.

pub mod protocol;

use std::time::{Duration, Instant};

use aish_plugin_sdk::socket::{Connection, Endpoint, Read, dead_connection, transport_error as socket_error};
use aish_plugin_sdk::{ConnectOptions, ErrorKind, Event, Outgoing, Transport, TransportError};
use protocol::Line;

/// The longest line accepted: a 16 MiB answer with room for its JSON.
pub const LINE_LIMIT: usize = 20 << 20;
/// The most one socket read asks for.
const READ_SIZE: usize = 1 << 20;

/// One conversation with a specialist.
pub struct Tekton {
    connection: Connection,
    peer: String,
    interval: Duration,
    request_id: String,
    /// Bytes received; those before `start` are consumed (dropped in bulk, not per line).
    buffer: Vec<u8>,
    start: usize,
    /// Where to look for the next newline (from `start` up to here there is none).
    scanned: usize,
    pending_error: Option<TransportError>,
    finished: bool,
    sent: bool,
}

impl Transport for Tekton {
    fn connect(options: ConnectOptions) -> Result<Self, TransportError> {
        let invalid = |m: String| TransportError::new(ErrorKind::InvalidInput, m);
        if !matches!(options.dialect.as_str(), "aish" | "tekton") {
            return Err(invalid(format!(
                "the tekton transport speaks only Tekton's socket protocol; drop dialect = \"{}\" (or set \"tekton\")",
                options.dialect
            )));
        }
        let endpoint = Endpoint::parse(&options.url).map_err(invalid)?;
        let tls = match endpoint.scheme.as_str() {
            "tcp" | "tekton" => false,
            "tls" | "tekton+tls" => true,
            other => {
                return Err(invalid(format!("tekton needs a tcp://HOST:PORT (or tls://) URL, not {other}://")));
            }
        };
        let port = endpoint
            .port
            .ok_or_else(|| invalid(format!("`{}` names no port; Tekton sockets have no default", options.url)))?;
        let settings: serde_json::Value = serde_json::from_str(&options.settings).unwrap_or_default();
        let interval = settings
            .get("heartbeat_ms")
            .and_then(serde_json::Value::as_u64)
            .map(Duration::from_millis)
            .unwrap_or(aish_dialects::DEFAULT_HEARTBEAT);
        let connection = Connection::connect(&endpoint.host, port, tls).map_err(|e| socket_error(&e, true))?;
        Ok(Tekton {
            connection,
            peer: endpoint.authority(port),
            interval,
            request_id: request_id(),
            buffer: Vec::new(),
            start: 0,
            scanned: 0,
            pending_error: None,
            finished: false,
            sent: false,
        })
    }

    fn send(&mut self, message: Outgoing) -> Result<(), TransportError> {
        let context: serde_json::Value = serde_json::from_str(&message.context).unwrap_or_default();
        let line = protocol::chat_request(&message.message, &context, message.stream, &self.request_id);
        self.connection.write(&line).map_err(|e| socket_error(&e, true))?;
        self.sent = true;
        Ok(())
    }

    fn receive(&mut self) -> Result<Vec<Event>, TransportError> {
        if let Some(error) = self.pending_error.take() {
            return Err(error);
        }
        if self.finished || !self.sent {
            return Ok(Vec::new());
        }
        let mut events = Vec::new();
        let mut last_seen = Instant::now();
        loop {
            while let Some(line) = self.next_line() {
                if let Some(result) = self.take_line(&line, &mut events) {
                    return result;
                }
            }
            if !events.is_empty() {
                return Ok(events);
            }
            if self.buffer.len() - self.start > LINE_LIMIT {
                let error = TransportError::new(
                    ErrorKind::Protocol,
                    format!("{} sent a line over {} MiB, this transport's limit", self.peer, LINE_LIMIT >> 20),
                );
                return self.fail(events, error);
            }
            let dead_at = last_seen + self.interval * 2;
            let wait = dead_at.saturating_duration_since(Instant::now());
            if wait.is_zero() {
                return self.fail(events, dead_connection(&self.peer, self.interval * 2));
            }
            match self.connection.read(READ_SIZE, wait) {
                Ok(Read::Data(bytes)) => {
                    last_seen = Instant::now();
                    self.buffer.drain(..self.start);
                    self.scanned -= self.start;
                    self.start = 0;
                    self.buffer.extend_from_slice(&bytes);
                }
                Ok(Read::Idle) => {}
                Ok(Read::Closed) => {
                    // A last line without its newline still counts.
                    if self.start < self.buffer.len() {
                        let line = self.buffer.split_off(self.start);
                        (self.start, self.scanned) = (0, 0);
                        if let Some(result) = self.take_line(&line, &mut events) {
                            return result;
                        }
                    }
                    let error = TransportError::new(
                        ErrorKind::Interrupted,
                        format!("{} closed the connection before the answer was complete", self.peer),
                    );
                    return self.fail(events, error);
                }
                Err(e) => return self.fail(events, socket_error(&e, false)),
            }
        }
    }

    fn close(&mut self) {
        self.connection.shutdown();
    }
}

impl Tekton {
    /// The next whole line, without its `\n` (and `\r`).
    fn next_line(&mut self) -> Option<Vec<u8>> {
        let from = self.scanned.max(self.start);
        let Some(at) = self.buffer[from..].iter().position(|b| *b == b'\n').map(|i| from + i) else {
            self.scanned = self.buffer.len();
            return None;
        };
        let mut line = &self.buffer[self.start..at];
        if line.last() == Some(&b'\r') {
            line = &line[..line.len() - 1];
        }
        let line = line.to_vec();
        self.start = at + 1;
        self.scanned = self.start;
        Some(line)
    }

    /// Handles one line; `Some` with what `receive` returns when the answer ends here.
    fn take_line(&mut self, line: &[u8], events: &mut Vec<Event>) -> Option<Result<Vec<Event>, TransportError>> {
        match self.on_line(line, events) {
            Ok(false) => None,
            Ok(true) => {
                self.finished = true;
                Some(Ok(std::mem::take(events)))
            }
            Err(error) => Some(self.fail(std::mem::take(events), error)),
        }
    }

    /// Handles one line; `true` once the answer is complete.
    fn on_line(&mut self, line: &[u8], events: &mut Vec<Event>) -> Result<bool, TransportError> {
        if line.iter().all(u8::is_ascii_whitespace) {
            return Ok(false);
        }
        match protocol::parse_line(line, &self.request_id)
            .map_err(|e| TransportError::new(ErrorKind::Protocol, format!("{}: {e}", self.peer)))?
        {
            Line::Events(mut new, finished) => {
                // Neighbouring tokens are merged so one receive yields fewer events.
                for event in new.drain(..) {
                    match (events.last_mut(), event) {
                        (Some(Event::Token(last)), Event::Token(next)) => last.push_str(&next),
                        (_, event) => events.push(event),
                    }
                }
                Ok(finished)
            }
            Line::Ping(pong) => {
                self.connection.write(&pong).map_err(|e| socket_error(&e, false))?;
                events.push(Event::Heartbeat);
                Ok(false)
            }
            Line::Skip => Ok(false),
        }
    }

    /// Hands over the events already produced, keeping the error for the next call.
    fn fail(&mut self, events: Vec<Event>, error: TransportError) -> Result<Vec<Event>, TransportError> {
        self.finished = true;
        if events.is_empty() {
            return Err(error);
        }
        self.pending_error = Some(error);
        Ok(events)
    }
}

/// A request id unique to this answer.
fn request_id() -> String {
    format!("aish-{:016x}", aish_plugin_sdk::socket::random_u64())
}

aish_plugin_sdk::register_transport!(Tekton);
