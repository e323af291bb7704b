//! `context` and `memory`: what every AI stage of the session is sent besides its input.

use serde_json::Value;

use super::Flow;
use crate::session::Session;

/// `context`, `context set KEY VALUE`, `context unset KEY`, `context clear`.
pub(super) fn context(session: &mut Session, args: &str) -> Option<Flow> {
    let mut words = args.splitn(3, ' ');
    match (words.next().unwrap_or(""), words.next(), words.next()) {
        ("", None, None) => {
            let shown = serde_json::to_string_pretty(&session.context).unwrap_or_default();
            session.display().print(&shown);
        }
        ("set", Some(key), Some(value)) => {
            // JSON when it parses (numbers, lists, objects), otherwise the text itself.
            let value = serde_json::from_str(value.trim()).unwrap_or_else(|_| Value::String(value.trim().to_owned()));
            session.context.insert(key.to_owned(), value);
        }
        ("unset", Some(key), None) => {
            if session.context.remove(key).is_none() {
                return Some(Flow::Failed(format!("context has no key `{key}`")));
            }
        }
        ("clear", None, None) => session.context.clear(),
        _ => return Some(Flow::Usage("usage: context [set KEY VALUE | unset KEY | clear]".into())),
    }
    Some(Flow::Continue)
}

/// `memory`, `memory add TEXT`, `memory clear`.
pub(super) fn memory(session: &mut Session, args: &str) -> Option<Flow> {
    match args.split_once(' ').unwrap_or((args, "")) {
        ("", "") => {
            let hints: String =
                session.memory_hints.iter().enumerate().map(|(i, h)| format!("{}: {h}\n", i + 1)).collect();
            if !hints.is_empty() {
                session.display().print(&hints);
            }
        }
        ("add", text) if !text.trim().is_empty() => session.memory_hints.push(text.trim().to_owned()),
        ("clear", "") => session.memory_hints.clear(),
        _ => return Some(Flow::Usage("usage: memory [add TEXT | clear]".into())),
    }
    Some(Flow::Continue)
}
