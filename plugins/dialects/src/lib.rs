//! Provider dialects: how a request to each kind of AI backend is shaped, and how the messages
//! it streams back become aish events. Transports (SSE, WebSocket, HTTP) frame the bytes; this
//! crate knows what they mean. See SPEC section 6.

use aish_plugin_sdk::{ConnectOptions, ErrorKind, Event, Outgoing, TransportError, Usage};
use serde::Deserialize;
pub mod http;

use std::borrow::Cow;
use std::time::Duration;

/// The heartbeat interval when an AI's config sets no `heartbeat_ms`: how often a transport
/// with pings pings; no byte for twice as long means the connection is dead.
pub const DEFAULT_HEARTBEAT: Duration = Duration::from_secs(25);

use serde_json::value::RawValue;
use serde_json::{Value, json};

/// The dialects a streaming transport can speak.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DialectKind {
    /// aish's own protocol (and the embedded demo AIs').
    Aish,
    /// Tekton's Rhetor.
    Rhetor,
    /// OpenAI-compatible chat completions.
    OpenAi,
    /// Anthropic's Messages API.
    Anthropic,
    /// Ollama's `/api/chat` (NDJSON lines when streaming).
    Ollama,
    /// Every event passed through as it is.
    Raw,
}

impl DialectKind {
    /// Parses a dialect name from the config.
    pub fn parse(name: &str) -> Result<Self, TransportError> {
        Ok(match name {
            "aish" => DialectKind::Aish,
            "rhetor" => DialectKind::Rhetor,
            "openai" => DialectKind::OpenAi,
            "anthropic" => DialectKind::Anthropic,
            "ollama" => DialectKind::Ollama,
            "raw" => DialectKind::Raw,
            other => {
                return Err(TransportError::new(
                    ErrorKind::InvalidInput,
                    format!("unknown dialect `{other}` for this transport: use aish, rhetor, openai, anthropic or raw"),
                ));
            }
        })
    }

    /// The name as the config spells it.
    pub fn name(self) -> &'static str {
        match self {
            DialectKind::Aish => "aish",
            DialectKind::Rhetor => "rhetor",
            DialectKind::OpenAi => "openai",
            DialectKind::Anthropic => "anthropic",
            DialectKind::Ollama => "ollama",
            DialectKind::Raw => "raw",
        }
    }
}

/// An HTTP request a dialect wants sent.
#[derive(Clone, Debug, PartialEq)]
pub struct HttpShape {
    /// `GET` or `POST`.
    pub method: &'static str,
    /// Header fields besides the transport's own.
    pub headers: Vec<(String, String)>,
    /// The body (empty for a GET).
    pub body: Vec<u8>,
}

/// Whether an answer goes on after a message.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Progress {
    /// More messages will follow.
    More,
    /// The answer is complete (a `done` or `error` event was produced).
    Finished,
}

/// One answer in one dialect: builds the request and reads the streamed messages.
#[derive(Debug)]
pub struct Dialect {
    kind: DialectKind,
    options: ConnectOptions,
    settings: Value,
    usage: Usage,
    /// Token messages seen, the count reported when the backend reports none.
    streamed: u64,
}

impl Dialect {
    /// A dialect for the given connection options.
    pub fn new(options: ConnectOptions) -> Result<Self, TransportError> {
        let kind = DialectKind::parse(&options.dialect)?;
        let settings = if options.settings.trim().is_empty() {
            Value::Object(Default::default())
        } else {
            serde_json::from_str(&options.settings).map_err(|e| {
                TransportError::new(ErrorKind::InvalidInput, format!("settings are not a JSON object: {e}"))
            })?
        };
        Ok(Dialect { kind, options, settings, usage: Usage { input_tokens: None, output_tokens: None }, streamed: 0 })
    }

    /// Which dialect this is.
    pub fn kind(&self) -> DialectKind {
        self.kind
    }

    /// Whether the end of the stream is marked by a message (else the server closing ends it).
    pub fn has_end_marker(&self) -> bool {
        self.kind != DialectKind::Raw
    }

