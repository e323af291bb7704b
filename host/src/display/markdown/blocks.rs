//! Block structure, one source line at a time: which containers (block quotes, list items) a
//! line continues or opens, and what its content is (a heading, a rule, a fence, a table row,
//! paragraph text, indented code, a blank). Follows CommonMark's container matching, a little
//! more forgiving about list indentation (a line indented past an item's marker belongs to
//! it), since answers rarely indent exactly. Also gives each line its prefix: `│ ` per quote,
//! the item's bullet or number on its first line and as much blank indentation after.

use super::style::{self, Span};

/// A block that contains other blocks.
#[derive(Clone, Debug)]
pub(super) enum Container {
    /// `> `
    Quote,
    /// A list item: the source column of its marker, the column its content starts at, and
    /// the marker as shown (`•`, `3.`).
    Item { marker_col: usize, content_col: usize, marker: String },
}

/// What the previous line's content was (paragraph continuation rules need it).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Last {
    Blank,
    Paragraph,
    Other,
}

/// What a line holds once its containers are taken off.
#[derive(Debug)]
pub(super) enum Leaf<'a> {
    Blank,
    /// `## text`: the level and the text.
    Heading(u8, &'a str),
    /// `---`, `***`, `___` (and setext underlines).
    Rule,
    /// An opening fence: its character, length, indentation and info string.
    Fence {
        ch: u8,
        len: usize,
        indent: usize,
        info: &'a str,
    },
    /// A line starting with `|`.
    TableRow(&'a str),
    Paragraph(&'a str),
    /// An indented code line (four spaces), indentation removed.
    Code(&'a str),
}

/// How a line fits the block structure; [`Blocks::apply`] makes it so.
#[derive(Debug)]
pub(super) struct Plan<'a> {
    /// Containers of the previous line this line continues (all of them when lazy).
    matched: usize,
    /// Containers this line opens.
    new: Vec<Container>,
    pub(super) leaf: Leaf<'a>,
}

impl Plan<'_> {
    /// Whether the line opens a list item (its text may start with a task box).
    pub(super) fn opens_item(&self) -> bool {
        matches!(self.new.last(), Some(Container::Item { .. }))
    }
}

/// The prefixes of a line's output: before its first output line and before wrapped ones.
pub(super) struct Prefix {
    pub(super) first: Vec<Span>,
    pub(super) first_w: usize,
    pub(super) cont: Vec<Span>,
}

/// An open fenced code block.
pub(super) struct Fence {
    ch: u8,
    len: usize,
    indent: usize,
    /// The highlighter, when the language is known and colour is on.
    pub(super) highlighter: Option<super::code::Highlighter>,
}

/// A line inside a fenced code block.
pub(super) enum FenceLine<'a> {
    Close,
    Code(&'a str),
}

/// The block state carried from line to line.
pub(super) struct Blocks {
    containers: Vec<Container>,
    last: Last,
    pub(super) fence: Option<Fence>,
}

/// Where a scan is in a line: byte position and source column (tabs stop every 4).
#[derive(Clone, Copy)]
struct Cur {
    pos: usize,
    col: usize,
}

impl Cur {
    /// The whitespace at the position: its bytes and columns.
    fn indent(self, line: &str) -> (usize, usize) {
        let mut col = self.col;
        let mut n = 0;
        for b in line.as_bytes()[self.pos..].iter() {
            match b {
                b' ' => col += 1,
                b'\t' => col += 4 - col % 4,
                _ => break,
            }
            n += 1;
        }
        (n, col - self.col)
    }

    /// Skips whitespace up to column `max`.
    fn skip_to(&mut self, line: &str, max: usize) {
        let bytes = line.as_bytes();
        while self.pos < bytes.len() && self.col < max {
            match bytes[self.pos] {
                b' ' => self.col += 1,
                b'\t' => self.col += 4 - self.col % 4,
                _ => break,
            }
            self.pos += 1;
        }
    }

    /// Skips all whitespace.
    fn skip_ws(&mut self, line: &str) {
        self.skip_to(line, usize::MAX);
    }
}

impl Blocks {
    pub(super) fn new() -> Self {
        Blocks { containers: Vec::new(), last: Last::Blank, fence: None }
    }

    /// How `line` (without its `\n`) fits the structure so far. Changes nothing.
    pub(super) fn classify<'a>(&self, line: &'a str) -> Plan<'a> {
        let mut cur = Cur { pos: 0, col: 0 };
        let mut matched = 0;
        for c in &self.containers {
            let blank = line[cur.pos..].trim().is_empty();
            match c {
                Container::Quote => {
                    let (n, _) = cur.indent(line);
                    if line[cur.pos + n..].starts_with('>') {
                        cur.skip_ws(line);
                        quote_marker(line, &mut cur);
                    } else {
                        break;
                    }
                }
                Container::Item { marker_col, content_col, .. } => {
                    if !blank {
                        let (_, cols) = cur.indent(line);
                        if cur.col + cols <= *marker_col {
                            break;
                        }
                        cur.skip_to(line, *content_col);
                    }
                }
            }
            matched += 1;
        }

        let mut new = Vec::new();
        let mut items = self.containers[..matched].iter().any(|c| matches!(c, Container::Item { .. }));
        loop {
            let (n, cols) = cur.indent(line);
            let text = &line[cur.pos + n..];
            if text.is_empty() || is_rule(text) {
                break;
            }
            if cols < 4 && text.starts_with('>') {
                cur.skip_ws(line);
                quote_marker(line, &mut cur);
                new.push(Container::Quote);
                continue;
            }
            let Some((marker_len, shown)) = list_marker(text) else { break };
            if cols >= 4 && !items {
                break;
            }
            cur.skip_ws(line);
            let marker_col = cur.col;
            cur.pos += marker_len;
            cur.col += marker_len;
            let (_, after) = cur.indent(line);
            let content_col =
                if line[cur.pos..].trim().is_empty() || after > 4 { cur.col + 1 } else { cur.col + after };
            cur.skip_to(line, content_col);
            let depth = self.containers[..matched]
                .iter()
                .chain(&new)
                .filter(|c| matches!(c, Container::Item { marker, .. } if !marker.ends_with(['.', ')'])))
                .count();
            let marker = shown.unwrap_or_else(|| ["•", "◦", "▪"][depth % 3].to_owned());
            new.push(Container::Item { marker_col, content_col, marker });
            items = true;
        }

        let last_para = self.last == Last::Paragraph;
        let (n, cols) = cur.indent(line);
        let text = line[cur.pos + n..].trim_end();
        let leaf = if text.is_empty() {
            Leaf::Blank
        } else if cols >= 4 && !last_para {
            let mut code = cur;
            code.skip_to(line, cur.col + 4);
            Leaf::Code(&line[code.pos..])
        } else if cols >= 4 {
            Leaf::Paragraph(text)
        } else if let Some((level, content)) = heading(text) {
            Leaf::Heading(level, content)
        } else if let Some((ch, len, info)) = fence(text) {
            Leaf::Fence { ch, len, indent: cols, info }
        } else if is_rule(text) || (last_para && new.is_empty() && text.bytes().all(|b| b == b'=')) {
            Leaf::Rule
        } else if text.starts_with('|') {
            Leaf::TableRow(text)
        } else {
            Leaf::Paragraph(text)
        };
        // A paragraph's continuation line keeps the containers it did not repeat ("lazy").
        if matched < self.containers.len()
            && new.is_empty()
            && last_para
            && matches!(leaf, Leaf::Paragraph(_) | Leaf::Code(_))
        {
            let text = line.trim();
            return Plan { matched: self.containers.len(), new, leaf: Leaf::Paragraph(text) };
        }
        Plan { matched, new, leaf }
    }

    /// Whether `plan` stays in the current containers and opens none (a table's next row).
    pub(super) fn continues(&self, plan: &Plan<'_>) -> bool {
        plan.matched == self.containers.len() && plan.new.is_empty()
    }

    /// Makes `plan` the current structure; returns the line's prefixes.
    pub(super) fn apply(&mut self, plan: &mut Plan<'_>) -> Prefix {
        self.containers.truncate(plan.matched);
        let first_new = self.containers.len();
        self.containers.append(&mut plan.new);
        self.last = match plan.leaf {
            Leaf::Blank => Last::Blank,
            Leaf::Paragraph(_) => Last::Paragraph,
            _ => Last::Other,
        };
        if let Leaf::Fence { ch, len, indent, .. } = plan.leaf {
            self.fence = Some(Fence { ch, len, indent, highlighter: None });
        }
        let prefix = self.prefix(first_new);
        if let Leaf::Blank = plan.leaf {
            return trimmed(prefix);
        }
        prefix
    }

    /// The prefixes when the containers from `first_new` on were opened on this line.
    fn prefix(&self, first_new: usize) -> Prefix {
        let mut first = Vec::new();
        let mut cont = Vec::new();
        for (i, c) in self.containers.iter().enumerate() {
            match c {
                Container::Quote => {
                    super::inline::push(&mut first, style::frame(), "│ ");
                    super::inline::push(&mut cont, style::frame(), "│ ");
                }
                Container::Item { marker, .. } => {
                    let pad = " ".repeat(style::width(marker) + 1);
                    if i >= first_new {
                        super::inline::push(&mut first, style::bullet(), marker);
                        super::inline::push(&mut first, nu_ansi_term::Style::new(), " ");
                    } else {
                        super::inline::push(&mut first, nu_ansi_term::Style::new(), &pad);
                    }
                    super::inline::push(&mut cont, nu_ansi_term::Style::new(), &pad);
                }
            }
        }
        let first_w = style::spans_width(&first);
        Prefix { first, first_w, cont }
    }

    /// The prefix of lines that continue the current containers (code, table rows).
    pub(super) fn cont_prefix(&self) -> Prefix {
        self.prefix(self.containers.len())
    }

    /// Classifies a line inside the open fence: its closing fence, or a code line (the
    /// containers' markers and the fence's indentation taken off; forgiving when a line
    /// lacks them, so a fence is never left on screen).
    pub(super) fn fence_line<'a>(&self, line: &'a str) -> FenceLine<'a> {
        let Some(fence) = &self.fence else { return FenceLine::Code(line) };
        let mut cur = Cur { pos: 0, col: 0 };
        for c in &self.containers {
            match c {
                Container::Quote => {
                    let (n, _) = cur.indent(line);
                    if line[cur.pos + n..].starts_with('>') {
                        cur.skip_ws(line);
                        quote_marker(line, &mut cur);
                    }
                }
                Container::Item { content_col, .. } => cur.skip_to(line, *content_col),
            }
        }
        let t = line[cur.pos..].trim();
        let run = t.bytes().take_while(|&b| b == fence.ch).count();
        if run >= fence.len && run == t.len() {
            return FenceLine::Close;
        }
        cur.skip_to(line, cur.col + fence.indent);
        FenceLine::Code(&line[cur.pos..])
    }

    /// Whether a partial line in the open fence could still turn out to be its closing fence
    /// (or is only indentation so far), so it is not written yet.
    pub(super) fn fence_undecided(&self, partial: &str) -> bool {
        let Some(fence) = &self.fence else { return false };
        match self.fence_line(partial) {
            FenceLine::Close => true,
            FenceLine::Code(code) => code.trim().bytes().all(|b| b == fence.ch),
        }
    }

    /// Closes the open fence.
    pub(super) fn close_fence(&mut self) {
        self.fence = None;
        self.last = Last::Other;
    }
}

