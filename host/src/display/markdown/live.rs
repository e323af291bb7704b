//! Inline Markdown of a line that is written before it is complete (the answer paused
//! mid-line). What is written cannot be taken back, so this reads the line as it comes, once:
//! an opening `**`, `*`, `_`, `~~` or backtick styles what follows straight away (optimistic:
//! answers close what they open), a link's text is styled once its `](` is seen and its URL
//! follows in parentheses; only what cannot be judged yet (a delimiter run at the very end, a
//! `\`, a `[` whose `]` has not come) waits for more text. Complete lines use `inline.rs`
//! instead; the two agree on well-formed Markdown.

use nu_ansi_term::Style;

use super::style::{self, over};
use super::wrap::{Sink, Wrapper};

/// How far a `[` may be from its `]` before it is taken as a plain bracket.
const LINK_LOOKAHEAD: usize = 200;

/// Something opened and not closed yet.
enum Open {
    /// A run of `*`, `_` or `~` of a length (1: emphasis, 2: strong, `~`: strikethrough).
    Delim(u8, usize),
    /// A link's (or image's) text.
    Link,
}

/// The inline state of the line being written.
pub(super) struct LiveInline {
    base: Style,
    stack: Vec<Open>,
    /// The backticks of the open code span.
    code: Option<usize>,
    /// In a link's URL: the depth of parentheses, and whether ` (` is written yet.
    url: Option<(usize, bool)>,
    /// In a link's text whose `](` was seen: the next `]` closes it.
    link_text: bool,
    /// The last character taken (a line starts as if after a space).
    prev: char,
}

fn is_punct(c: char) -> bool {
    c.is_ascii_punctuation() || (!c.is_alphanumeric() && !c.is_whitespace() && !c.is_ascii())
}

impl LiveInline {
    /// A line whose text is on top of `base` (a heading's style, or plain).
    pub(super) fn new(base: Style) -> Self {
        LiveInline { base, stack: Vec::new(), code: None, url: None, link_text: false, prev: ' ' }
    }

    fn style(&self) -> Style {
        if self.url.is_some() {
            return over(self.base, style::url());
        }
        let mut s = self.base;
        for open in &self.stack {
            s = over(
                s,
                match open {
                    Open::Delim(b'~', _) => style::strike(),
                    Open::Delim(_, 1) => style::emphasis(),
                    Open::Delim(_, _) => style::strong(),
                    Open::Link => style::link(),
                },
            );
        }
        if self.code.is_some() { over(s, style::code()) } else { s }
    }

