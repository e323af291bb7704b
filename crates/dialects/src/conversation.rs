//! What every chat provider sends besides the message: the AI's persona, the pipeline context
//! as a short note (never a JSON dump, never the previous answer a second time, never the
//! session id), and the earlier turns of the conversation (SPEC section 7).
//!
//! The persona and the note go out as ONE system text, the persona first. Chat templates of
//! many open models (llama.cpp, Ollama, Gemma) honour only one system message, or only the
//! first; Anthropic, Gemini and the Responses API take a single system field anyway. One
//! system text keeps every dialect's request saying the same thing.

use aish_plugin_sdk::{Outgoing, Role};
use serde_json::{Map, Value, json};

/// Context keys the host fills in for every stage: said in the note's own words, or (the
/// previous answer, which already is the message, and the session id) never said at all.
const HOST_KEYS: &[&str] = &["pipeline_position", "previous_ai", "previous_response", "memory_hints", "session_id"];

/// The pipeline context as a few short lines for a model; `None` when there is nothing worth
/// saying (the first stage, no previous AI, no memory hints, no other keys).
///
/// ```text
/// You are stage 2 of a pipeline; your input is the answer of apollo.
/// Memory hints:
/// - the user prefers short answers
/// Context:
/// project: aish
/// ```
pub fn context_note(context: &Value) -> Option<String> {
    let map = context.as_object()?;
    let mut lines = Vec::new();
    if let Some(line) = position_line(map) {
        lines.push(line);
    }
    let hints: Vec<String> = match map.get("memory_hints") {
        Some(Value::Array(hints)) => hints.iter().filter_map(shown).filter(|h| !h.trim().is_empty()).collect(),
        Some(other) => shown(other).into_iter().filter(|h| !h.trim().is_empty()).collect(),
        None => Vec::new(),
    };
    if !hints.is_empty() {
        lines.push("Memory hints:".to_owned());
        lines.extend(hints.iter().map(|hint| format!("- {}", hint.trim())));
    }
    let others: Vec<String> = map
        .iter()
        .filter(|(key, _)| !HOST_KEYS.contains(&key.as_str()))
        .filter_map(|(key, value)| shown(value).map(|value| format!("{key}: {value}")))
        .collect();
    if !others.is_empty() {
        lines.push("Context:".to_owned());
        lines.extend(others);
    }
    (!lines.is_empty()).then(|| lines.join("\n"))
}

/// The one sentence on where the stage stands, when it is not the first or follows an AI.
fn position_line(map: &Map<String, Value>) -> Option<String> {
    let position = map.get("pipeline_position").and_then(Value::as_u64).filter(|&n| n > 1);
    let previous = map.get("previous_ai").and_then(Value::as_str).filter(|ai| !ai.trim().is_empty());
    match (position, previous) {
        (Some(n), Some(ai)) => Some(format!("You are stage {n} of a pipeline; your input is the answer of {ai}.")),
        (Some(n), None) => Some(format!("You are stage {n} of a pipeline.")),
        (None, Some(ai)) => Some(format!("Your input is the answer of {ai}.")),
        (None, None) => None,
    }
}

/// A context value as text: a string as it is, anything else as compact JSON; nothing for null.
fn shown(value: &Value) -> Option<String> {
    match value {
        Value::Null => None,
        Value::String(text) => Some(text.clone()),
        other => Some(other.to_string()),
    }
}

/// The system text for a request: the persona, then the context note, as one text; `None`
/// when there is neither.
pub fn system_text(message: &Outgoing, context: &Value) -> Option<String> {
    let persona = message.system.as_deref().map(str::trim).filter(|s| !s.is_empty());
    match (persona, context_note(context)) {
        (Some(persona), Some(note)) => Some(format!("{persona}\n\n{note}")),
        (Some(persona), None) => Some(persona.to_owned()),
        (None, note) => note,
    }
}

/// The role's name in OpenAI-style turn lists (`user`, `assistant`).
pub fn role_name(role: Role) -> &'static str {
    match role {
        Role::User => "user",
        Role::Assistant => "assistant",
    }
}

/// An OpenAI-style `messages` list (OpenAI, Ollama): the system text when there is one, the
/// earlier turns as they are, then the user's message.
pub fn chat_messages(message: &Outgoing, context: &Value) -> Vec<Value> {
    let mut messages = Vec::with_capacity(message.history.len() + 2);
    if let Some(system) = system_text(message, context) {
        messages.push(json!({"role": "system", "content": system}));
    }
    messages.extend(message.history.iter().map(|t| json!({"role": role_name(t.role), "content": t.content})));
    messages.push(json!({"role": "user", "content": message.message}));
    messages
}

