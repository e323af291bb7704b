//! The remembered event: the bytes of the last event the caller read by one JSON string
//! alone, so that the events after it that differ only in that string are read in one tight
//! loop, without the line-by-line parse or the caller.

use std::borrow::Cow;

use aish_dialects::TextShape;

/// The bytes of the last event the caller read by one JSON string alone, up to that string's
/// opening quote and from its closing quote. Events in a stream are nearly all alike but for
/// their text: the next event with the same bytes around a well-formed string is the same event
/// with another text. When the caller named a string after the text whose content did not
/// matter (padding), the bytes between the two strings and after the second are kept instead,
/// and any well-formed string may stand in the second's place.
#[derive(Debug, Default)]
pub(super) struct Frame {
    head: String,
    /// Without padding: from the text's closing quote to the end. With it: from the text's
    /// closing quote to the padding's opening quote.
    tail: String,
    /// With padding: from its closing quote to the end.
    after_padding: Option<String>,
    /// The remembered event's type.
    pub(super) event: String,
}

impl Frame {
    /// Remembers an event of type `name` from its whole bytes, `event`, in which the caller's
    /// strings (quotes included) stood at `shape` (offsets in `event`).
    pub(super) fn learn(&mut self, name: &str, event: &str, shape: TextShape) {
        let bytes = event.as_bytes();
        let quoted = |(start, stop): (usize, usize)| {
            start < stop && bytes.get(start) == Some(&b'"') && bytes.get(stop - 1) == Some(&b'"')
        };
        let (text, padding) = (shape.text, shape.free);
        if !quoted(text) || padding.is_some_and(|p| !quoted(p) || p.0 < text.1) {
            return;
        }
        // Every cut falls on a quote (ASCII), so the slices below are whole characters.
        let tail_end = padding.map_or(event.len(), |p| p.0 + 1);
        for (kept, part) in [
            (&mut self.head, &event[..text.0 + 1]),
            (&mut self.tail, &event[text.1 - 1..tail_end]),
            (&mut self.event, name),
        ] {
            kept.clear();
            kept.push_str(part);
        }
        // Rarely learnt (once a shape): no need to keep the old one's memory.
        self.after_padding = padding.map(|p| event[p.1 - 1..].to_owned());
    }

    /// Reads the remembered event over and over from the start of `text`, each one's string
    /// added to `run`; returns how many bytes those events took (none when the first event is
    /// not the remembered one). One tight loop: this is where a fast stream spends its time.
    pub(super) fn read_run(&self, text: &str, run: &mut String) -> usize {
        if self.head.is_empty() {
            return 0;
        }
        // Two loops, one without padding: the loop without it is the common one, and a
        // register short in it costs a tenth of the plugin's time (measured).
        match &self.after_padding {
            None => self.run_of::<false>(text, run, ""),
            Some(after) => self.run_of::<true>(text, run, after),
        }
    }

    /// [`Frame::read_run`], with a padding string and `after_padding` after it when `PADDED`.
    /// The common event (text without escapes) takes the fewest steps and keeps the fewest
    /// values alive; a text with escapes is read away from the loop.
    #[inline(always)]
    fn run_of<const PADDED: bool>(&self, text: &str, run: &mut String, after_padding: &str) -> usize {
        let (bytes, head, tail, after) =
            (text.as_bytes(), self.head.as_bytes(), self.tail.as_bytes(), after_padding.as_bytes());
        let mut at = 0;
        while let Some(event_head) = bytes.get(at..at + head.len()) {
            if !aish_dialects::same_bytes(event_head, head) {
                break;
            }
            // A string cannot hold a line end (JSON refuses raw control characters), so the
            // event's lines are the remembered ones.
            let start = at + head.len();
            let Some(plain) = aish_dialects::plain_run(&bytes[start..]) else { break };
            let end = start + plain;
            if bytes[end] != b'"' {
                match escaped_event::<PADDED>(text, start, tail, after, run) {
                    Some(event_end) => {
                        at = event_end;
                        continue;
                    }
                    None => break,
                }
            }
            let Some(event_end) = rest_of_event::<PADDED>(text, end, tail, after) else { break };
            run.push_str(&text[start..end]);
            at = event_end;
        }
        at
    }
}

/// Where the event whose text closes at `end` ends, when the rest of it is `tail` (then a
/// well-formed padding string and `after`, when `PADDED`).
#[inline(always)]
fn rest_of_event<const PADDED: bool>(text: &str, end: usize, tail: &[u8], after: &[u8]) -> Option<usize> {
    let bytes = text.as_bytes();
    if !bytes.get(end..end + tail.len()).is_some_and(|t| aish_dialects::same_bytes(t, tail)) {
        return None;
    }
    let event_end = end + tail.len();
    if !PADDED {
        return Some(event_end);
    }
    let start = event_end;
    let mut padding_end = start + aish_dialects::plain_run(bytes.get(start..)?)?;
    if bytes[padding_end] != b'"' {
        padding_end = escaped_string(text, start)?.1;
    }
    bytes
        .get(padding_end..padding_end + after.len())
        .is_some_and(|t| aish_dialects::same_bytes(t, after))
        .then_some(padding_end + after.len())
}

/// An event of the run whose text (content from `start`) holds escapes: its text decoded goes
/// to `run`; returns where the event ends.
#[cold]
#[inline(never)]
fn escaped_event<const PADDED: bool>(
    text: &str,
    start: usize,
    tail: &[u8],
    after: &[u8],
    run: &mut String,
) -> Option<usize> {
    let (value, end) = escaped_string(text, start)?;
    let event_end = rest_of_event::<PADDED>(text, end, tail, after)?;
    run.push_str(&value);
    Some(event_end)
}

/// The JSON string whose content starts at `start` of `text`, decoded, and where its closing
/// quote stands; `None` when it is not well formed (a raw control character, a bad escape).
#[cold]
fn escaped_string(text: &str, start: usize) -> Option<(Cow<'_, str>, usize)> {
    let (value, after) = aish_dialects::json_string(text, start.checked_sub(1)?)?;
    Some((value, after - 1))
}
