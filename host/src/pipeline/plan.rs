//! Planning a parsed pipeline: each command resolved to what it names (`echo`, a stage plugin,
//! one or several AIs), with the usage errors and typo hints of names aish does not know.

use super::{Command, Pipeline, RunError};
use crate::config::Config;
use crate::plugin::Registry;

/// One step of a planned pipeline.
pub(crate) enum Step {
    /// `echo`: the source text.
    Echo(String),
    /// A stage plugin transforming the text.
    Plugin(Command),
    /// AIs answering the same input (one, or several side by side).
    Ais(Vec<Command>),
}

/// Resolves every command of `pipeline` against the configured AIs and installed plugins.
pub(crate) fn plan(pipeline: &Pipeline, config: &Config, registry: &Registry) -> Result<Vec<Step>, RunError> {
    let mut plan = Vec::new();
    for (i, stage) in pipeline.stages.iter().enumerate() {
        let fan_out = stage.branches.len() > 1;
        let mut branches = Vec::new();
        for command in &stage.branches {
            let Command { name, args, name_quoted, .. } = command;
            let keyword = |word: &str| name == word && !name_quoted;
            if keyword("echo") {
                if i > 0 || fan_out {
                    return Err(RunError::Usage("`echo` can only start a pipeline, on its own".into()));
                }
                plan.push(Step::Echo(args.join(" ")));
                continue;
            }
            if keyword("team-chat") {
                if fan_out {
                    return Err(RunError::Usage("`team-chat` already asks every AI; it takes no `&`".into()));
                }
                if i == 0 && pipeline.input.is_none() && args.iter().all(|a| a.trim().is_empty()) {
                    return Err(RunError::Usage(
                        "team-chat needs a message: write `team-chat \"a question\"`, `echo text | team-chat` or `team-chat < file`".into(),
                    ));
                }
                // Every configured AI gets the same message; answers come back labelled.
                for ai in config.ai.keys() {
                    branches.push(Command { name: ai.clone(), args: args.clone(), ..command.clone() });
                }
                continue;
            }
            if !config.ai.contains_key(name) && registry.is_stage(name) {
                if fan_out {
                    return Err(RunError::Usage(format!(
                        "stage plugin `{name}` cannot run side by side with `&`; give it a stage of its own"
                    )));
                }
                plan.push(Step::Plugin(command.clone()));
                continue;
            }
            if config.ai.contains_key(name) {
                if branches.iter().any(|b: &Command| &b.name == name) {
                    return Err(RunError::Usage(format!("`{name}` stands twice in one `&` stage; name each AI once")));
                }
                branches.push(command.clone());
                continue;
            }
            let known: Vec<&str> = config.ai.keys().map(String::as_str).collect();
            let hint = did_you_mean(name, &known);
            return Err(RunError::Usage(format!(
                "unknown command `{name}`{hint}: not a configured AI, stage plugin or built-in; AIs: {}",
                if known.is_empty() { "none".to_owned() } else { known.join(", ") }
            )));
        }
        if !branches.is_empty() {
            plan.push(Step::Ais(branches));
        }
    }
    Ok(plan)
}

/// ` (did you mean `NAME`?)` naming the known name nearest to a typo, when one is close; else
/// nothing.
pub fn did_you_mean(name: &str, known: &[&str]) -> String {
    closest(name, known).map(|c| format!(" (did you mean `{c}`?)")).unwrap_or_default()
}

/// The known name nearest to a typo, when one is close.
pub(crate) fn closest<'a>(name: &str, known: &[&'a str]) -> Option<&'a str> {
    known.iter().map(|k| (levenshtein(name, k), *k)).filter(|(d, k)| *d <= 2.max(k.len() / 4)).min().map(|(_, k)| k)
}

fn levenshtein(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut prev = row[0];
        row[0] = i + 1;
        for (j, cb) in b.iter().enumerate() {
            let cur = row[j + 1];
            row[j + 1] = (prev + usize::from(ca != *cb)).min(row[j] + 1).min(cur + 1);
            prev = cur;
        }
    }
    row[b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn typos_find_the_nearest_name() {
        assert_eq!(closest("apolo", &["apollo", "athena"]), Some("apollo"));
        assert_eq!(closest("zzzzzz", &["apollo", "athena"]), None);
    }
}