    /// Writes `text` (from where the line was read to): all of it when `end` (the line is
    /// complete), else up to what cannot be judged yet. Returns the bytes taken.
    pub(super) fn feed(&mut self, text: &str, end: bool, w: &mut Wrapper, sink: &mut impl Sink) -> usize {
        let b = text.as_bytes();
        let mut i = 0;
        let mut from = 0;
        macro_rules! emit {
            ($upto:expr) => {{
                let upto = $upto;
                if from < upto {
                    self.emit(&text[from..upto], w, sink);
                }
            }};
        }
        macro_rules! hold {
            () => {{
                emit!(i);
                self.prev = text[..i].chars().next_back().unwrap_or(self.prev);
                return i;
            }};
        }
        while i < b.len() {
            let c = b[i];
            if let Some(n) = self.code {
                if c == b'`' {
                    let m = run(b, i);
                    if i + m == b.len() && !end {
                        hold!();
                    }
                    if m == n {
                        emit!(i);
                        self.code = None;
                        from = i + m;
                    }
                    i += m;
                } else {
                    i += 1;
                }
                continue;
            }
            if let Some((depth, _)) = &mut self.url {
                match c {
                    b'(' => *depth += 1,
                    b')' if *depth == 0 => {
                        emit!(i);
                        if let Some((_, true)) = self.url {
                            w.text(self.style(), ")", sink);
                        }
                        self.url = None;
                        from = i + 1;
                    }
                    b')' => *depth -= 1,
                    _ => {}
                }
                i += 1;
                continue;
            }
            match c {
                b'\\' => {
                    if i + 1 == b.len() {
                        if !end {
                            hold!();
                        }
                        i += 1;
                    } else if b[i + 1].is_ascii_punctuation() {
                        emit!(i);
                        from = i + 1;
                        i += 2;
                    } else {
                        i += 1;
                    }
                }
                b'*' | b'_' | b'~' => {
                    let m = run(b, i);
                    if i + m == b.len() && !end {
                        hold!();
                    }
                    emit!(i);
                    let prev = text[..i].chars().next_back().unwrap_or(self.prev);
                    let next = text[i + m..].chars().next().unwrap_or(' ');
                    let literal = self.delimiter(c, m, prev, next);
                    from = i + m - literal;
                    i += m;
                }
                b'`' => {
                    let m = run(b, i);
                    if i + m == b.len() && !end {
                        hold!();
                    }
                    emit!(i);
                    self.code = Some(m);
                    i += m;
                    from = i;
                }
                b'!' | b'[' => {
                    let open = if c == b'!' {
                        match b.get(i + 1) {
                            None if !end => hold!(),
                            Some(b'[') => i + 1,
                            _ => {
                                i += 1;
                                continue;
                            }
                        }
                    } else {
                        i
                    };
                    match b[open + 1..].iter().position(|&x| x == b']').map(|p| open + 1 + p) {
                        Some(close) if close + 1 == b.len() && !end => hold!(),
                        Some(close) if b.get(close + 1) == Some(&b'(') => {
                            emit!(i);
                            self.stack.push(Open::Link);
                            self.link_text = true;
                            i = open + 1;
                            from = i;
                        }
                        None if !end && b.len() - open < LINK_LOOKAHEAD => hold!(),
                        _ => i = open + 1,
                    }
                }
                b']' if self.link_text && i + 1 == b.len() && !end => hold!(),
                b']' if self.link_text && b.get(i + 1) == Some(&b'(') => {
                    emit!(i);
                    while let Some(open) = self.stack.pop() {
                        if matches!(open, Open::Link) {
                            break;
                        }
                    }
                    self.link_text = false;
                    self.url = Some((0, false));
                    i += 2;
                    from = i;
                }
                _ => i += 1,
            }
        }
        emit!(b.len());
        self.prev = text.chars().next_back().unwrap_or(self.prev);
        if end {
            if let Some((_, true)) = self.url {
                w.text(self.style(), ")", sink);
            }
            self.url = None;
        }
        b.len()
    }

    fn emit(&mut self, text: &str, w: &mut Wrapper, sink: &mut impl Sink) {
        if let Some((_, started)) = &mut self.url
            && !*started
        {
            *started = true;
            w.text(self.style(), " (", sink);
        }
        w.text(self.style(), text, sink);
    }

    /// A run of `m` delimiter characters `c` between `prev` and `next` (CommonMark's flanking
    /// rules): closes what it matches, opens what it can; returns how many of its characters
    /// are plain text.
    fn delimiter(&mut self, c: u8, mut m: usize, prev: char, next: char) -> usize {
        let left = !next.is_whitespace() && (!is_punct(next) || prev.is_whitespace() || is_punct(prev));
        let right = !prev.is_whitespace() && (!is_punct(prev) || next.is_whitespace() || is_punct(next));
        let (open, close) = if c == b'_' {
            (left && (!right || is_punct(prev)), right && (!left || is_punct(next)))
        } else {
            (left, right)
        };
        if close {
            while m > 0 {
                match self.stack.last() {
                    Some(Open::Delim(d, k)) if *d == c && *k <= m => {
                        m -= *k;
                        self.stack.pop();
                    }
                    _ => break,
                }
            }
        }
        if m == 0 {
            return 0;
        }
        if open && ((c != b'~' && m <= 3) || (c == b'~' && m <= 2)) {
            if m == 3 {
                self.stack.push(Open::Delim(c, 2));
                self.stack.push(Open::Delim(c, 1));
            } else {
                self.stack.push(Open::Delim(c, m));
            }
            return 0;
        }
        m
    }
}

/// The length of the run of `b[i]` starting at `i`.
fn run(b: &[u8], i: usize) -> usize {
    b[i..].iter().take_while(|&&x| x == b[i]).count()
}
