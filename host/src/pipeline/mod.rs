//! The pipeline engine (SPEC section 3): the language (lexer, parser, AST), a plan that
//! resolves each name, and the run that asks AIs through the transport layer and emits
//! [`StageEvent`]s. It knows nothing of built-ins, the shell, the display or the history.

mod engine;
mod events;
mod interrupt;
mod lexer;
mod outcome;
mod parser;
pub(crate) mod plan;
mod redirect;
mod stages;

pub use engine::{RunSettings, run};
pub use events::{EventSink, StageEvent, StageInfo};
pub(crate) use interrupt::ctrl_c_pressed;
pub use interrupt::{take_ctrl_c, watch_ctrl_c};
pub use lexer::{Span, Token, tokenize};
pub use outcome::{Outcome, RunError, StageResult};
pub use parser::{parse, parse_with_context};
pub use plan::did_you_mean;

/// The context a caller hands to a pipeline: a JSON object merged into every AI stage's context.
pub type Context = serde_json::Map<String, serde_json::Value>;

/// A parsed line: stages joined by `|`, with optional redirects.
#[derive(Clone, Debug, PartialEq)]
pub struct Pipeline {
    /// The stages, in order.
    pub stages: Vec<Stage>,
    /// `< FILE`
    pub input: Option<Redirect>,
    /// `> FILE` or `>> FILE`
    pub output: Option<Redirect>,
    /// The caller's context (see [`parse_with_context`]).
    pub context: Context,
}

impl Pipeline {
    /// Every command, stage by stage.
    pub fn commands(&self) -> impl Iterator<Item = &Command> {
        self.stages.iter().flat_map(|s| s.branches.iter())
    }
}

/// One stage: a command, or several joined by `&` that get the same input side by side.
#[derive(Clone, Debug, PartialEq)]
pub struct Stage {
    /// The commands of the stage (more than one: a fan-out).
    pub branches: Vec<Command>,
}

/// One command: a name (an AI, `echo`, `team-chat`, a stage plugin, a built-in) and its arguments.
#[derive(Clone, Debug, PartialEq)]
pub struct Command {
    /// The first word.
    pub name: String,
    /// Whether the name was quoted (then it is never a keyword).
    pub name_quoted: bool,
    /// The other words.
    pub args: Vec<String>,
    /// Where the name stands in the line.
    pub span: Span,
    /// The caller's context for this stage.
    pub context: Context,
}

/// A redirect to or from a file.
#[derive(Clone, Debug, PartialEq)]
pub struct Redirect {
    /// The file.
    pub path: String,
    /// `>>` rather than `>`.
    pub append: bool,
    /// Where it stands in the line.
    pub span: Span,
}

/// A syntax error: what was expected, and where.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("syntax error at column {column}: {message}")]
pub struct ParseError {
    /// What is wrong and what to do.
    pub message: String,
    /// 1-based column, in characters.
    pub column: usize,
    /// The line that was parsed.
    pub line: String,
    /// More input could complete the line (an open quote, a trailing `|`).
    pub incomplete: bool,
    /// What is incomplete is a quote never closed: only a line holding a quote can close it.
    pub quote_open: bool,
}

impl ParseError {
    /// An error at byte offset `at` of `line`.
    pub fn at(line: &str, at: usize, message: &str) -> Self {
        let column = line[..at.min(line.len())].chars().count() + 1;
        ParseError { message: message.to_owned(), column, line: line.to_owned(), incomplete: false, quote_open: false }
    }

    /// The error, the line, and a caret under the column.
    pub fn render(&self) -> String {
        // The line the column falls in (a command may go on over lines), and only its stretch
        // around the column: a line of a megabyte is not echoed whole.
        const SIDE: usize = 60;
        let chars: Vec<char> = self.line.chars().collect();
        let at = (self.column - 1).min(chars.len());
        let start = chars[..at].iter().rposition(|&c| c == '\n').map_or(0, |i| i + 1);
        let end = chars[at..].iter().position(|&c| c == '\n').map_or(chars.len(), |i| at + i);
        let (from, to) = (start.max(at.saturating_sub(SIDE)), end.min(at + SIDE));
        let before = if from > start { "…" } else { "" };
        let after = if to < end { "…" } else { "" };
        let shown: String = chars[from..to].iter().collect();
        let caret = " ".repeat(before.chars().count() + at - from);
        format!("{self}\n{before}{shown}{after}\n{caret}^")
    }
}
