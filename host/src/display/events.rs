//! How the pipeline's stage events look: which answers reach stdout, labels for several AIs,
//! `[Streaming...]`, the closing status line, the notices for degraded or cut answers, and the
//! answer itself: sanitised on a terminal, rendered as Markdown when it is the final one.

use std::time::Duration;

use super::markdown::Renderer;
use super::{Display, Render, Visibility};
use crate::pipeline::{EventSink, StageEvent, StageInfo};
use crate::text::Sanitizer;

/// How long a partial line is held back for Markdown before it is shown as far as it can be
/// judged: one frame of a 60 Hz screen, so a slow stream's token shows within a frame of its
/// arrival, while a fast one is laid out a frame's worth of pieces at a time (measured: a
/// partial layout after every batch of pieces instead cost 1.43x `--plain`'s time in a pty,
/// against 1.09x).
const HOLD: Duration = Duration::from_millis(16);

/// The stage being shown, and how.
pub(super) struct Shown {
    info: StageInfo,
    visibility: Visibility,
    /// Cleans the answer's pieces on a terminal (a `\r\n` may span two pieces).
    sanitizer: Sanitizer,
    /// Renders the answer as Markdown while it streams, when it is the final one on a terminal.
    renderer: Option<Renderer>,
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

    /// The stage starts answering: its label and `[Streaming...]`, and the renderer when the
    /// answer is the final one on a terminal (then the status stays on its own line).
    fn answering(&mut self) {
        let Some(mut shown) = self.stage.take() else { return };
        let label = shown.info.labelled.then_some(shown.info.ai.as_str());
        self.stage_start(label, shown.info.streamed, shown.visibility);
        let rendered = self.tty
            && self.render == Render::Markdown
            && shown.visibility == Visibility::Shown
            && shown.info.last
            && !shown.info.redirected;
        if self.tty && self.stdio && shown.visibility == Visibility::Shown && self.quiet.is_none() {
            self.quiet = super::quiet::QuietCtrlC::start();
        }
        if rendered {
            if !self.at_line_start {
                self.write_out("\n");
            }
            shown.renderer = Some(Renderer::new(Box::new(Display::width), self.color));
        }
        // Side-by-side answers on a pipe are told apart by a line naming the AI.
        if shown.info.fan_out && !self.tty && shown.visibility == Visibility::Shown {
            self.write_out(&format!("[{}]\n", shown.info.ai));
        }
        self.stage = Some(shown);
    }

    /// A piece of the answer: as it is on a pipe, sanitised (and rendered) on a terminal.
    fn answer_piece(&mut self, text: &str) {
        let Some(mut shown) = self.stage.take() else {
            self.write_answer(text);
            return;
        };
        if shown.visibility == Visibility::Shown {
            if self.tty {
                let clean = shown.sanitizer.clean(text);
                match &mut shown.renderer {
                    Some(renderer) => {
                        let mut rendered = String::new();
                        renderer.push(&clean, &mut rendered);
                        self.write_answer(&rendered);
                    }
                    None => self.write_answer(&clean),
                }
            } else {
                self.write_answer(text);
            }
        }
        self.stage = Some(shown);
    }

    /// Writes what the renderer and sanitiser still hold: the answer is over.
    fn end_answer(&mut self) {
        self.quiet = None;
        let Some(mut shown) = self.stage.take() else { return };
        if shown.visibility == Visibility::Shown && self.tty {
            let mut rest = String::new();
            shown.sanitizer.finish(&mut rest);
            match shown.renderer.take() {
                Some(mut renderer) => {
                    let mut rendered = String::new();
                    renderer.push(&rest, &mut rendered);
                    renderer.finish(&mut rendered);
                    self.write_out(&rendered);
                }
                None => self.write_out(&rest),
            }
        }
        self.stage = Some(shown);
    }
}

impl EventSink for Display {
    fn flush(&mut self) {
        self.flush_out();
    }

    fn event(&mut self, event: StageEvent<'_>) {
        if !matches!(event, StageEvent::Token(_)) {
            // Whatever comes next (a status line, a warning on stderr) comes after the answer.
            self.flush_out();
        }
        match event {
            StageEvent::Stage(info) => {
                let visibility = self.visibility(info);
                self.stage =
                    Some(Shown { info: info.clone(), visibility, sanitizer: Sanitizer::default(), renderer: None });
            }
            StageEvent::Degraded { why, transport } => self.warning(&format!("[degraded: {why}, using {transport}]")),
            StageEvent::Answering => self.answering(),
            StageEvent::Token(text) => self.answer_piece(text),
            StageEvent::Idle => {
                if let Some(renderer) = self.stage.as_mut().and_then(|s| s.renderer.as_mut()) {
                    let mut partial = String::new();
                    renderer.flush_partial(&mut partial);
                    self.write_out(&partial);
                }
            }
            StageEvent::ToolCall(call) => {
                self.end_line_of_answer();
                self.tool_call(&call.name, &call.arguments, self.current_visibility());
            }
            StageEvent::Completed { elapsed, tokens, input_tokens } => {
                self.end_answer();
                self.stage_end(elapsed, tokens, input_tokens, self.current_visibility());
            }
            StageEvent::Trimmed { ai, turns, limit } => {
                self.notice(&format!("[{ai}: {turns} earlier turns left out to fit max_context_tokens = {limit}]"))
            }
            StageEvent::Interrupted { why } => {
                self.end_answer();
                self.stage_interrupted(why, self.current_visibility());
            }
            StageEvent::Failed { error } => {
                self.end_answer();
                self.error(error);
            }
            StageEvent::Output(text) => self.print(text),
        }
    }

    fn idle_after(&self) -> Option<Duration> {
        let holding = self.stage.as_ref().and_then(|s| s.renderer.as_ref()).is_some_and(Renderer::holding);
        holding.then_some(HOLD)
    }
}

impl Display {
    /// Before a line of aish's own inside an answer: all the text that came before it is
    /// written out, the line it was on ended.
    fn end_line_of_answer(&mut self) {
        if let Some(renderer) = self.stage.as_mut().and_then(|s| s.renderer.as_mut()) {
            let mut partial = String::new();
            renderer.break_line(&mut partial);
            self.write_out(&partial);
        }
    }
}
