//! `history`, `history N`, `history search TEXT`.

use super::Flow;
use super::args::Args;
use crate::history::{Entry, text_block};
use crate::session::Session;

/// Shows the last N entries (default 20), or those whose line or answers contain TEXT.
pub(super) fn show(session: &mut Session, args: &Args<'_>) -> Option<Flow> {
    let history = session.history().cloned();
    let Some(history) = history else {
        return Some(Flow::Failed("no history is kept in this session".into()));
    };
    let loaded = match history.load() {
        Ok(loaded) => loaded,
        Err(e) => {
            return Some(Flow::Failed(format!("cannot read the history: {e}")));
        }
    };
    if let Some(warning) = &loaded.warning {
        session.history_warning(warning);
    }
    let display = session.display();
    let entries: Vec<&Entry> = if args.first() == Some("search") {
        // Free text, as typed (`#42`, `a|b`), or one quoted string.
        let needle = super::args::unquoted(args.after(1)).trim().to_lowercase();
        if needle.is_empty() {
            return Some(Flow::Usage("history search needs TEXT to look for".into()));
        }
        loaded
            .entries
            .iter()
            .filter(|e| {
                e.command.to_lowercase().contains(&needle)
                    || e.answers().iter().any(|(_, answer)| answer.to_lowercase().contains(&needle))
            })
            .collect()
    } else {
        super::args::words!(args => words);
        let count = match words.as_slice() {
            [] => Some(20),
            [n] => n.parse().ok(),
            _ => None,
        };
        let Some(count) = count else {
            return Some(Flow::Usage(format!("history takes a number of entries, not `{}`", words.join(" "))));
        };
        let skip = loaded.entries.len().saturating_sub(count);
        loaded.entries.iter().skip(skip).collect()
    };
    let mut text = String::new();
    for entry in entries {
        text.push_str(&text_block(entry.number, &entry.command, &entry.answers(), &entry.metadata));
    }
    if !text.is_empty() {
        display.print(&text);
    }
    Some(Flow::Continue)
}
