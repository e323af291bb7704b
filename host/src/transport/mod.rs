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
    /// The model asked for a tool call (part of the answer; aish runs no tools).
    ToolCall(ToolCall),
}

/// A tool or function call a model asked for.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct ToolCall {
    /// The backend's id for the call (empty when it gives none).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub id: String,
    /// The tool's name.
    pub name: String,
    /// The arguments as JSON text.
    pub arguments: String,
}

/// Who said a turn of a conversation.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Role {
    /// What the AI was sent.
    User,
    /// What the AI answered.
    Assistant,
}

/// One earlier turn of an AI's conversation.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Turn {
    /// Who said it.
    pub role: Role,
    /// What was said.
    pub content: String,
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
            Event::ToolCall(call) => {
                json!({"type": "tool_call", "id": call.id, "name": call.name, "arguments": call.arguments})
            }
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
#[derive(Clone, PartialEq)]
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

/// The key never reaches a log or a panic message through `{:?}`.
impl std::fmt::Debug for ConnectOptions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ConnectOptions")
            .field("url", &self.url)
            .field("dialect", &self.dialect)
            .field("model", &self.model)
            .field("api_key", &self.api_key.as_ref().map(|_| "[redacted]"))
            .field("settings", &self.settings)
            .finish()
    }
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
    /// The AI's system prompt.
    pub system: Option<String>,
    /// The conversation so far, oldest first (trimmed to fit; the message is not in it).
    pub history: Vec<Turn>,
}

impl Outgoing {
    /// A message with no system prompt and no earlier turns.
    pub fn new(message: impl Into<String>, context: Value, stream: bool) -> Self {
        Outgoing { message: message.into(), context, stream, system: None, history: Vec::new() }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_api_key_never_shows_in_debug_output() {
        let options = ConnectOptions {
            url: "https://api.example.com".into(),
            dialect: "openai".into(),
            model: None,
            api_key: Some("sk-live-123456789".into()),
            settings: json!({}),
        };
        let shown = format!("{options:?}");
        assert!(!shown.contains("sk-live") && shown.contains("[redacted]"), "{shown}");
    }
}
