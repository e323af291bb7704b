//! `context` and `memory`: what every AI stage of the session is sent besides its input.

use serde_json::Value;

use super::Flow;
use super::args::{Args, unquoted};
use crate::session::Session;

/// `context`, `context set KEY VALUE`, `context unset KEY`, `context clear`.
pub(super) fn context(session: &mut Session, args: &Args<'_>) -> Option<Flow> {
    if args.first() == Some("set") {
        let (key, value) = (args.after(1).split_whitespace().next().unwrap_or(""), args.after(2));
        if value.is_empty() {
            return Some(Flow::Usage("usage: context [set KEY VALUE | unset KEY | clear]".into()));
        }
        // JSON when it parses (numbers, lists, objects, "a string"), otherwise the text itself,
        // as typed or in one pair of quotes.
        let value = serde_json::from_str(value).unwrap_or_else(|_| Value::String(unquoted(value).to_owned()));
        session.context.insert(key.to_owned(), value);
        return Some(Flow::Continue);
    }
    super::args::words!(args => words);
    match words.as_slice() {
        [] => {
            let shown = serde_json::to_string_pretty(&session.context).unwrap_or_default();
            session.display().print(&shown);
        }
        ["unset", key] => {
            if session.context.remove(*key).is_none() {
                return Some(Flow::Failed(format!("context has no key `{key}`")));
            }
        }
        ["clear"] => session.context.clear(),
        _ => return Some(Flow::Usage("usage: context [set KEY VALUE | unset KEY | clear]".into())),
    }
    Some(Flow::Continue)
}

/// `memory`, `memory add TEXT`, `memory clear`.
pub(super) fn memory(session: &mut Session, args: &Args<'_>) -> Option<Flow> {
    match (args.first(), args.after(1)) {
        (None, _) => {
            let hints: String =
                session.memory_hints.iter().enumerate().map(|(i, h)| format!("{}: {h}\n", i + 1)).collect();
            if !hints.is_empty() {
                session.display().print(&hints);
            }
        }
        // Free text, as typed (`don't`, `#1`, `R&D`), or one quoted string.
        (Some("add"), text) if !unquoted(text).trim().is_empty() => {
            session.memory_hints.push(unquoted(text).trim().to_owned());
        }
        (Some("clear"), "") => session.memory_hints.clear(),
        _ => return Some(Flow::Usage("usage: memory [add TEXT | clear]".into())),
    }
    Some(Flow::Continue)
}
