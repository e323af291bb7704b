//! Ollama's `/api/chat`: `{"model", "messages", "stream"}` in; when streaming, one JSON object
//! per line (NDJSON over a plain response, the `http` transport's) up to `"done": true`.

use aish_plugin_sdk::{Event, Outgoing, TransportError, Usage};
use serde_json::{Value, json};

use crate::provider::{
    Config, Framing, HttpShape, Message, Progress, Provider, Tally, chat_messages, parse_json, text_at, usage_at,
};

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
        let body = json!({
            "model": config.model.as_deref().unwrap_or("llama3.2"),
            "messages": chat_messages(message, context),
            "stream": message.stream,
        });
        Ok(HttpShape::json(&body, Vec::new()))
    }

    fn parse_answer(&self, answer: &Value) -> Option<(String, Option<Usage>)> {
        let text = text_at(answer, "/message/content")?;
        Some((text, usage_at(answer, "/prompt_eval_count", "/eval_count")))
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
        let value: Value = parse_json(self.name(), line)?;
        if let Some(error) = value.get("error").and_then(Value::as_str) {
            out.push(Event::Error(error.to_owned()));
            return Ok(Progress::Finished);
        }
        if let Some(text) = value.pointer("/message/content").and_then(Value::as_str) {
            tally.token(out, text);
        }
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

#[cfg(test)]
mod tests {
    use aish_plugin_sdk::{Event, Usage};

    use crate::Progress;
    use crate::testing::{dialect, run, text};

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
        let (text, usage) = dialect("ollama")
            .parse_answer(br#"{"model":"llama3.2","message":{"role":"assistant","content":"whole"},"done":true,"prompt_eval_count":4,"eval_count":1}"#)
            .unwrap();
        assert_eq!((text.as_str(), usage), ("whole", Some(Usage { input_tokens: Some(4), output_tokens: Some(1) })));
        let mut d = dialect("ollama");
        let (out, _) = run(&mut d, &[("", r#"{"error":"model 'x' not found"}"#)]);
        assert_eq!(out, vec![Event::Error("model 'x' not found".into())]);
    }
}
