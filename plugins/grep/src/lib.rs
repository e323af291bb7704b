//! `grep [-i] [-v] [-F] PATTERN`: keeps the lines that match, line by line as they come.

use aish_plugin_sdk::Stage;
use regex_lite::{Regex, RegexBuilder};

/// The plugin.
pub struct Grep {
    pattern: Regex,
    invert: bool,
    partial: String,
}

impl Stage for Grep {
    fn create(args: Vec<String>, _context: String) -> Result<Self, String> {
        let (mut ignore_case, mut invert, mut fixed) = (false, false, false);
        let mut pattern = None;
        for arg in &args {
            match arg.strip_prefix('-').filter(|f| !f.is_empty() && pattern.is_none()) {
                Some(flags) => {
                    for flag in flags.chars() {
                        match flag {
                            'i' => ignore_case = true,
                            'v' => invert = true,
                            'F' => fixed = true,
                            other => return Err(format!("unknown flag -{other}: use -i, -v or -F")),
                        }
                    }
                }
                None if pattern.is_none() => pattern = Some(arg.clone()),
                None => return Err("takes one PATTERN; quote it if it has spaces".into()),
            }
        }
        let pattern = pattern.ok_or("needs a PATTERN: grep [-i] [-v] [-F] PATTERN")?;
        let source = if fixed { regex_lite::escape(&pattern) } else { pattern.clone() };
        let pattern = RegexBuilder::new(&source).case_insensitive(ignore_case).build().map_err(|e| {
            format!("`{pattern}` is not a valid pattern: {}", e.to_string().lines().last().unwrap_or(""))
        })?;
        Ok(Grep { pattern, invert, partial: String::new() })
    }

    fn push(&mut self, chunk: &str) -> Result<String, String> {
        self.partial.push_str(chunk);
        let Some(end) = self.partial.rfind('\n') else { return Ok(String::new()) };
        let rest = self.partial.split_off(end + 1);
        let complete = std::mem::replace(&mut self.partial, rest);
        Ok(self.keep(&complete))
    }

    fn finish(&mut self) -> Result<String, String> {
        let rest = std::mem::take(&mut self.partial);
        Ok(self.keep(&rest))
    }
}

impl Grep {
    fn keep(&self, text: &str) -> String {
        let mut out = String::new();
        for line in text.lines() {
            if self.pattern.is_match(line) != self.invert {
                out.push_str(line);
                out.push('\n');
            }
        }
        out
    }
}

aish_plugin_sdk::register_stage!(Grep);

#[cfg(test)]
mod tests {
    use super::*;

    fn run(args: &[&str], chunks: &[&str]) -> Result<String, String> {
        let mut stage = Grep::create(args.iter().map(|s| s.to_string()).collect(), "{}".into())?;
        let mut out = String::new();
        for chunk in chunks {
            out.push_str(&stage.push(chunk)?);
        }
        out.push_str(&stage.finish()?);
        Ok(out)
    }

    #[test]
    fn matching_lines_even_split_across_chunks() {
        let text = ["Risk: cost\nStrength: fo", "cus\nrisk: time"];
        assert_eq!(run(&["Risk"], &text).unwrap(), "Risk: cost\n");
        assert_eq!(run(&["-i", "risk"], &text).unwrap(), "Risk: cost\nrisk: time\n");
        assert_eq!(run(&["-iv", "risk"], &text).unwrap(), "Strength: focus\n");
        assert_eq!(run(&["-F", "a.b"], &["axb\na.b\n"]).unwrap(), "a.b\n");
        assert_eq!(run(&["^S.*s$"], &text).unwrap(), "Strength: focus\n");
    }

    #[test]
    fn bad_arguments() {
        assert!(run(&[], &[]).unwrap_err().contains("needs a PATTERN"));
        assert!(run(&["-x", "a"], &[]).unwrap_err().contains("unknown flag -x"));
        assert!(run(&["(unclosed"], &[]).unwrap_err().contains("not a valid pattern"));
        assert!(run(&["a", "b"], &[]).unwrap_err().contains("one PATTERN"));
    }
}
