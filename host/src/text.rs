//! The one sanitiser for text that came from outside (answers, server and plugin errors, stage
//! output, plugin manifests, the history): on a terminal it must not act, only show. ESC, DEL,
//! every C0 control but `\n` and `\t` (a lone `\r` too; `\r\n` becomes `\n`), C1 controls
//! (U+0080 to U+009F, the 8-bit CSI among them) and bidi overrides (U+202A to U+202E, U+2066 to
//! U+2069) are replaced by a visible sign, so the user sees that something was there.

use std::borrow::Cow;

/// Whether `c` would act on a terminal instead of showing (`\n` and `\t` are safe).
pub fn is_unsafe(c: char) -> bool {
    matches!(c, '\0'..='\x08' | '\x0b'..='\x1f' | '\x7f' | '\u{80}'..='\u{9f}' | '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}')
}

/// Whether `bytes` hold something to replace: a C0 control other than `\n` and `\t`, DEL, a C1
/// control (0xC2 0x80..0x9F) or a bidi control (0xE2 0x80 0xAA..0xAE, 0xE2 0x81 0xA6..0xA9).
/// Most text has none, and then it goes through untouched, without a walk over its characters.
fn may_need_work(bytes: &[u8]) -> bool {
    bytes.iter().enumerate().any(|(i, &b)| match b {
        b'\n' | b'\t' => false,
        0..=0x1f | 0x7f => true,
        0xc2 => matches!(bytes.get(i + 1), Some(0x80..=0x9f)),
        0xe2 => matches!(
            (bytes.get(i + 1), bytes.get(i + 2)),
            (Some(0x80), Some(0xaa..=0xae)) | (Some(0x81), Some(0xa6..=0xa9))
        ),
        _ => false,
    })
}

/// The visible stand-in for an unsafe character: the Unicode control picture for a C0 control
/// (`␛` for ESC, `␍` for a lone carriage return), `␡` for DEL, `<U+XXXX>` for the others.
fn push_visible(c: char, out: &mut String) {
    match c {
        '\0'..='\x1f' => out.push(char::from_u32(0x2400 + c as u32).unwrap_or('?')),
        '\x7f' => out.push('\u{2421}'),
        _ => out.push_str(&format!("<U+{:04X}>", c as u32)),
    }
}

/// `text` made safe for a terminal (see the module comment); borrowed when nothing needed doing.
pub fn sanitize(text: &str) -> Cow<'_, str> {
    if !may_need_work(text.as_bytes()) {
        return Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len() + 8);
    let mut sanitizer = Sanitizer::default();
    sanitizer.push(text, &mut out);
    sanitizer.finish(&mut out);
    Cow::Owned(out)
}

/// The streaming form of [`sanitize`]: a `\r` at the end of one piece waits for the next, so a
/// `\r\n` split across pieces still becomes `\n`.
#[derive(Clone, Debug, Default)]
pub struct Sanitizer {
    carriage_return: bool,
}

impl Sanitizer {
    /// Appends `text`, made safe, to `out`.
    pub fn push(&mut self, text: &str, out: &mut String) {
        if text.is_empty() {
            return;
        }
        if !self.carriage_return && !may_need_work(text.as_bytes()) {
            out.push_str(text);
            return;
        }
        for c in text.chars() {
            if std::mem::take(&mut self.carriage_return) && c != '\n' {
                push_visible('\r', out);
            }
            match c {
                '\r' => self.carriage_return = true,
                c if is_unsafe(c) => push_visible(c, out),
                c => out.push(c),
            }
        }
    }

    /// `text` made safe: borrowed when nothing needed doing (the common case, so a token costs
    /// no copy), else a new string.
    pub fn clean<'t>(&mut self, text: &'t str) -> Cow<'t, str> {
        if !self.carriage_return && !may_need_work(text.as_bytes()) {
            return Cow::Borrowed(text);
        }
        let mut out = String::with_capacity(text.len() + 8);
        self.push(text, &mut out);
        Cow::Owned(out)
    }

    /// Ends the text: a carriage return still waiting is shown.
    pub fn finish(&mut self, out: &mut String) {
        if std::mem::take(&mut self.carriage_return) {
            push_visible('\r', out);
        }
    }
}

/// `text` on one line for a message: line breaks and tabs become spaces, every other unsafe
/// character its visible sign (as [`sanitize`]), cut at `max` characters.
pub fn one_line(text: &str, max: usize) -> String {
    let mut out = String::with_capacity(text.len().min(max));
    for c in text.chars().take(max) {
        match c {
            '\n' | '\t' | '\r' => out.push(' '),
            c if is_unsafe(c) => push_visible(c, &mut out),
            c => out.push(c),
        }
    }
    out
}

