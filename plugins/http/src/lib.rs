//! The `http` transport: one request, one whole answer, in any dialect's non-streaming shape;
//! and Ollama's `/api/chat`, which streams NDJSON lines over a plain response. It is also the
//! fallback when a backend cannot stream.

use std::time::Duration;

use aish_dialects::http::{check_status, from_http, whole_answer};
use aish_dialects::lines::{LineEnd, Lines};
use aish_dialects::{AnswerState, Dialect, Framing, Message};
use aish_plugin_sdk::http::{Request, Response};
use aish_plugin_sdk::{ConnectOptions, ErrorKind, Event, Outgoing, Transport, TransportError};

/// How long a whole answer may take to start arriving (a backend says nothing until it is done).
const IDLE_TIMEOUT: Duration = Duration::from_secs(300);
/// The longest NDJSON line accepted.
const LINE_LIMIT: usize = 16 << 20;

/// One request/response conversation.
pub struct Http {
    url: String,
    dialect: Dialect,
    /// A whole answer waiting to be handed over.
    whole: Vec<Event>,
    /// An NDJSON stream being read, and its lines.
    stream: Option<Response>,
    lines: Lines,
    /// Finished, or failed with an error that waits for the events before it.
    state: AnswerState,
}

impl Transport for Http {
    fn connect(options: ConnectOptions) -> Result<Self, TransportError> {
        if !(options.url.starts_with("http://") || options.url.starts_with("https://")) {
            return Err(TransportError::new(
                ErrorKind::InvalidInput,
                format!("http needs an http:// or https:// URL, not `{}`", options.url),
            ));
        }
        let url = options.url.clone();
        let dialect = Dialect::new(options)?;
        if !dialect.answers_whole() {
            return Err(TransportError::new(
                ErrorKind::InvalidInput,
                format!("the {} dialect streams events: use transport = \"sse\"", dialect.name()),
            ));
        }
        Ok(Http {
            url,
            dialect,
            whole: Vec::new(),
            stream: None,
            lines: Lines::new(LineEnd::Lf),
            state: AnswerState::default(),
        })
    }

    fn send(&mut self, mut message: Outgoing) -> Result<(), TransportError> {
        // Only a dialect that streams lines streams over a plain response; every other gets its
        // whole-answer shape.
        message.stream = message.stream && self.dialect.framing() == Framing::JsonLines;
        let shape = self.dialect.request(&message)?;
        let idle = match message.stream {
            // A stream silent for twice the heartbeat counts as dead.
            true => self.dialect.heartbeat() * 2,
            false => IDLE_TIMEOUT,
        };
        let url = shape.url.as_deref().unwrap_or(&self.url);
        let mut request = Request::new(shape.method, url).body(shape.body).idle_timeout(idle);
        for (name, value) in &shape.headers {
            request = request.header(name, value);
        }
        let mut response = request.send().map_err(from_http)?;
        check_status(&mut response)?;
        self.state.reset();
        self.lines = Lines::new(LineEnd::Lf);
        if message.stream {
            self.stream = Some(response);
        } else {
            self.whole = whole_answer(&self.dialect, &mut response)?;
        }
        Ok(())
    }

    fn receive(&mut self) -> Result<Vec<Event>, TransportError> {
        if !self.whole.is_empty() {
            self.state.finish();
            return Ok(std::mem::take(&mut self.whole));
        }
        let mut out = Vec::new();
        loop {
            if let Some(error) = self.state.take_error() {
                return Err(error);
            }
            if self.state.is_finished() {
                return Ok(out);
            }
            let Some(response) = self.stream.as_mut() else { return Ok(out) };
            match response.read() {
                Ok(Some(bytes)) => {
                    let Http { lines, dialect, state, .. } = self;
                    lines.feed(&bytes, |line| on_line(dialect, state, line, &mut out));
                    if lines.pending() > LINE_LIMIT {
                        state.fail(TransportError::new(ErrorKind::Protocol, "an NDJSON line is longer than 16 MiB"));
                    }
                }
                Ok(None) => {
                    let rest = self.lines.finish();
                    on_line(&mut self.dialect, &mut self.state, &rest, &mut out);
                    self.state.fail(TransportError::new(
                        ErrorKind::Interrupted,
                        "the server closed the stream before the answer was complete",
                    ));
                    self.stream = None;
                }
                Err(e) => self.state.fail(from_http(e)),
            }
            if self.state.is_finished() {
                self.stream = None;
            }
            if !out.is_empty() {
                return Ok(out);
            }
        }
    }

    fn close(&mut self) {
        self.stream = None;
        self.state.finish();
    }
}

/// One NDJSON line, for the dialect, while the answer is open.
fn on_line(dialect: &mut Dialect, state: &mut AnswerState, line: &[u8], out: &mut Vec<Event>) {
    if !state.is_open() {
        return;
    }
    let text = String::from_utf8_lossy(line);
    state.progress(dialect.on_message(&Message::data(text.trim_end_matches(['\r', '\n'])), out));
}

aish_plugin_sdk::register_transport!(Http);
