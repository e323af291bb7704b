//! The fast path for the events that make up nearly every stream: one piece of answer text in
//! a fixed shape (`choices[0].delta.content`, `delta.text`, `data.token`). A strict reader walks
//! the JSON once, borrowing the text, skipping other values without building them, and gives up
//! (`None`) at anything outside the shape it was asked for; the dialect then parses the event in
//! full with serde. Property tests check that whatever the fast path reads, serde reads the same.

use std::borrow::Cow;

use aish_plugin_sdk::Event;

use crate::lanes::{plain_run, same};
use crate::provider::{Tally, TextShape};

/// A cursor over JSON text.
pub(crate) struct Skim<'a> {
    text: &'a str,
    at: usize,
    /// Whether the answer's text has been read: strings skipped after it are recorded.
    text_read: bool,
    /// The strings skipped after the text: their content did not matter to the reading.
    free: Free,
}

/// The strings a reading skipped after the text.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
enum Free {
    #[default]
    None,
    /// Exactly one, at this span (quotes included).
    One(usize, usize),
    /// More than one: none is reported.
    Many,
}

/// The key serde_json (with its `raw_value` feature, which the workspace enables) reads as a
/// raw value's marker rather than a key: first in an object, its string is read as the value.
const RAW_VALUE_KEY: &str = "$serde_json::private::RawValue";

/// Nesting deeper than this is left to serde.
const DEPTH: usize = 32;

impl<'a> Skim<'a> {
    pub(crate) fn new(text: &'a str) -> Self {
        Skim::at(text, 0)
    }

    /// A cursor at byte `at` of `text`.
    fn at(text: &'a str, at: usize) -> Self {
        Skim { text, at, text_read: false, free: Free::None }
    }

    /// Where the reader is, in bytes from the start.
    pub(crate) fn position(&self) -> usize {
        self.at
    }

    /// Where the next value starts, past any whitespace before it (`"delta": "x"`, as servers
    /// that print JSON with spaces send it): a span taken from here is the value's own.
    pub(crate) fn value_start(&mut self) -> usize {
        self.ws();
        self.at
    }

