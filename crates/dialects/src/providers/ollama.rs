//! Ollama's `/api/chat`: `{"model", "messages", "stream"}` in (the persona and context note as
//! one system message, then the conversation); when streaming, one JSON object per line (NDJSON
//! over a plain response, the `http` transport's) up to `"done": true`, with the counts
//! (`prompt_eval_count`, `eval_count`) on the last; tool calls arrive whole in
//! `message.tool_calls`.

use std::borrow::Cow;

use aish_plugin_sdk::{Event, Outgoing, ToolCall, TransportError};
use serde_json::{Value, json};

use crate::conversation::chat_messages;
use crate::provider::{
    Config, Framing, HttpShape, Message, Progress, Provider, Tally, WholeAnswer, parse_json, text_at, usage_at,
};
use crate::skim::{self, Skim};
use crate::tools::call;

/// The `ollama` dialect.
#[derive(Debug, Default)]
pub(crate) struct Ollama;

impl Provider for Ollama {
    fn name(&self) -> &'static str {
        "ollama"
    }

    fn framing(&self) -> Framing {
        Framing::JsonLines
    }

    fn request(&self, message: &Outgoing, context: &Value, config: &Config) -> Result<HttpShape, TransportError> {
        let mut body = json!({
            "model": config.model.as_deref().unwrap_or("llama3.2"),
            "messages": chat_messages(message, context),
            "stream": message.stream,
        });
        let mut options = serde_json::Map::new();
        if let Some(temperature) = config.setting_f64("temperature") {
            options.insert("temperature".into(), json!(temperature));
        }
        if let Some(max_tokens) = config.setting_u64("max_tokens") {
            options.insert("num_predict".into(), json!(max_tokens));
        }
        if !options.is_empty() {
            body["options"] = Value::Object(options);
        }
        Ok(HttpShape::json(&body, Vec::new()))
    }

    fn parse_answer(&self, answer: &Value) -> Option<WholeAnswer> {
        let tool_calls = tool_calls(answer);
        let text = text_at(answer, "/message/content");
        if text.is_none() && tool_calls.is_empty() {
            return None;
        }
        let usage = usage_at(answer, "/prompt_eval_count", "/eval_count");
        Some(WholeAnswer { text: text.unwrap_or_default(), usage, tool_calls })
    }

    /// One NDJSON line of Ollama's stream.
    fn on_message(
        &mut self,
        message: &Message<'_>,
        tally: &mut Tally,
        out: &mut Vec<Event>,
    ) -> Result<Progress, TransportError> {
        let line = message.data;
        if line.trim().is_empty() {
            return Ok(Progress::More);
        }
        if let Some(text) = content_line(line) {
            tally.token(out, &text);
            return Ok(Progress::More);
        }
        let value: Value = parse_json(self.name(), line)?;
        if let Some(error) = value.get("error") {
            let text = error.as_str().map(str::to_owned).unwrap_or_else(|| error.to_string());
            out.push(Event::Error(text));
            return Ok(Progress::Finished);
        }
        // A piece of the answer of another type is no text to show as nothing.
        match value.get("message") {
            None | Some(Value::Null) => {}
            Some(Value::Object(message)) => match message.get("content") {
                None | Some(Value::Null) => {}
                Some(Value::String(text)) => tally.token(out, text),
                Some(_) => return Err(crate::provider::protocol(self.name(), "`message.content` is not text", line)),
            },
            Some(_) => return Err(crate::provider::protocol(self.name(), "`message` is not an object", line)),
        }
        out.extend(tool_calls(&value).into_iter().map(Event::ToolCall));
        if value.get("done").and_then(Value::as_bool) == Some(true) {
            if let Some(n) = value.get("prompt_eval_count").and_then(Value::as_u64) {
                tally.input_tokens = Some(n);
            }
            if let Some(n) = value.get("eval_count").and_then(Value::as_u64) {
                tally.output_tokens = Some(n);
            }
            out.push(tally.done());
            return Ok(Progress::Finished);
        }
        Ok(Progress::More)
    }
}

/// The text of a line that is one more piece of the answer (nearly every line): read in one
/// pass with no tree when its `message.content` is a string given once, `done` is `false` (or
/// absent) and there is no `error` and no tool call. Other fields (`model`, `created_at`, the
/// message's `role`, a reasoning model's `thinking`) are skipped, as the whole parse ignores
/// them. `None` at any other line, which serde then reads in full.
fn content_line(line: &str) -> Option<Cow<'_, str>> {
    let (mut text, mut seen, mut span) = (None, 0, (0, 0));
    skim::object(line, |key, s| match key {
        k if skim::is(k, "message") => {
            skim::first(&mut seen, 1)?;
            let mut inner = 0;
            s.object(|key, s| match key {
                k if skim::is(k, "content") => {
                    skim::first(&mut inner, 1).and_then(|()| skim::text(s, &mut text, &mut span, Skim::string))
                }
                k if skim::is(k, "tool_calls") => None,
                _ => s.skip(),
            })
        }
        k if skim::is(k, "done") => skim::first(&mut seen, 2).and_then(|()| s.is_false()?.then_some(())),
        k if skim::is(k, "error") => None,
        _ => s.skip(),
    })?;
    text
}

