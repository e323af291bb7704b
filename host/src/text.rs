//! Text that came from outside (plugins, servers, files) made fit for one line of a message.
//! Owns the one rule every error and status line follows; the terminal sanitiser builds on it.

/// `text` on one line: every control character (line breaks, ESC, C1) becomes a space, so a
/// message cannot break its line or steer the terminal; cut at `max` characters.
pub fn one_line(text: &str, max: usize) -> String {
    text.chars().map(|c| if c.is_control() { ' ' } else { c }).take(max).collect()
}

/// A multi-line message joined into one: its non-blank lines, trimmed, separated by `; `.
pub fn join_lines(text: &str) -> String {
    text.lines().map(str::trim).filter(|l| !l.is_empty()).collect::<Vec<_>>().join("; ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn controls_become_spaces_and_length_is_bounded() {
        assert_eq!(one_line("a\nb\x1b[2Jc\u{9b}d", 100), "a b [2Jc d");
        assert_eq!(one_line("abcdef", 3), "abc");
    }

    #[test]
    fn lines_are_joined() {
        assert_eq!(join_lines("  first \n\n second\n"), "first; second");
    }
}
