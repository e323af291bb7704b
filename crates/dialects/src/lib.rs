//! Provider dialects, and the helpers every transport plugin shares. A dialect says how a
//! request to one kind of AI backend is shaped and what the messages it streams back mean;
//! transports (SSE, WebSocket, HTTP) frame the bytes and ask the [`Dialect`] (SPEC section 6).
//! Each provider is one module in `providers/` behind the [`Provider`] trait; what every chat
//! provider sends besides the message (persona, context note, earlier turns) is shared in
//! `conversation`, and tool calls streamed in pieces are assembled in `tools`.
//!
//! The shared helpers: [`lines::Lines`] splits a byte stream into lines, [`AnswerState`]
//! tracks whether an answer is finished or failed, and [`http`] turns HTTP answers and
//! `Retry-After` into events and errors.

mod answer;
#[cfg(any(test, feature = "testing"))]
pub mod chunks;
mod conversation;
pub mod http;
mod lanes;
pub use lanes::{Fixed, Lanes, plain_run, same as same_bytes};
pub mod lines;
mod provider;
mod providers;
mod skim;
pub use skim::{is as short_eq, json_string};
mod tools;

use std::time::Duration;

use aish_plugin_sdk::{ConnectOptions, ErrorKind, Event, Outgoing, TransportError};
use serde_json::Value;

pub use answer::AnswerState;
pub use conversation::context_note;
pub use provider::{Config, Framing, HttpShape, Message, Progress, Provider, Tally, TextShape, WholeAnswer};

/// The heartbeat interval when an AI's config sets no `heartbeat_ms`: how often a transport
/// with pings pings; no byte for twice as long means the connection is dead.
pub const DEFAULT_HEARTBEAT: Duration = Duration::from_secs(25);

/// One answer in one dialect: builds the request and reads the streamed messages.
#[derive(Debug)]
pub struct Dialect {
    provider: Box<dyn Provider>,
    config: Config,
    tally: Tally,
}

impl Dialect {
    /// The dialect `options.dialect` names, for the given connection options.
    pub fn new(options: ConnectOptions) -> Result<Self, TransportError> {
        let Some(provider) = providers::find(&options.dialect) else {
            let mut names = providers::names();
            let last = names.pop().unwrap_or_default();
            return Err(TransportError::new(
                ErrorKind::InvalidInput,
                format!("unknown dialect `{}` for this transport: use {} or {last}", options.dialect, names.join(", ")),
            ));
        };
        Self::with_provider(provider, options)
    }

    /// A dialect spoken by `provider`, one that aish's registry need not know.
    pub fn with_provider(provider: Box<dyn Provider>, options: ConnectOptions) -> Result<Self, TransportError> {
        Ok(Dialect { provider, config: Config::new(options)?, tally: Tally::default() })
    }

