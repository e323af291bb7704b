//! The streaming Markdown renderer: turns an answer arriving in pieces into styled, wrapped
//! terminal text, append-only. Each source line is laid out once, when it completes (or, if
//! the answer pauses, as far as it came: the rest of that line is appended later); nothing
//! written is ever moved or redrawn. Soft line breaks are kept: each source line starts a new
//! output line. Block structure is `blocks.rs`, inline Markdown `inline.rs` (complete lines)
//! and `live.rs` (lines written before they complete), wrapping `wrap.rs`, tables `table.rs`,
//! code highlighting `code.rs`, styles and the ANSI pen `style.rs`.

mod blocks;
mod code;
mod inline;
mod live;
mod style;
mod table;
mod wrap;

#[cfg(test)]
mod tests;

use nu_ansi_term::Style;

use blocks::{Blocks, FenceLine, Leaf, Prefix};
use live::LiveInline;
use style::{Pen, Span};
use table::Table;
use wrap::{Direct, Sink, Wrapper};

/// Columns assumed when the terminal reports none.
const FALLBACK_WIDTH: usize = 80;

/// Renders a Markdown answer for a terminal as it streams, append-only.
pub struct Renderer {
    width: Box<dyn Fn() -> usize + Send>,
    pen: Pen,
    blocks: Blocks,
    /// The source line being received (since its start).
    partial: String,
    /// Text arrived since the last `flush_partial`.
    fresh: bool,
    /// The line being received, when part of it is written already.
    live: Option<Live>,
    /// The table being received.
    table: Option<Table>,
    /// A line starting with `|` whose next line tells whether it heads a table, and its
    /// prefix.
    header: Option<(String, Prefix)>,
    /// Reused for each line's spans and layout.
    spans: Vec<Span>,
    wrapper: Wrapper,
    /// Code lines highlighted before (kept from answer to answer).
    memo: code::Memo,
}

/// A line partly written.
struct Live {
    kind: LiveKind,
    /// The bytes of the line dealt with (written or decided).
    consumed: usize,
}

enum LiveKind {
    /// Paragraph or heading text (`heading`: where a heading's text starts, to leave out its
    /// closing `#`s).
    Text { wrapper: Box<Wrapper>, inline: LiveInline, heading: Option<usize> },
    /// A code line: where the code starts in the line.
    Code { start: usize },
}

/// The width to lay out at.
fn cols(width: &(dyn Fn() -> usize + Send)) -> usize {
    match width() {
        0 => FALLBACK_WIDTH,
        w => w,
    }
}

impl Renderer {
    /// `width`: the terminal's columns, asked again before each line is laid out (the terminal
    /// may be resized); `color`: false keeps the layout and drops every colour/style (NO_COLOR).
    pub fn new(width: Box<dyn Fn() -> usize + Send>, color: bool) -> Self {
        Renderer {
            width,
            pen: Pen::new(color),
            blocks: Blocks::new(),
            partial: String::new(),
            fresh: false,
            live: None,
            table: None,
            header: None,
            spans: Vec::new(),
            wrapper: Wrapper::new(FALLBACK_WIDTH, 0, Vec::new()),
            memo: code::Memo::default(),
        }
    }

    /// Feeds the next piece of the answer (already sanitised: it holds no control characters
    /// other than '\n' and '\t'). Appends to `out` whatever can be written now: every line
    /// completed by this piece, rendered; the line still being received is held back.
    pub fn push(&mut self, text: &str, out: &mut String) {
        if text.is_empty() {
            return;
        }
        self.fresh = true;
        let mut rest = text;
        while let Some(i) = rest.find('\n') {
            if self.partial.is_empty() {
                self.complete(&rest[..i], out);
            } else {
                self.partial.push_str(&rest[..i]);
                let mut line = std::mem::take(&mut self.partial);
                self.complete(&line, out);
                line.clear();
                self.partial = line;
            }
            rest = &rest[i + 1..];
        }
        self.partial.push_str(rest);
    }

