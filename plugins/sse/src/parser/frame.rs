//! The remembered event: the bytes of the last event the caller read by one JSON string
//! alone, so that the events after it that differ only in that string are read in one tight
//! loop, without the line-by-line parse or the caller.

use std::borrow::Cow;

use aish_dialects::{Fixed, Lanes, TextShape};

use super::joined::{Joined, PushText};

/// The bytes of the last event the caller read by one JSON string alone, up to that string's
/// opening quote and from its closing quote. Events in a stream are nearly all alike but for
/// their text: the next event with the same bytes around a well-formed string is the same event
/// with another text. When the caller named a string after the text whose content did not
/// matter (padding), the bytes between the two strings and after the second are kept instead,
/// and any well-formed string may stand in the second's place. One value before the text may be
/// a hole too: an `id:` line's value (servers that support resuming send one with each event;
/// any other plain ASCII ID may stand there, see [`plain_id`]) or a number the caller named
/// (a sequence number; any other non-negative integer may stand there).
#[derive(Debug, Default)]
pub(super) struct Frame {
    /// Up to the text's opening quote; with a hole, up to the hole.
    head: String,
    /// With a hole: what it holds, and the bytes from its end to the text's opening quote.
    hole: Option<(Hole, String)>,
    /// Without padding: from the text's closing quote to the end. With it: from the text's
    /// closing quote to the padding's opening quote.
    tail: String,
    /// With padding: from its closing quote to the end.
    after_padding: Option<String>,
    /// The remembered event's type.
    pub(super) event: String,
    /// Without a hole or padding, `head` and `tail` as vectors, when they fit.
    vectors: Option<(Fixed<4>, Fixed<2>)>,
}

/// What a hole before the text holds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Hole {
    /// The value of the event's `id:` line.
    Id,
    /// A non-negative integer in the data.
    Number,
}

impl Frame {
    /// Remembers an event of type `name` from its whole bytes, `event`, in which the caller's
    /// strings (quotes included) and number stood at `shape` and the value of its `id:` line,
    /// if any, at `id` (offsets in `event`; the value ends at its line end).
    pub(super) fn learn(&mut self, name: &str, event: &str, shape: TextShape, id: Option<(usize, usize)>) {
        let bytes = event.as_bytes();
        let quoted = |(start, stop): (usize, usize)| {
            start < stop && bytes.get(start) == Some(&b'"') && bytes.get(stop - 1) == Some(&b'"')
        };
        let (text, padding) = (shape.text, shape.free);
        if !quoted(text) || padding.is_some_and(|p| !quoted(p) || p.0 < text.1) {
            return;
        }
        // One hole before the text at most. An ID with padding is not remembered (no stream
        // sends both), nor one that is not its own line; a number must be one a run would take.
        let hole = match (id, shape.number) {
            (Some((start, end)), None) if padding.is_none() && bytes.get(end) == Some(&b'\n') && end < text.0 => {
                Some((Hole::Id, start, end))
            }
            (None, Some((start, end))) if end < text.0 && plain_number(bytes, start) == Some(end) => {
                Some((Hole::Number, start, end))
            }
            (None, None) => None,
            _ => return,
        };
        // Every cut falls on a quote, a line end or a digit (ASCII) or is where a value starts
        // after its field's colon (or the space after it): the slices below are whole
        // characters.
        let tail_end = padding.map_or(event.len(), |p| p.0 + 1);
        match hole {
            Some((kind, _, end)) => {
                // Learnt again at each event a run did not take: the old capacity serves.
                let (kept_kind, kept) = self.hole.get_or_insert_with(|| (kind, String::new()));
                *kept_kind = kind;
                kept.clear();
                kept.push_str(&event[end..text.0 + 1]);
            }
            None => self.hole = None,
        }
        for (kept, part) in [
            (&mut self.head, &event[..hole.map_or(text.0 + 1, |(_, start, _)| start)]),
            (&mut self.tail, &event[text.1 - 1..tail_end]),
            (&mut self.event, name),
        ] {
            kept.clear();
            kept.push_str(part);
        }
        // Rarely learnt (once a shape): no need to keep the old one's memory.
        self.after_padding = padding.map(|p| event[p.1 - 1..].to_owned());
        self.vectors = match (&self.hole, &self.after_padding) {
            (None, None) => Fixed::new(self.head.as_bytes()).zip(Fixed::new(self.tail.as_bytes())),
            _ => None,
        };
    }

