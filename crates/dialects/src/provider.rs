//! The one trait every provider implements ([`Provider`]), the values it works with (the AI's
//! [`Config`], a streamed [`Message`], the answer's [`Tally`], the [`HttpShape`] of a request,
//! a [`WholeAnswer`]) and the small helpers the provider modules share.

use std::fmt;

use aish_plugin_sdk::{ConnectOptions, ErrorKind, Event, Outgoing, ToolCall, TransportError, Usage};
use serde::Deserialize;
use serde_json::Value;

/// One AI backend's wire format: what every module in `providers/` implements.
///
/// A transport frames bytes (an SSE event, an NDJSON line, a WebSocket message) and asks the
/// provider what they mean; it never matches on a provider's name. A provider is created per
/// connection, so it may keep state across the messages of one stream; the token count and
/// usage every provider reports live in the [`Tally`] it is handed.
pub trait Provider: fmt::Debug + Send {
    /// The name the config gives it (`dialect = "openai"`).
    fn name(&self) -> &'static str;

    /// The HTTP request for `message`: streamed, or asking for a whole answer when
    /// `message.stream` is false. `context` is the pipeline's context, parsed.
    fn request(&self, message: &Outgoing, context: &Value, config: &Config) -> Result<HttpShape, TransportError>;

    /// The text, tool calls and usage of a whole (non-streamed) answer; `None` when neither
    /// text nor tool calls are where this provider puts them.
    fn parse_answer(&self, answer: &Value) -> Option<WholeAnswer>;

    /// Reads one streamed message and appends what it means to `out`.
    fn on_message(
        &mut self,
        message: &Message<'_>,
        tally: &mut Tally,
        out: &mut Vec<Event>,
    ) -> Result<Progress, TransportError>;

    /// How the stream is framed on a plain HTTP response. Default: server-sent events.
    fn framing(&self) -> Framing {
        Framing::Events
    }

    /// Whether a whole answer can be asked for. Default: yes.
    fn answers_whole(&self) -> bool {
        true
    }

    /// The one message a socket transport (WebSocket) sends for `message`, where the
    /// connection itself is the stream. Default: the body of the HTTP request.
    fn socket_request(&self, message: &Outgoing, context: &Value, config: &Config) -> Result<Vec<u8>, TransportError> {
        Ok(self.request(message, context, config)?.body)
    }

    /// The event that ends the answer when the server closes the stream now. `None` (the
    /// default) for a provider that marks its end in a message, so a close before it cuts the
    /// answer short; a provider whose stream ends with the close may still answer `None` until
    /// the stream has said it is finishing.
    fn at_close(&self, _tally: &Tally) -> Option<Event> {
        None
    }
}

/// A whole (non-streamed) answer, as a provider reads it.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct WholeAnswer {
    /// The answer's text (empty when the model only called tools).
    pub text: String,
    /// The usage the backend reported, if any.
    pub usage: Option<Usage>,
    /// The tool calls the model asked for, in order.
    pub tool_calls: Vec<ToolCall>,
}

impl WholeAnswer {
    /// An answer with text and usage and no tool calls.
    pub fn text(text: String, usage: Option<Usage>) -> Self {
        WholeAnswer { text, usage, tool_calls: Vec::new() }
    }

    /// The events a transport yields for it: the text, each tool call, then `done`.
    pub fn into_events(self) -> Vec<Event> {
        let mut events = Vec::with_capacity(self.tool_calls.len() + 2);
        if !self.text.is_empty() || self.tool_calls.is_empty() {
            events.push(Event::Token(self.text));
        }
        events.extend(self.tool_calls.into_iter().map(Event::ToolCall));
        events.push(Event::Done(self.usage));
        events
    }
}

/// An HTTP request a dialect wants sent.
#[derive(Clone, Debug, PartialEq)]
pub struct HttpShape {
    /// `GET` or `POST`.
    pub method: &'static str,
    /// Where to send it when the provider derives it from the configured URL (a provider that
    /// names the operation in the path); `None` for the configured URL itself.
    pub url: Option<String>,
    /// Header fields besides the transport's own.
    pub headers: Vec<(String, String)>,
    /// The body (empty for a GET).
    pub body: Vec<u8>,
}

impl HttpShape {
    /// A POST of `body` as JSON, with `headers` after the content type.
    pub fn json(body: &Value, headers: Vec<(String, String)>) -> Self {
        let mut all = vec![("content-type".to_owned(), "application/json".to_owned())];
        all.extend(headers);
        HttpShape { method: "POST", url: None, headers: all, body: body.to_string().into_bytes() }
    }
}

/// Whether an answer goes on after a message.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Progress {
    /// More messages will follow.
    More,
    /// The answer is complete (a `done` or `error` event was produced).
    Finished,
}

/// How a provider's stream is framed on a plain HTTP response.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Framing {
    /// Server-sent events (`text/event-stream`): the `sse` transport's.
    Events,
    /// One JSON object per line (NDJSON): the `http` transport's.
    JsonLines,
}

/// One streamed message, as the transport framed it.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Message<'a> {
    /// The SSE event type (`message` when the stream named none); empty for a line or a
    /// WebSocket message, which carry no type.
    pub event: &'a str,
    /// The payload.
    pub data: &'a str,
    /// The SSE last event id; empty elsewhere.
    pub id: &'a str,
}

impl<'a> Message<'a> {
    /// A message with no type or id: an NDJSON line or a WebSocket text message.
    pub fn data(data: &'a str) -> Self {
        Message { event: "", data, id: "" }
    }
}