    /// The partial line has been held for a while: write it now, so answers still appear live
    /// however their pieces come. What follows on the same source line is appended after it later (never
    /// redrawn): the partial line's inline Markdown is rendered as far as it can be judged.
    ///
    /// Held back still: a word being received that would not start an output line (it might
    /// not fit), a line whose kind is not known yet (`#`, `---`, a fence, a table row), and
    /// markers whose meaning the next characters decide.
    pub fn flush_partial(&mut self, out: &mut String) {
        self.fresh = false;
        self.print_table_so_far(out);
        if !self.partial.is_empty() {
            let partial = std::mem::take(&mut self.partial);
            if self.live.is_none() {
                self.live = self.start_live(&partial, out);
            }
            if let Some(mut live) = self.live.take() {
                self.advance(&mut live, &partial, false, out);
                self.live = Some(live);
            }
            self.partial = partial;
        }
        self.pen.end(out);
    }

    /// A line of aish's own (a tool call) comes next: everything that arrived is written, the
    /// line being received ended there (what follows it on the same source line starts a new
    /// one), so nothing that came before the line shows after it.
    pub fn break_line(&mut self, out: &mut String) {
        self.fresh = false;
        self.print_table_so_far(out);
        if !self.partial.is_empty() {
            let line = std::mem::take(&mut self.partial);
            self.complete(&line, out);
        }
        self.pen.end(out);
    }

    /// The answer ended: write everything held back (the last line, a table not yet complete),
    /// ending with the line open or closed as the text was (the caller adds a final newline if
    /// needed). The renderer is then ready for another answer.
    pub fn finish(&mut self, out: &mut String) {
        let start = out.len();
        let open = !self.partial.is_empty();
        if open {
            let line = std::mem::take(&mut self.partial);
            self.complete(&line, out);
        }
        if let Some((header, prefix)) = self.header.take() {
            self.text_line(&header, prefix, Style::new(), false, out);
        }
        self.end_table(out);
        self.pen.end(out);
        if open && out.len() > start && out.ends_with('\n') {
            out.pop();
        }
        self.blocks = Blocks::new();
        self.live = None;
        self.fresh = false;
    }

    /// Whether a partial line is being held back (so the caller knows to schedule
    /// `flush_partial`), or table rows that `flush_partial` would print. False again after a `flush_partial` until more text arrives.
    pub fn holding(&self) -> bool {
        self.fresh && (!self.partial.is_empty() || self.table.as_ref().is_some_and(Table::holding))
    }

    /// A source line is complete.
    fn complete(&mut self, line: &str, out: &mut String) {
        let line = line.strip_suffix('\r').unwrap_or(line);
        if let Some(mut live) = self.live.take() {
            self.advance(&mut live, line, true, out);
        } else {
            self.line(line, out);
        }
    }

    /// Lays out a complete line none of which is written yet.
    fn line(&mut self, line: &str, out: &mut String) {
        if self.blocks.fence.is_some() {
            match self.blocks.fence_line(line) {
                FenceLine::Close => self.blocks.close_fence(),
                FenceLine::Code(code) => self.code_line(code, out),
            }
            return;
        }
        let mut plan = self.blocks.classify(line);
        let continues = self.blocks.continues(&plan);
        if let Some(table) = &mut self.table {
            if let (Leaf::TableRow(row), true) = (&plan.leaf, continues) {
                table.row(row, cols(&*self.width), &mut self.pen, out);
                return;
            }
            self.end_table(out);
        }
        if let Some((header, prefix)) = self.header.take() {
            if let (Leaf::TableRow(row) | Leaf::Paragraph(row), true) = (&plan.leaf, continues)
                && let Some(aligns) = table::delimiter(row)
            {
                self.table = Some(Table::new(&header, aligns, prefix.cont));
                return;
            }
            self.text_line(&header, prefix, Style::new(), false, out);
        }
        let item = plan.opens_item();
        let prefix = self.blocks.apply(&mut plan);
        match plan.leaf {
            Leaf::Blank => {
                self.pen.put_spans(out, &prefix.first);
                self.pen.newline(out);
            }
            Leaf::Heading(level, text) => self.text_line(text, prefix, style::heading(level), false, out),
            Leaf::Paragraph(text) => self.text_line(text, prefix, Style::new(), item, out),
            Leaf::Rule => {
                let n = cols(&*self.width).saturating_sub(prefix.first_w).max(3);
                self.pen.put_spans(out, &prefix.first);
                self.pen.put(out, style::frame(), &"─".repeat(n));
                self.pen.newline(out);
            }
            Leaf::Fence { info, .. } => {
                if self.pen.color()
                    && !info.is_empty()
                    && let Some(fence) = &mut self.blocks.fence
                {
                    fence.highlighter = code::Highlighter::new(info);
                }
            }
            Leaf::TableRow(row) => self.header = Some((row.to_owned(), prefix)),
            Leaf::Code(code) => {
                self.pen.put_spans(out, &prefix.first);
                self.pen.put(out, Style::new(), code);
                self.pen.newline(out);
            }
        }
    }

