//! Text of several lines (a script, a `-c` argument, a paste into the shell) cut into the
//! commands it holds, as sh reads them: a line ends its command unless the command is still
//! open there (a quote not closed, a trailing `|`, `&` or `\`); blank lines and `#` comment
//! lines hold none.

use crate::pipeline::parse;

/// One command of a text: the line it starts on (from 1) and its text.
#[derive(Debug, PartialEq, Eq)]
pub struct CommandLine {
    /// The line the command starts on, counted from 1.
    pub line: usize,
    /// The command, its lines joined by `\n`, trimmed.
    pub text: String,
}

/// [`parse`], counting in tests the bytes parsed.
fn parsing(text: &str) -> Result<Option<crate::pipeline::Pipeline>, crate::pipeline::ParseError> {
    #[cfg(test)]
    tests::PARSED.with(|parsed| parsed.set(parsed.get() + text.len()));
    parse(text)
}

/// Why a command is still open after its last line, as far as the next line's reading needs.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Open {
    /// A quote is never closed: only a line holding a quote can close it.
    Quote,
    /// The line ends in `|`, all before it well formed: the next line starts a stage.
    Pipe,
    /// Anything else (a trailing backslash): the next line is read with the whole command.
    Other,
}

/// The commands in `text`, in order. A command still open at the end is kept as it is: its
/// parse reports what is missing. Each line is read once where it can be (a long continued
/// command parsed whole at every line took time growing with the square of its lines).
pub fn split(text: &str) -> Vec<CommandLine> {
    let mut commands = Vec::new();
    let mut open: Option<(CommandLine, Open)> = None;
    for (i, line) in text.lines().enumerate() {
        let (mut command, was) = match open.take() {
            Some((mut command, was)) => {
                command.text.push('\n');
                command.text.push_str(line);
                (command, Some(was))
            }
            None => {
                let line_text = line.trim();
                if line_text.is_empty() || line_text.starts_with('#') {
                    continue;
                }
                (CommandLine { line: i + 1, text: line_text.to_owned() }, None)
            }
        };
        match still_open(&command.text, line, was) {
            Some(why) => open = Some((command, why)),
            None => {
                command.text = command.text.trim_end().to_owned();
                commands.push(command);
            }
        }
    }
    commands.extend(open.map(|(mut command, _)| {
        command.text = command.text.trim_end().to_owned();
        command
    }));
    commands
}

/// Whether `text`, a command whose last line is `last` and which was open before it for the
/// reason `was`, is still open, and why.
fn still_open(text: &str, last: &str, was: Option<Open>) -> Option<Open> {
    let quoteless = !last.contains(['\'', '"']);
    let free_text = super::takes_free_text(text);
    // Exact without a parse: the lexer fails at the end of the text on an open quote, and on
    // a trailing backslash, before the parser judges anything.
    if quoteless && was == Some(Open::Quote) {
        return Some(Open::Quote);
    }
    let backslashes = last.len() - last.trim_end_matches('\\').len();
    if quoteless && !last.contains('#') && backslashes % 2 == 1 && !free_text {
        return Some(Open::Other);
    }
    // After a `|` that ended a well-formed start, the line parses as a stage after a `|`
    // would (the rules on `<` and `>` see the same places); else the whole command is parsed.
    let parsed = match was {
        Some(Open::Pipe) => parsing(&format!("x |\n{last}")),
        _ if free_text => return None,
        _ => parsing(text),
    };
    match parsed {
        Err(error) if error.incomplete && error.quote_open => Some(Open::Quote),
        Err(error) if error.incomplete && last.trim_end().ends_with('|') => Some(Open::Pipe),
        Err(error) if error.incomplete => Some(Open::Other),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    /// `split` as it reads without its shortcut: the whole command parsed at every line.
    fn split_by_parsing(text: &str) -> Vec<CommandLine> {
        let mut commands = Vec::new();
        let mut open: Option<CommandLine> = None;
        for (i, line) in text.lines().enumerate() {
            let mut command = match open.take() {
                Some(mut command) => {
                    command.text.push('\n');
                    command.text.push_str(line);
                    command
                }
                None if line.trim().is_empty() || line.trim().starts_with('#') => continue,
                None => CommandLine { line: i + 1, text: line.trim().to_owned() },
            };
            if !crate::commands::takes_free_text(&command.text)
                && matches!(parse(&command.text), Err(error) if error.incomplete)
            {
                open = Some(command);
            } else {
                command.text = command.text.trim_end().to_owned();
                commands.push(command);
            }
        }
        commands.extend(open.map(|mut c| {
            c.text = c.text.trim_end().to_owned();
            c
        }));
        commands
    }

    proptest! {
        #[test]
        fn the_shortcut_cuts_as_parsing_every_line_does(
            lines in proptest::collection::vec("(echo|a|memory add|[|&#'\"\\\\ ]|x y){0,6}", 0..12),
        ) {
            let text = lines.join("\n");
            prop_assert_eq!(split(&text), split_by_parsing(&text), "{:?}", text);
        }
    }

    thread_local! {
        /// Bytes handed to the parser on this thread.
        pub(super) static PARSED: std::cell::Cell<usize> = const { std::cell::Cell::new(0) };
    }

    #[test]
    fn a_long_continued_command_is_parsed_a_line_at_a_time() {
        // 20,000 continued lines: parsed whole at each line, some 10^9 bytes (minutes).
        let piped = format!("echo hi{}", " |\n head 5".repeat(20_000));
        let quoted = format!("echo '{}'", "line\n".repeat(20_000));
        let escaped = format!("echo{}", " a \\\n".repeat(20_000));
        for text in [piped, quoted, escaped] {
            PARSED.with(|parsed| parsed.set(0));
            assert_eq!(split(&text).len(), 1);
            let parsed = PARSED.with(std::cell::Cell::get);
            assert!(parsed <= 2 * text.len(), "{parsed} bytes parsed for {}", text.len());
        }
    }

    fn texts(text: &str) -> Vec<(usize, String)> {
        split(text).into_iter().map(|c| (c.line, c.text)).collect()
    }

    #[test]
    fn each_line_is_a_command_unless_it_is_still_open() {
        assert_eq!(texts("echo one\necho two"), [(1, "echo one".into()), (2, "echo two".into())]);
        assert_eq!(
            texts("#!/usr/bin/env aish\n\n  # a note\necho 'a\n  b' | apollo\necho hi |\n  athena\nlast \\\n  word"),
            [(4, "echo 'a\n  b' | apollo".into()), (6, "echo hi |\n  athena".into()), (8, "last \\\n  word".into())]
        );
        assert_eq!(
            texts("memory add don't forget\necho x"),
            [(1, "memory add don't forget".into()), (2, "echo x".into())]
        );
        assert_eq!(
            texts("echo 'never closed\nmore"),
            [(1, "echo 'never closed\nmore".into())],
            "kept for its parse to report"
        );
        assert_eq!(texts("  \n# only a comment\n"), []);
        assert_eq!(texts("echo hi # a comment"), [(1, "echo hi # a comment".into())]);
    }
}
