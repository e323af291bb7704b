//! Syntax highlighting of fenced code blocks with `syntect`. The syntax set and the theme are
//! loaded once, on the first block whose language is known, so start-up pays nothing; lines
//! come out as 24-bit colour when the terminal says it has it (`COLORTERM`), 256 colours
//! otherwise. Only the foreground is used: the terminal's background stays. The pure-Rust
//! regex engine costs some 100 µs a line, so a line met again in the same state is taken from
//! a memo rather than highlighted again.

use std::collections::HashMap;
use std::sync::OnceLock;

use nu_ansi_term::{Color, Style};
use syntect::highlighting::{FontStyle, HighlightIterator, HighlightState, Theme, ThemeSet};
use syntect::parsing::{ParseState, ScopeStack, SyntaxSet};

use super::style::Span;

/// The longest line highlighted, in bytes.
const LONGEST: usize = 2000;

/// What highlighting needs, loaded once.
struct Assets {
    syntaxes: SyntaxSet,
    theme: Theme,
    truecolor: bool,
}

fn assets() -> &'static Assets {
    static ASSETS: OnceLock<Assets> = OnceLock::new();
    ASSETS.get_or_init(|| {
        let mut themes = ThemeSet::load_defaults();
        let theme = themes
            .themes
            .remove("base16-ocean.dark")
            .or_else(|| themes.themes.into_values().next())
            .unwrap_or_default();
        let truecolor = std::env::var("COLORTERM")
            .is_ok_and(|v| v.eq_ignore_ascii_case("truecolor") || v.eq_ignore_ascii_case("24bit"));
        Assets { syntaxes: SyntaxSet::load_defaults_newlines(), theme, truecolor }
    })
}

/// The token `syntect` knows a fence's language tag by (`rust` → `rs`, `shell` → `bash`).
fn token(info: &str) -> Option<String> {
    let tag = info.split(|c: char| c.is_whitespace() || c == ',' || c == '{').next()?;
    let tag = tag.trim_start_matches('.').to_ascii_lowercase();
    let alias = match tag.as_str() {
        "" | "text" | "txt" | "plain" | "plaintext" | "output" => return None,
        "shell" | "zsh" | "console" | "shellscript" | "ksh" => "bash",
        "mjs" | "cjs" | "jsx" | "ts" | "typescript" | "tsx" => "js",
        "python3" | "py3" => "py",
        "c++" | "cxx" | "hpp" => "cpp",
        "golang" => "go",
        "yml" => "yaml",
        _ => return Some(tag),
    };
    Some(alias.to_owned())
}

/// Lines highlighted before, by their text, with the states they were highlighted from: a
/// line met again in the same state (code repeated in an answer, or in a later answer of the
/// same renderer) is not highlighted again. Bounded; emptied when full.
#[derive(Default)]
pub(super) struct Memo {
    lines: HashMap<String, Vec<Seen>>,
    count: usize,
}

/// Lines a memo keeps at most.
const MEMO_LINES: usize = 4096;

struct Seen {
    before: (ParseState, HighlightState),
    after: (ParseState, HighlightState),
    spans: Vec<Span>,
}

/// Highlights the lines of one code block in turn.
pub(super) struct Highlighter {
    parse: ParseState,
    state: HighlightState,
    highlighter: syntect::highlighting::Highlighter<'static>,
}

impl Highlighter {
    /// A highlighter for a fence's info string (`rust`, `py title="x"`), or `None` when the
    /// language is missing or unknown (the block is then shown plain).
    pub(super) fn new(info: &str) -> Option<Self> {
        let tag = token(info)?;
        let assets = assets();
        let syntax =
            assets.syntaxes.find_syntax_by_token(&tag).or_else(|| assets.syntaxes.find_syntax_by_name(&tag))?;
        let highlighter = syntect::highlighting::Highlighter::new(&assets.theme);
        let state = HighlightState::new(&highlighter, ScopeStack::new());
        Some(Highlighter { parse: ParseState::new(syntax), state, highlighter })
    }

