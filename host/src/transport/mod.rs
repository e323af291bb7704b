//! Talking to one AI: a transport plugin session (host-side events and errors, independent of
//! the WIT version the plugin was built against), and the policy that turns sessions into an
//! answer: fallback, retry after a busy server, resume of a cut stream.

mod answer;
mod connector;
mod plugin_session;
mod policy;

use std::time::Duration;

use serde_json::{Value, json};

pub use answer::{Answer, Piece};
pub use connector::Connector;
pub use plugin_session::TransportSession;

/// Token counts reported by a backend.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Usage {
    /// Tokens in the prompt.
    pub input_tokens: Option<u64>,
    /// Tokens in the answer.
    pub output_tokens: Option<u64>,
}

/// One thing a transport observed.
#[derive(Clone, Debug, PartialEq)]
pub enum Event {
    /// A piece of the answer.
    Token(String),
    /// Backend facts (a JSON object).
    Metadata(Value),
    /// The connection is alive.
    Heartbeat,
    /// The answer is complete.
    Done(Option<Usage>),
    /// The server reported an error; the answer ends.
    Error(String),
    /// A server-sent event passed through unchanged.
    Raw {
        /// Event type.
        event: String,
        /// Event data.
        data: String,
        /// Last event ID in force.
        id: String,
    },
}

impl Event {
    /// The event as one JSON object, as `aish transport probe` prints it.
    pub fn to_json(&self) -> Value {
        match self {
            Event::Token(text) => json!({"type": "token", "text": text}),
            Event::Metadata(data) => json!({"type": "metadata", "data": data}),
            Event::Heartbeat => json!({"type": "heartbeat"}),
            Event::Done(usage) => {
                let mut done = json!({"type": "done"});
                if let Some(u) = usage {
                    done["usage"] = json!({"input_tokens": u.input_tokens, "output_tokens": u.output_tokens});
                }
                done
            }
            Event::Error(message) => json!({"type": "error", "message": message}),
            Event::Raw { event, data, id } => json!({"type": "event", "event": event, "data": data, "id": id}),
        }
    }
}

/// Why a transport call failed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ErrorKind {
    /// The endpoint cannot stream.
    StreamUnavailable,
    /// The server could not be reached.
    Connect,
    /// A capability was refused.
    Denied,
    /// The server answered with an error.
    Server,
    /// The server's bytes made no sense.
    Protocol,
    /// The connection ended before the answer.
    Interrupted,
    /// Bad options or message.
    InvalidInput,
    /// The plugin itself failed (a crash, a limit, a missing or broken plugin).
    Plugin,
    /// Anything else.
    Other,
}

impl ErrorKind {
    /// The kind's name in JSON output.
    pub fn as_str(self) -> &'static str {
        match self {
            ErrorKind::StreamUnavailable => "stream-unavailable",
            ErrorKind::Connect => "connect",
            ErrorKind::Denied => "denied",
            ErrorKind::Server => "server",
            ErrorKind::Protocol => "protocol",
            ErrorKind::Interrupted => "interrupted",
            ErrorKind::InvalidInput => "invalid-input",
            ErrorKind::Plugin => "plugin",
            ErrorKind::Other => "other",
        }
    }
}

/// A failed transport call, with one line for the user.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct TransportError {
    /// What kind of failure.
    pub kind: ErrorKind,
    /// The line shown to the user.
    pub message: String,
    /// The HTTP status behind it.
    pub status: Option<u16>,
    /// How long the server asked to wait before retrying.
    pub retry_after: Option<Duration>,
}

impl TransportError {
    /// An error with no status.
    pub fn new(kind: ErrorKind, message: impl Into<String>) -> Self {
        TransportError { kind, message: message.into(), status: None, retry_after: None }
    }
}

/// How to reach one AI.
#[derive(Clone, Debug, PartialEq)]
pub struct ConnectOptions {
    /// The endpoint.
    pub url: String,
    /// The wire dialect.
    pub dialect: String,
    /// The model.
    pub model: Option<String>,
    /// The API key.
    pub api_key: Option<String>,
    /// Dialect settings (a JSON object).
    pub settings: Value,
}

/// One message to send.
#[derive(Clone, Debug, PartialEq)]
pub struct Outgoing {
    /// The text.
    pub message: String,
    /// The pipeline context (a JSON object).
    pub context: Value,
    /// Whether to stream.
    pub stream: bool,
}
