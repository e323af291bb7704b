//! Tables (GitHub's pipe tables). The rows are held until the table is complete, then printed
//! aligned in box-drawing frames, cells wrapped to fit the width. A table that grows long, or
//! that is still arriving when the answer pauses, is printed as far as it came with the widths
//! known then, and its later rows follow as they arrive.

use nu_ansi_term::Style;

use super::inline;
use super::style::{self, Pen, Span, over};
use super::wrap::{widest_word, wrap_spans};

/// Rows held at most before a table is printed as it streams.
const HOLD_ROWS: usize = 40;

/// A column's alignment, from the delimiter row (`:--`, `:-:`, `--:`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Align {
    Left,
    Center,
    Right,
}

/// A table being received.
pub(super) struct Table {
    /// The prefix of each of its lines (quote bars, list indentation).
    prefix: Vec<Span>,
    prefix_w: usize,
    aligns: Vec<Align>,
    /// Rows not printed yet, each a list of cells (the header is row 0).
    rows: Vec<Vec<Vec<Span>>>,
    /// Whether the header is printed yet.
    header_out: bool,
    /// The column widths, once the table started printing.
    widths: Option<Vec<usize>>,
}

/// The alignments of a delimiter row (`|---|:--:|`), or `None` if `text` is not one.
pub(super) fn delimiter(text: &str) -> Option<Vec<Align>> {
    if !text.contains('-') {
        return None;
    }
    let mut aligns = Vec::new();
    for cell in split(text) {
        let c = cell.trim();
        let body = c.trim_start_matches(':').trim_end_matches(':');
        if body.is_empty() || !body.bytes().all(|b| b == b'-') {
            return None;
        }
        aligns.push(match (c.starts_with(':'), c.ends_with(':')) {
            (true, true) => Align::Center,
            (false, true) => Align::Right,
            _ => Align::Left,
        });
    }
    (!aligns.is_empty()).then_some(aligns)
}

/// The cells of a row: split at `|` not escaped, the outer pipes dropped, `\|` kept as `|`.
fn split(row: &str) -> Vec<String> {
    let row = row.trim();
    let row = row.strip_prefix('|').unwrap_or(row);
    let mut cells = Vec::new();
    let mut cell = String::new();
    let mut chars = row.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\\' if chars.peek() == Some(&'|') => {
                cell.push('|');
                chars.next();
            }
            '|' => cells.push(std::mem::take(&mut cell)),
            _ => cell.push(c),
        }
    }
    if !cell.trim().is_empty() {
        cells.push(cell);
    }
    cells
}

impl Table {
    /// A table from its header row and delimiter row's alignments, printed after `prefix`.
    pub(super) fn new(header: &str, aligns: Vec<Align>, prefix: Vec<Span>) -> Self {
        let prefix_w = style::spans_width(&prefix);
        let mut table = Table { prefix, prefix_w, aligns, rows: Vec::new(), header_out: false, widths: None };
        table.add(header, style::strong());
        table
    }

    fn add(&mut self, row: &str, base: Style) {
        let mut cells: Vec<Vec<Span>> = split(row)
            .iter()
            .map(|c| {
                let mut spans = Vec::new();
                inline::spans(c.trim(), base, &mut spans);
                spans
            })
            .collect();
        cells.resize(self.aligns.len(), Vec::new());
        self.rows.push(cells);
    }

    /// Adds a body row; prints it now if the table is already printing, or starts printing
    /// when too many rows are held.
    pub(super) fn row(&mut self, row: &str, width: usize, pen: &mut Pen, out: &mut String) {
        self.add(row, Style::new());
        if self.widths.is_some() || self.rows.len() > HOLD_ROWS {
            self.print(width, pen, out);
        }
    }

    /// Whether rows are held that [`Table::print`] would write.
    pub(super) fn holding(&self) -> bool {
        !self.rows.is_empty()
    }

    /// Prints the rows held, fixing the column widths if not done yet; later rows print as they
    /// come.
    pub(super) fn print(&mut self, width: usize, pen: &mut Pen, out: &mut String) {
        if self.rows.is_empty() {
            return;
        }
        if self.widths.is_none() {
            self.widths = Some(self.layout(width, true));
        }
        self.write_rows(pen, out);
    }

    /// The table is complete: prints what is held and the bottom border.
    pub(super) fn finish(mut self, width: usize, pen: &mut Pen, out: &mut String) {
        if self.widths.is_none() {
            self.widths = Some(self.layout(width, false));
        }
        self.write_rows(pen, out);
        let widths = self.widths.take().unwrap_or_default();
        self.border(&widths, ('└', '┴', '┘'), pen, out);
    }

