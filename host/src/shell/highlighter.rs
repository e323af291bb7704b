//! Syntax highlighting as you type: AI names, unknown names (red, so a typo shows before
//! Enter), built-ins, stage plugins, quoted strings, pipes, redirects and `&`.

use std::sync::Arc;

use nu_ansi_term::{Color, Style};
use reedline::{Highlighter, StyledText};

use super::vocabulary::{Kind, Vocabulary};
use aish::pipeline::{Token, tokenize};

/// The styles of each part of a line.
#[derive(Clone, Copy, Debug)]
pub struct Palette {
    /// A configured AI.
    pub ai: Style,
    /// A built-in or keyword.
    pub builtin: Style,
    /// A stage plugin.
    pub stage: Style,
    /// A name aish does not know.
    pub unknown: Style,
    /// A quoted string.
    pub string: Style,
    /// `|`, `&`, `<`, `>`, `>>`.
    pub operator: Style,
    /// A file after a redirect.
    pub path: Style,
    /// A comment.
    pub comment: Style,
}

impl Palette {
    /// The default colours.
    pub fn colored() -> Self {
        Palette {
            ai: Color::Green.bold(),
            builtin: Color::Cyan.bold(),
            stage: Color::Blue.bold(),
            unknown: Color::Red.bold(),
            string: Style::new().fg(Color::Yellow),
            operator: Color::Magenta.bold(),
            path: Style::new().underline(),
            comment: Style::new().fg(Color::DarkGray),
        }
    }

    /// No colour at all (`NO_COLOR`, or colours off in the config).
    pub fn plain() -> Self {
        let p = Style::new();
        Palette { ai: p, builtin: p, stage: p, unknown: p, string: p, operator: p, path: p, comment: p }
    }
}

/// The shell's highlighter.
pub struct AishHighlighter {
    vocabulary: Arc<Vocabulary>,
    palette: Palette,
}

impl AishHighlighter {
    /// A highlighter for the given names and colours.
    pub fn new(vocabulary: Arc<Vocabulary>, palette: Palette) -> Self {
        AishHighlighter { vocabulary, palette }
    }

    /// The styled pieces of `line` (also used by tests).
    pub fn pieces(&self, line: &str) -> Vec<(Style, String)> {
        let p = &self.palette;
        // An unclosed quote: highlight what lexes, then the rest as the string it starts.
        let (tokens, open_from) = match tokenize(line) {
            Ok(tokens) => (tokens, None),
            Err(error) => {
                let at = line.char_indices().nth(error.column - 1).map_or(line.len(), |(i, _)| i);
                (tokenize(&line[..at]).unwrap_or_default(), Some(at))
            }
        };
        let mut out: Vec<(Style, String)> = Vec::new();
        let mut push = |style: Style, text: &str| {
            if !text.is_empty() {
                out.push((style, text.to_owned()));
            }
        };
        let mut at = 0;
        let mut expect_command = true;
        let mut after_redirect = false;
        for (token, span) in &tokens {
            push(Style::new(), &line[at..span.start]);
            let text = &line[span.start..span.end];
            let style = match token {
                Token::Pipe | Token::Amp => {
                    expect_command = true;
                    p.operator
                }
                Token::Less | Token::Great | Token::GreatGreat => {
                    after_redirect = true;
                    p.operator
                }
                Token::Word { .. } if after_redirect => {
                    after_redirect = false;
                    p.path
                }
                Token::Word { text: word, .. } if expect_command => {
                    expect_command = false;
                    match self.vocabulary.classify(word) {
                        Kind::Ai => p.ai,
                        Kind::Builtin | Kind::Keyword => p.builtin,
                        Kind::Stage => p.stage,
                        Kind::Unknown => p.unknown,
                    }
                }
                Token::Word { quoted: true, .. } => p.string,
                Token::Word { .. } => Style::new(),
            };
            push(style, text);
            at = span.end;
        }
        let end = open_from.unwrap_or(line.len());
        let rest = &line[at..end];
        let trimmed = rest.trim_start();
        if trimmed.starts_with('#') {
            push(Style::new(), &rest[..rest.len() - trimmed.len()]);
            push(p.comment, trimmed);
        } else {
            push(Style::new(), rest);
        }
        if let Some(from) = open_from {
            push(p.string, &line[from..]);
        }
        out
    }
}