    fn bytes(&self) -> &'a [u8] {
        self.text.as_bytes()
    }

    fn ws(&mut self) {
        while let Some(b' ' | b'\n' | b'\r' | b'\t') = self.bytes().get(self.at) {
            self.at += 1;
        }
    }

    fn peek(&mut self) -> Option<u8> {
        self.ws();
        self.bytes().get(self.at).copied()
    }

    fn eat(&mut self, byte: u8) -> Option<()> {
        (self.peek()? == byte).then(|| self.at += 1)
    }

    /// The whole text was one value, with nothing after it.
    pub(crate) fn end(mut self) -> Option<()> {
        self.ws();
        (self.at == self.text.len()).then_some(())
    }

    /// A string, borrowed when it has no escapes.
    pub(crate) fn string(&mut self) -> Option<Cow<'a, str>> {
        self.eat(b'"')?;
        let start = self.at;
        let bytes = self.bytes();
        // Control characters must be escaped in JSON; serde refuses them, so must we.
        let end = start + plain_run(&bytes[start..])?;
        match bytes[end] {
            b'"' => {
                self.at = end + 1;
                return Some(Cow::Borrowed(&self.text[start..end]));
            }
            b'\\' => {}
            _ => return None,
        }
        let mut out = String::from(&self.text[start..end]);
        self.at = end;
        loop {
            let bytes = self.bytes();
            match *bytes.get(self.at)? {
                b'"' => {
                    self.at += 1;
                    return Some(Cow::Owned(out));
                }
                b'\\' => {
                    let escape = *bytes.get(self.at + 1)?;
                    self.at += 2;
                    match escape {
                        b'"' => out.push('"'),
                        b'\\' => out.push('\\'),
                        b'/' => out.push('/'),
                        b'b' => out.push('\u{8}'),
                        b'f' => out.push('\u{c}'),
                        b'n' => out.push('\n'),
                        b'r' => out.push('\r'),
                        b't' => out.push('\t'),
                        b'u' => out.push(self.unicode_escape()?),
                        _ => return None,
                    }
                }
                b if b < 0x20 => return None,
                _ => {
                    let run = plain_run(&bytes[self.at..])?;
                    out.push_str(&self.text[self.at..self.at + run]);
                    self.at += run;
                }
            }
        }
    }

    /// The character of a `\uXXXX` escape (the `\u` read), a surrogate pair joined.
    fn unicode_escape(&mut self) -> Option<char> {
        let high = self.hex4()?;
        if !(0xD800..0xDC00).contains(&high) {
            return char::from_u32(u32::from(high));
        }
        if self.bytes().get(self.at..self.at + 2)? != b"\\u" {
            return None;
        }
        self.at += 2;
        let low = self.hex4()?;
        if !(0xDC00..0xE000).contains(&low) {
            return None;
        }
        char::from_u32(0x10000 + ((u32::from(high) - 0xD800) << 10) + (u32::from(low) - 0xDC00))
    }

    fn hex4(&mut self) -> Option<u16> {
        let digits = self.text.get(self.at..self.at + 4)?;
        self.at += 4;
        if !digits.bytes().all(|b| b.is_ascii_hexdigit()) {
            return None;
        }
        u16::from_str_radix(digits, 16).ok()
    }

    /// Whether the next value is `null` (read if so).
    pub(crate) fn null(&mut self) -> Option<bool> {
        self.literal("null")
    }

    /// Whether the next value is `false` (read if so).
    pub(crate) fn is_false(&mut self) -> Option<bool> {
        self.literal("false")
    }

    /// Whether the next value is the literal `word` (read if so); `None` at the end of the text.
    fn literal(&mut self, word: &str) -> Option<bool> {
        self.peek()?;
        Some(self.word(word).is_some())
    }

    /// Skips any value.
    pub(crate) fn skip(&mut self) -> Option<()> {
        if self.text_read && self.peek()? == b'"' {
            let start = self.at;
            self.string()?;
            self.free = match self.free {
                Free::None => Free::One(start, self.at),
                _ => Free::Many,
            };
            return Some(());
        }
        self.skip_at(0)
    }

    fn skip_at(&mut self, depth: usize) -> Option<()> {
        if depth > DEPTH {
            return None;
        }
        match self.peek()? {
            b'"' => self.string().map(drop),
            b'{' => self.object(|key, skim| {
                let _ = key;
                skim.skip_at(depth + 1)
            }),
            b'[' => self.array(|skim| skim.skip_at(depth + 1)),
            b't' => self.word("true"),
            b'f' => self.word("false"),
            b'n' => self.word("null"),
            b'-' | b'0'..=b'9' => self.number(),
            _ => None,
        }
    }

    fn word(&mut self, word: &str) -> Option<()> {
        is(self.text.get(self.at..self.at + word.len()).unwrap_or(""), word).then(|| self.at += word.len())
    }

    /// A number, checked against JSON's grammar; one serde could refuse as out of range (an
    /// exponent of three digits or more, or over 24 characters) is left to it.
    fn number(&mut self) -> Option<()> {
        let bytes = self.bytes();
        let start = self.at;
        let mut at = start;
        let digits = |at: &mut usize| {
            let from = *at;
            while bytes.get(*at).is_some_and(u8::is_ascii_digit) {
                *at += 1;
            }
            *at > from
        };
        if bytes.get(at) == Some(&b'-') {
            at += 1;
        }
        if bytes.get(at) == Some(&b'0') {
            at += 1;
        } else if !digits(&mut at) {
            return None;
        }
        if bytes.get(at) == Some(&b'.') {
            at += 1;
            if !digits(&mut at) {
                return None;
            }
        }
        if let Some(b'e' | b'E') = bytes.get(at) {
            at += 1;
            if let Some(b'+' | b'-') = bytes.get(at) {
                at += 1;
            }
            let from = at;
            // A number past what a double holds (`1e400`) is serde's to refuse: an exponent of
            // three digits or more is left to it.
            if !digits(&mut at) || at - from > 2 {
                return None;
            }
        }
        // So are hundreds of digits: a long number is left to serde.
        if at - start > 24 {
            return None;
        }
        self.at = at;
        Some(())
    }

    /// An object: `each` is called with every key and reads (or skips) its value. A key seen
    /// twice is left to serde (`each` gives up on the fields aish reads: serde refuses them in
    /// a struct and keeps the last in a `Value`), and so is serde_json's raw-value key, with
    /// which serde reads another value than the object.
    pub(crate) fn object(&mut self, mut each: impl FnMut(&str, &mut Self) -> Option<()>) -> Option<()> {
        self.eat(b'{')?;
        if self.eat(b'}').is_some() {
            return Some(());
        }
        loop {
            let key = self.string()?;
            if is(&key, RAW_VALUE_KEY) {
                return None;
            }
            self.eat(b':')?;
            each(&key, self)?;
            if !self.more_before(b'}')? {
                return Some(());
            }
        }
    }

    /// An array: `each` reads (or skips) every element.
    pub(crate) fn array(&mut self, mut each: impl FnMut(&mut Self) -> Option<()>) -> Option<()> {
        self.eat(b'[')?;
        if self.eat(b']').is_some() {
            return Some(());
        }
        loop {
            each(self)?;
            if !self.more_before(b']')? {
                return Some(());
            }
        }
    }

    /// After a member of an object or array: a comma (read; another member follows, `true`) or
    /// `close` (read; the end, `false`); `None` for anything else.
    fn more_before(&mut self, close: u8) -> Option<bool> {
        let next = self.peek()?;
        (next == b',' || next == close).then(|| {
            self.at += 1;
            next == b','
        })
    }
}

