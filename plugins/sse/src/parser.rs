//! An incremental `text/event-stream` parser that follows the WHATWG HTML standard's
//! "Server-sent events" section to the letter: one leading BOM stripped; CR, LF and CRLF line
//! ends, also split across reads; comments; `event`, `data`, `id` (ignored when it contains
//! NUL) and `retry`; a field without a colon; one leading space stripped from a value; UTF-8
//! split across reads, invalid bytes replaced by U+FFFD; a pending event dropped at the end.

use std::borrow::Cow;

use aish_dialects::TextShape;
use aish_dialects::lines::{LineEnd, Lines};

mod frame;
mod joined;
use frame::Frame;

/// A dispatched event, borrowed from the parser's buffers (copied only by a caller that keeps it).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SseEvent<'a> {
    /// The event type, `message` when the stream named none.
    pub event: &'a str,
    /// The data lines joined with `\n`.
    pub data: &'a str,
    /// The last event ID string in force when the event was dispatched.
    pub id: &'a str,
}

/// Something the parser saw.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Signal<'a> {
    /// An event was dispatched.
    Event(SseEvent<'a>),
    /// A comment line (servers send them to keep a connection alive).
    Comment,
    /// One or more events in a row whose bytes are those of the last event the caller gave a
    /// [`TextShape`] for, but for the JSON strings and the number there and the values of their
    /// `id:` lines.
    Repeat {
        /// The event type, the remembered event's.
        event: &'a str,
        /// Their JSON strings, decoded and joined.
        text: Cow<'a, str>,
        /// The last event ID string in force after the last of them (the events' own IDs may
        /// differ).
        id: &'a str,
    },
}

/// The parser's state between reads.
#[derive(Debug)]
pub struct Parser {
    /// Splits lines at CR, LF or CRLF, also when split across reads.
    lines: Lines,
    /// The first bytes, while they may still be a BOM.
    start: Vec<u8>,
    /// Whether the start of the stream (where a BOM may stand) is behind us.
    past_bom: bool,
    fields: Fields,
}

/// The event being built from field lines, and what outlives one event.
#[derive(Debug, Default)]
struct Fields {
    data: String,
    event_type: String,
    last_event_id_buffer: String,
    last_event_id: String,
    retry_ms: Option<u64>,
    frame: Frame,
    /// The strings of a run of repeated events, joined.
    run: Vec<u8>,
}

impl Default for Parser {
    fn default() -> Self {
        Parser { lines: Lines::new(LineEnd::Any), start: Vec::new(), past_bom: false, fields: Fields::default() }
    }
}

const BOM: &[u8] = b"\xEF\xBB\xBF";

/// The longest line or event data accepted, well inside a plugin's memory limit: a server that
/// never ends a line is a protocol error, not a reason to grow without bound.
pub const LIMIT: usize = 8 << 20;

impl Parser {
    /// A parser at the start of a stream.
    pub fn new() -> Self {
        Self::default()
    }

    /// The reconnection time the stream last set with `retry`, in milliseconds.
    pub fn retry_ms(&self) -> Option<u64> {
        self.fields.retry_ms
    }

    /// Whether a line or an event's data has grown past [`LIMIT`].
    pub fn over_limit(&self) -> bool {
        self.lines.pending() > LIMIT || self.fields.data.len() > LIMIT
    }

    /// What the parser holds: the unfinished line's bytes and the pending event's data.
    #[cfg(test)]
    pub(crate) fn held(&self) -> (usize, usize) {
        (self.lines.pending(), self.fields.data.len())
    }

    /// The last event ID string (what a reconnecting client sends as `Last-Event-ID`).
    pub fn last_event_id(&self) -> &str {
        &self.fields.last_event_id
    }