    /// Writes a code line of the open fence: highlighted if its language is known, verbatim.
    fn code_line(&mut self, code: &str, out: &mut String) {
        let prefix = self.blocks.cont_prefix();
        self.pen.put_spans(out, &prefix.first);
        match self.blocks.fence.as_mut().and_then(|f| f.highlighter.as_mut()) {
            Some(h) => {
                let spans = h.line(code, &mut self.memo);
                self.pen.put_spans(out, &spans);
            }
            None => self.pen.put(out, Style::new(), code),
        }
        self.pen.newline(out);
    }

    /// Lays out paragraph or heading text (`item`: the line opens a list item, so a task box
    /// `[ ]`/`[x]` at its start is shown as one).
    fn text_line(&mut self, text: &str, prefix: Prefix, base: Style, item: bool, out: &mut String) {
        let wrapper = &mut self.wrapper;
        wrapper.reset(cols(&*self.width), prefix.first_w, prefix.cont);
        let mut sink = Direct { pen: &mut self.pen, out };
        for (s, t) in &prefix.first {
            sink.put(*s, t);
        }
        let spans = &mut self.spans;
        spans.clear();
        let text = task_box(text, item, spans);
        if spans.is_empty() && inline::is_plain(text) {
            wrapper.text(base, text, &mut sink);
        } else {
            inline::spans(text, base, spans);
            for (s, t) in spans.iter() {
                wrapper.text(*s, t, &mut sink);
            }
        }
        wrapper.end(true, &mut sink);
    }

    /// Starts writing a partial line, if what it is can be told already.
    fn start_live(&mut self, partial: &str, out: &mut String) -> Option<Live> {
        if self.blocks.fence.is_some() {
            if self.blocks.fence_undecided(partial) {
                return None;
            }
            let FenceLine::Code(code) = self.blocks.fence_line(partial) else { return None };
            let start = blocks::offset(partial, code);
            let prefix = self.blocks.cont_prefix();
            self.pen.put_spans(out, &prefix.first);
            return Some(Live { kind: LiveKind::Code { start }, consumed: start });
        }
        if self.header.is_some() || self.table.is_some() {
            return None;
        }
        let mut plan = self.blocks.classify(partial);
        let (text, base, heading) = match plan.leaf {
            Leaf::Paragraph(t) => (t, Style::new(), false),
            Leaf::Heading(level, t) => (t, style::heading(level), true),
            _ => return None,
        };
        // Decided: a heading with text, or text that has a word and a space after it or
        // starts with a letter (so it is no `1.`, `---`, `===` or fence in the making).
        let start = blocks::offset(partial, text);
        let decided = if heading {
            !text.is_empty()
        } else {
            partial[start..].contains([' ', '\t']) || text.starts_with(char::is_alphabetic)
        };
        let item = plan.opens_item();
        let raw = &partial[start..];
        let boxing = item && raw.len() < 4 && ["[ ] ", "[x] ", "[X] "].iter().any(|b| b.starts_with(raw));
        if !decided || boxing {
            return None;
        }
        let prefix = self.blocks.apply(&mut plan);
        let mut sink = Direct { pen: &mut self.pen, out };
        for (s, t) in &prefix.first {
            sink.put(*s, t);
        }
        let mut wrapper = Wrapper::new(cols(&*self.width), prefix.first_w, prefix.cont);
        let mut boxed = Vec::new();
        let rest = task_box(&partial[start..], item, &mut boxed);
        for (s, t) in &boxed {
            wrapper.text(*s, t, &mut sink);
        }
        let consumed = blocks::offset(partial, rest);
        let inline = LiveInline::new(base);
        Some(Live {
            kind: LiveKind::Text { wrapper: Box::new(wrapper), inline, heading: heading.then_some(start) },
            consumed,
        })
    }

