//! `tail [N]`: keeps the last N lines (default 10).

use std::collections::VecDeque;

use aish_plugin_sdk::Stage;

/// The plugin: the last N complete lines seen, and the line being read.
pub struct Tail {
    keep: usize,
    lines: VecDeque<String>,
    partial: String,
}

/// `N`, `-N` or `-n N`; 10 when absent.
fn count(args: &[String]) -> Result<usize, String> {
    let text = match args {
        [] => return Ok(10),
        [flag, n] if flag == "-n" => n.as_str(),
        [n] => n.strip_prefix('-').unwrap_or(n),
        _ => return Err("takes one number of lines, like 5".into()),
    };
    text.parse().map_err(|_| format!("`{text}` is not a number of lines"))
}

impl Stage for Tail {
    fn create(args: Vec<String>, _context: String) -> Result<Self, String> {
        Ok(Tail { keep: count(&args)?, lines: VecDeque::new(), partial: String::new() })
    }

    fn push(&mut self, chunk: &str) -> Result<String, String> {
        self.partial.push_str(chunk);
        while let Some(end) = self.partial.find('\n') {
            let line: String = self.partial.drain(..=end).collect();
            self.remember(line);
        }
        Ok(String::new())
    }

    fn finish(&mut self) -> Result<String, String> {
        let rest = std::mem::take(&mut self.partial);
        if !rest.is_empty() {
            self.remember(format!("{rest}\n"));
        }
        Ok(self.lines.drain(..).collect())
    }
}

impl Tail {
    fn remember(&mut self, line: String) {
        if self.keep == 0 {
            return;
        }
        if self.lines.len() == self.keep {
            self.lines.pop_front();
        }
        self.lines.push_back(line);
    }
}

aish_plugin_sdk::register_stage!(Tail);

#[cfg(test)]
mod tests {
    use super::*;

    fn run(args: &[&str], chunks: &[&str]) -> Result<String, String> {
        let mut stage = Tail::create(args.iter().map(|s| s.to_string()).collect(), "{}".into())?;
        let mut out = String::new();
        for chunk in chunks {
            out.push_str(&stage.push(chunk)?);
        }
        out.push_str(&stage.finish()?);
        Ok(out)
    }

    #[test]
    fn last_lines() {
        assert_eq!(run(&["2"], &["a\nb", "\nc\nd"]).unwrap(), "c\nd\n");
        assert_eq!(run(&["-n", "5"], &["a\nb\n"]).unwrap(), "a\nb\n");
        assert_eq!(run(&[], &[&(0..30).map(|i| format!("{i}\n")).collect::<String>()]).unwrap().lines().count(), 10);
        assert_eq!(run(&["0"], &["a\n"]).unwrap(), "");
        assert!(run(&["1", "2"], &[]).is_err());
    }
}