    /// Parses the next bytes of the stream, calling `emit` for each event and comment. For an
    /// event, `emit` answers where in its data stood the JSON string (quotes included) that
    /// alone made its meaning, and a string after it whose content did not matter: events alike
    /// but for those strings, a number before the text the caller named (and their IDs) then
    /// come back as [`Signal::Repeat`] without being parsed again. `None` when there is no such
    /// string.
    pub fn feed(&mut self, mut bytes: &[u8], emit: &mut impl FnMut(Signal<'_>) -> Option<TextShape>) {
        let Parser { lines, start, past_bom, fields } = self;
        if !*past_bom {
            // The BOM may itself be split across reads: wait for three bytes or a mismatch.
            let take = bytes.len().min(BOM.len() - start.len());
            start.extend_from_slice(&bytes[..take]);
            bytes = &bytes[take..];
            if start.len() < BOM.len() && BOM.starts_with(start) {
                return;
            }
            *past_bom = true;
            let first = std::mem::take(start);
            lines.feed(first.strip_prefix(BOM).unwrap_or(&first), |line| fields.line(line, emit));
        }
        // The read checked as UTF-8, from the first event the fast path read one by one: kept
        // for the whole read, so a stream whose events keep leaving the fast path (an `id:`
        // line each, say) is not checked again from each of them to the end of the read.
        let mut checked = None;
        let mut at = 0;
        while at < bytes.len() {
            if lines.at_line_start() && fields.clean() {
                at = fields.simple_events(bytes, at, &mut checked, emit);
                if at == bytes.len() {
                    return;
                }
            }
            // An event the fast path does not take (or one begun in an earlier read), line by
            // line, up to the blank line that ends it.
            let rest = &bytes[at..];
            match memchr::memmem::find(rest, b"\n\n") {
                Some(end) => {
                    lines.feed(&rest[..end + 2], |line| fields.line(line, emit));
                    at += end + 2;
                }
                None => {
                    lines.feed(rest, |line| fields.line(line, emit));
                    return;
                }
            }
        }
    }

    /// The stream has ended: a line without its end is discarded with the pending event, as
    /// the standard says.
    pub fn finish(&mut self) {
        self.lines.finish();
        self.start.clear();
        self.fields.data.clear();
        self.fields.event_type.clear();
    }
}

impl Fields {
    /// No event is being built.
    fn clean(&self) -> bool {
        self.data.is_empty() && self.event_type.is_empty()
    }

