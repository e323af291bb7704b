//! Tab completion: AI names, built-ins, stage plugins and keywords where a command goes; file
//! paths after `<`, `>`, `>>` and `plugin add`.

use std::path::PathBuf;
use std::sync::Arc;

use reedline::{Completer, CompletionResult, Span, Suggestion};

use super::vocabulary::{KEYWORDS, Vocabulary};

/// The shell's completer.
pub struct AishCompleter {
    vocabulary: Arc<Vocabulary>,
    /// Where relative paths start (the working directory; settable for tests).
    cwd: PathBuf,
}

impl AishCompleter {
    /// A completer for the given names, completing paths from the working directory.
    pub fn new(vocabulary: Arc<Vocabulary>) -> Self {
        AishCompleter { vocabulary, cwd: std::env::current_dir().unwrap_or_else(|_| PathBuf::from(".")) }
    }

    /// The same, completing relative paths from `cwd` (tests pin it to a temp dir).
    #[cfg(test)]
    pub fn with_cwd(vocabulary: Arc<Vocabulary>, cwd: &std::path::Path) -> Self {
        AishCompleter { vocabulary, cwd: cwd.to_path_buf() }
    }

    /// The names that may stand at `after`: anything at the start of a line; after `|` AIs,
    /// stage plugins and `team-chat`; after `&` AIs only (built-ins and `echo` start a line).
    fn commands(&self, word: &str, span: Span, after: Option<char>) -> Vec<Suggestion> {
        let v = &self.vocabulary;
        let mut found: Vec<(String, String)> = Vec::new();
        found.extend(v.ais.iter().map(|(name, transport)| (name.clone(), format!("AI over {transport}"))));
        if after.is_none() {
            found.extend(KEYWORDS.iter().map(|k| (k.to_string(), "starts a pipeline".to_owned())));
            found.extend(v.builtins.iter().map(|b| (b.clone(), "built-in".to_owned())));
        }
        if after == Some('|') {
            found.push(("team-chat".to_owned(), "asks every AI".to_owned()));
        }
        if after != Some('&') {
            found.extend(v.stages.iter().map(|s| (s.clone(), "stage plugin".to_owned())));
        }
        found.retain(|(name, _)| name.starts_with(word));
        found.sort();
        found.dedup_by(|a, b| a.0 == b.0);
        found
            .into_iter()
            .map(|(value, description)| Suggestion {
                value,
                description: Some(description),
                span,
                append_whitespace: true,
                ..Suggestion::default()
            })
            .collect()
    }

    fn paths(&self, word: &str, span: Span) -> Vec<Suggestion> {
        let (dir_part, file_part) = match word.rfind('/') {
            Some(slash) => (&word[..=slash], &word[slash + 1..]),
            None => ("", word),
        };
        let home = std::env::var_os("HOME").map(PathBuf::from);
        let dir = match (dir_part.strip_prefix("~/"), &home) {
            (Some(rest), Some(home)) => home.join(rest),
            _ if dir_part.starts_with('/') => PathBuf::from(dir_part),
            _ => self.cwd.join(dir_part),
        };
        let Ok(entries) = std::fs::read_dir(&dir) else { return Vec::new() };
        let mut found: Vec<Suggestion> = entries
            .flatten()
            .filter_map(|entry| {
                let name = entry.file_name().to_string_lossy().into_owned();
                if !name.starts_with(file_part) || (name.starts_with('.') && !file_part.starts_with('.')) {
                    return None;
                }
                let is_dir = entry.file_type().is_ok_and(|t| t.is_dir());
                let mut value = format!("{dir_part}{name}");
                if is_dir {
                    value.push('/');
                }
                if value.contains(|c: char| c.is_whitespace() || "'\"|&<>#\\".contains(c)) {
                    value = format!("'{}'", value.replace('\'', "'\\''"));
                }
                Some(Suggestion { value, span, append_whitespace: !is_dir, ..Suggestion::default() })
            })
            .collect();
        found.sort_by(|a, b| a.value.cmp(&b.value));
        found
    }
}

impl Completer for AishCompleter {
    fn complete(&mut self, line: &str, pos: usize) -> CompletionResult {
        CompletionResult::fresh(self.suggest(line, pos))
    }
}

