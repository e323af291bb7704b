//! OpenAI-compatible chat completions (OpenAI, vLLM, llama.cpp, LM Studio, …): `messages` in
//! (the persona and context note as one system message, then the conversation); out,
//! `choices[0].delta.content` chunks and `tool_calls` pieces up to `[DONE]`, usage in the last
//! chunk (asked for with `stream_options.include_usage`).

use std::borrow::Cow;

use aish_plugin_sdk::{Event, Outgoing, TransportError};
use serde::Deserialize;
use serde_json::{Value, json};

use crate::conversation::chat_messages;
use crate::provider::{
    Config, HttpShape, Message, Progress, Provider, Tally, WholeAnswer, parse_json, text_at, usage_at,
};
use crate::skim::{self, Skim};
use crate::tools::{PendingCalls, call};

/// The `openai` dialect; keeps the tool calls being streamed.
#[derive(Debug, Default)]
pub(crate) struct OpenAi {
    calls: PendingCalls,
    memo: skim::Memo,
    /// A choice said why it finished: the answer is whole even if `[DONE]` never comes.
    finished: bool,
}

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
        if let Some(temperature) = config.setting_f64("temperature") {
            body["temperature"] = json!(temperature);
        }
        // `max_tokens` is what OpenAI-compatible servers take; OpenAI's reasoning models refuse
        // it and take `max_completion_tokens`, passed as given.
        for key in ["max_tokens", "max_completion_tokens"] {
            if let Some(tokens) = config.setting_u64(key) {
                body[key] = json!(tokens);
            }
        }
        let mut headers = Vec::new();
        if let Some(key) = &config.api_key {
            headers.push(("authorization".to_owned(), format!("Bearer {key}")));
        }
        Ok(HttpShape::json(&body, headers))
    }

    fn parse_answer(&self, answer: &Value) -> Option<WholeAnswer> {
        let message = answer.pointer("/choices/0/message")?;
        let tool_calls: Vec<_> = message
            .get("tool_calls")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .filter_map(|c| {
                let name = c.pointer("/function/name").and_then(Value::as_str)?;
                let id = c.get("id").and_then(Value::as_str).unwrap_or("");
                Some(call(id, name, c.pointer("/function/arguments")))
            })
            .collect();
        let text = text_at(message, "/content").or_else(|| text_at(message, "/refusal"));
        if text.is_none() && tool_calls.is_empty() {
            return None;
        }
        let usage = usage_at(answer, "/usage/prompt_tokens", "/usage/completion_tokens");
        Some(WholeAnswer { text: text.unwrap_or_default(), usage, tool_calls })
    }

    fn on_message(
        &mut self,
        message: &Message<'_>,
        tally: &mut Tally,
        out: &mut Vec<Event>,
    ) -> Result<Progress, TransportError> {
        if message.data == "[DONE]" {
            self.calls.finish_all(out);
            out.push(tally.done());
            return Ok(Progress::Finished);
        }
        if self.memo.read_token(message.data, "", |memo| plain_delta(message.data, memo), tally, out) {
            return Ok(Progress::More);
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
            #[serde(borrow)]
            finish_reason: Option<Cow<'a, str>>,
        }
        #[derive(Deserialize)]
        struct Delta<'a> {
            #[serde(borrow)]
            content: Option<Cow<'a, str>>,
            #[serde(borrow)]
            refusal: Option<Cow<'a, str>>,
            tool_calls: Option<Vec<CallDelta>>,
        }
        #[derive(Deserialize)]
        struct CallDelta {
            index: Option<u64>,
            id: Option<String>,
            function: Option<FunctionDelta>,
        }
        #[derive(Deserialize)]
        struct FunctionDelta {
            name: Option<String>,
            arguments: Option<String>,
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
        let Some(choice) = chunk.choices.into_iter().next() else { return Ok(Progress::More) };
        if let Some(delta) = choice.delta {
            if let Some(text) = delta.content.as_deref().or(delta.refusal.as_deref()) {
                tally.token(out, text);
            }
            for (position, piece) in delta.tool_calls.into_iter().flatten().enumerate() {
                // Pieces name their call by `index`; a server that gives none sends whole calls.
                let key = piece.index.unwrap_or(position as u64).to_string();
                let function = piece.function.unwrap_or(FunctionDelta { name: None, arguments: None });
                self.calls.begin(&key, piece.id.as_deref().unwrap_or(""), function.name.as_deref().unwrap_or(""));
                self.calls.append(&key, function.arguments.as_deref().unwrap_or(""));
            }
        }
        if choice.finish_reason.is_some() {
            self.calls.finish_all(out);
            self.finished = true;
        }
        Ok(Progress::More)
    }

    fn at_close(&self, tally: &Tally) -> Option<Event> {
        // Servers that say why the answer finished but close without `[DONE]` (some
        // OpenAI-compatible ones) gave the whole answer; a close before that cut it short.
        self.finished.then(|| tally.done())
    }
}