/// The earlier turns and the message as a list that alternates strictly, starting and ending
/// with the user, for APIs that insist on it (Anthropic, Gemini): empty turns are dropped,
/// leading assistant turns are dropped, and neighbouring turns of one role are joined.
pub fn alternating(message: &Outgoing) -> Vec<(Role, String)> {
    let mut turns: Vec<(Role, String)> = Vec::with_capacity(message.history.len() + 1);
    let earlier = message.history.iter().filter(|t| !t.content.trim().is_empty());
    for (role, content) in earlier.map(|t| (t.role, t.content.as_str())).chain([(Role::User, &*message.message)]) {
        match turns.last_mut() {
            Some((last, text)) if *last == role => {
                text.push_str("\n\n");
                text.push_str(content);
            }
            None if role == Role::Assistant => {}
            _ => turns.push((role, content.to_owned())),
        }
    }
    turns
}

#[cfg(test)]
mod tests {
    use aish_plugin_sdk::{Outgoing, Role, Turn};
    use serde_json::json;

    use super::*;

    fn outgoing(message: &str, system: Option<&str>, history: &[(Role, &str)]) -> Outgoing {
        Outgoing {
            message: message.into(),
            context: String::new(),
            stream: true,
            system: system.map(str::to_owned),
            history: history.iter().map(|(role, content)| Turn { role: *role, content: (*content).into() }).collect(),
        }
    }

    #[test]
    fn the_note_says_position_hints_and_caller_keys_and_nothing_else() {
        let context = json!({
            "pipeline_position": 2,
            "previous_ai": "apollo",
            "previous_response": "THE PREVIOUS ANSWER",
            "memory_hints": ["likes rust", "  ", "short answers"],
            "session_id": "sess-1234",
            "project": "aish",
            "budget": {"max": 3},
            "nothing": null,
        });
        let note = context_note(&context).unwrap();
        assert_eq!(
            note,
            "You are stage 2 of a pipeline; your input is the answer of apollo.\n\
             Memory hints:\n- likes rust\n- short answers\n\
             Context:\nbudget: {\"max\":3}\nproject: aish"
        );
        assert!(!note.contains("THE PREVIOUS ANSWER") && !note.contains("sess-1234"));
    }

    #[test]
    fn no_note_when_there_is_nothing_worth_saying() {
        let first = json!({"pipeline_position": 1, "previous_ai": null, "previous_response": null,
            "memory_hints": [], "session_id": "s"});
        assert_eq!(context_note(&first), None);
        assert_eq!(context_note(&json!({})), None);
        assert_eq!(context_note(&json!({"pipeline_position": 3})).unwrap(), "You are stage 3 of a pipeline.");
        assert_eq!(
            context_note(&json!({"previous_ai": "apollo & athena"})).unwrap(),
            "Your input is the answer of apollo & athena."
        );
    }

    #[test]
    fn persona_first_then_the_note_in_one_system_text() {
        let context = json!({"pipeline_position": 2, "previous_ai": "apollo"});
        let message = outgoing("hi", Some("You are Athena."), &[]);
        assert_eq!(
            system_text(&message, &context).unwrap(),
            "You are Athena.\n\nYou are stage 2 of a pipeline; your input is the answer of apollo."
        );
        assert_eq!(system_text(&message, &json!({})).unwrap(), "You are Athena.");
        assert_eq!(system_text(&outgoing("hi", Some("  "), &[]), &json!({})), None);
    }

    #[test]
    fn chat_messages_in_order() {
        let message =
            outgoing("what is my name", Some("Be brief."), &[(Role::User, "I am Zed"), (Role::Assistant, "Hi Zed")]);
        assert_eq!(
            chat_messages(&message, &json!({})),
            vec![
                json!({"role": "system", "content": "Be brief."}),
                json!({"role": "user", "content": "I am Zed"}),
                json!({"role": "assistant", "content": "Hi Zed"}),
                json!({"role": "user", "content": "what is my name"}),
            ]
        );
    }

    #[test]
    fn alternating_turns_start_and_end_with_the_user() {
        let message = outgoing(
            "now",
            None,
            &[
                (Role::Assistant, "stray"),
                (Role::User, "a"),
                (Role::User, "b"),
                (Role::Assistant, ""),
                (Role::Assistant, "c"),
                (Role::User, "d"),
            ],
        );
        assert_eq!(
            alternating(&message),
            vec![(Role::User, "a\n\nb".into()), (Role::Assistant, "c".into()), (Role::User, "d\n\nnow".into())]
        );
        assert_eq!(alternating(&outgoing("", None, &[])), vec![(Role::User, String::new())]);
    }
}