    /// Column widths: each as wide as its widest cell, narrowed (never below its widest word)
    /// until the table fits. When `streaming`, columns get some room for the rows to come.
    fn layout(&self, width: usize, streaming: bool) -> Vec<usize> {
        let n = self.aligns.len();
        let frame = 3 * n + 1;
        let avail = width.saturating_sub(self.prefix_w + frame).max(n);
        let mut widths = vec![1; n];
        let mut least = vec![1; n];
        for row in &self.rows {
            for (i, cell) in row.iter().enumerate() {
                widths[i] = widths[i].max(style::spans_width(cell));
                least[i] = least[i].max(widest_word(cell));
            }
        }
        if streaming {
            let share = (avail / n).min(24);
            for w in &mut widths {
                *w = (*w).max(share);
            }
        }
        let mut total: usize = widths.iter().sum();
        // Narrowed down to the widest words first; then, still too wide (a URL or a long flag in
        // a narrow terminal), words are broken too, rather than the table overflowing the line.
        for floor in [least, vec![1; n]] {
            while total > avail {
                let Some(i) = (0..n).filter(|&i| widths[i] > floor[i]).max_by_key(|&i| widths[i]) else {
                    break;
                };
                widths[i] -= 1;
                total -= 1;
            }
        }
        widths
    }

    fn write_rows(&mut self, pen: &mut Pen, out: &mut String) {
        let widths = self.widths.clone().unwrap_or_default();
        for cells in std::mem::take(&mut self.rows) {
            if !self.header_out {
                self.border(&widths, ('┌', '┬', '┐'), pen, out);
            }
            let lines: Vec<Vec<Vec<Span>>> =
                cells.iter().zip(&widths).map(|(cell, w)| broken(wrap_spans(cell, *w), *w)).collect();
            let height = lines.iter().map(Vec::len).max().unwrap_or(1).max(1);
            for j in 0..height {
                pen.put_spans(out, &self.prefix);
                for (i, w) in widths.iter().enumerate() {
                    pen.put(out, style::frame(), if i == 0 { "│ " } else { " │ " });
                    let line = lines[i].get(j).map(Vec::as_slice).unwrap_or_default();
                    let used = style::spans_width(line);
                    let pad = w.saturating_sub(used);
                    let (before, after) = match self.aligns[i] {
                        Align::Left => (0, pad),
                        Align::Right => (pad, 0),
                        Align::Center => (pad / 2, pad - pad / 2),
                    };
                    pen.put(out, Style::new(), &" ".repeat(before));
                    pen.put_spans(out, line);
                    pen.put(out, Style::new(), &" ".repeat(after));
                }
                pen.put(out, style::frame(), " │");
                pen.newline(out);
            }
            if !self.header_out {
                self.header_out = true;
                self.border(&widths, ('├', '┼', '┤'), pen, out);
            }
        }
    }

    fn border(&self, widths: &[usize], (left, mid, right): (char, char, char), pen: &mut Pen, out: &mut String) {
        let mut line = String::new();
        line.push(left);
        for (i, w) in widths.iter().enumerate() {
            if i > 0 {
                line.push(mid);
            }
            line.extend(std::iter::repeat_n('─', w + 2));
        }
        line.push(right);
        pen.put_spans(out, &self.prefix);
        pen.put(out, over(Style::new(), style::frame()), &line);
        pen.newline(out);
    }
}

/// `lines` with each line wider than `width` (a word longer than its column) broken into
/// pieces of at most `width` columns (a grapheme wider than that stands alone).
fn broken(lines: Vec<Vec<Span>>, width: usize) -> Vec<Vec<Span>> {
    let mut out = Vec::with_capacity(lines.len());
    for line in lines {
        if style::spans_width(&line) <= width {
            out.push(line);
            continue;
        }
        let (mut current, mut used): (Vec<Span>, usize) = (Vec::new(), 0);
        for (style, text) in line {
            let mut piece = String::new();
            // By grapheme, as a terminal draws them: an emoji family or a flag stays whole.
            for g in unicode_segmentation::UnicodeSegmentation::graphemes(text.as_str(), true) {
                let w = style::width(g);
                if used + w > width && used > 0 {
                    if !piece.is_empty() {
                        current.push((style, std::mem::take(&mut piece)));
                    }
                    out.push(std::mem::take(&mut current));
                    used = 0;
                }
                piece.push_str(g);
                used += w;
            }
            if !piece.is_empty() {
                current.push((style, piece));
            }
        }
        if !current.is_empty() {
            out.push(current);
        }
    }
    out
}