    /// The spans of one complete code line (without its `\n`). A very long line (minified
    /// code, data) is left plain: the backtracking regex engine could take long on it.
    pub(super) fn line(&mut self, code: &str, memo: &mut Memo) -> Vec<Span> {
        if code.len() > LONGEST {
            return vec![(Style::new(), code.to_owned())];
        }
        if let Some(seen) = memo
            .lines
            .get(code)
            .and_then(|seen| seen.iter().find(|s| s.before.0 == self.parse && s.before.1 == self.state))
        {
            (self.parse, self.state) = seen.after.clone();
            return seen.spans.clone();
        }
        let before = (self.parse.clone(), self.state.clone());
        let Some(spans) = self.highlight(code) else { return vec![(Style::new(), code.to_owned())] };
        if memo.count >= MEMO_LINES {
            memo.lines.clear();
            memo.count = 0;
        }
        memo.count += 1;
        let after = (self.parse.clone(), self.state.clone());
        memo.lines.entry(code.to_owned()).or_default().push(Seen { before, after, spans: spans.clone() });
        spans
    }

    fn highlight(&mut self, code: &str) -> Option<Vec<Span>> {
        spans(&mut self.parse, &mut self.state, &self.highlighter, &format!("{code}\n"))
    }

    /// The spans of the start of a line still arriving, highlighted as far as it came without
    /// moving the highlighter on (`None` past [`LONGEST`] or when `syntect` fails).
    pub(super) fn peek(&self, partial: &str) -> Option<Vec<Span>> {
        if partial.len() > LONGEST {
            return None;
        }
        let (mut parse, mut state) = (self.parse.clone(), self.state.clone());
        spans(&mut parse, &mut state, &self.highlighter, partial)
    }
}

/// The spans of `source` (a line, with its `\n` when complete, which no span keeps), moving
/// `parse` and `state` past it.
fn spans(
    parse: &mut ParseState,
    state: &mut HighlightState,
    highlighter: &syntect::highlighting::Highlighter<'static>,
    source: &str,
) -> Option<Vec<Span>> {
    let assets = assets();
    let ops = parse.parse_line(source, &assets.syntaxes).ok()?;
    let pieces = HighlightIterator::new(state, &ops, source, highlighter);
    Some(
        pieces
            .filter_map(|(s, text)| {
                let text = text.strip_suffix('\n').unwrap_or(text);
                (!text.is_empty()).then(|| (convert(s, assets.truecolor), text.to_owned()))
            })
            .collect(),
    )
}

fn convert(s: syntect::highlighting::Style, truecolor: bool) -> Style {
    let c = s.foreground;
    let fg = if truecolor { Color::Rgb(c.r, c.g, c.b) } else { Color::Fixed(to_256(c.r, c.g, c.b)) };
    let mut style = Style::new().fg(fg);
    style.is_bold = s.font_style.contains(FontStyle::BOLD);
    style.is_italic = s.font_style.contains(FontStyle::ITALIC);
    style.is_underline = s.font_style.contains(FontStyle::UNDERLINE);
    style
}

/// The nearest of the 256 colours: the 6×6×6 cube or the grey ramp.
fn to_256(r: u8, g: u8, b: u8) -> u8 {
    let level = |v: u8| -> u8 {
        if v < 48 {
            0
        } else if v < 115 {
            1
        } else {
            (v - 35) / 40
        }
    };
    let value = |l: u8| -> i32 { if l == 0 { 0 } else { 55 + 40 * i32::from(l) } };
    let (lr, lg, lb) = (level(r), level(g), level(b));
    let cube = 16 + 36 * lr + 6 * lg + lb;
    let dist =
        |x: i32, y: i32, z: i32| (x - i32::from(r)).pow(2) + (y - i32::from(g)).pow(2) + (z - i32::from(b)).pow(2);
    let cube_d = dist(value(lr), value(lg), value(lb));
    let avg = (u32::from(r) + u32::from(g) + u32::from(b)) / 3;
    let grey = if avg > 238 { 23 } else { avg.saturating_sub(3) / 10 } as u8;
    let gv = 8 + 10 * i32::from(grey);
    if dist(gv, gv, gv) < cube_d { 232 + grey } else { cube }
}
