//! Tool calls assembled from streamed pieces. Backends stream a call's name and id once and its
//! JSON arguments in pieces, keyed by an index or an item id; [`PendingCalls`] gathers them and
//! hands each call over once, as one [`ToolCall`] event, when the backend says it is complete.

use aish_plugin_sdk::{Event, ToolCall};
use serde_json::Value;

/// One call being assembled.
#[derive(Debug)]
struct Pending {
    key: String,
    call: ToolCall,
    /// Handed over already; later pieces for it are ignored.
    emitted: bool,
}

/// The calls of one answer being assembled, in the order they began.
#[derive(Debug, Default)]
pub struct PendingCalls {
    calls: Vec<Pending>,
}

impl PendingCalls {
    /// The call under `key`, begun now when it is new.
    fn entry(&mut self, key: &str) -> &mut Pending {
        let at = match self.calls.iter().position(|p| p.key == key) {
            Some(at) => at,
            None => {
                let call = ToolCall { id: String::new(), name: String::new(), arguments: String::new() };
                self.calls.push(Pending { key: key.to_owned(), call, emitted: false });
                self.calls.len() - 1
            }
        };
        &mut self.calls[at]
    }

    /// A call begins (or learns its id or name): empty values leave what is known.
    pub fn begin(&mut self, key: &str, id: &str, name: &str) {
        let pending = self.entry(key);
        if !id.is_empty() {
            pending.call.id = id.to_owned();
        }
        if !name.is_empty() {
            pending.call.name = name.to_owned();
        }
    }

    /// A piece of a call's arguments.
    pub fn append(&mut self, key: &str, piece: &str) {
        let pending = self.entry(key);
        if !pending.emitted {
            pending.call.arguments.push_str(piece);
        }
    }

    /// The whole arguments, when the backend repeats them at the end (they replace the pieces).
    pub fn set_arguments(&mut self, key: &str, arguments: &str) {
        let pending = self.entry(key);
        if !pending.emitted && !arguments.is_empty() {
            pending.call.arguments = arguments.to_owned();
        }
    }

    /// The call under `key` is complete: its event is appended to `out`, once.
    pub fn finish(&mut self, key: &str, out: &mut Vec<Event>) {
        if let Some(pending) = self.calls.iter_mut().find(|p| p.key == key) {
            emit(pending, out);
        }
    }

    /// Every call not yet handed over is complete (the answer ends).
    pub fn finish_all(&mut self, out: &mut Vec<Event>) {
        self.calls.iter_mut().for_each(|pending| emit(pending, out));
    }
}

fn emit(pending: &mut Pending, out: &mut Vec<Event>) {
    if pending.emitted || (pending.call.name.is_empty() && pending.call.arguments.is_empty()) {
        return;
    }
    pending.emitted = true;
    let mut call = pending.call.clone();
    if call.arguments.trim().is_empty() {
        call.arguments = "{}".to_owned();
    }
    out.push(Event::ToolCall(call));
}

/// A complete tool call whose arguments arrive as a JSON value (Anthropic's `input`, Gemini's
/// `args`, Ollama's `arguments`) or already as JSON text (OpenAI's).
pub fn call(id: &str, name: &str, arguments: Option<&Value>) -> ToolCall {
    let arguments = match arguments {
        None | Some(Value::Null) => "{}".to_owned(),
        Some(Value::String(text)) if text.trim().is_empty() => "{}".to_owned(),
        Some(Value::String(text)) => text.clone(),
        Some(other) => other.to_string(),
    };
    ToolCall { id: id.to_owned(), name: name.to_owned(), arguments }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn tool(id: &str, name: &str, arguments: &str) -> Event {
        Event::ToolCall(ToolCall { id: id.into(), name: name.into(), arguments: arguments.into() })
    }

    #[test]
    fn pieces_become_one_call_handed_over_once() {
        let mut calls = PendingCalls::default();
        let mut out = Vec::new();
        calls.begin("0", "call_1", "get_weather");
        calls.append("0", "{\"ci");
        calls.begin("1", "call_2", "now");
        calls.append("0", "ty\":\"Paris\"}");
        calls.finish("0", &mut out);
        calls.append("0", "late");
        calls.finish("0", &mut out);
        calls.finish_all(&mut out);
        assert_eq!(out, vec![tool("call_1", "get_weather", r#"{"city":"Paris"}"#), tool("call_2", "now", "{}")]);
    }

    #[test]
    fn whole_arguments_replace_the_pieces() {
        let mut calls = PendingCalls::default();
        let mut out = Vec::new();
        calls.begin("fc_1", "call_1", "f");
        calls.append("fc_1", "{\"a\"");
        calls.set_arguments("fc_1", r#"{"a":1}"#);
        calls.finish("fc_1", &mut out);
        assert_eq!(out, vec![tool("call_1", "f", r#"{"a":1}"#)]);
    }

    #[test]
    fn arguments_as_values_or_text() {
        assert_eq!(call("", "f", Some(&json!({"x": 1}))).arguments, r#"{"x":1}"#);
        assert_eq!(call("", "f", Some(&json!("{\"x\":1}"))).arguments, r#"{"x":1}"#);
        assert_eq!(call("", "f", None).arguments, "{}");
        assert_eq!(call("", "f", Some(&json!(""))).arguments, "{}");
    }
}
