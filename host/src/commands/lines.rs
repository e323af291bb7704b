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

/// The commands in `text`, in order. A command still open at the end is kept as it is: its
/// parse reports what is missing.
pub fn split(text: &str) -> Vec<CommandLine> {
    let mut commands = Vec::new();
    let mut open: Option<CommandLine> = None;
    for (i, line) in text.lines().enumerate() {
        let mut command = match open.take() {
            Some(mut command) => {
                command.text.push('\n');
                command.text.push_str(line);
                command
            }
            None => {
                let line_text = line.trim();
                if line_text.is_empty() || line_text.starts_with('#') {
                    continue;
                }
                CommandLine { line: i + 1, text: line_text.to_owned() }
            }
        };
        let still_open =
            !super::takes_free_text(&command.text) && matches!(parse(&command.text), Err(error) if error.incomplete);
        if still_open {
            open = Some(command);
        } else {
            command.text = command.text.trim_end().to_owned();
            commands.push(command);
        }
    }
    commands.extend(open.map(|mut command| {
        command.text = command.text.trim_end().to_owned();
        command
    }));
    commands
}

#[cfg(test)]
mod tests {
    use super::*;

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
