//! The events a running pipeline emits, in order, for whoever shows or keeps them. The engine
//! says what happened to which stage; the display decides how (and whether) it looks.

use std::time::Duration;

use crate::transport::ToolCall;

/// An AI stage about to be shown: what it is and where it stands in the pipeline.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StageInfo {
    /// The AI's name.
    pub ai: String,
    /// Whether its answer was asked for as a stream.
    pub streamed: bool,
    /// The pipeline has several AI answers, so each is labelled with its AI.
    pub labelled: bool,
    /// It answers side by side with others (`&`, `team-chat`).
    pub fan_out: bool,
    /// It is the pipeline's last stage (its answer is the output).
    pub last: bool,
    /// The output goes to a file (`> FILE`), not to the screen.
    pub redirected: bool,
}

/// One thing that happened while a pipeline ran.
#[derive(Clone, Debug, PartialEq)]
pub enum StageEvent<'a> {
    /// Earlier turns of an AI's conversation were left out so the request fits its model.
    Trimmed {
        /// The AI.
        ai: &'a str,
        /// How many turns were left out.
        turns: usize,
        /// The limit they would have passed (`max_context_tokens`).
        limit: u64,
    },
    /// An AI stage's events follow, until it completes, fails or is interrupted.
    Stage(&'a StageInfo),
    /// The AI's transport could not stream; `transport` carries the answer instead.
    Degraded {
        /// Why the configured transport failed.
        why: &'a str,
        /// The fallback transport.
        transport: &'a str,
    },
    /// Connected and sent: the answer is on its way.
    Answering,
    /// The sink has held something back for [`EventSink::idle_after`]: show it now.
    Idle,
    /// A piece of the answer.
    Token(&'a str),
    /// The model asked for a tool call (shown on a line of its own).
    ToolCall(&'a ToolCall),
    /// The answer is complete.
    Completed {
        /// Time from sending to the end.
        elapsed: Duration,
        /// Output tokens the backend reported, or an estimate from the text.
        tokens: u64,
        /// Input tokens, when the backend reported them.
        input_tokens: Option<u64>,
    },
    /// The answer stopped before its end; what arrived is kept.
    Interrupted {
        /// Why it stopped.
        why: &'a str,
    },
    /// A stage failed (one line that names it).
    Failed {
        /// The error.
        error: &'a str,
    },
    /// Whole text for the screen: a stage plugin's or `echo`'s output as the pipeline's result.
    Output(&'a str),
}

/// Receives a pipeline's events as they happen.
pub trait EventSink {
    /// Handles one event.
    fn event(&mut self, event: StageEvent<'_>);

    /// How long the sink may hold back what it holds (a display's partial line) before it is
    /// told [`StageEvent::Idle`], counted from when it began to hold, however many pieces arrive
    /// meanwhile; `None`: it holds nothing back.
    fn idle_after(&self) -> Option<std::time::Duration> {
        None
    }

    /// No more pieces are waiting: show what the sink has buffered. Answer text may be held
    /// between tokens of a fast stream; everything else is shown at once.
    fn flush(&mut self) {}
}