    /// Writes more of a partly written line: as far as can be judged, or all of it (`end`:
    /// the line is complete).
    fn advance(&mut self, live: &mut Live, line: &str, end: bool, out: &mut String) {
        let consumed = live.consumed.min(line.len());
        match &mut live.kind {
            LiveKind::Code { start } => {
                let start = (*start).min(consumed);
                let code = &line[start..];
                let from = consumed - start;
                match self.blocks.fence.as_mut().and_then(|f| f.highlighter.as_mut()) {
                    // Written in colour up to the end of the last whole word: a word's colour
                    // may depend on what follows it (`f` in `f(`), not on what comes later.
                    Some(h) if !end => {
                        let to = code.rfind([' ', '\t']).map_or(0, |i| i + 1);
                        if to > from {
                            match h.peek(code) {
                                Some(spans) => put_range(&mut self.pen, out, &spans, from, to),
                                None => self.pen.put(out, Style::new(), &code[from..to]),
                            }
                            live.consumed = start + to;
                        }
                    }
                    Some(h) => {
                        let spans = h.line(code, &mut self.memo);
                        put_range(&mut self.pen, out, &spans, from, code.len());
                        self.pen.newline(out);
                    }
                    None => {
                        self.pen.put(out, Style::new(), &code[from..]);
                        live.consumed = line.len();
                        if end {
                            self.pen.newline(out);
                        }
                    }
                }
            }
            LiveKind::Text { wrapper, inline, heading } => {
                let upto = match (end, heading) {
                    (true, Some(s)) => heading_end(line, *s),
                    _ => line.len(),
                };
                let mut sink = Direct { pen: &mut self.pen, out };
                let n = inline.feed(&line[consumed..upto.max(consumed)], end, wrapper, &mut sink);
                live.consumed = consumed + n;
                if end {
                    if upto < consumed {
                        wrapper.discard();
                    }
                    wrapper.end(true, &mut sink);
                } else {
                    wrapper.flush(&mut sink);
                }
            }
        }
    }

    /// Prints the rows held of the table being received (its column widths fixed from then on).
    fn print_table_so_far(&mut self, out: &mut String) {
        if let Some(table) = &mut self.table {
            table.print(cols(&*self.width), &mut self.pen, out);
        }
    }

    /// Prints the table being received, complete.
    fn end_table(&mut self, out: &mut String) {
        if let Some(table) = self.table.take() {
            table.finish(cols(&*self.width), &mut self.pen, out);
        }
    }
}

/// Writes the bytes `from..to` of the text that `spans` cover, in their styles.
fn put_range(pen: &mut Pen, out: &mut String, spans: &[Span], from: usize, to: usize) {
    let mut at = 0;
    for (style, text) in spans {
        let (lo, hi) = (from.max(at), to.min(at + text.len()));
        if lo < hi {
            pen.put(out, *style, &text[lo - at..hi - at]);
        }
        at += text.len();
    }
}

/// Takes a task box (`[ ] `, `[x] `) off the start of a list item's text, adding its symbol
/// to `spans`.
fn task_box<'a>(text: &'a str, item: bool, spans: &mut Vec<Span>) -> &'a str {
    if item {
        for (mark, shown) in [("[ ] ", "☐ "), ("[x] ", "☑ "), ("[X] ", "☑ ")] {
            if let Some(rest) = text.strip_prefix(mark) {
                inline::push(spans, style::bullet(), shown);
                return rest;
            }
        }
    }
    text
}

/// Where a heading's text ends in its complete line: before a closing `#` sequence.
fn heading_end(line: &str, start: usize) -> usize {
    let content = line[start.min(line.len())..].trim_end();
    let unclosed = content.trim_end_matches('#');
    let len = if unclosed.is_empty() {
        0
    } else if unclosed.ends_with([' ', '\t']) {
        unclosed.trim_end().len()
    } else {
        content.len()
    };
    start + len
}
