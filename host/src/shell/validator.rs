//! Multi-line input: an unclosed quote or a trailing `|` continues on the next line.

use reedline::{ValidationResult, Validator};

use aish::pipeline::parse;

/// The shell's validator.
pub struct AishValidator;

impl Validator for AishValidator {
    fn validate(&self, line: &str) -> ValidationResult {
        if aish::commands::takes_free_text(line) {
            return ValidationResult::Complete;
        }
        match parse(line) {
            Err(error) if error.incomplete => ValidationResult::Incomplete,
            _ => ValidationResult::Complete,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn incomplete(line: &str) -> bool {
        matches!(AishValidator.validate(line), ValidationResult::Incomplete)
    }

    #[test]
    fn what_continues() {
        assert!(incomplete("echo 'open"));
        assert!(incomplete("echo \"open\nstill"));
        assert!(incomplete("echo hi |"));
        assert!(incomplete("echo hi |  "));
        assert!(incomplete("echo hi \\"));
        assert!(!incomplete("echo 'closed' | apollo"));
        assert!(!incomplete("echo hi |\napollo"));
        assert!(!incomplete("| apollo"), "an error, not more to come");
        assert!(!incomplete(""));
        assert!(!incomplete("memory add don't forget"), "free text, complete as typed");
    }
}
