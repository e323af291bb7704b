//! What follows a built-in's name: words quoted as in a pipeline (`conversation 'athena'`), or
//! free text as typed (`memory add don't forget #3`), whichever the built-in takes.

use super::Flow;

/// The text after a built-in's name.
pub(crate) struct Args<'a> {
    /// The built-in's name, for messages.
    name: &'a str,
    /// As typed, trimmed.
    raw: &'a str,
}

impl<'a> Args<'a> {
    /// The text after built-in `name`.
    pub(crate) fn new(name: &'a str, raw: &'a str) -> Self {
        Args { name, raw: raw.trim() }
    }

    /// Whether nothing follows the name.
    pub(crate) fn is_empty(&self) -> bool {
        self.raw.is_empty()
    }

    /// The words, quoted as in a pipeline; a usage error for a `|`, `&`, redirect or open quote.
    pub(crate) fn words(&self) -> Result<Vec<String>, Flow> {
        let name = self.name;
        let tokens = crate::pipeline::tokenize(self.raw).map_err(|e| Flow::Usage(format!("{name}: {}", e.message)))?;
        tokens
            .into_iter()
            .map(|(token, _)| match token {
                crate::pipeline::Token::Word { text, .. } => Ok(text),
                _ => Err(Flow::Usage(format!(
                    "`{name}` is a built-in: it cannot be piped, run beside AIs or redirected \
                     (quote text that holds `|`, `&`, `<` or `>`)"
                ))),
            })
            .collect()
    }

    /// The first word as typed (a sub-command: `add`, `set`, `search`), if any.
    pub(crate) fn first(&self) -> Option<&'a str> {
        self.raw.split_whitespace().next()
    }

    /// The text after the first `n` words as typed, `#`, `&` and apostrophes included: free text.
    pub(crate) fn after(&self, n: usize) -> &'a str {
        let mut rest = self.raw;
        for _ in 0..n {
            rest = rest.trim_start();
            rest = rest.find(char::is_whitespace).map_or("", |end| &rest[end..]);
        }
        rest.trim()
    }
}

/// Binds `$words` to the words of `$args` as `&str`s, or returns the usage error from the
/// built-in it is used in.
macro_rules! words {
    ($args:expr => $words:ident) => {
        let owned = match $args.words() {
            Ok(words) => words,
            Err(flow) => return Some(flow),
        };
        let $words: Vec<&str> = owned.iter().map(String::as_str).collect();
    };
}
pub(crate) use words;

/// Free text with its outer quotes taken off when it is one quoted string (`'two words'`).
pub(crate) fn unquoted(text: &str) -> &str {
    for quote in ['\'', '"'] {
        if let Some(inner) = text.strip_prefix(quote).and_then(|t| t.strip_suffix(quote))
            && !inner.contains(quote)
        {
            return inner;
        }
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn words_and_free_text() {
        let args = Args::new("memory", "  add don't forget #3 & R&D ");
        assert_eq!((args.first(), args.after(1)), (Some("add"), "don't forget #3 & R&D"));
        assert!(args.words().is_err(), "an open quote is no list of words");
        let args = Args::new("context", "set key {\"a\": 1}");
        assert_eq!(args.after(2), "{\"a\": 1}");
        assert_eq!(Args::new("conversation", "'athena'").words().ok(), Some(vec!["athena".to_owned()]));
        assert_eq!(unquoted("'two words'"), "two words");
        assert_eq!(unquoted("\"two\""), "two");
        assert_eq!(unquoted("'a' and 'b'"), "'a' and 'b'");
        assert_eq!(Args::new("x", "").after(1), "");
    }
}
