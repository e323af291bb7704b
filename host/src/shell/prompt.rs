//! The prompt: says what aish is connected to (`aish demo>` on the embedded demo AIs).

use std::borrow::Cow;

use reedline::{Prompt, PromptEditMode, PromptHistorySearch, PromptHistorySearchStatus, PromptViMode};

/// The shell's prompt.
pub struct AishPrompt {
    left: String,
}

impl AishPrompt {
    /// A prompt showing `left` before the indicator, its control characters as visible signs
    /// (the config's `prompt` could otherwise set the title or move the cursor at every line).
    pub fn new(left: String) -> Self {
        AishPrompt { left: aish::text::one_line(&left, usize::MAX) }
    }
}

impl Prompt for AishPrompt {
    fn render_prompt_left(&self) -> Cow<'_, str> {
        Cow::Borrowed(&self.left)
    }

    fn render_prompt_right(&self) -> Cow<'_, str> {
        Cow::Borrowed("")
    }

    fn render_prompt_indicator(&self, mode: PromptEditMode) -> Cow<'_, str> {
        match mode {
            PromptEditMode::Vi(PromptViMode::Normal) => Cow::Borrowed(": "),
            _ => Cow::Borrowed("> "),
        }
    }

    fn render_prompt_multiline_indicator(&self) -> Cow<'_, str> {
        Cow::Borrowed("... ")
    }

    fn render_prompt_history_search_indicator(&self, search: PromptHistorySearch) -> Cow<'_, str> {
        let failing = if matches!(search.status, PromptHistorySearchStatus::Failing) { "failing " } else { "" };
        Cow::Owned(format!("({failing}search: {}) ", search.term))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_configured_prompt_cannot_drive_the_terminal() {
        let prompt = AishPrompt::new("\u{1b}]0;pwned\u{7}tekton\u{1b}[2J".to_owned());
        let shown = prompt.render_prompt_left();
        assert!(!shown.contains('\u{1b}') && !shown.contains('\u{7}'), "{shown:?}");
        assert!(shown.contains("tekton"), "{shown:?}");
    }
}