/// What a provider reads from the AI's config.
#[derive(Debug)]
pub struct Config {
    /// The configured URL.
    pub url: String,
    /// The model to ask for.
    pub model: Option<String>,
    /// The API key, when the AI has one.
    pub api_key: Option<String>,
    settings: Value,
}

impl Config {
    /// The config in `options`; fails when its settings are not JSON.
    pub fn new(options: ConnectOptions) -> Result<Self, TransportError> {
        let settings = if options.settings.trim().is_empty() {
            Value::Object(Default::default())
        } else {
            serde_json::from_str(&options.settings).map_err(|e| {
                TransportError::new(ErrorKind::InvalidInput, format!("settings are not a JSON object: {e}"))
            })?
        };
        Ok(Config { url: options.url, model: options.model, api_key: options.api_key, settings })
    }

    /// A setting from the AI's config (or one the host adds, such as `last_event_id`).
    pub fn setting(&self, key: &str) -> Option<&Value> {
        self.settings.get(key)
    }

    /// A text setting.
    pub fn setting_str(&self, key: &str) -> Option<&str> {
        self.setting(key).and_then(Value::as_str)
    }

    /// A whole-number setting.
    pub fn setting_u64(&self, key: &str) -> Option<u64> {
        self.setting(key).and_then(Value::as_u64)
    }

    /// A number setting.
    pub fn setting_f64(&self, key: &str) -> Option<f64> {
        self.setting(key).and_then(Value::as_f64)
    }
}

/// What an answer has counted: the usage the backend reported.
#[derive(Debug, Default)]
pub struct Tally {
    /// Input tokens, as the backend reported them.
    pub input_tokens: Option<u64>,
    /// Output tokens, as the backend reported them.
    pub output_tokens: Option<u64>,
    /// Where the text of the message just read stood, when it was all the message meant.
    pub(crate) alone: Option<TextShape>,
}

/// Where, in a message's data, stood the text that was all the message meant (a JSON string,
/// quotes included), the one string after it whose content the reading did not depend on
/// (padding such as OpenAI's `obfuscation`), if any, and a number before it whose value the
/// reading did not depend on (the Responses API's `sequence_number`), if any.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TextShape {
    /// The text's span.
    pub text: (usize, usize),
    /// The span of a string after the text that may hold anything.
    pub free: Option<(usize, usize)>,
    /// The span of a non-negative integer before the text that may be any other (a sequence
    /// number).
    pub number: Option<(usize, usize)>,
}

impl Tally {
    /// Appends a token, merging it into a token just before it so one receive yields fewer events.
    pub fn token(&mut self, out: &mut Vec<Event>, text: &str) {
        if text.is_empty() {
            return;
        }
        if let Some(Event::Token(last)) = out.last_mut() {
            last.push_str(text);
        } else {
            out.push(Event::Token(text.to_owned()));
        }
    }

    /// Appends the token that was all a message meant, its text read from `shape.text` of its
    /// data. The provider promises that any message with the same event name and the same bytes
    /// around a JSON string there (and around any well-formed string at `shape.free`, and any
    /// JSON integer serde reads at `shape.number`) means that string as a token, whatever came
    /// before it; a transport may then read such messages without the provider.
    pub fn token_alone(&mut self, out: &mut Vec<Event>, text: &str, shape: TextShape) {
        self.token(out, text);
        self.alone = Some(shape);
    }

    /// The usage to report: the backend's figures, `None` when it gave none (the host then
    /// counts the text it received; a count of messages here would pass for the backend's).
    pub fn usage(&self) -> Option<Usage> {
        (self.input_tokens.is_some() || self.output_tokens.is_some())
            .then_some(Usage { input_tokens: self.input_tokens, output_tokens: self.output_tokens })
    }

    /// The `done` event that ends an answer.
    pub fn done(&self) -> Event {
        Event::Done(self.usage())
    }
}

/// The usage at two JSON pointers of a whole answer; `None` when the answer gives neither.
pub(crate) fn usage_at(answer: &Value, input: &str, output: &str) -> Option<Usage> {
    let input_tokens = answer.pointer(input).and_then(Value::as_u64);
    let output_tokens = answer.pointer(output).and_then(Value::as_u64);
    (input_tokens.is_some() || output_tokens.is_some()).then_some(Usage { input_tokens, output_tokens })
}

/// The text at a JSON pointer of a whole answer.
pub(crate) fn text_at(answer: &Value, pointer: &str) -> Option<String> {
    answer.pointer(pointer).and_then(Value::as_str).map(str::to_owned)
}

/// Parses a message's JSON; a protocol error naming the dialect when it is not what it expects.
pub(crate) fn parse_json<'a, T: Deserialize<'a>>(dialect: &str, data: &'a str) -> Result<T, TransportError> {
    serde_json::from_str(data)
        .map_err(|e| protocol(dialect, &format!("event data is not the expected JSON ({e})"), data))
}

/// A protocol error that shows the start of what arrived and points at the dialect setting.
pub(crate) fn protocol(dialect: &str, what: &str, data: &str) -> TransportError {
    let mut shown: String = data.chars().take(80).collect();
    if shown.len() < data.len() {
        shown.push('…');
    }
    TransportError::new(
        ErrorKind::Protocol,
        format!(
            "{dialect} stream: {what}: {shown:?}; check the dialect (`dialect` in config.toml, `--dialect` for a probe)"
        ),
    )
}
