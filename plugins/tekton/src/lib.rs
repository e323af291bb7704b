//! The Tekton transport plugin: talks to a Tekton specialist over its socket protocol
//! (newline-delimited JSON over TCP, TLS with `tls://`), streaming or whole. The URL is
//! `tcp://host:port` (or `tekton://host:port`); an AI's `dialect` is not used.

#[cfg(test)]
mod proptests;
pub mod protocol;

use std::time::{Duration, Instant};

use aish_dialects::lines::{LineEnd, Lines};
use aish_dialects::{AnswerState, Progress};
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
    lines: Lines,
    /// Finished, or failed with an error that waits for the events before it.
    state: AnswerState,
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
            lines: Lines::new(LineEnd::Lf),
            state: AnswerState::default(),
            sent: false,
        })
    }

    fn send(&mut self, message: Outgoing) -> Result<(), TransportError> {
        let context: serde_json::Value = serde_json::from_str(&message.context).unwrap_or_default();
        let line = protocol::chat_request(&message, &context, &self.request_id);
        self.connection.write(&line).map_err(|e| socket_error(&e, true))?;
        self.sent = true;
        Ok(())
    }

    fn receive(&mut self) -> Result<Vec<Event>, TransportError> {
        if let Some(error) = self.state.take_error() {
            return Err(error);
        }
        if self.state.is_finished() || !self.sent {
            return Ok(Vec::new());
        }
        let mut events = Vec::new();
        let mut last_seen = Instant::now();
        loop {
            if !events.is_empty() || !self.state.is_open() {
                return self.state.deliver(events);
            }
            let dead_at = last_seen + self.interval * 2;
            let wait = dead_at.saturating_duration_since(Instant::now());
            if wait.is_zero() {
                return self.state.fail_after(events, dead_connection(&self.peer, self.interval * 2));
            }
            match self.connection.read(READ_SIZE, wait) {
                Ok(Read::Data(bytes)) => {
                    last_seen = Instant::now();
                    let Tekton { lines, connection, peer, request_id, state, .. } = self;
                    lines.feed(&bytes, |line| take_line(connection, peer, request_id, state, line, &mut events));
                    if lines.pending() > LINE_LIMIT {
                        state.fail(TransportError::new(
                            ErrorKind::Protocol,
                            format!("{peer} sent a line over {} MiB, this transport's limit", LINE_LIMIT >> 20),
                        ));
                    }
                }
                Ok(Read::Idle) => {}
                Ok(Read::Closed) => {
                    // A last line without its newline still counts.
                    let rest = self.lines.finish();
                    take_line(&self.connection, &self.peer, &self.request_id, &mut self.state, &rest, &mut events);
                    self.state.fail(TransportError::new(
                        ErrorKind::Interrupted,
                        format!("{} closed the connection before the answer was complete", self.peer),
                    ));
                    return self.state.deliver(events);
                }
                Err(e) => return self.state.fail_after(events, socket_error(&e, false)),
            }
        }
    }

    fn close(&mut self) {
        self.connection.shutdown();
    }
}

/// Handles one line while the answer is open: its events, its end, or its error.
fn take_line(
    connection: &Connection,
    peer: &str,
    request_id: &str,
    state: &mut AnswerState,
    line: &[u8],
    events: &mut Vec<Event>,
) {
    if state.is_open() {
        state.progress(on_line(connection, peer, request_id, line, events));
    }
}

/// What one line means for the answer.
fn on_line(
    connection: &Connection,
    peer: &str,
    request_id: &str,
    line: &[u8],
    events: &mut Vec<Event>,
) -> Result<Progress, TransportError> {
    if line.iter().all(u8::is_ascii_whitespace) {
        return Ok(Progress::More);
    }
    match protocol::parse_line(line, request_id)
        .map_err(|e| TransportError::new(ErrorKind::Protocol, format!("{peer}: {e}")))?
    {
        Line::Events(mut new, finished) => {
            // Neighbouring tokens are merged so one receive yields fewer events.
            for event in new.drain(..) {
                match (events.last_mut(), event) {
                    (Some(Event::Token(last)), Event::Token(next)) => last.push_str(&next),
                    (_, event) => events.push(event),
                }
            }
            Ok(if finished { Progress::Finished } else { Progress::More })
        }
        Line::Ping(pong) => {
            connection.write(&pong).map_err(|e| socket_error(&e, false))?;
            events.push(Event::Heartbeat);
            Ok(Progress::More)
        }
        Line::Skip => Ok(Progress::More),
    }
}

/// A request id unique to this answer.
fn request_id() -> String {
    format!("aish-{:016x}", aish_plugin_sdk::socket::random_u64())
}

aish_plugin_sdk::register_transport!(Tekton);