/// The last event a fast path read whole, kept as the bytes before and after its text. The
/// events of one stream differ only in their text, and JSON is read the same way from the same
/// bytes: an event with the same bytes around its text is read by reading that text alone.
#[derive(Debug, Default)]
pub(crate) struct Memo {
    prefix: String,
    suffix: String,
    /// What else the fast path's answer depended on (an SSE event name, say).
    tag: String,
    /// The string after the text whose content did not matter, as offsets from the end.
    free_from_end: Option<(usize, usize)>,
}

impl Memo {
    /// The text of `data`, when it has the remembered bytes around it.
    pub(crate) fn recall<'a>(&self, data: &'a str, tag: &str) -> Option<Cow<'a, str>> {
        let bytes = data.as_bytes();
        if self.prefix.is_empty()
            || !is(&self.tag, tag)
            || !same(bytes.get(..self.prefix.len())?, self.prefix.as_bytes())
        {
            return None;
        }
        let mut skim = Skim::at(data, self.prefix.len());
        let text = skim.string()?;
        same(&bytes[skim.at..], self.suffix.as_bytes()).then_some(text)
    }

    /// Reads `data` as a token by its remembered bytes, else by `fast` (which learns them):
    /// the token goes to `out`, with the shape it was read by. Whether it was read so.
    pub(crate) fn read_token<'a>(
        &mut self,
        data: &'a str,
        tag: &str,
        fast: impl FnOnce(&mut Memo) -> Option<Cow<'a, str>>,
        tally: &mut Tally,
        out: &mut Vec<Event>,
    ) -> bool {
        let Some(text) = self.recall(data, tag).or_else(|| fast(self)) else { return false };
        tally.token_alone(out, &text, self.shape(data));
        true
    }

    /// Where the text (quotes included) stands in `data`, just recalled or learnt from it.
    fn shape(&self, data: &str) -> TextShape {
        let end = data.len();
        TextShape {
            text: (self.prefix.len(), end - self.suffix.len()),
            free: self.free_from_end.map(|(start, stop)| (end - start, end - stop)),
            number: None,
        }
    }

    /// Remembers `data`, whose text the fast path read from `span`, and `free`, the string
    /// after it whose content did not matter, if any.
    pub(crate) fn learn(&mut self, data: &str, span: (usize, usize), tag: &str, free: Option<(usize, usize)>) {
        self.free_from_end = free.map(|(start, stop)| (data.len() - start, data.len() - stop));
        for (kept, part) in
            [(&mut self.prefix, &data[..span.0]), (&mut self.suffix, &data[span.1..]), (&mut self.tag, tag)]
        {
            kept.clear();
            kept.push_str(part);
        }
    }
}

/// The JSON string that starts at `at` in `text` (at its opening quote), decoded (borrowed when
/// it has no escapes), and where it ends (after its closing quote); `None` when there is no
/// well-formed string there.
pub fn json_string(text: &str, at: usize) -> Option<(Cow<'_, str>, usize)> {
    let mut skim = Skim::at(text, at);
    let value = skim.string()?;
    Some((value, skim.at))
}

/// Reads `text` as one object with `each`, and nothing after it. Returns the one string
/// skipped after the text (see [`text`]), when exactly one was: a string whose content the
/// reading did not depend on.
pub(crate) fn object<'a>(
    text: &'a str,
    each: impl FnMut(&str, &mut Skim<'a>) -> Option<()>,
) -> Option<Option<(usize, usize)>> {
    let mut skim = Skim::new(text);
    skim.object(each)?;
    let free = match skim.free {
        Free::One(start, stop) => Some((start, stop)),
        Free::None | Free::Many => None,
    };
    skim.end()?;
    Some(free)
}

/// A field serde reads as an optional string: `null` or a string, anything else left to serde.
pub(crate) fn optional_string<'a>(skim: &mut Skim<'a>) -> Option<Option<Cow<'a, str>>> {
    if skim.null()? { Some(None) } else { skim.string().map(Some) }
}

/// A field serde reads as an optional unsigned integer: `null` or digits.
pub(crate) fn optional_unsigned(skim: &mut Skim<'_>) -> Option<()> {
    if skim.null()? {
        return Some(());
    }
    let start = skim.at;
    skim.number()?;
    let digits = &skim.text[start..skim.at];
    digits.parse::<u64>().ok().map(drop)
}

