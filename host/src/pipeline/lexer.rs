//! Splits a line into words and operators with POSIX sh quoting: single quotes keep everything,
//! double quotes keep everything but `\"`, `\\`, `\$` and `` \` ``, a backslash outside quotes
//! keeps the next character, and an operator inside quotes is text.

use super::ParseError;

/// A byte range in the line.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Span {
    /// First byte.
    pub start: usize,
    /// One past the last byte.
    pub end: usize,
}

/// A lexical token.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Token {
    /// A word after quote removal; `quoted` when any part of it was quoted.
    Word {
        /// The text.
        text: String,
        /// Whether quoting was involved (a quoted word is never an operator or keyword).
        quoted: bool,
    },
    /// `|`
    Pipe,
    /// `&`
    Amp,
    /// `<`
    Less,
    /// `>`
    Great,
    /// `>>`
    GreatGreat,
}

/// Tokenizes `line`.
pub fn tokenize(line: &str) -> Result<Vec<(Token, Span)>, ParseError> {
    let mut tokens = Vec::new();
    let mut chars = line.char_indices().peekable();
    while let Some(&(start, c)) = chars.peek() {
        match c {
            c if c.is_whitespace() => {
                chars.next();
            }
            // A comment ends at the end of its line; a command continued over lines goes on.
            '#' => while chars.next_if(|&(_, c)| c != '\n').is_some() {},
            '|' | '&' | '<' => {
                chars.next();
                let token = match c {
                    '|' => Token::Pipe,
                    '&' => Token::Amp,
                    _ => Token::Less,
                };
                tokens.push((token, Span { start, end: start + 1 }));
            }
            '>' => {
                chars.next();
                if chars.peek().is_some_and(|&(_, n)| n == '>') {
                    chars.next();
                    tokens.push((Token::GreatGreat, Span { start, end: start + 2 }));
                } else {
                    tokens.push((Token::Great, Span { start, end: start + 1 }));
                }
            }
            _ => {
                let mut text = String::new();
                let mut quoted = false;
                let mut end = start;
                while let Some(&(i, c)) = chars.peek() {
                    if c.is_whitespace() || matches!(c, '|' | '&' | '<' | '>') {
                        break;
                    }
                    chars.next();
                    end = i + c.len_utf8();
                    match c {
                        '\'' => {
                            quoted = true;
                            loop {
                                match chars.next() {
                                    Some((j, '\'')) => {
                                        end = j + 1;
                                        break;
                                    }
                                    Some((_, q)) => text.push(q),
                                    None => return Err(unclosed(line, i, '\'')),
                                }
                            }
                        }
                        '"' => {
                            quoted = true;
                            loop {
                                match chars.next() {
                                    Some((j, '"')) => {
                                        end = j + 1;
                                        break;
                                    }
                                    Some((_, '\\')) => match chars.peek() {
                                        Some(&(_, n @ ('"' | '\\' | '$' | '`'))) => {
                                            chars.next();
                                            text.push(n);
                                        }
                                        Some(&(_, '\n')) => {
                                            chars.next();
                                        }
                                        _ => text.push('\\'),
                                    },
                                    Some((_, q)) => text.push(q),
                                    None => return Err(unclosed(line, i, '"')),
                                }
                            }
                        }
                        '\\' => {
                            quoted = true;
                            match chars.next() {
                                Some((j, '\n')) => end = j + 1,
                                Some((j, n)) => {
                                    text.push(n);
                                    end = j + n.len_utf8();
                                }
                                None => {
                                    // More input may follow: a trailing backslash continues the line.
                                    let mut error =
                                        ParseError::at(line, i, "a backslash at the end of the line escapes nothing");
                                    error.incomplete = true;
                                    return Err(error);
                                }
                            }
                        }
                        c => text.push(c),
                    }
                }
                tokens.push((Token::Word { text, quoted }, Span { start, end }));
            }
        }
    }
    Ok(tokens)
}

fn unclosed(line: &str, at: usize, quote: char) -> ParseError {
    let mut error = ParseError::at(line, at, &format!("this {quote} is never closed; add a closing {quote}"));
    error.incomplete = true;
    error.quote_open = true;
    error
}
