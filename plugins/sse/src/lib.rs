//! The SSE transport plugin: sends a message over HTTP and streams the answer back from a
//! `text/event-stream` response, in any dialect the `aish-dialects` crate speaks.

pub mod parser;
#[cfg(test)]
mod proptests;

use aish_dialects::{AnswerState, Dialect, Framing, Message, Progress};
use aish_plugin_sdk::http::{Request, Response};
use aish_plugin_sdk::{ConnectOptions, ErrorKind, Event, Outgoing, Transport, TransportError};
use parser::{Parser, Signal};

/// One SSE conversation.
pub struct Sse {
    url: String,
    dialect: Dialect,
    response: Option<Response>,
    parser: Parser,
    /// Finished, or failed with an error that waits for the events before it.
    state: AnswerState,
    /// A whole answer, read at once when the message asked not to stream.
    whole: Vec<Event>,
}

impl Transport for Sse {
    fn connect(options: ConnectOptions) -> Result<Self, TransportError> {
        if !(options.url.starts_with("http://") || options.url.starts_with("https://")) {
            return Err(TransportError::new(
                ErrorKind::InvalidInput,
                format!("sse needs an http:// or https:// URL, not `{}`", options.url),
            ));
        }
        let url = options.url.clone();
        let dialect = Dialect::new(options)?;
        if dialect.framing() == Framing::JsonLines {
            return Err(TransportError::new(
                ErrorKind::InvalidInput,
                format!("{} streams NDJSON, not server-sent events: use transport = \"http\" for it", dialect.name()),
            ));
        }
        Ok(Sse {
            url,
            dialect,
            response: None,
            parser: Parser::new(),
            state: AnswerState::default(),
            whole: Vec::new(),
        })
    }

    fn send(&mut self, message: Outgoing) -> Result<(), TransportError> {
        let shape = self.dialect.request(&message)?;
        let accept = if message.stream { "text/event-stream" } else { "application/json" };
        let mut request = Request::new(shape.method, shape.url.as_deref().unwrap_or(&self.url))
            .header("accept", accept)
            .header("cache-control", "no-cache")
            .body(shape.body)
            // Silent for twice the heartbeat: dead (keep-alive comments count as bytes).
            .idle_timeout(2 * self.dialect.heartbeat());
        // Set by the host when it reconnects a cut stream, so the server resumes after it.
        if let Some(id) = self.dialect.setting_str("last_event_id") {
            request = request.header("last-event-id", id);
        }
        for (name, value) in &shape.headers {
            request = request.header(name, value);
        }
        let mut response = request.send().map_err(aish_dialects::http::from_http)?;
        self.parser = Parser::new();
        self.state.reset();
        if !message.stream {
            aish_dialects::http::check_status(&mut response)?;
            self.whole = aish_dialects::http::whole_answer(&self.dialect, &mut response)?;
            return Ok(());
        }
        aish_dialects::http::check_status(&mut response)?;
        check_event_stream(&response)?;
        self.response = Some(response);
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
            let Some(response) = self.response.as_mut() else {
                return Err(TransportError::new(ErrorKind::Other, "receive called before send"));
            };
            match response.read() {
                Ok(Some(bytes)) => {
                    self.feed(&bytes, &mut out);
                    if self.parser.over_limit() && self.state.is_open() {
                        self.response = None;
                        self.state.fail(TransportError::new(
                            ErrorKind::Protocol,
                            "the server sent a line or an event longer than 8 MiB; is this an event stream?",
                        ));
                    }
                }
                Ok(None) => self.end_of_stream(&mut out),
                Err(e) => {
                    let mut error = aish_dialects::http::from_http(e);
                    if error.kind == ErrorKind::Connect {
                        error.kind = ErrorKind::Interrupted;
                    }
                    error.retry_after_ms = self.parser.retry_ms();
                    self.resume_point(&mut out);
                    self.state.fail(error);
                }
            }
            if !out.is_empty() {
                return Ok(out);
            }
        }
    }

    fn close(&mut self) {
        self.response = None;
        self.state.finish();
    }
}

impl Sse {
    fn feed(&mut self, bytes: &[u8], out: &mut Vec<Event>) {
        read_events(&mut self.parser, &mut self.dialect, &mut self.state, bytes, out);
        if self.state.is_finished() {
            self.response = None;
        }
    }

    fn end_of_stream(&mut self, out: &mut Vec<Event>) {
        self.parser.finish();
        self.response = None;
        if self.dialect.on_close(out) == Progress::Finished {
            self.state.finish();
        } else {
            let mut error = TransportError::new(
                ErrorKind::Interrupted,
                "the server closed the stream before the answer was complete",
            );
            error.retry_after_ms = self.parser.retry_ms();
            self.resume_point(out);
            self.state.fail(error);
        }
    }
}

impl Sse {
    /// Before a cut is reported: where the stream can resume from, when its events carried ids.
    fn resume_point(&self, out: &mut Vec<Event>) {
        let id = self.parser.last_event_id();
        if !id.is_empty() {
            let point = serde_json::json!({"last_event_id": id, "retry_ms": self.parser.retry_ms()});
            out.push(Event::Metadata(point.to_string()));
        }
    }
}

/// Reads the next `bytes` of an event stream into `out`, each event through `dialect` while
/// the answer is open: the transport's whole parse, apart from HTTP (public so that the
/// benchmark runs this same code natively). An event the dialect read by its text alone teaches
/// the parser its shape, and the events alike but for their text reach the dialect as that text.
pub fn read_events(
    parser: &mut Parser,
    dialect: &mut Dialect,
    state: &mut AnswerState,
    bytes: &[u8],
    out: &mut Vec<Event>,
) {
    parser.feed(bytes, &mut |signal| {
        if !state.is_open() {
            return None;
        }
        match signal {
            Signal::Comment => out.push(Event::Heartbeat),
            Signal::Event(event) => {
                let message = Message { event: event.event, data: event.data, id: event.id };
                state.progress(dialect.on_message(&message, out));
                return dialect.text_shape();
            }
            Signal::Repeat { text, .. } => dialect.on_text(&text, out),
        }
        None
    });
}

/// A successful answer that is not an event stream cannot be streamed.
fn check_event_stream(response: &Response) -> Result<(), TransportError> {
    let status = response.status();
    let content_type = response.header("content-type").unwrap_or("");
    if !content_type.trim_start().to_ascii_lowercase().starts_with("text/event-stream") {
        let shown = if content_type.is_empty() { "no content type" } else { content_type };
        return Err(TransportError::new(
            ErrorKind::StreamUnavailable,
            format!("the server answered with {shown}, not text/event-stream"),
        )
        .with_status(status));
    }
    Ok(())
}

aish_plugin_sdk::register_transport!(Sse);