impl AishCompleter {
    /// The suggestions for the word before `pos`.
    pub fn suggest(&self, line: &str, pos: usize) -> Vec<Suggestion> {
        let before = &line[..pos.min(line.len())];
        let start = before.rfind(|c: char| c.is_whitespace() || "|&<>".contains(c)).map_or(0, |i| i + 1);
        let word = &before[start..];
        let span = Span::new(start, pos);
        let context = before[..start].trim_end();
        let words: Vec<&str> = context.split_whitespace().collect();
        if context.ends_with(['<', '>']) || context == "plugin add" {
            self.paths(word, span)
        } else if words.first() == Some(&"transport") && words.len() <= 2 {
            // `transport AI NAME`: AI names, then transport names.
            let names: Vec<String> = if words.len() == 1 {
                self.vocabulary.ais.iter().map(|(n, _)| n.clone()).collect()
            } else {
                self.vocabulary.transports.clone()
            };
            names
                .into_iter()
                .filter(|n| n.starts_with(word))
                .map(|value| Suggestion { value, span, append_whitespace: true, ..Suggestion::default() })
                .collect()
        } else if context.is_empty() || context.ends_with(['|', '&']) {
            self.commands(word, span, context.chars().last())
        } else {
            Vec::new()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::Path;

    fn completer(cwd: &Path) -> AishCompleter {
        let vocabulary = Vocabulary {
            ais: vec![("apollo".into(), "sse".into()), ("athena".into(), "sse".into())],
            builtins: vec!["help".into(), "history".into()],
            stages: vec!["grep".into(), "head".into()],
            transports: vec!["http".into(), "sse".into()],
        };
        AishCompleter::with_cwd(Arc::new(vocabulary), cwd)
    }

    fn values(line: &str, cwd: &Path) -> Vec<String> {
        completer(cwd).suggest(line, line.len()).into_iter().map(|s| s.value).collect()
    }

    #[test]
    fn command_names_where_a_command_goes() {
        let cwd = Path::new("/");
        assert_eq!(values("a", cwd), ["apollo", "athena"]);
        assert_eq!(values("echo hi | ap", cwd), ["apollo"]);
        assert_eq!(values("apollo & at", cwd), ["athena"]);
        assert_eq!(values("h", cwd), ["head", "help", "history"]);
        // Built-ins and `echo` start a line; after `&` only AIs run.
        assert_eq!(values("echo x | h", cwd), ["head"]);
        assert_eq!(values("echo x | e", cwd), Vec::<String>::new());
        assert_eq!(values("echo x | t", cwd), ["team-chat"]);
        assert_eq!(values("echo x | apollo & g", cwd), Vec::<String>::new());
        assert_eq!(values("e", cwd), ["echo"]);
        assert_eq!(values("echo ap", cwd), Vec::<String>::new(), "an argument is not a command");
        assert_eq!(values("transport at", cwd), ["athena"]);
        assert_eq!(values("transport athena h", cwd), ["http"]);
        let suggestion = &completer(cwd).suggest("echo x | gr", 11)[0];
        assert_eq!((suggestion.span.start, suggestion.span.end), (9, 11));
        assert_eq!(suggestion.description.as_deref(), Some("stage plugin"));
    }

    #[test]
    fn paths_after_redirects_and_plugin_add() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("notes.txt"), "").unwrap();
        std::fs::write(dir.path().join("my notes.md"), "").unwrap();
        std::fs::write(dir.path().join(".hidden"), "").unwrap();
        std::fs::create_dir(dir.path().join("nested")).unwrap();
        std::fs::write(dir.path().join("nested/plugin.wasm"), "").unwrap();
        assert_eq!(values("apollo < no", dir.path()), ["notes.txt"]);
        assert_eq!(values("apollo > ", dir.path()), ["'my notes.md'", "nested/", "notes.txt"]);
        assert_eq!(values("apollo >> nested/p", dir.path()), ["nested/plugin.wasm"]);
        assert_eq!(values("plugin add nes", dir.path()), ["nested/"]);
        assert_eq!(values("apollo < .h", dir.path()), [".hidden"]);
        let abs = format!("apollo < {}/no", dir.path().display());
        assert_eq!(values(&abs, dir.path()), [format!("{}/notes.txt", dir.path().display())]);
    }
}