/// Takes `>` and one space after it.
fn quote_marker(line: &str, cur: &mut Cur) {
    cur.pos += 1;
    cur.col += 1;
    let b = line.as_bytes().get(cur.pos);
    if b == Some(&b' ') || b == Some(&b'\t') {
        cur.pos += 1;
        cur.col += 1;
    }
}

/// A blank line's prefix: no trailing spaces.
fn trimmed(mut p: Prefix) -> Prefix {
    while let Some((_, t)) = p.first.last_mut() {
        let kept = t.trim_end().len();
        t.truncate(kept);
        if !t.is_empty() {
            break;
        }
        p.first.pop();
    }
    p.first_w = style::spans_width(&p.first);
    p
}

/// A list marker at the start of `text`: its length and, for an ordered item, the number as
/// written (`3.`, `2)`); `None` when `text` does not start an item.
fn list_marker(text: &str) -> Option<(usize, Option<String>)> {
    let bytes = text.as_bytes();
    let ends = |i: usize| matches!(bytes.get(i), None | Some(b' ' | b'\t'));
    match bytes.first()? {
        b'-' | b'*' | b'+' if ends(1) => Some((1, None)),
        b'0'..=b'9' => {
            let digits = bytes.iter().take_while(|b| b.is_ascii_digit()).count();
            if digits <= 9 && matches!(bytes.get(digits), Some(b'.' | b')')) && ends(digits + 1) {
                Some((digits + 1, Some(text[..=digits].to_owned())))
            } else {
                None
            }
        }
        _ => None,
    }
}

