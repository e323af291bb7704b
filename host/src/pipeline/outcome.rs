//! What running a line produced: each stage's result, the final output, or why it could not run.

use std::time::Duration;

use super::ParseError;
use crate::spool::Spool;
use crate::transport::{ToolCall, Usage};

/// What became of one stage (an AI's answer or a stage plugin's output).
#[derive(Clone, Debug, PartialEq)]
pub struct StageResult {
    /// The AI's (or stage plugin's) name.
    pub ai: String,
    /// The transport plugin that carried the answer (`stage` for a stage plugin).
    pub transport: String,
    /// Whether the answer was asked for as a stream.
    pub streamed: bool,
    /// Why a fallback transport had to carry the answer, if one did.
    pub degraded: Option<String>,
    /// What the AI was sent (empty for a stage plugin).
    pub message: String,
    /// The answer as far as it arrived (in a file once it is large).
    pub response: Spool,
    /// Tool calls the model asked for, in order.
    pub tool_calls: Vec<ToolCall>,
    /// Tokens reported by the backend (or counted).
    pub tokens: u64,
    /// Usage as the backend reported it.
    pub usage: Option<Usage>,
    /// Time from sending to the end of the answer.
    pub elapsed: Duration,
    /// Time to the first token.
    pub first_token: Option<Duration>,
    /// Why the stage failed, if it did.
    pub error: Option<String>,
    /// The answer stopped early (Ctrl-C or a dropped stream) and is kept as far as it got.
    pub interrupted: bool,
}

impl StageResult {
    /// Whether the answer arrived whole.
    pub fn complete(&self) -> bool {
        self.error.is_none() && !self.interrupted
    }

    /// The answer as a conversation keeps it: its text, then a line per tool call.
    pub fn as_turn(&self) -> Result<String, crate::spool::SpoolError> {
        Ok(crate::conversation::answer_turn(&self.response.text()?, &self.tool_calls))
    }

    /// A stage that has produced nothing yet.
    pub fn empty(ai: &str, transport: &str, streamed: bool) -> Self {
        StageResult {
            ai: ai.to_owned(),
            transport: transport.to_owned(),
            streamed,
            degraded: None,
            message: String::new(),
            response: Spool::default(),
            tool_calls: Vec::new(),
            tokens: 0,
            usage: None,
            elapsed: Duration::ZERO,
            first_token: None,
            error: None,
            interrupted: false,
        }
    }
}

/// What became of a whole line.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Outcome {
    /// Every stage that ran, in order.
    pub stages: Vec<StageResult>,
    /// The final output when it is not simply the last stage's answer (see [`Outcome::output`]).
    pub(crate) output: Spool,
    /// The last stage's answer is the output itself, not copied.
    pub(crate) output_is_last_answer: bool,
    /// A built-in asked to leave the shell.
    pub exit: bool,
}

impl Outcome {
    /// The final output (what `> FILE` receives): the last AI's answer itself when the line
    /// ended with one AI, else the joined answers or the last stage plugin's or `echo`'s text.
    pub fn output(&self) -> &Spool {
        match self.stages.last() {
            Some(last) if self.output_is_last_answer => &last.response,
            _ => &self.output,
        }
    }

    /// Whether every stage succeeded.
    pub fn success(&self) -> bool {
        self.stages.iter().all(|s| s.error.is_none() && !s.interrupted)
    }
}

/// Why a line could not run at all.
#[derive(Debug, thiserror::Error)]
pub enum RunError {
    /// Bad syntax (exit status 2).
    #[error(transparent)]
    Syntax(#[from] ParseError),
    /// A name that is no AI or command (exit status 2).
    #[error("{0}")]
    Usage(String),
    /// A redirect file could not be read or written (exit status 1).
    #[error("{0}")]
    File(String),
    /// A built-in could not do what was asked (exit status 1).
    #[error("{0}")]
    Failed(String),
    /// A large answer could not be kept in, or read back from, its spool file (exit status 1).
    #[error(transparent)]
    Spool(#[from] crate::spool::SpoolError),
}