    /// Reads the remembered event over and over from the start of `bytes`, each one's string
    /// added to `run` (its bytes as they came, escapes decoded: UTF-8 if the texts were);
    /// returns how many bytes those events took (none when the first event is not the
    /// remembered one), and sets `last_id` to where the last one's ID stands, when they have
    /// IDs. This is where a fast stream spends its time.
    pub(super) fn read_run(&self, bytes: &[u8], run: &mut Vec<u8>, last_id: &mut Option<(usize, usize)>) -> usize {
        if self.head.is_empty() {
            return 0;
        }
        if let Some((hole, after_hole)) = &self.hole {
            let (head, after_hole, tail) = (self.head.as_bytes(), after_hole.as_bytes(), self.tail.as_bytes());
            return match (hole, &self.after_padding) {
                // An ID is learnt only without padding.
                (Hole::Id, _) => {
                    short_texts_with_hole::<false, true>(bytes, &(head, after_hole, tail, &[]), run, last_id)
                }
                (Hole::Number, None) => {
                    short_texts_with_hole::<false, false>(bytes, &(head, after_hole, tail, &[]), run, last_id)
                }
                (Hole::Number, Some(after)) => {
                    let fixed = (head, after_hole, tail, after.as_bytes());
                    short_texts_with_hole::<true, false>(bytes, &fixed, run, last_id)
                }
            };
        }
        // Two loops, one without padding: the loop without it is the common one, and a
        // register short in it costs a tenth of the plugin's time (measured).
        match (&self.after_padding, self.vectors) {
            (None, Some((head, tail))) => self.run_of::<false, _>(bytes, run, "", &(head, tail)),
            (None, None) => self.run_of::<false, _>(bytes, run, "", &self.slices()),
            (Some(after), _) => self.run_of::<true, _>(bytes, run, after, &self.slices()),
        }
    }

    /// The remembered head and tail, as the loop of short texts compares them when they are
    /// not held as vectors.
    fn slices(&self) -> (&[u8], &[u8]) {
        (self.head.as_bytes(), self.tail.as_bytes())
    }

    /// [`Frame::read_run`], with a padding string and `after_padding` after it when `PADDED`.
    /// Events with a short plain text (nearly every token) go through [`short_texts`]; the
    /// others are read here, one at a time, and a text with escapes away from the loop.
    #[inline(always)]
    fn run_of<const PADDED: bool, A: Around>(
        &self,
        bytes: &[u8],
        run: &mut Vec<u8>,
        after_padding: &str,
        around: &A,
    ) -> usize {
        let (head, tail, after) = (self.head.as_bytes(), self.tail.as_bytes(), after_padding.as_bytes());
        let mut at = 0;
        loop {
            at = short_texts::<PADDED, A>(bytes, at, around, after, run);
            let Some(event_head) = bytes.get(at..at + head.len()) else { break };
            if !aish_dialects::same_bytes(event_head, head) {
                break;
            }
            // A string cannot hold a line end (JSON refuses raw control characters), so the
            // event's lines are the remembered ones.
            let start = at + head.len();
            let Some(plain) = aish_dialects::plain_run(&bytes[start..]) else { break };
            if continues_a_character(bytes[start]) {
                break;
            }
            let end = start + plain;
            if bytes[end] != b'"' {
                match escaped_event::<PADDED>(bytes, start, tail, after, run) {
                    Some(event_end) => {
                        at = event_end;
                        continue;
                    }
                    None => break,
                }
            }
            let Some(event_end) = rest_of_event::<PADDED>(bytes, end, tail, after, |start| padding_end(bytes, start))
            else {
                break;
            };
            run.extend_from_slice(&bytes[start..end]);
            at = event_end;
        }
        at
    }
}

/// The remembered bytes around a text, as the loop of short texts compares them: as slices, or
/// (without a hole or padding, when they fit) as vectors.
trait Around {
    /// How many bytes stand before the text's opening quote.
    fn head_len(&self) -> usize;
    /// Whether those bytes stand at `at` in `bytes`.
    fn head_at(&self, bytes: &[u8], at: usize) -> bool;
    /// Where the event whose text closes at `end` ends, when the rest of it is the remembered
    /// tail (then a plain padding string and `after`, when `PADDED`).
    fn rest<const PADDED: bool>(&self, bytes: &[u8], end: usize, after: &[u8]) -> Option<usize>;
}

impl Around for (&[u8], &[u8]) {
    #[inline(always)]
    fn head_len(&self) -> usize {
        self.0.len()
    }

    #[inline(always)]
    fn head_at(&self, bytes: &[u8], at: usize) -> bool {
        bytes.get(at..at + self.0.len()).is_some_and(|h| aish_dialects::same_bytes(h, self.0))
    }