    /// The request for `message`: streamed, or a whole answer when `message.stream` is false.
    pub fn request(&self, message: &Outgoing) -> Result<HttpShape, TransportError> {
        let context = parse_context(&message.context)?;
        let mut headers = vec![("content-type".to_owned(), "application/json".to_owned())];
        let body = match self.kind {
            DialectKind::Aish => json!({"message": message.message, "context": context, "stream": true}),
            DialectKind::Rhetor => {
                let mut body = json!({
                    "message": message.message,
                    "temperature": self.setting_f64("temperature").unwrap_or(0.7),
                    "max_tokens": self.setting_u64("max_tokens").unwrap_or(4000),
                    "include_metadata": true,
                    "stream": true,
                });
                let context_id = self.settings.get("context_id").or_else(|| context.get("context_id"));
                if let Some(id) = context_id {
                    body["context_id"] = id.clone();
                }
                body
            }
            DialectKind::OpenAi => {
                let mut messages = Vec::new();
                if let Some(system) = system_text(&context) {
                    messages.push(json!({"role": "system", "content": system}));
                }
                messages.push(json!({"role": "user", "content": message.message}));
                let mut body = json!({
                    "messages": messages,
                    "stream": true,
                    "stream_options": {"include_usage": true},
                });
                if let Some(model) = &self.options.model {
                    body["model"] = json!(model);
                }
                if let Some(key) = &self.options.api_key {
                    headers.push(("authorization".to_owned(), format!("Bearer {key}")));
                }
                body
            }
            DialectKind::Anthropic => {
                let mut body = json!({
                    "model": self.options.model.as_deref().unwrap_or("claude-sonnet-4-5"),
                    "max_tokens": self.setting_u64("max_tokens").unwrap_or(4096),
                    "messages": [{"role": "user", "content": message.message}],
                    "stream": true,
                });
                if let Some(system) = system_text(&context) {
                    body["system"] = json!(system);
                }
                headers.push(("anthropic-version".to_owned(), "2023-06-01".to_owned()));
                if let Some(key) = &self.options.api_key {
                    headers.push(("x-api-key".to_owned(), key.clone()));
                }
                body
            }
            DialectKind::Ollama => {
                let mut messages = Vec::new();
                if let Some(system) = system_text(&context) {
                    messages.push(json!({"role": "system", "content": system}));
                }
                messages.push(json!({"role": "user", "content": message.message}));
                json!({
                    "model": self.options.model.as_deref().unwrap_or("llama3.2"),
                    "messages": messages,
                    "stream": true,
                })
            }
            DialectKind::Raw if !message.stream => {
                return Err(TransportError::new(
                    ErrorKind::InvalidInput,
                    "the raw dialect only streams; drop --no-stream or pick another dialect",
                ));
            }
            DialectKind::Raw => {
                if message.message.is_empty() {
                    return Ok(HttpShape { method: "GET", headers: Vec::new(), body: Vec::new() });
                }
                return Ok(HttpShape {
                    method: "POST",
                    headers: vec![("content-type".to_owned(), "text/plain; charset=utf-8".to_owned())],
                    body: message.message.clone().into_bytes(),
                });
            }
        };
        let mut body = body;
        if !message.stream {
            body["stream"] = json!(false);
            if let Some(map) = body.as_object_mut() {
                map.remove("stream_options");
            }
        }
        Ok(HttpShape { method: "POST", headers, body: body.to_string().into_bytes() })
    }

    /// Reads a whole (non-streamed) answer: its text and the usage the backend reported.
    pub fn parse_answer(&self, body: &[u8]) -> Result<(String, Option<Usage>), TransportError> {
        let value: Value = serde_json::from_slice(body).map_err(|e| {
            protocol(self.kind, &format!("the answer is not JSON ({e})"), &String::from_utf8_lossy(body))
        })?;
        let usage = |input: &str, output: &str| {
            let input_tokens = value.pointer(input).and_then(Value::as_u64);
            let output_tokens = value.pointer(output).and_then(Value::as_u64);
            (input_tokens.is_some() || output_tokens.is_some()).then_some(Usage { input_tokens, output_tokens })
        };
        let text = match self.kind {
            DialectKind::Aish | DialectKind::Rhetor => {
                value.get("response").or_else(|| value.get("content")).and_then(Value::as_str).map(str::to_owned)
            }
            DialectKind::OpenAi => {
                value.pointer("/choices/0/message/content").and_then(Value::as_str).map(str::to_owned)
            }
            DialectKind::Ollama => value.pointer("/message/content").and_then(Value::as_str).map(str::to_owned),
            DialectKind::Anthropic => value.get("content").and_then(Value::as_array).map(|blocks| {
                blocks
                    .iter()
                    .filter(|b| b.get("type").and_then(Value::as_str) == Some("text"))
                    .filter_map(|b| b.get("text").and_then(Value::as_str))
                    .collect()
            }),
            DialectKind::Raw => None,
        };
        let text = text.ok_or_else(|| {
            protocol(self.kind, "the answer has no text where this dialect puts it", &String::from_utf8_lossy(body))
        })?;
        let usage = match self.kind {
            DialectKind::OpenAi => usage("/usage/prompt_tokens", "/usage/completion_tokens"),
            DialectKind::Anthropic => usage("/usage/input_tokens", "/usage/output_tokens"),
            DialectKind::Ollama => usage("/prompt_eval_count", "/eval_count"),
            _ => None,
        };
        Ok((text, usage))
    }