/// The calls in `message.tool_calls[].function` (`name`, `arguments` as an object).
fn tool_calls(value: &Value) -> Vec<ToolCall> {
    let calls = value.pointer("/message/tool_calls").and_then(Value::as_array);
    calls
        .into_iter()
        .flatten()
        .filter_map(|c| {
            let function = c.get("function")?;
            let name = function.get("name").and_then(Value::as_str)?;
            let id = c.get("id").and_then(Value::as_str).unwrap_or("");
            Some(call(id, name, function.get("arguments")))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use aish_plugin_sdk::{Event, Role, Usage};
    use serde_json::json;

    use crate::Progress;
    use crate::testing::{body, dialect, outgoing, run, text, tool};

    #[test]
    fn ollama_ndjson_stream_and_whole_answer() {
        let mut d = dialect("ollama");
        let (out, progress) = run(
            &mut d,
            &[
                (
                    "",
                    r#"{"model":"llama3.2","created_at":"2023-08-04T08:52:19.385406455-07:00","message":{"role":"assistant","content":"The"},"done":false}"#,
                ),
                (
                    "",
                    r#"{"model":"llama3.2","created_at":"2023-08-04T08:52:19.385406455-07:00","message":{"role":"assistant","content":" sky"},"done":false}"#,
                ),
                (
                    "",
                    r#"{"model":"llama3.2","created_at":"2023-08-04T19:22:45.499127Z","message":{"role":"assistant","content":""},"done":true,"total_duration":4883583458,"prompt_eval_count":26,"eval_count":2}"#,
                ),
            ],
        );
        assert_eq!(text(&out), "The sky");
        assert_eq!(progress, Progress::Finished);
        assert_eq!(out.last(), Some(&Event::Done(Some(Usage { input_tokens: Some(26), output_tokens: Some(2) }))));
        let whole = dialect("ollama")
            .parse_answer(br#"{"model":"llama3.2","message":{"role":"assistant","content":"whole"},"done":true,"prompt_eval_count":4,"eval_count":1}"#)
            .unwrap();
        assert_eq!(
            (whole.text.as_str(), whole.usage),
            ("whole", Some(Usage { input_tokens: Some(4), output_tokens: Some(1) }))
        );
        let mut d = dialect("ollama");
        let (out, _) = run(
            &mut d,
            &[
                ("", r#"{"model":"llama3.2","message":{"role":"assistant","content":"Hal"},"done":false}"#),
                ("", r#"{"error":"model 'x' not found"}"#),
            ],
        );
        assert_eq!(out, vec![Event::Token("Hal".into()), Event::Error("model 'x' not found".into())]);
    }

    /// The answer of the "Chat request (with tools)" example in Ollama's `docs/api.md`, as one
    /// streamed line before the closing one, and whole.
    #[test]
    fn ollama_tool_calls_streamed_and_whole() {
        let mut d = dialect("ollama");
        let (out, progress) = run(
            &mut d,
            &[
                (
                    "",
                    r#"{"model":"llama3.2","created_at":"2024-07-22T20:33:28.123648Z","message":{"role":"assistant","content":"","tool_calls":[{"function":{"name":"get_current_weather","arguments":{"format":"celsius","location":"Paris, FR"}}}]},"done":false}"#,
                ),
                (
                    "",
                    r#"{"model":"llama3.2","created_at":"2024-07-22T20:33:28.132Z","message":{"role":"assistant","content":""},"done_reason":"stop","done":true,"prompt_eval_count":230,"eval_count":26}"#,
                ),
            ],
        );
        assert_eq!(progress, Progress::Finished);
        assert_eq!(
            out,
            vec![
                tool("", "get_current_weather", r#"{"format":"celsius","location":"Paris, FR"}"#),
                Event::Done(Some(Usage { input_tokens: Some(230), output_tokens: Some(26) })),
            ]
        );
        let whole = dialect("ollama")
            .parse_answer(br#"{"model":"llama3.2","message":{"role":"assistant","content":"","tool_calls":[{"function":{"name":"get_current_weather","arguments":{"location":"Paris, FR"}}}]},"done":true}"#)
            .unwrap();
        assert_eq!(
            whole.into_events(),
            vec![tool("", "get_current_weather", r#"{"location":"Paris, FR"}"#), Event::Done(None)]
        );
    }

    #[test]
    fn ollama_request_with_persona_history_and_settings() {
        let d = crate::Dialect::new(aish_plugin_sdk::ConnectOptions {
            url: "http://127.0.0.1:1/api/chat".into(),
            dialect: "ollama".into(),
            model: None,
            api_key: None,
            settings: r#"{"temperature":0.2,"max_tokens":100}"#.into(),
        })
        .unwrap();
        let message = outgoing(
            "and now?",
            Some("Be terse."),
            &[(Role::User, "a"), (Role::Assistant, "b")],
            r#"{"session_id":"s-9","pipeline_position":1}"#,
        );
        let body = body(&d, &message);
        assert_eq!(
            body["messages"],
            json!([
                {"role": "system", "content": "Be terse."},
                {"role": "user", "content": "a"},
                {"role": "assistant", "content": "b"},
                {"role": "user", "content": "and now?"},
            ])
        );
        assert_eq!(body["options"], json!({"temperature": 0.2, "num_predict": 100}));
        assert_eq!(body["model"], "llama3.2");
    }
}