    #[inline(always)]
    fn rest<const PADDED: bool>(&self, bytes: &[u8], end: usize, after: &[u8]) -> Option<usize> {
        rest_of_event::<PADDED>(bytes, end, self.1, after, |_| None)
    }
}

impl Around for (Fixed<4>, Fixed<2>) {
    #[inline(always)]
    fn head_len(&self) -> usize {
        self.0.size()
    }

    #[inline(always)]
    fn head_at(&self, bytes: &[u8], at: usize) -> bool {
        self.0.is_at(bytes, at)
    }

    /// Without padding only (vectors are made only then); an event whose tail has fewer than
    /// sixteen bytes after its start in the read is left to the slower loop.
    #[inline(always)]
    fn rest<const PADDED: bool>(&self, bytes: &[u8], end: usize, _: &[u8]) -> Option<usize> {
        self.1.is_at(bytes, end).then(|| end + self.1.size())
    }
}

/// Runs `step` (an expression of `at`) from `at` on, each time from where the last left off,
/// until it is `None`; returns where that was. In WebAssembly each turn of a loop starts with
/// the interruption check, a call on its cold path, around which Cranelift keeps the loop's
/// vectors on the stack (x86 keeps no vector register across a call): stored and loaded again
/// each turn. So a turn takes four steps (counted with callgrind, one answer of the aish
/// stream: the plugin's instructions 0.92x, the native reader's 0.98x). A macro: the compiler
/// may not inline a closure called four times, and folds a loop of four back into the one
/// around it.
macro_rules! in_turns {
    ($at:ident, $step:expr) => {
        loop {
            let Some(next) = $step else { return $at };
            $at = next;
            let Some(next) = $step else { return $at };
            $at = next;
            let Some(next) = $step else { return $at };
            $at = next;
            let Some(next) = $step else { return $at };
            $at = next;
        }
    };
}

/// Reads, from `at`, the remembered events whose text is plain and under sixteen bytes long;
/// returns where the first other one starts. The sixteen bytes after the opening quote are
/// loaded once, to find the closing quote and to copy the text: a copy of constant length is
/// two instructions, where one of any length is a call (in WebAssembly, out of the sandbox).
// Its own function in WebAssembly: inlined into the loop around it, Cranelift spills this loop's
// values to the stack for want of registers (measured: the plugin's CPU time on the aish stream
// 5% lower, the others' 1% to 2%); natively the compiler keeps them in registers either way.
#[cfg_attr(target_arch = "wasm32", inline(never))]
#[cfg_attr(not(target_arch = "wasm32"), inline(always))]
fn short_texts<const PADDED: bool, A: Around>(
    bytes: &[u8],
    mut at: usize,
    around: &A,
    after: &[u8],
    run: &mut Vec<u8>,
) -> usize {
    if PADDED {
        // With padding, four steps a turn cost more than they save, and so does this step
        // written as `next_short_text` (counted: either 1.06x the plugin's instructions on
        // OpenAI's padded stream), so it is written out here.
        loop {
            let start = at + around.head_len();
            let Some(window) = bytes.get(start..).and_then(<[u8]>::first_chunk::<16>) else { break };
            if !around.head_at(bytes, at) {
                break;
            }
            let Some((event_end, length)) = short_text::<PADDED, A>(bytes, (start, window), around, after) else {
                break;
            };
            run.push_text(window, length);
            at = event_end;
        }
        return at;
    }
    let mut joined = Joined::new(run, bytes.len() - at);
    in_turns!(at, next_short_text::<PADDED, A, _>(bytes, at, around, after, &mut joined))
}

/// The remembered event at `at` when its text is short and plain: its text added to `joined`;
/// where the event ends.
#[inline(always)]
fn next_short_text<const PADDED: bool, A: Around, P: PushText>(
    bytes: &[u8],
    at: usize,
    around: &A,
    after: &[u8],
    run: &mut P,
) -> Option<usize> {
    let start = at + around.head_len();
    let window = bytes.get(start..).and_then(<[u8]>::first_chunk::<16>)?;
    if !around.head_at(bytes, at) {
        return None;
    }
    let (event_end, length) = short_text::<PADDED, A>(bytes, (start, window), around, after)?;
    run.push_text(window, length).then_some(event_end)
}

