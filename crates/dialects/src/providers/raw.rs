//! The `raw` dialect: every message passed through as an event, for servers aish has no
//! dialect for. A message with text is POSTed as it is (none: a GET); the stream ends when
//! the server closes it.

use aish_plugin_sdk::{ErrorKind, Event, Outgoing, RawEvent, TransportError};
use serde_json::Value;

use crate::provider::{Config, HttpShape, Message, Progress, Provider, Tally, WholeAnswer};

/// The `raw` dialect.
#[derive(Debug, Default)]
pub(crate) struct Raw;

impl Provider for Raw {
    fn name(&self) -> &'static str {
        "raw"
    }

    fn answers_whole(&self) -> bool {
        false
    }

    fn request(&self, message: &Outgoing, _context: &Value, _config: &Config) -> Result<HttpShape, TransportError> {
        if !message.stream {
            return Err(TransportError::new(
                ErrorKind::InvalidInput,
                "the raw dialect only streams; drop --no-stream or pick another dialect",
            ));
        }
        if message.message.is_empty() {
            return Ok(HttpShape { method: "GET", url: None, headers: Vec::new(), body: Vec::new() });
        }
        Ok(HttpShape {
            method: "POST",
            url: None,
            headers: vec![("content-type".to_owned(), "text/plain; charset=utf-8".to_owned())],
            body: message.message.clone().into_bytes(),
        })
    }

    fn socket_request(
        &self,
        message: &Outgoing,
        _context: &Value,
        _config: &Config,
    ) -> Result<Vec<u8>, TransportError> {
        Ok(message.message.clone().into_bytes())
    }

    fn parse_answer(&self, _answer: &Value) -> Option<WholeAnswer> {
        None
    }

    fn on_message(
        &mut self,
        message: &Message<'_>,
        _tally: &mut Tally,
        out: &mut Vec<Event>,
    ) -> Result<Progress, TransportError> {
        // A WebSocket message has no type; it is a `message` as an untyped SSE event is.
        let event = if message.event.is_empty() { "message" } else { message.event };
        out.push(Event::Raw(RawEvent {
            event: event.to_owned(),
            data: message.data.to_owned(),
            id: message.id.to_owned(),
        }));
        Ok(Progress::More)
    }

    fn at_close(&self, _tally: &Tally) -> Option<Event> {
        Some(Event::Done(None))
    }
}

#[cfg(test)]
mod tests {
    use aish_plugin_sdk::{Event, RawEvent};

    use crate::testing::dialect;
    use crate::{Message, Progress};

    #[test]
    fn raw_passes_messages_through_and_ends_at_close() {
        let mut d = dialect("raw");
        let mut out = Vec::new();
        let sse = Message { event: "add", data: "1", id: "7" };
        assert_eq!(d.on_message(&sse, &mut out).unwrap(), Progress::More);
        assert_eq!(d.on_message(&Message::data("frame"), &mut out).unwrap(), Progress::More);
        assert!(!d.has_end_marker());
        assert_eq!(d.on_close(&mut out), Progress::Finished);
        let raw = |event: &str, data: &str, id: &str| {
            Event::Raw(RawEvent { event: event.into(), data: data.into(), id: id.into() })
        };
        assert_eq!(out, vec![raw("add", "1", "7"), raw("message", "frame", ""), Event::Done(None)]);
    }
}