/// A multi-line message joined into one: its non-blank lines, trimmed, separated by `; `.
pub fn join_lines(text: &str) -> String {
    one_line(&text.lines().map(str::trim).filter(|l| !l.is_empty()).collect::<Vec<_>>().join("; "), usize::MAX)
}

/// `rows` as lines of columns, each but the last padded to its longest cell and two spaces
/// apart, so that no long value pushes a row out of line.
pub fn aligned(rows: &[Vec<String>]) -> String {
    let columns = rows.iter().map(Vec::len).max().unwrap_or(0);
    let widths: Vec<usize> = (0..columns)
        .map(|i| rows.iter().filter_map(|row| row.get(i)).map(|cell| cell.chars().count()).max().unwrap_or(0))
        .collect();
    let mut text = String::new();
    for row in rows {
        for (i, cell) in row.iter().enumerate() {
            if i + 1 == row.len() {
                text.push_str(cell);
            } else {
                let pad = widths[i] - cell.chars().count() + 2;
                text.push_str(cell);
                text.extend(std::iter::repeat_n(' ', pad));
            }
        }
        text.push('\n');
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn aligned_columns_fit_their_longest_cell() {
        let rows = vec![
            vec!["a".to_owned(), "carrier-pigeon".to_owned(), "last".to_owned()],
            vec!["émile".to_owned(), "sse".to_owned(), "x".to_owned()],
        ];
        assert_eq!(aligned(&rows), "a      carrier-pigeon  last\némile  sse             x\n");
    }

    #[test]
    fn hostile_controls_are_shown_not_obeyed() {
        let hostile = "ok\x1b]0;pwned\x07\x1b[2K\rfake\u{9b}31m\u{202e}evil\x7f";
        assert_eq!(sanitize(hostile), "ok␛]0;pwned␇␛[2K␍fake<U+009B>31m<U+202E>evil␡");
        assert_eq!(sanitize("line\r\nnext\ttab"), "line\nnext\ttab");
        assert!(matches!(sanitize("plain text — ünïcode ✓"), Cow::Borrowed(_)));
    }

    #[test]
    fn a_crlf_split_across_pieces_is_one_line_break() {
        let mut s = Sanitizer::default();
        let mut out = String::new();
        s.push("a\r", &mut out);
        s.push("\nb\r", &mut out);
        s.push("c", &mut out);
        s.push("\r", &mut out);
        s.finish(&mut out);
        assert_eq!(out, "a\nb␍c␍");
    }

    /// Controls and their neighbours, so random text hits every case often.
    const HOSTILE: &[char] =
        &['\n', '\t', '\r', '\x1b', '\x07', '\x7f', '\u{85}', '\u{9b}', '\u{202d}', '\u{2069}', 'é', '✓'];

    fn hostile_text() -> impl proptest::strategy::Strategy<Value = Vec<char>> {
        use proptest::prelude::*;
        proptest::collection::vec(prop_oneof![any::<char>(), proptest::sample::select(HOSTILE)], 0..300)
    }

    proptest::proptest! {
        #[test]
        fn no_unsafe_character_survives_any_input_in_any_pieces(
            text in hostile_text(),
            cuts in proptest::collection::vec(0usize..300, 0..10),
        ) {
            let mut cuts: Vec<usize> = cuts.into_iter().filter(|&c| c <= text.len()).collect();
            cuts.extend([0, text.len()]);
            cuts.sort_unstable();
            let whole: String = text.iter().collect();
            let mut s = Sanitizer::default();
            let mut out = String::new();
            for pair in cuts.windows(2) {
                s.push(&text[pair[0]..pair[1]].iter().collect::<String>(), &mut out);
            }
            s.finish(&mut out);
            proptest::prop_assert!(!out.chars().any(|c| is_unsafe(c) || c == '\r'), "{:?}", out);
            proptest::prop_assert_eq!(&out, &sanitize(&whole));
            // Text without controls passes unchanged.
            if !whole.chars().any(|c| is_unsafe(c) || c == '\r') {
                proptest::prop_assert_eq!(&out, &whole);
            }
        }
    }

    #[test]
    fn one_line_messages() {
        assert_eq!(one_line("a\nb\x1b[2Jc\u{9b}d", 100), "a b␛[2Jc<U+009B>d");
        assert_eq!(one_line("abcdef", 3), "abc");
        assert_eq!(join_lines("  first \n\n second\n"), "first; second");
    }
}