/// `***`, `- - -`, `___`: three or more of one of them, spaces between allowed.
pub(super) fn is_rule(text: &str) -> bool {
    let mut chars = text.trim().chars();
    let Some(c) = chars.next() else { return false };
    if !matches!(c, '-' | '*' | '_') {
        return false;
    }
    let mut n = 1;
    for d in chars {
        if d == c {
            n += 1;
        } else if d != ' ' && d != '\t' {
            return false;
        }
    }
    n >= 3
}

/// `## text ##`: the level and the text.
fn heading(text: &str) -> Option<(u8, &str)> {
    let level = text.bytes().take_while(|&b| b == b'#').count();
    if level == 0 || level > 6 {
        return None;
    }
    let rest = &text[level..];
    if !rest.is_empty() && !rest.starts_with([' ', '\t']) {
        return None;
    }
    let content = rest.trim();
    let unclosed = content.trim_end_matches('#');
    let content = if unclosed.is_empty() {
        unclosed
    } else if unclosed.ends_with([' ', '\t']) {
        unclosed.trim_end()
    } else {
        content
    };
    Some((level as u8, content))
}

/// An opening fence: ```` ```lang ```` or `~~~`: its character, length and info string.
fn fence(text: &str) -> Option<(u8, usize, &str)> {
    let ch = *text.as_bytes().first()?;
    if ch != b'`' && ch != b'~' {
        return None;
    }
    let len = text.bytes().take_while(|&b| b == ch).count();
    let info = text[len..].trim();
    if len < 3 || (ch == b'`' && info.contains('`')) {
        return None;
    }
    Some((ch, len, info))
}

/// Where `part` (a slice of `line`) starts in it.
pub(super) fn offset(line: &str, part: &str) -> usize {
    (part.as_ptr() as usize).saturating_sub(line.as_ptr() as usize).min(line.len())
}
