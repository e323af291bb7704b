//! The pipeline language (SPEC section 3): parsing lines into an AST, and running them.

mod lexer;
mod parser;
mod run;

pub use lexer::{Span, Token, tokenize};
pub use parser::parse;
pub use run::{Executor, Outcome, RunError, StageResult};

/// A parsed line: commands joined by `|`, with optional redirects.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Pipeline {
    /// The commands, in order.
    pub commands: Vec<Command>,
    /// `< FILE`
    pub input: Option<Redirect>,
    /// `> FILE` or `>> FILE`
    pub output: Option<Redirect>,
}

/// One command: a name (an AI, `echo`, a stage plugin, a built-in) and its arguments.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Command {
    /// The first word.
    pub name: String,
    /// Whether the name was quoted (then it is never a keyword).
    pub name_quoted: bool,
    /// The other words.
    pub args: Vec<String>,
    /// Where the name stands in the line.
    pub span: Span,
}

/// A redirect to or from a file.
#[derive(Clone, Debug, PartialEq, Eq)]
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
}

impl ParseError {
    /// An error at byte offset `at` of `line`.
    pub fn at(line: &str, at: usize, message: &str) -> Self {
        let column = line[..at.min(line.len())].chars().count() + 1;
        ParseError { message: message.to_owned(), column, line: line.to_owned(), incomplete: false }
    }

    /// The error, the line, and a caret under the column.
    pub fn render(&self) -> String {
        format!("{self}\n{}\n{}^", self.line, " ".repeat(self.column - 1))
    }
}