/// The chunk nearly every event is: text in `choices[0].delta.content` and nothing else aish
/// acts on (no tool calls, refusal, finish reason, usage or error), read in one pass; `None` for
/// any other shape, which serde then reads in full.
fn plain_delta<'a>(data: &'a str, memo: &mut skim::Memo) -> Option<Cow<'a, str>> {
    let (mut text, mut seen, mut choices, mut span) = (None, 0, 0, (0, 0));
    let free = skim::object(data, |key, s| match key {
        k if skim::is(k, "choices") => {
            skim::first(&mut seen, 1)?;
            s.array(|s| {
                choices += 1;
                let mut seen = 0;
                s.object(|key, s| match key {
                    k if skim::is(k, "delta") => {
                        skim::first(&mut seen, 1)?;
                        let mut seen = 0;
                        s.object(|key, s| match key {
                            k if skim::is(k, "content") => skim::text(s, &mut text, &mut span, Skim::string),
                            k if skim::is(k, "role") => skim::first(&mut seen, 1).and_then(|()| s.string()).map(drop),
                            _ => None,
                        })
                    }
                    k if skim::is(k, "finish_reason") => skim::first(&mut seen, 2).and_then(|()| s.null()?.then_some(())),
                    _ => s.skip(),
                })
            })
        }
        k if skim::is(k, "usage") => skim::first(&mut seen, 2).and_then(|()| s.null()?.then_some(())),
        k if skim::is(k, "error") => skim::first(&mut seen, 4).and_then(|()| s.null()?.then_some(())),
        _ => s.skip(),
    })?;
    if choices != 1 {
        return None;
    }
    memo.learn(data, span, "", free);
    text
}

#[cfg(test)]
mod tests {
    use aish_plugin_sdk::{Event, Role, Usage};
    use serde_json::json;

    use crate::Progress;
    use crate::testing::{body, dialect, outgoing, plain, run, text, tool};

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

