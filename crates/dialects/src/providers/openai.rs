//! OpenAI-compatible chat completions (OpenAI, vLLM, llama.cpp, LM Studio, …): `messages` in;
//! `choices[0].delta.content` chunks up to `[DONE]` out, usage in the last chunk.

use std::borrow::Cow;

use aish_plugin_sdk::{Event, Outgoing, TransportError, Usage};
use serde::Deserialize;
use serde_json::{Value, json};

use crate::provider::{
    Config, HttpShape, Message, Progress, Provider, Tally, chat_messages, parse_json, text_at, usage_at,
};

/// The `openai` dialect.
#[derive(Debug, Default)]
pub(crate) struct OpenAi;

impl Provider for OpenAi {
    fn name(&self) -> &'static str {
        "openai"
    }

    fn request(&self, message: &Outgoing, context: &Value, config: &Config) -> Result<HttpShape, TransportError> {
        let mut body = json!({"messages": chat_messages(message, context), "stream": message.stream});
        if message.stream {
            body["stream_options"] = json!({"include_usage": true});
        }
        if let Some(model) = &config.model {
            body["model"] = json!(model);
        }
        let mut headers = Vec::new();
        if let Some(key) = &config.api_key {
            headers.push(("authorization".to_owned(), format!("Bearer {key}")));
        }
        Ok(HttpShape::json(&body, headers))
    }

    fn parse_answer(&self, answer: &Value) -> Option<(String, Option<Usage>)> {
        let text = text_at(answer, "/choices/0/message/content")?;
        Some((text, usage_at(answer, "/usage/prompt_tokens", "/usage/completion_tokens")))
    }

    fn on_message(
        &mut self,
        message: &Message<'_>,
        tally: &mut Tally,
        out: &mut Vec<Event>,
    ) -> Result<Progress, TransportError> {
        if message.data == "[DONE]" {
            out.push(tally.done());
            return Ok(Progress::Finished);
        }
        #[derive(Deserialize)]
        struct Chunk<'a> {
            #[serde(default, borrow)]
            choices: Vec<Choice<'a>>,
            usage: Option<ChunkUsage>,
            error: Option<Value>,
        }
        #[derive(Deserialize)]
        struct Choice<'a> {
            #[serde(borrow)]
            delta: Option<Delta<'a>>,
        }
        #[derive(Deserialize)]
        struct Delta<'a> {
            #[serde(borrow)]
            content: Option<Cow<'a, str>>,
        }
        #[derive(Deserialize)]
        struct ChunkUsage {
            prompt_tokens: Option<u64>,
            completion_tokens: Option<u64>,
        }
        let chunk: Chunk<'_> = parse_json(self.name(), message.data)?;
        if let Some(error) = chunk.error {
            let text =
                error.get("message").and_then(Value::as_str).map(str::to_owned).unwrap_or_else(|| error.to_string());
            out.push(Event::Error(text));
            return Ok(Progress::Finished);
        }
        if let Some(usage) = chunk.usage {
            tally.input_tokens = usage.prompt_tokens;
            tally.output_tokens = usage.completion_tokens;
        }
        if let Some(content) = chunk.choices.first().and_then(|c| c.delta.as_ref()).and_then(|d| d.content.as_deref()) {
            tally.token(out, content);
        }
        Ok(Progress::More)
    }
}

#[cfg(test)]
mod tests {
    use aish_plugin_sdk::{Event, Outgoing, Usage};
    use serde_json::{Value, json};

    use crate::Progress;
    use crate::testing::{dialect, run, text};

    #[test]
    fn openai_stream_as_documented() {
        let mut d = dialect("openai");
        let (out, progress) = run(
            &mut d,
            &[
                (
                    "message",
                    r#"{"id":"chatcmpl-1","object":"chat.completion.chunk","created":1,"model":"gpt-4o-mini","choices":[{"index":0,"delta":{"role":"assistant","content":""},"logprobs":null,"finish_reason":null}]}"#,
                ),
                (
                    "message",
                    r#"{"id":"chatcmpl-1","object":"chat.completion.chunk","created":1,"model":"gpt-4o-mini","choices":[{"index":0,"delta":{"content":"Hello"},"logprobs":null,"finish_reason":null}]}"#,
                ),
                (
                    "message",
                    r#"{"id":"chatcmpl-1","object":"chat.completion.chunk","created":1,"model":"gpt-4o-mini","choices":[{"index":0,"delta":{"content":" there"},"logprobs":null,"finish_reason":null}]}"#,
                ),
                (
                    "message",
                    r#"{"id":"chatcmpl-1","object":"chat.completion.chunk","created":1,"model":"gpt-4o-mini","choices":[{"index":0,"delta":{},"logprobs":null,"finish_reason":"stop"}]}"#,
                ),
                (
                    "message",
                    r#"{"id":"chatcmpl-1","object":"chat.completion.chunk","created":1,"model":"gpt-4o-mini","choices":[],"usage":{"prompt_tokens":9,"completion_tokens":2,"total_tokens":11}}"#,
                ),
                ("message", "[DONE]"),
            ],
        );
        assert_eq!(text(&out), "Hello there");
        assert_eq!(progress, Progress::Finished);
        assert_eq!(out.last(), Some(&Event::Done(Some(Usage { input_tokens: Some(9), output_tokens: Some(2) }))));
    }

    #[test]
    fn openai_request_shape() {
        let d = dialect("openai");
        let shape = d
            .request(&Outgoing { message: "hi".into(), context: r#"{"pipeline_position":1}"#.into(), stream: true })
            .unwrap();
        let body: Value = serde_json::from_slice(&shape.body).unwrap();
        assert_eq!(body["model"], "m");
        assert_eq!(body["stream"], true);
        assert_eq!(body["messages"][0]["role"], "system");
        assert!(body["messages"][0]["content"].as_str().unwrap().contains("pipeline_position"));
        assert_eq!(body["messages"][1], json!({"role": "user", "content": "hi"}));
        assert!(shape.headers.contains(&("authorization".into(), "Bearer sk-test".into())));
    }

    #[test]
    fn openai_error_chunk_fails() {
        let mut d = dialect("openai");
        let (out, progress) =
            run(&mut d, &[("message", r#"{"error":{"message":"Rate limit reached","type":"requests"}}"#)]);
        assert_eq!(out, vec![Event::Error("Rate limit reached".into())]);
        assert_eq!(progress, Progress::Finished);
    }
}