    /// The name as the config spells it.
    pub fn name(&self) -> &'static str {
        self.provider.name()
    }

    /// How the stream is framed on a plain HTTP response.
    pub fn framing(&self) -> Framing {
        self.provider.framing()
    }

    /// Whether a whole (non-streamed) answer can be asked for.
    pub fn answers_whole(&self) -> bool {
        self.provider.answers_whole()
    }

    /// Whether the answer still waits for a message that ends it, so the server closing the
    /// stream now would cut it short; `false` when the close itself ends the answer (`raw`, or
    /// `gemini` once its last chunk said why it finished).
    pub fn has_end_marker(&self) -> bool {
        self.provider.at_close(&self.tally).is_none()
    }

    /// The HTTP request for `message`: streamed, or a whole answer when `message.stream` is false.
    pub fn request(&self, message: &Outgoing) -> Result<HttpShape, TransportError> {
        let context = parse_context(&message.context)?;
        self.provider.request(message, &context, &self.config)
    }

    /// The one message a socket transport (WebSocket) sends for `message`.
    pub fn socket_request(&self, message: &Outgoing) -> Result<Vec<u8>, TransportError> {
        let context = parse_context(&message.context)?;
        self.provider.socket_request(message, &context, &self.config)
    }

    /// Reads a whole (non-streamed) answer: its text, its tool calls and the usage the backend
    /// reported.
    pub fn parse_answer(&self, body: &[u8]) -> Result<WholeAnswer, TransportError> {
        let name = self.name();
        let shown = || String::from_utf8_lossy(body).into_owned();
        let value: Value = serde_json::from_slice(body)
            .map_err(|e| provider::protocol(name, &format!("the answer is not JSON ({e})"), &shown()))?;
        self.provider.parse_answer(&value).ok_or_else(|| {
            provider::protocol(name, "the answer has no text or tool call where this dialect puts them", &shown())
        })
    }

    /// Reads one streamed message (an SSE event, an NDJSON line, a WebSocket text message) and
    /// appends what it means to `out`.
    pub fn on_message(&mut self, message: &Message<'_>, out: &mut Vec<Event>) -> Result<Progress, TransportError> {
        self.tally.alone = None;
        self.provider.on_message(message, &mut self.tally, out)
    }

    /// Where, in its data, the text of the message just read stood (a JSON string, quotes
    /// included), when that text alone was what the message meant: then any message with the
    /// same event name and the same bytes around a JSON string there (and around any
    /// well-formed string at the shape's `free` span, and any JSON integer serde reads at its
    /// `number` span) means that string as a token, and can be read with [`Dialect::on_text`]
    /// without parsing it again. Its event ID (a transport's resume point) does not change
    /// that meaning: such messages may differ in it too.
    pub fn text_shape(&self) -> Option<TextShape> {
        self.tally.alone
    }

    /// Reads a message like the last one whose [`Dialect::text_shape`] was given, with `text`
    /// (decoded) in place of its text. The caller has checked the bytes around it are the same.
    pub fn on_text(&mut self, text: &str, out: &mut Vec<Event>) {
        self.tally.token(out, text);
    }

    /// The server closed the stream: `Finished`, with the answer's end appended to `out`, for
    /// a dialect whose end is the close; `More` (the answer is cut short) for the others.
    pub fn on_close(&mut self, out: &mut Vec<Event>) -> Progress {
        match self.provider.at_close(&self.tally) {
            Some(end) => {
                out.push(end);
                Progress::Finished
            }
            None => Progress::More,
        }
    }

    /// The error message in a server's error body, whatever shape the backend gives it.
    pub fn error_message(body: &[u8]) -> Option<String> {
        let value: Value = serde_json::from_slice(body).ok()?;
        let candidates =
            [value.pointer("/error/message"), value.get("error"), value.get("detail"), value.get("message")];
        candidates.into_iter().flatten().find_map(|v| match v {
            Value::String(s) => Some(s.clone()),
            Value::Null => None,
            other if other.is_object() || other.is_array() => None,
            other => Some(other.to_string()),
        })
    }

    /// A text setting from the AI's config (or one the host adds, such as `last_event_id`).
    pub fn setting_str(&self, key: &str) -> Option<&str> {
        self.config.setting_str(key)
    }

    /// A whole-number setting.
    pub fn setting_u64(&self, key: &str) -> Option<u64> {
        self.config.setting_u64(key)
    }

    /// The heartbeat interval: the AI's `heartbeat_ms`, else [`DEFAULT_HEARTBEAT`].
    pub fn heartbeat(&self) -> Duration {
        self.setting_u64("heartbeat_ms").map(Duration::from_millis).unwrap_or(DEFAULT_HEARTBEAT)
    }
}

/// The pipeline's context, which the host sends as a JSON object (empty: none).
fn parse_context(context: &str) -> Result<Value, TransportError> {
    if context.trim().is_empty() {
        return Ok(Value::Object(Default::default()));
    }
    serde_json::from_str(context)
        .map_err(|e| TransportError::new(ErrorKind::InvalidInput, format!("context is not JSON: {e}")))
}

/// Helpers for the providers' unit tests.
#[cfg(test)]
mod testing {
    use aish_plugin_sdk::{ConnectOptions, Event, Outgoing, Role, ToolCall, Turn};

    use crate::{Dialect, Message, Progress};

    /// A message with a persona, earlier turns and a context.
    pub fn outgoing(message: &str, system: Option<&str>, history: &[(Role, &str)], context: &str) -> Outgoing {
        Outgoing {
            message: message.into(),
            context: context.into(),
            stream: true,
            system: system.map(str::to_owned),
            history: history.iter().map(|(role, content)| Turn { role: *role, content: (*content).into() }).collect(),
        }
    }

    /// A plain streamed message with an empty context.
    pub fn plain(message: &str) -> Outgoing {
        outgoing(message, None, &[], "{}")
    }

    /// A dialect with a model and an API key.
    pub fn dialect(kind: &str) -> Dialect {
        Dialect::new(ConnectOptions {
            url: "http://127.0.0.1:1/".into(),
            dialect: kind.into(),
            model: Some("m".into()),
            api_key: Some("sk-test".into()),
            settings: String::new(),
        })
        .unwrap()
    }

    /// Feeds (event type, data) pairs and collects every event and the last progress.
    pub fn run(d: &mut Dialect, messages: &[(&str, &str)]) -> (Vec<Event>, Progress) {
        let mut out = Vec::new();
        let mut progress = Progress::More;
        for (event, data) in messages {
            progress = d.on_message(&Message { event, data, id: "" }, &mut out).unwrap();
        }
        (out, progress)
    }

    /// The text of every token.
    pub fn text(events: &[Event]) -> String {
        events.iter().filter_map(|e| if let Event::Token(t) = e { Some(t.as_str()) } else { None }).collect()
    }

    /// A tool call event.
    pub fn tool(id: &str, name: &str, arguments: &str) -> Event {
        Event::ToolCall(ToolCall { id: id.into(), name: name.into(), arguments: arguments.into() })
    }

    /// The JSON body of a dialect's request for `message`.
    pub fn body(d: &Dialect, message: &Outgoing) -> serde_json::Value {
        serde_json::from_slice(&d.request(message).unwrap().body).unwrap()
    }
}

#[cfg(test)]
mod tests;

#[cfg(test)]
mod proptests;
