//! Word wrapping as text streams in: a greedy first-fit [`Wrapper`] that places each word once
//! it is complete (so what is written is never taken back), keeps a hanging indentation on
//! wrapped lines, never splits a word (a word wider than the line gets a line of its own), and
//! may break between CJK characters, which are not separated by spaces. Widths come from
//! `unicode-width`, so wide characters and emoji count two columns.

use nu_ansi_term::Style;

use super::style::{Pen, Span, width};

/// Where wrapped text goes: straight to the output, or into lines (table cells).
pub(super) trait Sink {
    /// Writes `text` in `style` on the current line.
    fn put(&mut self, style: Style, text: &str);
    /// Ends the current line.
    fn newline(&mut self);
}

/// Writes to the output through the pen.
pub(super) struct Direct<'a> {
    pub(super) pen: &'a mut Pen,
    pub(super) out: &'a mut String,
}

impl Sink for Direct<'_> {
    fn put(&mut self, style: Style, text: &str) {
        self.pen.put(self.out, style, text);
    }
    fn newline(&mut self) {
        self.pen.newline(self.out);
    }
}

/// Collects lines of spans.
pub(super) struct Lines(pub(super) Vec<Vec<Span>>);

impl Sink for Lines {
    fn put(&mut self, style: Style, text: &str) {
        if self.0.is_empty() {
            self.0.push(Vec::new());
        }
        let Some(line) = self.0.last_mut() else { return };
        match line.last_mut() {
            Some((s, t)) if *s == style => t.push_str(text),
            _ => line.push((style, text.to_owned())),
        }
    }
    fn newline(&mut self) {
        if self.0.is_empty() {
            self.0.push(Vec::new());
        }
        self.0.push(Vec::new());
    }
}

/// Lays out one source line's text, word by word, at a width.
pub(super) struct Wrapper {
    width: usize,
    /// The prefix of wrapped lines (quote bars, list indentation) and its width.
    cont: Vec<Span>,
    cont_w: usize,
    /// Columns used on the current output line, prefix included.
    col: usize,
    /// A word is on the current output line (so a space goes before the next one).
    has_word: bool,
    /// The word being received, not written yet.
    word: Run,
    /// The word being received was partly written already (a partial flush at a line's start);
    /// the rest of it is written as it comes.
    committed: bool,
    /// Whitespace since the last word, written only if another word follows on this line.
    ws: Run,
    /// The last character of the word being received (for CJK break opportunities).
    last: Option<char>,
}

impl Wrapper {
    /// A wrapper at `width` columns whose first line already holds `first_w` columns of
    /// prefix, and whose wrapped lines start with `cont`.
    pub(super) fn new(width: usize, first_w: usize, cont: Vec<Span>) -> Self {
        let cont_w = super::style::spans_width(&cont);
        Wrapper {
            width,
            cont,
            cont_w,
            col: first_w,
            has_word: false,
            word: Run::default(),
            committed: false,
            ws: Run::default(),
            last: None,
        }
    }

    /// Starts another line's layout, keeping the buffers.
    pub(super) fn reset(&mut self, width: usize, first_w: usize, cont: Vec<Span>) {
        self.cont_w = super::style::spans_width(&cont);
        self.width = width;
        self.cont = cont;
        self.col = first_w;
        self.has_word = false;
        self.word.clear();
        self.committed = false;
        self.ws.clear();
        self.last = None;
    }

    /// Adds text in `style`.
    pub(super) fn text(&mut self, style: Style, text: &str, sink: &mut impl Sink) {
        let mut start = 0;
        let mut prev = self.last;
        for (i, c) in text.char_indices() {
            if c == ' ' || c == '\t' {
                self.word_part(style, &text[start..i], sink);
                self.end_word(sink);
                self.space(style, c);
                start = i + 1;
                prev = None;
                continue;
            }
            if let Some(p) = prev
                && !(p.is_ascii() && c.is_ascii())
                && break_between(p, c)
            {
                self.word_part(style, &text[start..i], sink);
                self.end_word(sink);
                start = i;
            }
            prev = Some(c);
        }
        self.word_part(style, &text[start..], sink);
    }

    fn word_part(&mut self, style: Style, part: &str, sink: &mut impl Sink) {
        if part.is_empty() {
            return;
        }
        self.last = part.chars().next_back();
        if self.committed {
            sink.put(style, part);
            self.col += width(part);
            return;
        }
        self.word.push(style, part);
    }

    fn space(&mut self, style: Style, c: char) {
        if !self.has_word {
            return;
        }
        self.ws.push(style, if c == '\t' { "    " } else { " " });
    }

    /// Places the word received so far: after the whitespace on this line if it fits, else at
    /// the start of the next line.
    fn end_word(&mut self, sink: &mut impl Sink) {
        self.last = None;
        if self.committed {
            self.committed = false;
            return;
        }
        if self.word.is_empty() {
            return;
        }
        self.place(sink);
        self.word.clear();
    }