    /// Reads one streamed message (an SSE event's type and data, or a WebSocket text frame with
    /// no type) and appends what it means to `out`.
    pub fn on_message(
        &mut self,
        event_type: &str,
        data: &str,
        out: &mut Vec<Event>,
    ) -> Result<Progress, TransportError> {
        match self.kind {
            DialectKind::Aish => self.aish(event_type, data, out),
            DialectKind::Rhetor => self.rhetor(data, out),
            DialectKind::OpenAi => self.openai(data, out),
            DialectKind::Anthropic => self.anthropic(event_type, data, out),
            DialectKind::Ollama => self.ollama(data, out),
            DialectKind::Raw => unreachable_raw(),
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

    fn aish(&mut self, event_type: &str, data: &str, out: &mut Vec<Event>) -> Result<Progress, TransportError> {
        if event_type == "done" {
            out.push(Event::Done(self.usage()));
            return Ok(Progress::Finished);
        }
        // Borrowed fields and a raw `data`: no allocation per token on the hot path.
        #[derive(Deserialize)]
        struct Message<'a> {
            #[serde(borrow)]
            event: Option<Cow<'a, str>>,
            #[serde(borrow)]
            data: Option<&'a RawValue>,
        }
        #[derive(Deserialize, Default)]
        struct Fields<'a> {
            #[serde(borrow)]
            token: Option<Cow<'a, str>>,
            #[serde(borrow)]
            content: Option<Cow<'a, str>>,
            #[serde(borrow)]
            message: Option<Cow<'a, str>>,
            #[serde(borrow)]
            error: Option<Cow<'a, str>>,
        }
        let message: Message<'_> = parse_json(self.kind, data)?;
        let name = message.event.as_deref().unwrap_or(event_type);
        let fields = |kind| -> Result<Fields<'_>, TransportError> {
            match message.data {
                Some(raw) => parse_json(kind, raw.get()),
                None => Ok(Fields::default()),
            }
        };
        match name {
            "token" | "message" => {
                let fields = fields(self.kind)?;
                let token = fields
                    .token
                    .or(fields.content)
                    .ok_or_else(|| protocol(self.kind, "a token event without data.token", data))?;
                push_token(&mut self.streamed, out, &token);
                Ok(Progress::More)
            }
            "done" => {
                out.push(Event::Done(self.usage()));
                Ok(Progress::Finished)
            }
            "error" => {
                let fields = fields(self.kind).unwrap_or_default();
                let text = fields.message.or(fields.error);
                let text = text.as_deref().unwrap_or("the server reported an error without a message");
                out.push(Event::Error(text.to_owned()));
                Ok(Progress::Finished)
            }
            "metadata" => {
                if let Some(raw) = message.data {
                    out.push(Event::Metadata(raw.get().to_owned()));
                }
                Ok(Progress::More)
            }
            "heartbeat" | "ping" => {
                out.push(Event::Heartbeat);
                Ok(Progress::More)
            }
            _ => Ok(Progress::More),
        }
    }

    fn rhetor(&mut self, data: &str, out: &mut Vec<Event>) -> Result<Progress, TransportError> {
        let value: Value = parse_json(self.kind, data)?;
        match value.get("type").and_then(Value::as_str) {
            Some("chunk") => {
                if let Some(text) = value.get("content").and_then(Value::as_str) {
                    push_token(&mut self.streamed, out, text);
                }
                Ok(Progress::More)
            }
            Some("complete") => {
                if let Some(meta) = value.get("metadata") {
                    out.push(Event::Metadata(meta.to_string()));
                }
                out.push(Event::Done(self.usage()));
                Ok(Progress::Finished)
            }
            Some("error") => {
                let text =
                    value.get("error").and_then(Value::as_str).unwrap_or("Rhetor reported an error without a message");
                out.push(Event::Error(text.to_owned()));
                Ok(Progress::Finished)
            }
            _ => Ok(Progress::More),
        }
    }

    fn openai(&mut self, data: &str, out: &mut Vec<Event>) -> Result<Progress, TransportError> {
        if data == "[DONE]" {
            out.push(Event::Done(self.usage()));
            return Ok(Progress::Finished);
        }
        #[derive(Deserialize)]
        struct Chunk<'a> {
            #[serde(default, borrow)]
            choices: Vec<Choice<'a>>,
            usage: Option<OpenAiUsage>,
            error: Option<Value>,
        }
        #[derive(Deserialize)]
        struct Choice<'a> {
            #[serde(borrow)]
            delta: Option<Delta<'a>>,
        }
        #[derive(Deserialize)]
        struct Delta<'a> {
            #[serde(borrow)]
            content: Option<Cow<'a, str>>,
        }
        #[derive(Deserialize)]
        struct OpenAiUsage {
            prompt_tokens: Option<u64>,
            completion_tokens: Option<u64>,
        }
        let chunk: Chunk<'_> = parse_json(self.kind, data)?;
        if let Some(error) = chunk.error {
            let text =
                error.get("message").and_then(Value::as_str).map(str::to_owned).unwrap_or_else(|| error.to_string());
            out.push(Event::Error(text));
            return Ok(Progress::Finished);
        }
        if let Some(usage) = chunk.usage {
            self.usage.input_tokens = usage.prompt_tokens;
            self.usage.output_tokens = usage.completion_tokens;
        }
        if let Some(content) = chunk.choices.first().and_then(|c| c.delta.as_ref()).and_then(|d| d.content.as_deref()) {
            push_token(&mut self.streamed, out, content);
        }
        Ok(Progress::More)
    }

    fn anthropic(&mut self, event_type: &str, data: &str, out: &mut Vec<Event>) -> Result<Progress, TransportError> {
        match event_type {
            "content_block_delta" => {
                #[derive(Deserialize)]
                struct BlockDelta<'a> {
                    #[serde(borrow)]
                    delta: DeltaBody<'a>,
                }
                #[derive(Deserialize)]
                struct DeltaBody<'a> {
                    #[serde(rename = "type", borrow)]
                    kind: Cow<'a, str>,
                    #[serde(borrow)]
                    text: Option<Cow<'a, str>>,
                }
                let delta: BlockDelta<'_> = parse_json(self.kind, data)?;
                if delta.delta.kind == "text_delta"
                    && let Some(text) = delta.delta.text.as_deref()
                {
                    push_token(&mut self.streamed, out, text);
                }
                Ok(Progress::More)
            }
            "message_start" => {
                let value: Value = parse_json(self.kind, data)?;
                if let Some(n) = value.pointer("/message/usage/input_tokens").and_then(Value::as_u64) {
                    self.usage.input_tokens = Some(n);
                }
                if let Some(model) = value.pointer("/message/model") {
                    out.push(Event::Metadata(json!({"model": model}).to_string()));
                }
                Ok(Progress::More)
            }
            "message_delta" => {
                let value: Value = parse_json(self.kind, data)?;
                if let Some(n) = value.pointer("/usage/output_tokens").and_then(Value::as_u64) {
                    self.usage.output_tokens = Some(n);
                }
                if let Some(reason) = value.pointer("/delta/stop_reason").filter(|v| !v.is_null()) {
                    out.push(Event::Metadata(json!({"stop_reason": reason}).to_string()));
                }
                Ok(Progress::More)
            }
            "message_stop" => {
                out.push(Event::Done(self.usage()));
                Ok(Progress::Finished)
            }
            "ping" => {
                out.push(Event::Heartbeat);
                Ok(Progress::More)
            }
            "error" => {
                let value: Value = parse_json(self.kind, data)?;
                let text = value
                    .pointer("/error/message")
                    .and_then(Value::as_str)
                    .unwrap_or("Anthropic reported an error without a message");
                let kind = value.pointer("/error/type").and_then(Value::as_str).unwrap_or("error");
                out.push(Event::Error(format!("{kind}: {text}")));
                Ok(Progress::Finished)
            }
            _ => Ok(Progress::More),
        }
    }

    /// One NDJSON line of Ollama's stream.
    fn ollama(&mut self, line: &str, out: &mut Vec<Event>) -> Result<Progress, TransportError> {
        if line.trim().is_empty() {
            return Ok(Progress::More);
        }
        let value: Value = parse_json(self.kind, line)?;
        if let Some(error) = value.get("error").and_then(Value::as_str) {
            out.push(Event::Error(error.to_owned()));
            return Ok(Progress::Finished);
        }
        if let Some(text) = value.pointer("/message/content").and_then(Value::as_str) {
            push_token(&mut self.streamed, out, text);
        }
        if value.get("done").and_then(Value::as_bool) == Some(true) {
            if let Some(n) = value.get("prompt_eval_count").and_then(Value::as_u64) {
                self.usage.input_tokens = Some(n);
            }
            if let Some(n) = value.get("eval_count").and_then(Value::as_u64) {
                self.usage.output_tokens = Some(n);
            }
            out.push(Event::Done(self.usage()));
            return Ok(Progress::Finished);
        }
        Ok(Progress::More)
    }

    fn usage(&self) -> Option<Usage> {
        Some(Usage {
            input_tokens: self.usage.input_tokens,
            output_tokens: self.usage.output_tokens.or(Some(self.streamed)),
        })
    }

    /// A text setting from the AI's config (or one the host adds, such as `last_event_id`).
    pub fn setting_str(&self, key: &str) -> Option<&str> {
        self.settings.get(key).and_then(Value::as_str)
    }

    /// The heartbeat interval: the AI's `heartbeat_ms`, else [`DEFAULT_HEARTBEAT`].
    pub fn heartbeat(&self) -> Duration {
        self.setting_u64("heartbeat_ms").map(Duration::from_millis).unwrap_or(DEFAULT_HEARTBEAT)
    }

    /// A whole-number setting.
    pub fn setting_u64(&self, key: &str) -> Option<u64> {
        self.settings.get(key).and_then(Value::as_u64)
    }

    fn setting_f64(&self, key: &str) -> Option<f64> {
        self.settings.get(key).and_then(Value::as_f64)
    }
}

