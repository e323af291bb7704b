//! `context` and `memory`: what every AI stage of the session is sent besides its input.

use serde_json::Value;

use super::Flow;
use crate::session::Session;

/// `context`, `context set KEY VALUE`, `context unset KEY`, `context clear`.
pub(super) fn context(session: &mut Session, args: &[String]) -> Option<Flow> {
    let words: Vec<&str> = args.iter().map(String::as_str).collect();
    match words.as_slice() {
        [] => {
            let shown = serde_json::to_string_pretty(&session.context).unwrap_or_default();
            session.display().print(&shown);
        }
        ["set", key, value @ ..] if !value.is_empty() => {
            // JSON when it parses (numbers, lists, objects), otherwise the text itself.
            let value = value.join(" ");
            let value = serde_json::from_str(value.trim()).unwrap_or_else(|_| Value::String(value.trim().to_owned()));
            session.context.insert((*key).to_owned(), value);
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
pub(super) fn memory(session: &mut Session, args: &[String]) -> Option<Flow> {
    match args.split_first().map(|(first, rest)| (first.as_str(), rest.join(" "))) {
        None => {
            let hints: String =
                session.memory_hints.iter().enumerate().map(|(i, h)| format!("{}: {h}\n", i + 1)).collect();
            if !hints.is_empty() {
                session.display().print(&hints);
            }
        }
        Some(("add", text)) if !text.trim().is_empty() => session.memory_hints.push(text.trim().to_owned()),
        Some(("clear", text)) if text.is_empty() => session.memory_hints.clear(),
        _ => return Some(Flow::Usage("usage: memory [add TEXT | clear]".into())),
    }
    Some(Flow::Continue)
}