    fn place(&mut self, sink: &mut impl Sink) {
        let w = width(&self.word.text);
        let ws_w = self.ws.text.len();
        if self.has_word && self.col + ws_w + w > self.width {
            sink.newline();
            for (style, text) in &self.cont {
                sink.put(*style, text);
            }
            self.col = self.cont_w;
        } else if self.has_word {
            self.ws.put(sink);
            self.col += ws_w;
        }
        self.ws.clear();
        self.word.put(sink);
        self.col += w;
        self.has_word = true;
    }

    /// Writes what can be written before the line is complete: every complete word is out
    /// already; the word still arriving is written too when it starts an output line (it
    /// goes there whatever follows), otherwise it waits, so it is never split.
    pub(super) fn flush(&mut self, sink: &mut impl Sink) {
        if !self.has_word && !self.word.is_empty() && !self.committed {
            let last = self.last;
            self.place(sink);
            self.word.clear();
            self.committed = true;
            self.last = last;
        }
    }

    /// Drops the word being received, unless part of it is written already.
    pub(super) fn discard(&mut self) {
        if !self.committed {
            self.word.clear();
        }
    }

    /// The source line ended: places the last word and ends the output line (`newline`) or
    /// leaves it open.
    pub(super) fn end(&mut self, newline: bool, sink: &mut impl Sink) {
        self.end_word(sink);
        if newline {
            sink.newline();
        }
    }
}

/// Text in runs of styles, in one buffer (no allocation per word).
#[derive(Default)]
struct Run {
    text: String,
    /// Each style and where its run ends in `text`.
    styles: Vec<(Style, usize)>,
}

impl Run {
    fn push(&mut self, style: Style, part: &str) {
        self.text.push_str(part);
        match self.styles.last_mut() {
            Some((s, end)) if *s == style => *end = self.text.len(),
            _ => self.styles.push((style, self.text.len())),
        }
    }

    fn is_empty(&self) -> bool {
        self.text.is_empty()
    }

    fn clear(&mut self) {
        self.text.clear();
        self.styles.clear();
    }

    fn put(&self, sink: &mut impl Sink) {
        let mut from = 0;
        for (style, end) in &self.styles {
            sink.put(*style, &self.text[from..*end]);
            from = *end;
        }
    }
}

/// Lays `spans` out in lines of at most `width` columns (a longer word overflows).
pub(super) fn wrap_spans(spans: &[Span], width: usize) -> Vec<Vec<Span>> {
    let mut lines = Lines(vec![Vec::new()]);
    let mut wrapper = Wrapper::new(width, 0, Vec::new());
    for (style, text) in spans {
        wrapper.text(*style, text, &mut lines);
    }
    wrapper.end(false, &mut lines);
    lines.0
}

/// The width of the widest word of `spans` (what a column must at least be to split none).
pub(super) fn widest_word(spans: &[Span]) -> usize {
    let mut lines = Lines(vec![Vec::new()]);
    let mut wrapper = Wrapper::new(1, 0, Vec::new());
    for (style, text) in spans {
        wrapper.text(*style, text, &mut lines);
    }
    wrapper.end(false, &mut lines);
    lines.0.iter().map(|l| l.iter().map(|(_, t)| width(t)).sum()).max().unwrap_or(0)
}

/// Whether a line may break between `a` and `b` with no space: next to a CJK character,
/// except before closing punctuation or after opening punctuation.
fn break_between(a: char, b: char) -> bool {
    (is_cjk(a) || is_cjk(b)) && !no_break_before(b) && !no_break_after(a)
}

fn is_cjk(c: char) -> bool {
    matches!(c as u32,
        0x1100..=0x11FF     // Hangul Jamo
        | 0x2E80..=0x303F   // CJK radicals, punctuation
        | 0x3040..=0x30FF   // Hiragana, Katakana
        | 0x3100..=0x31FF
        | 0x3400..=0x4DBF   // CJK extension A
        | 0x4E00..=0x9FFF   // CJK unified ideographs
        | 0xAC00..=0xD7AF   // Hangul syllables
        | 0xF900..=0xFAFF
        | 0xFF00..=0xFFEF   // full-width forms
        | 0x20000..=0x3FFFD)
}

fn no_break_before(c: char) -> bool {
    (c.is_ascii_punctuation() && !matches!(c, '(' | '[' | '{'))
        || "、。，．：；！？）」』】〕〉》〗〙〛”’ー々ゝゞヽヾぁぃぅぇぉっゃゅょゎァィゥェォッャュョヮヵヶ・…‥〜"
            .contains(c)
}

fn no_break_after(c: char) -> bool {
    matches!(c, '(' | '[' | '{') || "（「『【〔〈《〖〘〚“‘".contains(c)
}
