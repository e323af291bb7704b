//! `{{name}}`: a transport plugin. It POSTs the message as JSON to the AI's `url` and streams
//! the response body back as the answer, piece by piece. Change `send` and `receive` to speak
//! your backend's protocol.

use aish_plugin_sdk::http::{HttpError, Request, Response, describe};
use aish_plugin_sdk::{ConnectOptions, ErrorKind, Event, Outgoing, Transport, TransportError};

struct Plugin {
    options: ConnectOptions,
    /// The response being read, once a message is sent.
    response: Option<Response>,
    /// The end of the last piece when it stopped inside a UTF-8 character.
    partial: Vec<u8>,
    finished: bool,
}

/// The error kind aish needs to choose a fallback or a retry.
fn failed(error: &HttpError) -> TransportError {
    let kind = match error {
        HttpError::Denied(_) => ErrorKind::Denied,
        HttpError::Connect(_) | HttpError::Timeout(_) => ErrorKind::Connect,
        HttpError::Io(_) => ErrorKind::Interrupted,
        HttpError::InvalidRequest(_) => ErrorKind::InvalidInput,
    };
    TransportError::new(kind, describe(error))
}

impl Transport for Plugin {
    fn connect(options: ConnectOptions) -> Result<Self, TransportError> {
        Ok(Plugin { options, response: None, partial: Vec::new(), finished: false })
    }

    fn send(&mut self, message: Outgoing) -> Result<(), TransportError> {
        let body = format!(
            "{{\"message\":{},\"model\":{}}}",
            json_string(&message.message),
            self.options.model.as_deref().map_or("null".to_owned(), json_string)
        );
        let mut request = Request::post(&self.options.url).header("content-type", "application/json").body(body);
        if let Some(key) = &self.options.api_key {
            request = request.header("authorization", &format!("Bearer {key}"));
        }
        let response = request.send().map_err(|e| failed(&e))?;
        if !(200..300).contains(&response.status()) {
            let status = response.status();
            return Err(TransportError::new(ErrorKind::Server, format!("the server answered HTTP {status}"))
                .with_status(status));
        }
        self.response = Some(response);
        Ok(())
    }

    fn receive(&mut self) -> Result<Vec<Event>, TransportError> {
        let Some(response) = &mut self.response else { return Ok(Vec::new()) };
        if self.finished {
            return Ok(Vec::new());
        }
        match response.read().map_err(|e| failed(&e))? {
            Some(piece) => {
                self.partial.extend_from_slice(&piece);
                // Keep an unfinished character for the next piece.
                let complete = match std::str::from_utf8(&self.partial) {
                    Ok(_) => self.partial.len(),
                    Err(e) if e.error_len().is_none() => e.valid_up_to(),
                    Err(_) => self.partial.len(),
                };
                let rest = self.partial.split_off(complete);
                let text = String::from_utf8_lossy(&std::mem::replace(&mut self.partial, rest)).into_owned();
                Ok(if text.is_empty() { vec![Event::Heartbeat] } else { vec![Event::Token(text)] })
            }
            None => {
                self.finished = true;
                // A body that ends inside a character keeps what it has, marked as damaged.
                let rest = String::from_utf8_lossy(&std::mem::take(&mut self.partial)).into_owned();
                let mut events = if rest.is_empty() { Vec::new() } else { vec![Event::Token(rest)] };
                events.push(Event::Done(None));
                Ok(events)
            }
        }
    }
}

/// `text` as a JSON string.
fn json_string(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 2);
    out.push('"');
    for c in text.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if (c as u32) < 0x20 => out.push_str(&format!("\\u{:04x}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

aish_plugin_sdk::register_transport!(Plugin);
