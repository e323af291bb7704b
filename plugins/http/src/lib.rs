//! The `http` transport: one request, one whole answer, in any dialect's non-streaming shape;
//! and Ollama's `/api/chat`, which streams NDJSON lines over a plain response. It is also the
//! fallback when a backend cannot stream.

use std::time::Duration;

use aish_dialects::http::{check_status, from_http, whole_answer};
use aish_dialects::{Dialect, DialectKind, Progress};
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
    /// An NDJSON stream being read, and the line it is in the middle of.
    stream: Option<Response>,
    partial: Vec<u8>,
    finished: bool,
    pending_error: Option<TransportError>,
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
        if dialect.kind() == DialectKind::Raw {
            return Err(TransportError::new(
                ErrorKind::InvalidInput,
                "the raw dialect streams events: use transport = \"sse\"",
            ));
        }
        Ok(Http {
            url,
            dialect,
            whole: Vec::new(),
            stream: None,
            partial: Vec::new(),
            finished: false,
            pending_error: None,
        })
    }

    fn send(&mut self, mut message: Outgoing) -> Result<(), TransportError> {
        // Only Ollama streams over a plain response; every other dialect gets its whole-answer shape.
        message.stream = message.stream && self.dialect.kind() == DialectKind::Ollama;
        let shape = self.dialect.request(&message)?;
        let idle = match message.stream {
            // A stream silent for twice the heartbeat counts as dead.
            true => self.dialect.heartbeat() * 2,
            false => IDLE_TIMEOUT,
        };
        let mut request = Request::new(shape.method, &self.url).body(shape.body).idle_timeout(idle);
        for (name, value) in &shape.headers {
            request = request.header(name, value);
        }
        let mut response = request.send().map_err(from_http)?;
        check_status(&mut response)?;
        self.finished = false;
        self.pending_error = None;
        self.partial.clear();
        if message.stream {
            self.stream = Some(response);
        } else {
            self.whole = whole_answer(&self.dialect, &mut response)?;
        }
        Ok(())
    }

    fn receive(&mut self) -> Result<Vec<Event>, TransportError> {
        if !self.whole.is_empty() {
            self.finished = true;
            return Ok(std::mem::take(&mut self.whole));
        }
        let mut out = Vec::new();
        loop {
            if let Some(error) = self.pending_error.take() {
                self.finished = true;
                return Err(error);
            }
            if self.finished {
                return Ok(out);
            }
            let Some(response) = self.stream.as_mut() else { return Ok(out) };
            match response.read() {
                Ok(Some(bytes)) => self.lines(&bytes, &mut out),
                Ok(None) => {
                    let rest = std::mem::take(&mut self.partial);
                    self.line(&rest, &mut out);
                    if !self.finished && self.pending_error.is_none() {
                        self.pending_error = Some(TransportError::new(
                            ErrorKind::Interrupted,
                            "the server closed the stream before the answer was complete",
                        ));
                    }
                    self.stream = None;
                }
                Err(e) => self.pending_error = Some(from_http(e)),
            }
            if !out.is_empty() {
                return Ok(out);
            }
        }
    }

    fn close(&mut self) {
        self.stream = None;
        self.finished = true;
    }
}

impl Http {
    fn lines(&mut self, bytes: &[u8], out: &mut Vec<Event>) {
        self.partial.extend_from_slice(bytes);
        while let Some(end) = self.partial.iter().position(|&b| b == b'\n') {
            let line: Vec<u8> = self.partial.drain(..=end).collect();
            self.line(&line, out);
        }
        if self.partial.len() > LINE_LIMIT {
            self.pending_error = Some(TransportError::new(ErrorKind::Protocol, "an NDJSON line is longer than 16 MiB"));
        }
    }

    fn line(&mut self, line: &[u8], out: &mut Vec<Event>) {
        if self.finished || self.pending_error.is_some() {
            return;
        }
        let text = String::from_utf8_lossy(line);
        match self.dialect.on_message("", text.trim_end_matches(['\r', '\n']), out) {
            Ok(Progress::More) => {}
            Ok(Progress::Finished) => {
                self.finished = true;
                self.stream = None;
            }
            Err(error) => self.pending_error = Some(error),
        }
    }
}

aish_plugin_sdk::register_transport!(Http);