impl Highlighter for AishHighlighter {
    fn highlight(&self, line: &str, _cursor: usize) -> StyledText {
        let mut styled = StyledText::new();
        for (style, text) in self.pieces(line) {
            styled.push((style, harmless(&text)));
        }
        styled
    }
}

/// `text` with each character that would drive the terminal (a pasted or recalled escape
/// sequence) drawn as a stand-in of the same UTF-8 length: the editor splits what it draws at
/// the cursor's byte offset in the line, so lengths must not change.
pub(super) fn harmless(text: &str) -> String {
    text.chars()
        .map(|c| match c {
            c if !aish::text::is_unsafe(c) => c,
            c => match c.len_utf8() {
                1 => '?',
                2 => '¿',
                3 => '\u{FFFD}',
                _ => '\u{F0000}',
            },
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn highlighter() -> AishHighlighter {
        let vocabulary = Vocabulary {
            ais: vec![("apollo".into(), "sse".into())],
            builtins: vec!["help".into(), "history".into()],
            stages: vec!["grep".into()],
            transports: vec!["sse".into()],
        };
        AishHighlighter::new(Arc::new(vocabulary), Palette::colored())
    }

    fn styles(line: &str) -> Vec<(Style, String)> {
        highlighter().pieces(line).into_iter().filter(|(_, t)| !t.trim().is_empty()).collect()
    }

    #[test]
    fn every_kind_of_word() {
        let p = Palette::colored();
        assert_eq!(
            styles(r#"echo "hi there" | apollo & apolo | grep -i x > out.txt # note"#),
            vec![
                (p.builtin, "echo".into()),
                (p.string, "\"hi there\"".into()),
                (p.operator, "|".into()),
                (p.ai, "apollo".into()),
                (p.operator, "&".into()),
                (p.unknown, "apolo".into()),
                (p.operator, "|".into()),
                (p.stage, "grep".into()),
                (Style::new(), "-i".into()),
                (Style::new(), "x".into()),
                (p.operator, ">".into()),
                (p.path, "out.txt".into()),
                (p.comment, "# note".into()),
            ]
        );
        assert_eq!(styles("!12"), vec![(p.builtin, "!12".into())]);
    }

    #[test]
    fn the_text_is_kept_whole() {
        for line in ["echo  'a |  b'   | apollo  ", "echo \"open | quote", "  ", "apollo >> 'x y'"] {
            let joined: String = highlighter().pieces(line).into_iter().map(|(_, t)| t).collect();
            assert_eq!(joined, line);
        }
    }

    #[test]
    fn an_unclosed_quote_colours_the_rest_as_a_string() {
        let p = Palette::colored();
        assert_eq!(
            styles("echo \"open | apollo"),
            vec![(p.builtin, "echo".into()), (p.string, "\"open | apollo".into())]
        );
    }

    #[test]
    fn a_pasted_escape_sequence_is_drawn_not_obeyed() {
        let line = "echo \u{1b}]0;PWN\u{7} x\u{9b}2J \u{202e}evil";
        let h = AishHighlighter::new(Arc::new(Vocabulary::default()), Palette::plain());
        let drawn: String = h.highlight(line, 0).buffer.into_iter().map(|(_, text)| text).collect();
        assert!(!drawn.chars().any(aish::text::is_unsafe), "{drawn:?}");
        assert_eq!(drawn.len(), line.len(), "the same byte length, so the cursor splits it right");
        assert!(drawn.starts_with("echo ?]0;PWN? x¿2J"), "{drawn:?}");
    }
}
