//! `head [N]`: keeps the first N lines (default 10), passing them on as soon as they come.

use aish_plugin_sdk::Stage;

/// The plugin.
pub struct Head {
    left: usize,
    partial: String,
}

/// `N`, `-N` or `-n N`; 10 when absent.
pub fn count(args: &[String]) -> Result<usize, String> {
    let text = match args {
        [] => return Ok(10),
        [flag, n] if flag == "-n" => n.as_str(),
        [n] => n.strip_prefix('-').unwrap_or(n),
        _ => return Err("takes one number of lines, like 5".into()),
    };
    text.parse().map_err(|_| format!("`{text}` is not a number of lines"))
}

impl Stage for Head {
    fn create(args: Vec<String>, _context: String) -> Result<Self, String> {
        Ok(Head { left: count(&args)?, partial: String::new() })
    }

    fn push(&mut self, chunk: &str) -> Result<String, String> {
        let mut out = String::new();
        if self.left == 0 {
            return Ok(out);
        }
        self.partial.push_str(chunk);
        while self.left > 0
            && let Some(end) = self.partial.find('\n')
        {
            out.extend(self.partial.drain(..=end));
            self.left -= 1;
        }
        Ok(out)
    }

    fn finish(&mut self) -> Result<String, String> {
        let rest = std::mem::take(&mut self.partial);
        Ok(if self.left > 0 && !rest.is_empty() { format!("{rest}\n") } else { String::new() })
    }
}

aish_plugin_sdk::register_stage!(Head);

#[cfg(test)]
mod tests {
    use super::*;

    fn run(args: &[&str], chunks: &[&str]) -> Result<String, String> {
        let mut stage = Head::create(args.iter().map(|s| s.to_string()).collect(), "{}".into())?;
        let mut out = String::new();
        for chunk in chunks {
            out.push_str(&stage.push(chunk)?);
        }
        out.push_str(&stage.finish()?);
        Ok(out)
    }

    #[test]
    fn first_lines() {
        assert_eq!(run(&["2"], &["a\nb", "\nc\nd\n"]).unwrap(), "a\nb\n");
        assert_eq!(run(&["-n", "1"], &["a\nb\n"]).unwrap(), "a\n");
        assert_eq!(run(&["-3"], &["a\nb"]).unwrap(), "a\nb\n");
        assert_eq!(run(&[], &[&"x\n".repeat(20)]).unwrap(), "x\n".repeat(10));
        assert_eq!(run(&["0"], &["a\n"]).unwrap(), "");
        assert!(run(&["many"], &[]).unwrap_err().contains("`many` is not a number"));
    }
}
