//! Hints from the line history, drawn harmless: a recalled line can hold an escape sequence
//! (pasted, or appended by another shell after this one repaired the file at start-up), and
//! the editor's own hinter writes it to the terminal as it is.

use nu_ansi_term::Style;
use reedline::{DefaultHinter, Hinter, History};

use super::highlighter::harmless;

/// The editor's history hinter, with each character that would drive the terminal drawn as a
/// stand-in (see [`harmless`]); accepting the hint takes the line as it was, which the
/// highlighter then draws the same way.
pub struct AishHinter {
    inner: DefaultHinter,
    style: Style,
}

impl AishHinter {
    /// A hinter drawing its hints in `style` (when the editor draws in colour).
    pub fn new(style: Style) -> Self {
        AishHinter { inner: DefaultHinter::default(), style }
    }
}

impl Hinter for AishHinter {
    fn handle(&mut self, line: &str, pos: usize, history: &dyn History, use_ansi_coloring: bool, cwd: &str) -> String {
        let hint = harmless(&self.inner.handle(line, pos, history, false, cwd));
        if use_ansi_coloring && !hint.is_empty() { self.style.paint(hint).to_string() } else { hint }
    }

    fn complete_hint(&self) -> String {
        self.inner.complete_hint()
    }

    fn next_hint_token(&self) -> String {
        self.inner.next_hint_token()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use reedline::{FileBackedHistory, HistoryItem};

    #[test]
    fn a_recalled_escape_sequence_is_drawn_not_obeyed() {
        let mut history = FileBackedHistory::new(10).unwrap();
        history.save(HistoryItem::from_command_line("echo \u{1b}]52;c;cHduZWQ=\u{7} done")).unwrap();
        let style = Style::new().fg(nu_ansi_term::Color::DarkGray);
        let mut hinter = AishHinter::new(style);
        let harmless = " ?]52;c;cHduZWQ=? done";
        assert_eq!(hinter.handle("echo", 4, &history, false, ""), harmless);
        // In colour, the only escapes are the hint's own style around it.
        assert_eq!(hinter.handle("echo", 4, &history, true, ""), style.paint(harmless).to_string());
        assert_eq!(hinter.complete_hint(), " \u{1b}]52;c;cHduZWQ=\u{7} done", "accepted as it was");
        assert_eq!(hinter.handle("hermes", 6, &history, false, ""), "", "no hint without a match");
    }
}