fn unreachable_raw() -> Result<Progress, TransportError> {
    Err(TransportError::new(ErrorKind::Other, "the raw dialect passes events through; the transport handles it itself"))
}

/// Appends a token, merging it into a token just before it so one receive yields fewer events.
fn push_token(streamed: &mut u64, out: &mut Vec<Event>, text: &str) {
    if text.is_empty() {
        return;
    }
    *streamed += 1;
    if let Some(Event::Token(last)) = out.last_mut() {
        last.push_str(text);
    } else {
        out.push(Event::Token(text.to_owned()));
    }
}

fn parse_context(context: &str) -> Result<Value, TransportError> {
    if context.trim().is_empty() {
        return Ok(Value::Object(Default::default()));
    }
    serde_json::from_str(context)
        .map_err(|e| TransportError::new(ErrorKind::InvalidInput, format!("context is not JSON: {e}")))
}

/// The context as a system message for chat APIs; none when there is nothing to say.
fn system_text(context: &Value) -> Option<String> {
    let map = context.as_object()?;
    if map.is_empty() {
        return None;
    }
    Some(format!("Context from the aish pipeline (JSON): {context}"))
}

fn parse_json<'a, T: Deserialize<'a>>(kind: DialectKind, data: &'a str) -> Result<T, TransportError> {
    serde_json::from_str(data).map_err(|e| protocol(kind, &format!("event data is not the expected JSON ({e})"), data))
}

fn protocol(kind: DialectKind, what: &str, data: &str) -> TransportError {
    let mut shown: String = data.chars().take(80).collect();
    if shown.len() < data.len() {
        shown.push('…');
    }
    TransportError::new(
        ErrorKind::Protocol,
        format!("{} stream: {what}: {shown:?}; check the AI's dialect in config.toml", kind.name()),
    )
}

#[cfg(test)]
mod tests;