/// A field serde reads as a `u64` (`Value::as_u64`): plain digits. Anything else (`null`, a
/// sign, a fraction, an exponent, a number past `u64::MAX`) is left to serde.
pub(crate) fn unsigned(skim: &mut Skim<'_>) -> Option<u64> {
    let start = skim.value_start();
    skim.number()?;
    skim.text[start..skim.at].parse().ok()
}

/// Whether `text` is `name`: compared byte by byte in line, as a call to `memcmp` for a few
/// bytes would cost more than the comparison (the names are constants, the texts short).
#[inline]
pub fn is(key: &str, name: &str) -> bool {
    key.len() == name.len() && key.bytes().zip(name.bytes()).all(|(a, b)| a == b)
}

/// Marks field `bit` seen; a field given twice is left to serde (which refuses it in a struct
/// and keeps the last in a `Value`).
pub(crate) fn first(seen: &mut u32, bit: u32) -> Option<()> {
    if *seen & bit != 0 {
        return None;
    }
    *seen |= bit;
    Some(())
}

/// Reads the answer's text with `read`, keeping it (once) in `slot` and where it stood in `span`,
/// which [`Memo::learn`] takes.
pub(crate) fn text<'a, T>(
    skim: &mut Skim<'a>,
    slot: &mut Option<T>,
    span: &mut (usize, usize),
    read: impl FnOnce(&mut Skim<'a>) -> Option<T>,
) -> Option<()> {
    let start = skim.value_start();
    let value = read(skim)?;
    *span = (start, skim.position());
    skim.text_read = true;
    once(slot, value)
}

/// Keeps the first value given for a field; a second one means the shape is not the simple one.
pub(crate) fn once<T>(slot: &mut Option<T>, value: T) -> Option<()> {
    if slot.is_some() {
        return None;
    }
    *slot = Some(value);
    Some(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn read_string(json: &str) -> Option<String> {
        let mut skim = Skim::new(json);
        let text = skim.string()?.into_owned();
        skim.end().map(|()| text)
    }

    fn skips(json: &str) -> bool {
        let mut skim = Skim::new(json);
        skim.skip().is_some() && skim.end().is_some()
    }

    #[test]
    fn strings_decode_like_serde() {
        for json in [r#""plain""#, r#""a\"b\\c\/d\n\t""#, r#""\u00e9\ud83d\ude00""#, r#""""#, r#""é✓""#] {
            assert_eq!(read_string(json), serde_json::from_str::<String>(json).ok(), "{json}");
        }
        for bad in [r#""\x""#, "\"a\u{1}\"", r#""\ud800""#, r#""open"#, r#""\u12""#] {
            assert_eq!(read_string(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn skipping_accepts_json_and_refuses_the_rest() {
        for json in [r#"{"a":[1,-2.5e3,true,false,null,{"b":"c"}],"d":{}}"#, "[]", "0", r#""s""#] {
            assert!(skips(json), "{json}");
        }
        for bad in ["{", r#"{"a"}"#, "[1,]", "01x", "-", "1.", "tru", r#"{"a":1,}"#, "[1] 2"] {
            assert!(!skips(bad), "{bad}");
        }
    }

    proptest! {
        /// Whatever the skimmer accepts, serde accepts too (for the small numbers generated here;
        /// the skimmer, like serde skipping a field it ignores, does not range-check numbers),
        /// reading the same strings.
        #[test]
        fn never_accepts_what_serde_refuses(json in any_json(), cut in 0usize..200) {
            let text = json.to_string();
            let cut = text.char_indices().map(|(i, _)| i).find(|&i| i >= cut).unwrap_or(text.len());
            for candidate in [&text[..], &text[..cut]] {
                if skips(candidate) {
                    prop_assert!(serde_json::from_str::<serde_json::Value>(candidate).is_ok(), "{candidate}");
                }
            }
            if let serde_json::Value::String(s) = &json {
                prop_assert_eq!(read_string(&text), Some(s.clone()));
            }
        }
    }

    /// JSON values with strings that need escapes.
    fn any_json() -> impl Strategy<Value = serde_json::Value> {
        let leaf = prop_oneof![
            Just(serde_json::Value::Null),
            any::<bool>().prop_map(serde_json::Value::from),
            any::<i64>().prop_map(serde_json::Value::from),
            any::<f64>().prop_filter("finite", |f| f.is_finite()).prop_map(serde_json::Value::from),
            "(\\PC|[\"\\\\\n\t\u{1}\u{7f}é😀])*".prop_map(serde_json::Value::from),
        ];
        leaf.prop_recursive(4, 32, 6, |inner| {
            prop_oneof![
                proptest::collection::vec(inner.clone(), 0..4).prop_map(serde_json::Value::from),
                proptest::collection::btree_map("[a-z\"]{0,6}", inner, 0..4)
                    .prop_map(|m| serde_json::Value::Object(m.into_iter().collect())),
            ]
        })
    }
}
