//! How the pipeline's stage events look: which answers reach stdout, labels for several AIs,
//! `[Streaming...]`, the closing status line, and the notices for degraded or cut answers.

use super::{Display, Visibility};
use crate::pipeline::{EventSink, StageEvent, StageInfo};

/// The stage being shown, and how.
pub(super) struct Shown {
    info: StageInfo,
    visibility: Visibility,
}

impl Display {
    /// Intermediate answers stay off a non-terminal stdout; a redirected final answer goes to
    /// its file instead.
    fn visibility(&self, info: &StageInfo) -> Visibility {
        match (info.last, info.redirected, self.tty) {
            (true, false, _) | (false, _, true) => Visibility::Shown,
            (true, true, _) | (false, _, false) => Visibility::Quiet,
        }
    }

    fn current_visibility(&self) -> Visibility {
        self.stage.as_ref().map_or(Visibility::Shown, |s| s.visibility)
    }
}

impl EventSink for Display {
    fn event(&mut self, event: StageEvent<'_>) {
        match event {
            StageEvent::Stage(info) => {
                let visibility = self.visibility(info);
                self.stage = Some(Shown { info: info.clone(), visibility });
            }
            StageEvent::Degraded { why, transport } => self.warning(&format!("[degraded: {why}, using {transport}]")),
            StageEvent::Answering => {
                let Some(Shown { info, visibility }) = self.stage.take() else { return };
                let label = info.labelled.then_some(info.ai.as_str());
                self.stage_start(label, info.streamed, visibility);
                // Side-by-side answers on a pipe are told apart by a line naming the AI.
                if info.fan_out && !self.tty && visibility == Visibility::Shown {
                    self.token(&format!("[{}]\n", info.ai), visibility);
                }
                self.stage = Some(Shown { info, visibility });
            }
            StageEvent::Token(text) => self.token(text, self.current_visibility()),
            StageEvent::ToolCall(call) => self.tool_call(&call.name, &call.arguments, self.current_visibility()),
            StageEvent::Completed { elapsed, tokens, input_tokens } => {
                self.stage_end(elapsed, tokens, input_tokens, self.current_visibility())
            }
            StageEvent::Trimmed { ai, turns, limit } => {
                self.notice(&format!("[{ai}: {turns} earlier turns left out to fit max_context_tokens = {limit}]"))
            }
            StageEvent::Interrupted { why } => self.stage_interrupted(why, self.current_visibility()),
            StageEvent::Failed { error } => self.error(error),
            StageEvent::Output(text) => self.print(text),
        }
    }
}