/// The event whose text starts at `start` (after its opening quote; `window` holds the sixteen
/// bytes from there), when that text is plain and under sixteen bytes and the rest of the event
/// is `around`'s tail (then any padding and `after`, when `PADDED`): where the event ends, and
/// the text's length.
#[inline(always)]
fn short_text<const PADDED: bool, A: Around>(
    bytes: &[u8],
    (start, window): (usize, &[u8; 16]),
    around: &A,
    after: &[u8],
) -> Option<(usize, usize)> {
    let length = Lanes::load(window).specials().trailing_zeros() as usize;
    if window.get(length) != Some(&b'"') || continues_a_character(window[0]) {
        return None;
    }
    let event_end = around.rest::<PADDED>(bytes, start + length, after)?;
    Some((event_end, length))
}

/// [`short_texts`] for events with a hole before the text. `parts` holds what stands around the
/// hole and the text: the bytes up to the hole (`head`), then after the hole (an ID's value when
/// `ID`, else a number) the bytes from its end to the text (`after_hole`), then after the text
/// `tail` (then a padding string and `after`, when `PADDED`). Any ID [`plain_id`] takes, or
/// number [`plain_number`] takes, may stand in the hole; any other stops the run (the line
/// parser then applies the standard's rules to an ID; the caller reads a number). Returns where
/// the first other event starts, and sets `last_id` to the last ID's place.
#[cfg_attr(target_arch = "wasm32", inline(never))]
#[cfg_attr(not(target_arch = "wasm32"), inline(always))]
fn short_texts_with_hole<const PADDED: bool, const ID: bool>(
    bytes: &[u8],
    parts: &(&[u8], &[u8], &[u8], &[u8]),
    run: &mut Vec<u8>,
    last_id: &mut Option<(usize, usize)>,
) -> usize {
    let mut at = 0;
    // The last hole's length: see below.
    let mut hole_length = usize::MAX;
    loop {
        let (head, after_hole, tail, after) = *reread(parts);
        let hole_start = at + head.len();
        if !bytes.get(at..hole_start).is_some_and(|h| aish_dialects::same_bytes(h, head)) {
            break;
        }
        // A stream's holes nearly always keep the last one's length (a count's digits): the text
        // is sought where that length puts it while the check runs beside it, instead of after
        // a scan of the hole (the loop waits on each step's loads; measured).
        let hole_end = if hole_of_length::<ID>(bytes, hole_start, hole_length) {
            Some(hole_start + hole_length)
        } else {
            let end = if ID { plain_id(bytes, hole_start) } else { plain_number(bytes, hole_start) };
            hole_length = end.map_or(usize::MAX, |end| end - hole_start);
            end
        };
        let Some(hole_end) = hole_end else { break };
        let start = hole_end + after_hole.len();
        let Some(window) = bytes.get(start..).and_then(<[u8]>::first_chunk::<16>) else { break };
        if !aish_dialects::same_bytes(&bytes[hole_end..start], after_hole) {
            break;
        }
        // Only the tail is compared there (the head and the hole were, above): no head is given.
        let Some((event_end, length)) = short_text::<PADDED, _>(bytes, (start, window), &(&[][..], tail), after) else {
            break;
        };
        run.push_text(window, length);
        if ID {
            *last_id = Some((hole_start, hole_end));
        }
        at = event_end;
    }
    at
}

/// `parts` itself, which the WebAssembly build reads again from memory where it is used, at each
/// event. Otherwise the compiler keeps the strings' places and lengths in locals across the
/// loop, and Cranelift, short of registers around the loop's interruption check (a call on its
/// cold path), moves them between registers and the stack at every turn (measured: the
/// plugin's CPU on a stream with an ID each 6% lower this way; natively no change).
#[inline(always)]
fn reread<T>(parts: &T) -> &T {
    #[cfg(target_arch = "wasm32")]
    return core::hint::black_box(parts);
    #[cfg(not(target_arch = "wasm32"))]
    parts
}

/// The most digits a hole's number may have: any such integer is one serde reads (past what a
/// double holds, it refuses the number, and the run must not take it).
const LONGEST_NUMBER: usize = 20;

/// Where the number that starts at `start` ends, when it is a plain JSON integer of at most
/// [`LONGEST_NUMBER`] digits: `0`, or digits not starting with `0`. (A sign, a fraction or an
/// exponent then meets the bytes after the hole and stops the run.)
#[inline(always)]
fn plain_number(bytes: &[u8], start: usize) -> Option<usize> {
    let number = bytes.get(start..)?;
    let digits = number.iter().take_while(|b| b.is_ascii_digit()).count();
    match (digits, number.first()) {
        (0, _) => None,
        (1, _) => Some(start + 1),
        (_, Some(b'0')) => None,
        (digits, _) if digits > LONGEST_NUMBER => None,
        _ => Some(start + digits),
    }
}