    /// A streamed tool call as OpenAI's function-calling guide shows it ("Streaming": the first
    /// piece names the call, the rest carry `function.arguments` pieces by `index`), then the
    /// `tool_calls` finish and the usage chunk.
    #[test]
    fn openai_tool_call_assembled_from_pieces() {
        let piece = |arguments: &str| {
            json!({"id":"chatcmpl-2","object":"chat.completion.chunk","model":"gpt-4o","choices":[{"index":0,
                "delta":{"tool_calls":[{"index":0,"id":null,"function":{"arguments":arguments,"name":null},"type":null}]},
                "finish_reason":null}]})
            .to_string()
        };
        let first = r#"{"id":"chatcmpl-2","object":"chat.completion.chunk","model":"gpt-4o","choices":[{"index":0,"delta":{"role":"assistant","content":null,"tool_calls":[{"index":0,"id":"call_DdmO9pD3xa9XTPNJ32zg2hcA","function":{"arguments":"","name":"get_weather"},"type":"function"}]},"finish_reason":null}]}"#;
        let pieces: Vec<String> = ["{\"", "location", "\":\"", "Paris", ",", " France", "\"}"].map(piece).into();
        let mut messages = vec![("message", first)];
        messages.extend(pieces.iter().map(|p| ("message", p.as_str())));
        messages.push((
            "message",
            r#"{"id":"chatcmpl-2","object":"chat.completion.chunk","model":"gpt-4o","choices":[{"index":0,"delta":{},"finish_reason":"tool_calls"}]}"#,
        ));
        messages.push((
            "message",
            r#"{"id":"chatcmpl-2","object":"chat.completion.chunk","model":"gpt-4o","choices":[],"usage":{"prompt_tokens":80,"completion_tokens":18,"total_tokens":98}}"#,
        ));
        messages.push(("message", "[DONE]"));
        let mut d = dialect("openai");
        let (out, progress) = run(&mut d, &messages);
        assert_eq!(progress, Progress::Finished, "only tool calls and no text is a complete answer");
        assert_eq!(
            out,
            vec![
                tool("call_DdmO9pD3xa9XTPNJ32zg2hcA", "get_weather", r#"{"location":"Paris, France"}"#),
                Event::Done(Some(Usage { input_tokens: Some(80), output_tokens: Some(18) })),
            ]
        );
        // A close after the finish reason, with no `[DONE]`, ends the answer whole; a close
        // before it cuts the answer short.
        let mut d = dialect("openai");
        let (_, progress) = run(&mut d, &messages[..messages.len() - 2]);
        assert_eq!(progress, Progress::More);
        let mut out = Vec::new();
        assert_eq!(d.on_close(&mut out), Progress::Finished);
        assert_eq!(out, vec![Event::Done(None)]);
        let mut d = dialect("openai");
        run(&mut d, &[("message", first)]);
        assert_eq!(d.on_close(&mut Vec::new()), Progress::More, "cut before the finish reason");
        // A server that ends at `[DONE]` without a finish reason still hands the call over.
        let mut d = dialect("openai");
        let (out, _) = run(&mut d, &[("message", first), ("message", &pieces[0]), ("message", "[DONE]")]);
        assert_eq!(out, vec![tool("call_DdmO9pD3xa9XTPNJ32zg2hcA", "get_weather", "{\""), Event::Done(None)]);
    }

    #[test]
    fn openai_request_with_persona_history_and_note() {
        let d = dialect("openai");
        let context = r#"{"pipeline_position":2,"previous_ai":"apollo","previous_response":"EARLIER ANSWER","session_id":"s-1","memory_hints":["be kind"]}"#;
        let message = outgoing(
            "EARLIER ANSWER",
            Some("You are Athena."),
            &[(Role::User, "my name is Zed"), (Role::Assistant, "Hello Zed")],
            context,
        );
        let shape = d.request(&message).unwrap();
        let body = body(&d, &message);
        assert_eq!(body["model"], "m");
        assert_eq!(
            (body["stream"].clone(), body["stream_options"].clone()),
            (json!(true), json!({"include_usage": true}))
        );
        assert_eq!(
            body["messages"],
            json!([
                {"role": "system", "content": "You are Athena.\n\nYou are stage 2 of a pipeline; your input is the answer of apollo.\nMemory hints:\n- be kind"},
                {"role": "user", "content": "my name is Zed"},
                {"role": "assistant", "content": "Hello Zed"},
                {"role": "user", "content": "EARLIER ANSWER"},
            ])
        );
        let sent = String::from_utf8(shape.body).unwrap();
        assert_eq!(sent.matches("EARLIER ANSWER").count(), 1, "the previous answer goes once");
        assert!(!sent.contains("s-1"), "never the session id");
        assert!(shape.headers.contains(&("authorization".into(), "Bearer sk-test".into())));
        // The first stage with no persona: no system message at all.
        let body = body_of(&plain("hi"));
        assert_eq!(body["messages"], json!([{"role": "user", "content": "hi"}]));
    }

    #[test]
    fn openai_request_carries_the_settings() {
        let with = |settings: &str| {
            let d = crate::Dialect::new(aish_plugin_sdk::ConnectOptions {
                url: "http://127.0.0.1:1/v1/chat/completions".into(),
                dialect: "openai".into(),
                model: Some("m".into()),
                api_key: None,
                settings: settings.into(),
            })
            .unwrap();
            body(&d, &plain("hi"))
        };
        let sent = with(r#"{"temperature":0.3,"max_tokens":50}"#);
        assert_eq!((sent["temperature"].clone(), sent["max_tokens"].clone()), (json!(0.3), json!(50)));
        assert!(sent.get("max_completion_tokens").is_none());
        let sent = with(r#"{"max_completion_tokens":80}"#);
        assert_eq!(sent["max_completion_tokens"], json!(80));
        assert!(sent.get("temperature").is_none() && sent.get("max_tokens").is_none());
    }

    fn body_of(message: &aish_plugin_sdk::Outgoing) -> serde_json::Value {
        body(&dialect("openai"), message)
    }

    #[test]
    fn openai_whole_answer_with_tool_calls() {
        let whole = dialect("openai")
            .parse_answer(br#"{"id":"chatcmpl-3","object":"chat.completion","choices":[{"index":0,"message":{"role":"assistant","content":null,"tool_calls":[{"id":"call_qOfTGgDrItLORNfC6VwUbyLL","type":"function","function":{"name":"get_weather","arguments":"{\"location\":\"Shanghai\"}"}}]},"finish_reason":"tool_calls"}],"usage":{"prompt_tokens":91,"completion_tokens":14,"total_tokens":105}}"#)
            .unwrap();
        assert_eq!(
            whole.into_events(),
            vec![
                tool("call_qOfTGgDrItLORNfC6VwUbyLL", "get_weather", r#"{"location":"Shanghai"}"#),
                Event::Done(Some(Usage { input_tokens: Some(91), output_tokens: Some(14) })),
            ]
        );
    }

    #[test]
    fn openai_error_chunk_fails_and_keeps_what_came_before() {
        let mut d = dialect("openai");
        let (out, progress) = run(
            &mut d,
            &[
                ("message", r#"{"choices":[{"index":0,"delta":{"content":"Half"},"finish_reason":null}]}"#),
                ("message", r#"{"error":{"message":"Rate limit reached","type":"requests"}}"#),
            ],
        );
        assert_eq!(out, vec![Event::Token("Half".into()), Event::Error("Rate limit reached".into())]);
        assert_eq!(progress, Progress::Finished);
    }
}

#[cfg(test)]
mod fast_path_tests {
    #[test]
    fn the_common_chunk_takes_the_fast_path_and_others_do_not() {
        let chunk = r#"{"id":"c","object":"chat.completion.chunk","created":1,"model":"m","choices":[{"index":0,"delta":{"content":"Hi \"there\""},"logprobs":null,"finish_reason":null}]}"#;
        let memo = &mut crate::skim::Memo::default();
        assert_eq!(super::plain_delta(chunk, memo).as_deref(), Some("Hi \"there\""));
        let next = chunk.replace("Hi \\\"there\\\"", "again");
        assert_eq!(memo.recall(&next, "").as_deref(), Some("again"), "the next chunk, by its text alone");
        let last = r#"{"choices":[{"index":0,"delta":{},"finish_reason":"stop"}]}"#;
        assert_eq!(super::plain_delta(last, memo), None);
        assert_eq!(memo.recall(last, ""), None);
        let tool = r#"{"choices":[{"index":0,"delta":{"content":"a","tool_calls":[]},"finish_reason":null}]}"#;
        assert_eq!(super::plain_delta(tool, memo), None);
    }
}