    /// The fast path: dispatches the whole events from `at` in `bytes` that are the common shape
    /// (an optional `event:` and an optional `id:` line, one `data:` line, a blank line, `\n`
    /// line ends, valid UTF-8) straight from the read, with no copy; returns where they end.
    /// The first event of any other shape, and what follows it, is left to the line-by-line
    /// parser.
    ///
    /// Runs of remembered events need only their texts checked as UTF-8; the rest of the read is
    /// checked once, from the first event read otherwise: `checked` is that text and where in
    /// `bytes` it starts, for this and later calls on the same read.
    fn simple_events<'b>(
        &mut self,
        bytes: &'b [u8],
        mut at: usize,
        checked: &mut Option<(usize, &'b str)>,
        emit: &mut impl FnMut(Signal<'_>) -> Option<TextShape>,
    ) -> usize {
        // A run whose texts are not UTF-8 is read event by event up to here instead.
        let mut runs_from = at;
        loop {
            if at >= runs_from {
                // The events of a run go in one signal: one call where there were many.
                self.run.clear();
                let mut last_id = None;
                let length = self.frame.read_run(&bytes[at..], &mut self.run, &mut last_id);
                if length > 0 {
                    // Held apart while the run's ID is set, then given back with its capacity.
                    let run = std::mem::take(&mut self.run);
                    if let Ok(text) = simdutf8::basic::from_utf8(&run) {
                        // The run's IDs are ASCII: the last one is the run's.
                        if let Some(id) =
                            last_id.and_then(|(start, end)| std::str::from_utf8(&bytes[at + start..at + end]).ok())
                        {
                            self.id_field(id);
                        }
                        self.sync_id();
                        at += length;
                        let text = Cow::Borrowed(text);
                        emit(Signal::Repeat { event: &self.frame.event, text, id: &self.last_event_id });
                        self.run = run;
                        continue;
                    }
                    self.run = run;
                    runs_from = at + length;
                }
            }
            let (from, text) = match *checked {
                Some((from, text)) if at - from < text.len() => (from, text),
                // Past a byte that is not UTF-8 (or at the first event): checked from here on.
                _ => *checked.insert((at, valid_prefix(&bytes[at..]))),
            };
            // `at` follows a line end (or is where `text` starts): a character boundary.
            let Some(rest) = text.get(at - from..) else { return at };
            // Up to one `event:` and one `id:` line, in either order, before the `data:` line.
            let (mut event, mut id, mut fields) = (None, None, rest);
            loop {
                if let Some(after) = prefixed(fields, "event:").filter(|_| event.is_none()) {
                    let Some((value, next)) = simple_line(after) else { return at };
                    (event, fields) = (Some(value), next);
                } else if let Some(after) = prefixed(fields, "id:").filter(|_| id.is_none()) {
                    let Some((value, next)) = simple_line(after) else { return at };
                    (id, fields) = (Some(value), next);
                } else {
                    break;
                }
            }
            let Some(after) = prefixed(fields, "data:") else { return at };
            let Some((data, next)) = simple_line(after) else { return at };
            let Some(next) = next.strip_prefix('\n') else { return at };
            if let Some(id) = id {
                self.id_field(id);
            }
            self.sync_id();
            let event = event.filter(|event| !event.is_empty()).unwrap_or("message");
            let shape = emit(Signal::Event(SseEvent { event, data, id: &self.last_event_id }));
            let length = rest.len() - next.len();
            if let Some(shape) = shape {
                // From offsets in the data to offsets in the event's bytes.
                let offset = |text: &str| text.as_ptr() as usize - rest.as_ptr() as usize;
                let data_at = offset(data);
                let shift = |(start, stop): (usize, usize)| (data_at + start, data_at + stop);
                let shape =
                    TextShape { text: shift(shape.text), free: shape.free.map(shift), number: shape.number.map(shift) };
                let id = id.map(|id| (offset(id), offset(id) + id.len()));
                self.frame.learn(event, &rest[..length], shape, id);
            }
            at += length;
        }
    }

    fn line(&mut self, line: &[u8], emit: &mut impl FnMut(Signal<'_>) -> Option<TextShape>) {
        if line.is_empty() {
            self.dispatch(emit);
            return;
        }
        if line[0] == b':' {
            emit(Signal::Comment);
            return;
        }
        let (field, value) = match line.iter().position(|&b| b == b':') {
            Some(colon) => {
                let value = &line[colon + 1..];
                (&line[..colon], value.strip_prefix(b" ").unwrap_or(value))
            }
            None => (line, &b""[..]),
        };
        match field {
            b"event" => {
                self.event_type.clear();
                self.event_type.push_str(&String::from_utf8_lossy(value));
            }
            b"data" => {
                // Valid UTF-8 (nearly always) is checked in one fast pass, not chunk by chunk.
                match std::str::from_utf8(value) {
                    Ok(text) => self.data.push_str(text),
                    Err(_) => self.data.push_str(&String::from_utf8_lossy(value)),
                }
                self.data.push('\n');
            }
            b"id" => self.id_field(&String::from_utf8_lossy(value)),
            b"retry" if !value.is_empty() && value.iter().all(u8::is_ascii_digit) => {
                // Digits beyond u64 are a server's mistake; saturate rather than ignore.
                let text: Cow<'_, str> = String::from_utf8_lossy(value);
                self.retry_ms = Some(text.parse().unwrap_or(u64::MAX));
            }
            _ => {}
        }
    }

    /// An `id` field: its value becomes the last event ID buffer, unless it holds a NUL (then
    /// the field is ignored, as the standard says).
    fn id_field(&mut self, value: &str) {
        if !value.contains('\0') {
            self.last_event_id_buffer.clear();
            self.last_event_id_buffer.push_str(value);
        }
    }

    /// The last event ID takes the buffer's value when an event is dispatched.
    fn sync_id(&mut self) {
        // Usually both are empty: no comparison (and no `memcmp` call) at all then.
        let same = self.last_event_id.len() == self.last_event_id_buffer.len()
            && (self.last_event_id.is_empty() || self.last_event_id == self.last_event_id_buffer);
        if !same {
            self.last_event_id.clone_from(&self.last_event_id_buffer);
        }
    }

    fn dispatch(&mut self, emit: &mut impl FnMut(Signal<'_>) -> Option<TextShape>) {
        self.sync_id();
        if self.data.is_empty() {
            self.event_type.clear();
            return;
        }
        self.data.pop();
        let event = if self.event_type.is_empty() { "message" } else { &self.event_type };
        // The event's bytes are not in one piece here: no frame is learnt from it.
        emit(Signal::Event(SseEvent { event, data: &self.data, id: &self.last_event_id }));
        // Cleared, not freed: the buffers' capacity serves the next event.
        self.data.clear();
        self.event_type.clear();
    }
}

#[cfg(test)]
thread_local! {
    /// How many bytes `valid_prefix` has checked on this thread.
    static CHECKED: std::cell::Cell<usize> = const { std::cell::Cell::new(0) };
}

/// The longest start of `bytes` that is UTF-8 (a character cut by the end of a read stops it).
fn valid_prefix(bytes: &[u8]) -> &str {
    let valid = match simdutf8::compat::from_utf8(bytes) {
        Ok(text) => text,
        Err(e) => simdutf8::basic::from_utf8(&bytes[..e.valid_up_to()]).unwrap_or_default(),
    };
    // The check stops at the first byte that is not UTF-8.
    #[cfg(test)]
    CHECKED.with(|checked| checked.set(checked.get() + (valid.len() + 1).min(bytes.len())));
    valid
}

/// `text` after `field`, when it starts with it (compared in line: a `memcmp` call per event
/// for five bytes costs more than the comparison).
fn prefixed<'t>(text: &'t str, field: &str) -> Option<&'t str> {
    let head = text.get(..field.len())?;
    aish_dialects::short_eq(head, field).then(|| &text[field.len()..])
}

/// A field's value up to a `\n` line end (one leading space dropped), and what follows the line
/// end; `None` at a `\r` or when the line does not end here.
fn simple_line(after_colon: &str) -> Option<(&str, &str)> {
    let end = memchr::memchr2(b'\n', b'\r', after_colon.as_bytes())?;
    if after_colon.as_bytes()[end] != b'\n' {
        return None;
    }
    let value = &after_colon[..end];
    Some((value.strip_prefix(' ').unwrap_or(value), &after_colon[end + 1..]))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every signal as an owned value: `None` for a comment, else (type, data, id).
    fn parse_chunks(chunks: &[&[u8]]) -> Vec<Option<(String, String, String)>> {
        let mut parser = Parser::new();
        let mut out = Vec::new();
        for chunk in chunks {
            parser.feed(chunk, &mut |s| {
                out.push(owned(s));
                None
            });
        }
        parser.finish();
        out
    }

    fn owned(signal: Signal<'_>) -> Option<(String, String, String)> {
        match signal {
            Signal::Event(e) => Some((e.event.to_owned(), e.data.to_owned(), e.id.to_owned())),
            Signal::Comment => None,
            Signal::Repeat { .. } => panic!("no repeats: no event was read by its text"),
        }
    }

    fn events(chunks: &[&[u8]]) -> Vec<(String, String, String)> {
        parse_chunks(chunks).into_iter().flatten().collect()
    }

    fn ev(event: &str, data: &str, id: &str) -> (String, String, String) {
        (event.into(), data.into(), id.into())
    }

    /// Events the fast path leaves (two `data:` lines, a byte that is not UTF-8) are read line
    /// by line; the fast path tries again after each, and the read is checked as UTF-8 once in
    /// all, not once more from each of them to its end. Events with an `id:` line, between
    /// them, stay on the fast path and set the last event ID.
    #[test]
    fn a_read_is_checked_once_however_often_its_events_leave_the_fast_path() {
        let mut read = Vec::new();
        let mut expected = Vec::new();
        let mut id = String::new();
        for i in 0..2000 {
            match i % 3 {
                _ if i % 500 == 499 => {
                    read.extend_from_slice(b"data: bad\xFF");
                    read.extend_from_slice(format!("{i}\n\n").as_bytes());
                    expected.push(ev("message", &format!("bad\u{FFFD}{i}"), &id));
                }
                0 => {
                    read.extend_from_slice(format!("id: {i}\ndata: {{\"n\":{i}}}\n\n").as_bytes());
                    id = i.to_string();
                    expected.push(ev("message", &format!("{{\"n\":{i}}}"), &id));
                }
                1 => {
                    read.extend_from_slice(format!("event: t\ndata: {i}\n\n").as_bytes());
                    expected.push(ev("t", &i.to_string(), &id));
                }
                _ => {
                    read.extend_from_slice(format!("data: {i}\ndata: é\n\n").as_bytes());
                    expected.push(ev("message", &format!("{i}\né"), &id));
                }
            }
        }
        let before = CHECKED.with(std::cell::Cell::get);
        let read_events = events(&[&read]);
        assert!(read_events == expected, "the events differ from the first at {:?}", {
            read_events.iter().zip(&expected).position(|(a, b)| a != b)
        });
        let checked = CHECKED.with(std::cell::Cell::get) - before;
        assert!(checked <= read.len(), "{checked} bytes checked for a read of {}", read.len());
    }

    /// Every way of splitting the input into two reads gives the same events.
    fn all_splits(input: &[u8]) -> Vec<(String, String, String)> {
        let whole = events(&[input]);
        for cut in 0..=input.len() {
            assert_eq!(events(&[&input[..cut], &input[cut..]]), whole, "split at {cut}");
        }
        let bytes: Vec<&[u8]> = input.chunks(1).collect();
        assert_eq!(events(&bytes), whole, "one byte a read");
        whole
    }

    #[test]
    fn data_lines_join_with_newline() {
        assert_eq!(all_splits(b"data: a\ndata: b\n\n"), vec![ev("message", "a\nb", "")]);
    }

    #[test]
    fn all_three_line_ends() {
        let got = all_splits(b"data: one\r\n\r\ndata: two\r\rdata: three\n\n");
        assert_eq!(got, vec![ev("message", "one", ""), ev("message", "two", ""), ev("message", "three", "")]);
    }

    #[test]
    fn trailing_cr_dispatches_without_waiting() {
        let mut parser = Parser::new();
        let mut out = Vec::new();
        parser.feed(b"data: x\r\r", &mut |s| {
            out.push(owned(s));
            None
        });
        assert_eq!(out.len(), 1, "an event ended by CR CR is dispatched at once");
        parser.feed(b"\ndata: y\n\n", &mut |s| {
            out.push(owned(s));
            None
        });
        assert_eq!(out.len(), 2, "the LF after the CR is part of the same line end");
    }

    #[test]
    fn bom_is_stripped_once_even_when_split() {
        assert_eq!(all_splits(b"\xEF\xBB\xBFdata: x\n\n"), vec![ev("message", "x", "")]);
        // A second BOM is not stripped: the line becomes an unknown field.
        assert_eq!(events(&[b"\xEF\xBB\xBF\xEF\xBB\xBFdata: x\n\n"]), vec![]);
    }

    #[test]
    fn bom_start_that_is_not_a_bom() {
        assert_eq!(all_splits(b"\xEFdata: x\n\ndata: y\n\n"), vec![ev("message", "y", "")]);
    }

    #[test]
    fn comments_are_reported_and_not_data() {
        let got = parse_chunks(&[b": keep-alive\ndata: x\n: more\n\n"]);
        assert_eq!(got.iter().filter(|s| s.is_none()).count(), 2);
        assert_eq!(events(&[b": keep-alive\ndata: x\n: more\n\n"]), vec![ev("message", "x", "")]);
    }

    #[test]
    fn one_leading_space_stripped_only() {
        assert_eq!(all_splits(b"data:  two\ndata:none\n\n"), vec![ev("message", " two\nnone", "")]);
    }

    #[test]
    fn field_without_colon_has_empty_value() {
        assert_eq!(all_splits(b"data\ndata\n\n"), vec![ev("message", "\n", "")]);
        // `data` alone once gives an event with empty data (buffer is "\n", then trimmed).
        assert_eq!(events(&[b"data\n\n"]), vec![ev("message", "", "")]);
    }

    #[test]
    fn event_type_applies_to_one_event() {
        let got = all_splits(b"event: add\ndata: 1\n\ndata: 2\n\n");
        assert_eq!(got, vec![ev("add", "1", ""), ev("message", "2", "")]);
    }

    #[test]
    fn event_type_without_data_is_reset() {
        assert_eq!(all_splits(b"event: lost\n\ndata: x\n\n"), vec![ev("message", "x", "")]);
    }

    #[test]
    fn id_persists_and_nul_id_is_ignored() {
        let got = all_splits(b"id: 7\ndata: a\n\ndata: b\n\nid: 8\0x\ndata: c\n\nid\ndata: d\n\n");
        assert_eq!(
            got,
            vec![ev("message", "a", "7"), ev("message", "b", "7"), ev("message", "c", "7"), ev("message", "d", "")]
        );
    }

    #[test]
    fn id_without_data_still_sets_last_event_id() {
        let mut parser = Parser::new();
        parser.feed(b"id: 42\n\n", &mut |_| panic!("no event without data"));
        assert_eq!(parser.last_event_id(), "42");
    }

    #[test]
    fn retry_accepts_only_digits() {
        let mut parser = Parser::new();
        parser.feed(b"retry: 1500\n\nretry: 12a\n\nretry:\n\n", &mut |_| None);
        assert_eq!(parser.retry_ms(), Some(1500));
        parser.feed(b"retry: 99999999999999999999999\n\n", &mut |_| None);
        assert_eq!(parser.retry_ms(), Some(u64::MAX));
    }

    #[test]
    fn unknown_fields_are_ignored() {
        assert_eq!(all_splits(b"foo: bar\ndata: x\nData: y\n\n"), vec![ev("message", "x", "")]);
    }

    #[test]
    fn utf8_split_across_reads_and_invalid_bytes() {
        let got = all_splits("data: héllo → 世界\n\n".as_bytes());
        assert_eq!(got, vec![ev("message", "héllo → 世界", "")]);
        assert_eq!(all_splits(b"data: a\xFFb\xE2\x82\n\n"), vec![ev("message", "a\u{FFFD}b\u{FFFD}", "")]);
    }

    #[test]
    fn pending_event_dropped_at_end() {
        assert_eq!(events(&[b"data: done\n\ndata: half\n"]), vec![ev("message", "done", "")]);
        assert_eq!(events(&[b"data: done\n\ndata: no end"]), vec![ev("message", "done", "")]);
    }

    #[test]
    fn an_endless_line_is_over_the_limit() {
        let mut parser = Parser::new();
        let chunk = vec![b'x'; 1 << 20];
        for _ in 0..8 {
            parser.feed(&chunk, &mut |_| None);
        }
        assert!(!parser.over_limit());
        parser.feed(&chunk, &mut |_| None);
        assert!(parser.over_limit());
    }

    #[test]
    fn colon_in_value_kept() {
        assert_eq!(all_splits(b"data: a: b\n\n"), vec![ev("message", "a: b", "")]);
    }
}