/// Where the ID whose value starts at `start` ends (at its line end), when it is plain: ASCII
/// with no quote, backslash or control character (so no NUL), no leading space (which the
/// standard drops after a colon with none). Sixteen bytes a step.
#[inline(always)]
fn plain_id(bytes: &[u8], start: usize) -> Option<usize> {
    if bytes.get(start) == Some(&b' ') {
        return None;
    }
    let mut end = start;
    loop {
        let lanes = Lanes::load(bytes.get(end..)?.first_chunk::<16>()?);
        let specials = lanes.specials();
        let plain = specials.trailing_zeros().min(16) as usize;
        if lanes.non_ascii() & ((1 << plain) - 1) != 0 {
            return None;
        }
        end += plain;
        if specials != 0 {
            return (bytes[end] == b'\n').then_some(end);
        }
    }
}

/// Whether the hole that starts at `start` is `length` bytes long and what [`plain_id`] (when
/// `ID`) or [`plain_number`] takes, for a length under sixteen (one vector step; any other is
/// not). An ID's line end is left to the caller, who compares the bytes from there with the
/// remembered ones.
#[inline(always)]
fn hole_of_length<const ID: bool>(bytes: &[u8], start: usize, length: usize) -> bool {
    let Some(window) = bytes.get(start..).and_then(<[u8]>::first_chunk::<16>) else { return false };
    let lanes = Lanes::load(window);
    if length >= 16 {
        return false;
    }
    let before = (1 << length) - 1;
    if ID {
        lanes.specials().trailing_zeros() as usize == length && window[0] != b' ' && lanes.non_ascii() & before == 0
    } else {
        // Digits up to the length and not the byte after it (a longer number, the next count
        // of digits, is scanned and the run goes on), with no leading zero (a lone `0` aside).
        lanes.digits() & (before << 1 | 1) == before && (length == 1 || length > 1 && window[0] != b'0')
    }
}

/// Whether `byte` can only continue a UTF-8 character. A run's texts are checked as UTF-8 once
/// joined: a text starting so could complete the one before it (`\xC3` then `\xA9` would
/// join into `é`), which the standard reads as two replaced bytes. Such a text stops the run.
#[inline(always)]
fn continues_a_character(byte: u8) -> bool {
    (0x80..0xC0).contains(&byte)
}

/// Where the event whose text closes at `end` ends, when the rest of it is `tail` (then a
/// well-formed padding string and `after`, when `PADDED`). A padding with escapes (content from
/// the given offset) is read by `escaped`, which says where its closing quote stands.
#[inline(always)]
fn rest_of_event<const PADDED: bool>(
    bytes: &[u8],
    end: usize,
    tail: &[u8],
    after: &[u8],
    escaped: impl FnOnce(usize) -> Option<usize>,
) -> Option<usize> {
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
        padding_end = escaped(start)?;
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
    bytes: &[u8],
    start: usize,
    tail: &[u8],
    after: &[u8],
    run: &mut Vec<u8>,
) -> Option<usize> {
    let (value, end) = escaped_string(bytes, start)?;
    let event_end = rest_of_event::<PADDED>(bytes, end, tail, after, |start| padding_end(bytes, start))?;
    run.extend_from_slice(value.as_bytes());
    Some(event_end)
}

/// Where the closing quote of the padding string whose content starts at `start` stands.
#[cold]
fn padding_end(bytes: &[u8], start: usize) -> Option<usize> {
    escaped_string(bytes, start).map(|(_, end)| end)
}

/// The JSON string whose content starts at `start` of `bytes`, decoded, and where its closing
/// quote stands; `None` when it is not well formed (a raw control character, a bad escape, bytes
/// that are not UTF-8). Its end is found first, so only its own bytes are checked.
#[cold]
fn escaped_string(bytes: &[u8], start: usize) -> Option<(Cow<'_, str>, usize)> {
    let mut end = start;
    loop {
        end += aish_dialects::plain_run(bytes.get(end..)?)?;
        match bytes[end] {
            b'"' => break,
            // The escaped byte cannot end the string; `\uXXXX`'s digits are plain.
            b'\\' => end += 2,
            _ => return None,
        }
    }
    let quoted = std::str::from_utf8(&bytes[start.checked_sub(1)?..=end]).ok()?;
    let (value, _) = aish_dialects::json_string(quoted, 0)?;
    Some((value, end))
}
