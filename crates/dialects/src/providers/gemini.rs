//! Google's Gemini API. The configured URL names the model
//! (`…/v1beta/models/gemini-2.0-flash`); a streamed answer is asked of
//! `<url>:streamGenerateContent?alt=sse`, a whole one of `<url>:generateContent`, the key goes
//! in `x-goog-api-key`. In: `contents` (the conversation as `user`/`model` turns of `parts`),
//! `systemInstruction` (the persona and context note), `generationConfig`. Out: each SSE event
//! is a whole `GenerateContentResponse` whose `candidates[0].content.parts[]` carry text and
//! `functionCall`s, and `usageMetadata` the counts so far; the stream ends when the server
//! closes it, after a chunk that says why it finished (`finishReason`).

use std::borrow::Cow;

use aish_plugin_sdk::{Event, Outgoing, Role, ToolCall, TransportError};
use serde_json::{Map, Value, json};

use crate::conversation::{alternating, system_text};
use crate::provider::{Config, HttpShape, Message, Progress, Provider, Tally, WholeAnswer, parse_json, usage_at};
use crate::skim;
use crate::tools::call;

/// The `gemini` dialect; remembers whether the stream said it is finishing.
#[derive(Debug, Default)]
pub(crate) struct Gemini {
    /// The last `finishReason` seen: the server closing the stream after it ends the answer.
    finish_reason: Option<String>,
}

impl Provider for Gemini {
    fn name(&self) -> &'static str {
        "gemini"
    }

    fn request(&self, message: &Outgoing, context: &Value, config: &Config) -> Result<HttpShape, TransportError> {
        let contents: Vec<Value> = alternating(message)
            .into_iter()
            .map(|(role, text)| {
                let role = if role == Role::User { "user" } else { "model" };
                json!({"role": role, "parts": [{"text": text}]})
            })
            .collect();
        let mut body = json!({"contents": contents});
        if let Some(system) = system_text(message, context) {
            body["systemInstruction"] = json!({"parts": [{"text": system}]});
        }
        let mut generation = Map::new();
        if let Some(temperature) = config.setting_f64("temperature") {
            generation.insert("temperature".into(), json!(temperature));
        }
        if let Some(max_tokens) = config.setting_u64("max_tokens") {
            generation.insert("maxOutputTokens".into(), json!(max_tokens));
        }
        if !generation.is_empty() {
            body["generationConfig"] = Value::Object(generation);
        }
        let mut headers = Vec::new();
        if let Some(key) = &config.api_key {
            headers.push(("x-goog-api-key".to_owned(), key.clone()));
        }
        let mut shape = HttpShape::json(&body, headers);
        shape.url = Some(endpoint(config, message.stream));
        Ok(shape)
    }

    fn parse_answer(&self, answer: &Value) -> Option<WholeAnswer> {
        let parts = answer.pointer("/candidates/0/content/parts").and_then(Value::as_array)?;
        let mut whole = WholeAnswer {
            usage: usage_at(answer, "/usageMetadata/promptTokenCount", "/usageMetadata/candidatesTokenCount"),
            ..WholeAnswer::default()
        };
        for part in parts {
            match read_part(part) {
                Some(Part::Text(text)) => whole.text.push_str(text),
                Some(Part::Call(call)) => whole.tool_calls.push(call),
                None => {}
            }
        }
        Some(whole)
    }

    fn on_message(
        &mut self,
        message: &Message<'_>,
        tally: &mut Tally,
        out: &mut Vec<Event>,
    ) -> Result<Progress, TransportError> {
        if message.data.trim().is_empty() {
            return Ok(Progress::More);
        }
        if let Some((text, counts)) = text_chunk(message.data) {
            tally.input_tokens = counts.prompt.or(tally.input_tokens);
            tally.output_tokens = counts.candidates.or(tally.output_tokens);
            tally.token(out, &text);
            return Ok(Progress::More);
        }
        self.whole_chunk(message.data, tally, out)
    }

    fn at_close(&self, tally: &Tally) -> Option<Event> {
        // A close before any chunk said why it finished cuts the answer short.
        self.finish_reason.as_ref().map(|_| tally.done())
    }
}

impl Gemini {
    /// A chunk read in full by serde: what [`text_chunk`] must agree with.
    fn whole_chunk(&mut self, data: &str, tally: &mut Tally, out: &mut Vec<Event>) -> Result<Progress, TransportError> {
        let chunk: Value = parse_json(self.name(), data)?;
        if let Some(error) = chunk.get("error") {
            out.push(Event::Error(error_text(error)));
            return Ok(Progress::Finished);
        }
        // The counts so far: each chunk repeats them, grown.
        let count = |pointer: &str| chunk.pointer(pointer).and_then(Value::as_u64);
        if let Some(n) = count("/usageMetadata/promptTokenCount") {
            tally.input_tokens = Some(n);
        }
        if let Some(n) = count("/usageMetadata/candidatesTokenCount") {
            tally.output_tokens = Some(n);
        }
        let Some(candidate) = chunk.pointer("/candidates/0") else {
            if let Some(reason) = chunk.pointer("/promptFeedback/blockReason").and_then(Value::as_str) {
                out.push(Event::Error(format!("Gemini blocked the prompt ({reason})")));
                return Ok(Progress::Finished);
            }
            return Ok(Progress::More);
        };
        let parts = candidate.pointer("/content/parts").and_then(Value::as_array);
        for part in parts.into_iter().flatten() {
            match read_part(part) {
                Some(Part::Text(text)) => tally.token(out, text),
                Some(Part::Call(call)) => out.push(Event::ToolCall(call)),
                None => {}
            }
        }
        if let Some(reason) = candidate.get("finishReason").and_then(Value::as_str) {
            // Only an unusual end is worth a word (every chunk may say STOP).
            if reason != "STOP" && self.finish_reason.as_deref() != Some(reason) {
                out.push(Event::Metadata(json!({"finish_reason": reason}).to_string()));
            }
            self.finish_reason = Some(reason.to_owned());
        }
        Ok(Progress::More)
    }
}

/// The usage counts a chunk gave.
#[derive(Debug, Default)]
struct Counts {
    /// `usageMetadata.promptTokenCount`.
    prompt: Option<u64>,
    /// `usageMetadata.candidatesTokenCount`.
    candidates: Option<u64>,
}

/// The text and counts of a chunk that is one more piece of the answer (nearly every chunk),
/// read in one pass with no tree: one candidate, whose content is one part with a string
/// `text` (no `thought`, no `functionCall`) and which has no `finishReason`, and no `error` or
/// `promptFeedback`. Counts are plain integers. Every other field (the role, the model
/// version, the response ID, safety ratings, other counts) is skipped, as the whole parse
/// ignores it. `None` at any other chunk, which serde then reads in full.
fn text_chunk(data: &str) -> Option<(Cow<'_, str>, Counts)> {
    let (mut text, mut seen, mut counts) = (None, 0, Counts::default());
    skim::object(data, |key, s| match key {
        k if skim::is(k, "candidates") => {
            skim::first(&mut seen, 1)?;
            let mut candidates = 0;
            s.array(|s| {
                candidates += 1;
                let mut fields = 0;
                s.object(|key, s| match key {
                    k if skim::is(k, "content") => skim::first(&mut fields, 1).and_then(|()| content(s, &mut text)),
                    k if skim::is(k, "finishReason") => None,
                    _ => s.skip(),
                })
            })?;
            (candidates == 1).then_some(())
        }
        k if skim::is(k, "usageMetadata") => {
            skim::first(&mut seen, 2)?;
            let mut fields = 0;
            s.object(|key, s| match key {
                k if skim::is(k, "promptTokenCount") => {
                    skim::first(&mut fields, 1)?;
                    counts.prompt = Some(skim::unsigned(s)?);
                    Some(())
                }
                k if skim::is(k, "candidatesTokenCount") => {
                    skim::first(&mut fields, 2)?;
                    counts.candidates = Some(skim::unsigned(s)?);
                    Some(())
                }
                _ => s.skip(),
            })
        }
        k if skim::is(k, "error") || skim::is(k, "promptFeedback") => None,
        _ => s.skip(),
    })?;
    Some((text?, counts))
}

/// A candidate's `content` of one text part, its text kept in `text`.
fn content<'a>(s: &mut skim::Skim<'a>, text: &mut Option<Cow<'a, str>>) -> Option<()> {
    let mut fields = 0;
    s.object(|key, s| match key {
        k if skim::is(k, "parts") => {
            skim::first(&mut fields, 1)?;
            let mut parts = 0;
            s.array(|s| {
                parts += 1;
                (parts == 1).then_some(())?;
                let mut part = 0;
                s.object(|key, s| match key {
                    k if skim::is(k, "text") => skim::first(&mut part, 1).and_then(|()| skim::once(text, s.string()?)),
                    k if skim::is(k, "thought") || skim::is(k, "functionCall") => None,
                    _ => s.skip(),
                })
            })
        }
        _ => s.skip(),
    })
}

/// What one part of a candidate's content is for aish.
enum Part<'a> {
    /// Answer text.
    Text(&'a str),
    /// A function call, its `args` object serialised.
    Call(ToolCall),
}

/// A part's text or function call; `None` for a thought summary or a part aish does not show.
fn read_part(part: &Value) -> Option<Part<'_>> {
    if let Some(function) = part.get("functionCall") {
        let field = |key: &str| function.get(key).and_then(Value::as_str).unwrap_or("");
        return Some(Part::Call(call(field("id"), field("name"), function.get("args"))));
    }
    if part.get("thought").and_then(Value::as_bool) == Some(true) {
        return None;
    }
    part.get("text").and_then(Value::as_str).map(Part::Text)
}

/// The message of a Google API error object (`{"code", "message", "status"}`).
fn error_text(error: &Value) -> String {
    let message = error.get("message").and_then(Value::as_str);
    match (error.get("status").and_then(Value::as_str), message) {
        (Some(status), Some(message)) => format!("{status}: {message}"),
        (None, Some(message)) => message.to_owned(),
        _ => error.to_string(),
    }
}

/// The URL to ask: the configured one (any `:generateContent` / `:streamGenerateContent` it
/// ends with swapped for the right method; the configured model appended when it names none),
/// then `:streamGenerateContent?alt=sse` or `:generateContent`, its own query kept.
fn endpoint(config: &Config, stream: bool) -> String {
    let (base, query) = match config.url.split_once('?') {
        Some((base, query)) => (base, query),
        None => (config.url.as_str(), ""),
    };
    let mut base = base.trim_end_matches('/');
    for method in [":streamGenerateContent", ":generateContent"] {
        if let Some(stripped) = base.strip_suffix(method) {
            base = stripped;
        }
    }
    let mut url = base.to_owned();
    if let Some(model) = config.model.as_deref().map(|m| m.trim_start_matches("models/")).filter(|m| !m.is_empty()) {
        if url.ends_with("/models") {
            url = format!("{url}/{model}");
        } else if !url.contains("/models/") {
            url = format!("{url}/models/{model}");
        }
    }
    url.push_str(if stream { ":streamGenerateContent" } else { ":generateContent" });
    let mut params: Vec<&str> = query.split('&').filter(|p| !p.is_empty() && !p.starts_with("alt=")).collect();
    if stream {
        params.insert(0, "alt=sse");
    }
    if !params.is_empty() {
        url.push('?');
        url.push_str(&params.join("&"));
    }
    url
}

#[cfg(test)]
mod tests {
    use aish_plugin_sdk::{ConnectOptions, Event, Role, Usage};
    use proptest::prelude::*;
    use serde_json::{Value, json};

    use crate::testing::{body, outgoing, plain, run, text, tool};
    use crate::{Dialect, Progress};

    fn gemini(url: &str, model: Option<&str>) -> Dialect {
        Dialect::new(ConnectOptions {
            url: url.into(),
            dialect: "gemini".into(),
            model: model.map(str::to_owned),
            api_key: Some("AIza-test".into()),
            settings: r#"{"temperature":0.5,"max_tokens":256}"#.into(),
        })
        .unwrap()
    }

    const MODEL_URL: &str = "https://generativelanguage.googleapis.com/v1beta/models/gemini-2.0-flash";

    fn usage(input: u64, output: u64) -> Event {
        Event::Done(Some(Usage { input_tokens: Some(input), output_tokens: Some(output) }))
    }

    #[test]
    fn gemini_urls_per_method() {
        let url = |configured: &str, model: Option<&str>, stream: bool| {
            gemini(configured, model)
                .request(&aish_plugin_sdk::Outgoing { stream, ..plain("hi") })
                .unwrap()
                .url
                .unwrap()
        };
        assert_eq!(url(MODEL_URL, None, true), format!("{MODEL_URL}:streamGenerateContent?alt=sse"));
        assert_eq!(url(MODEL_URL, None, false), format!("{MODEL_URL}:generateContent"));
        assert_eq!(
            url(&format!("{MODEL_URL}:generateContent"), None, true),
            format!("{MODEL_URL}:streamGenerateContent?alt=sse")
        );
        assert_eq!(
            url(&format!("{MODEL_URL}:streamGenerateContent?alt=sse"), None, false),
            format!("{MODEL_URL}:generateContent")
        );
        assert_eq!(
            url(&format!("{MODEL_URL}?x=1"), Some("other"), true),
            format!("{MODEL_URL}:streamGenerateContent?alt=sse&x=1")
        );
        let base = "https://generativelanguage.googleapis.com/v1beta";
        assert_eq!(url(base, Some("models/gemini-2.0-flash"), false), format!("{MODEL_URL}:generateContent"));
        assert_eq!(
            url(&format!("{base}/models/"), Some("gemini-2.0-flash"), false),
            format!("{MODEL_URL}:generateContent")
        );
    }

    #[test]
    fn gemini_request_shape() {
        let d = gemini(MODEL_URL, None);
        let context = r#"{"pipeline_position":2,"previous_ai":"apollo","previous_response":"PREV","session_id":"s-1","memory_hints":["metric units"]}"#;
        let message =
            outgoing("PREV", Some("You are Athena."), &[(Role::User, "hi"), (Role::Assistant, "hello")], context);
        let shape = d.request(&message).unwrap();
        assert!(shape.headers.contains(&("x-goog-api-key".into(), "AIza-test".into())));
        let sent = String::from_utf8(shape.body.clone()).unwrap();
        assert_eq!(sent.matches("PREV").count(), 1);
        assert!(!sent.contains("s-1"));
        assert_eq!(
            body(&d, &message),
            json!({
                "contents": [
                    {"role": "user", "parts": [{"text": "hi"}]},
                    {"role": "model", "parts": [{"text": "hello"}]},
                    {"role": "user", "parts": [{"text": "PREV"}]},
                ],
                "systemInstruction": {"parts": [{"text": "You are Athena.\n\nYou are stage 2 of a pipeline; your input is the answer of apollo.\nMemory hints:\n- metric units"}]},
                "generationConfig": {"temperature": 0.5, "maxOutputTokens": 256},
            })
        );
        assert!(body(&d, &plain("hi")).get("systemInstruction").is_none());
    }

    /// google-gemini/generative-ai-js test-utils/mock-responses/streaming-success-search-grounding.txt:
    /// text chunks with growing `usageMetadata`, then a chunk with empty content and grounding.
    #[test]
    fn gemini_stream_as_recorded_and_done_at_close() {
        let mut d = gemini(MODEL_URL, None);
        let (out, progress) = run(
            &mut d,
            &[
                (
                    "message",
                    r#"{"candidates": [{"content": {"parts": [{"text": "The"}], "role": "model"}, "finishReason": "STOP", "index": 0}], "usageMetadata": {"promptTokenCount": 8, "candidatesTokenCount": 1, "totalTokenCount": 9}}"#,
                ),
                (
                    "message",
                    r#"{"candidates": [{"content": {"parts": [{"text": " current stock price for Alphabet Inc. (Google) Class C (GOOG)"}], "role": "model"}, "finishReason": "STOP", "index": 0}], "usageMetadata": {"promptTokenCount": 8, "candidatesTokenCount": 17, "totalTokenCount": 25}}"#,
                ),
                (
                    "message",
                    r#"{"candidates": [{"content": {"parts": [{"text": " financial websites like Google Finance or TradingView.\n"}], "role": "model"}, "finishReason": "STOP", "index": 0}], "usageMetadata": {"promptTokenCount": 8, "candidatesTokenCount": 106, "totalTokenCount": 114}}"#,
                ),
                (
                    "message",
                    r#"{"candidates": [{"content": {}, "index": 0, "groundingMetadata": {"webSearchQueries": ["what is the current google stock price"]}}], "usageMetadata": {"promptTokenCount": 8, "candidatesTokenCount": 106, "totalTokenCount": 114}}"#,
                ),
            ],
        );
        assert_eq!(progress, Progress::More, "the close ends a Gemini stream");
        assert_eq!(
            text(&out),
            "The current stock price for Alphabet Inc. (Google) Class C (GOOG) financial websites like Google Finance or TradingView.\n"
        );
        assert!(!d.has_end_marker());
        let mut end = Vec::new();
        assert_eq!(d.on_close(&mut end), Progress::Finished);
        assert_eq!(end, vec![usage(8, 106)]);
    }

    #[test]
    fn gemini_close_before_a_finish_reason_cuts_the_answer() {
        let mut d = gemini(MODEL_URL, None);
        let (out, _) = run(
            &mut d,
            &[(
                "message",
                r#"{"candidates": [{"content": {"parts": [{"text": "Half"}], "role": "model"}, "index": 0}]}"#,
            )],
        );
        assert_eq!(text(&out), "Half");
        assert!(d.has_end_marker());
        let mut end = Vec::new();
        assert_eq!((d.on_close(&mut end), end.is_empty()), (Progress::More, true));
    }

    /// streaming-success-function-call-short.txt of generative-ai-js, then an error chunk in
    /// the shape of Google API errors (`{"error": {"code", "message", "status"}}`).
    #[test]
    fn gemini_function_call_and_error_mid_stream() {
        let mut d = gemini(MODEL_URL, None);
        let (out, progress) = run(
            &mut d,
            &[
                (
                    "message",
                    r#"{"candidates": [{"content": {"parts": [{"text": "Checking"}], "role": "model"}, "index": 0}]}"#,
                ),
                (
                    "message",
                    r#"{"candidates": [{"content": {"parts": [{ "functionCall": { "name": "getTemperature", "args": { "city": "San Jose" } } }]}, "finishReason": "STOP","index": 0,"safetyRatings": [{"category": "HARM_CATEGORY_SEXUALLY_EXPLICIT","probability": "NEGLIGIBLE"}]}],"promptFeedback": {"safetyRatings": [{"category": "HARM_CATEGORY_SEXUALLY_EXPLICIT","probability": "NEGLIGIBLE"}]}}"#,
                ),
                (
                    "message",
                    r#"{"error": {"code": 503, "message": "The model is overloaded. Please try again later.", "status": "UNAVAILABLE"}}"#,
                ),
            ],
        );
        assert_eq!(
            out,
            vec![
                Event::Token("Checking".into()),
                tool("", "getTemperature", r#"{"city":"San Jose"}"#),
                Event::Error("UNAVAILABLE: The model is overloaded. Please try again later.".into()),
            ]
        );
        assert_eq!(progress, Progress::Finished);
    }

    /// streaming-failure-prompt-blocked-safety.txt of generative-ai-js: no candidates at all.
    #[test]
    fn gemini_blocked_prompt_fails() {
        let mut d = gemini(MODEL_URL, None);
        let (out, progress) = run(
            &mut d,
            &[(
                "message",
                r#"{"promptFeedback": {"blockReason": "SAFETY","safetyRatings": [{"category": "HARM_CATEGORY_HATE_SPEECH","probability": "HIGH"}]}}"#,
            )],
        );
        assert_eq!(
            (out, progress),
            (vec![Event::Error("Gemini blocked the prompt (SAFETY)".into())], Progress::Finished)
        );
    }

    /// unary-success-search-grounding.json of generative-ai-js (cut to its text and usage), and
    /// a whole answer holding a function call and a thought summary.
    #[test]
    fn gemini_whole_answers() {
        let d = gemini(MODEL_URL, None);
        let whole = d
            .parse_answer(br#"{"candidates": [{"content": {"parts": [{"text": "The current stock price for Alphabet Inc (Google) Class C (GOOG) is $166.94."}], "role": "model"}, "finishReason": "STOP", "index": 0}], "usageMetadata": {"promptTokenCount": 8, "candidatesTokenCount": 70, "totalTokenCount": 78}}"#)
            .unwrap();
        assert_eq!(
            whole.into_events(),
            vec![
                Event::Token("The current stock price for Alphabet Inc (Google) Class C (GOOG) is $166.94.".into()),
                usage(8, 70)
            ]
        );
        let whole = d
            .parse_answer(br#"{"candidates": [{"content": {"parts": [{"text": "pondering", "thought": true}, {"functionCall": {"id": "c1", "name": "get_weather", "args": {"location": "Paris"}}}], "role": "model"}, "finishReason": "STOP"}], "usageMetadata": {"promptTokenCount": 15, "candidatesTokenCount": 4}}"#)
            .unwrap();
        assert_eq!(whole.into_events(), vec![tool("c1", "get_weather", r#"{"location":"Paris"}"#), usage(15, 4)]);
        assert!(d.parse_answer(br#"{"promptFeedback": {"blockReason": "SAFETY"}}"#).is_err());
    }

    /// The chunks a stream is made of take the one-pass reader, as Google's API sends them
    /// (printed with spaces, the prompt's counts by modality, a Gemini 3 part's
    /// `thoughtSignature`); its last chunk, with `finishReason`, does not.
    #[test]
    fn common_chunks_are_read_in_one_pass() {
        let chunks = [
            r#"{"candidates": [{"content": {"parts": [{"text": "Hel"}],"role": "model"},"index": 0}],"usageMetadata": {"promptTokenCount": 5,"totalTokenCount": 5,"promptTokensDetails": [{"modality": "TEXT","tokenCount": 5}]},"modelVersion": "gemini-2.0-flash","responseId": "mD2zZ9ufLZ2z"}"#,
            r#"{"candidates":[{"content":{"parts":[{"text":"lo \"there\"","thoughtSignature":"EjQKMgEM"}],"role":"model"},"index":0}],"usageMetadata":{"promptTokenCount":5,"candidatesTokenCount":3,"totalTokenCount":8},"modelVersion":"gemini-3.1-flash-lite","responseId":"Il0taoSYJ5Cez7"}"#,
        ];
        let read: Vec<_> = chunks.iter().map(|c| super::text_chunk(c).map(|(text, counts)| (text.into_owned(), counts.prompt, counts.candidates))).collect();
        assert_eq!(read, [Some(("Hel".into(), Some(5), None)), Some(("lo \"there\"".into(), Some(5), Some(3)))]);
        let last = r#"{"candidates":[{"content":{"parts":[{"text":"!"}],"role":"model"},"finishReason":"STOP","index":0}]}"#;
        assert!(super::text_chunk(last).is_none());
        let mut d = gemini("https://g.example/v1beta/models/gemini-2.0-flash", None);
        let (out, _) = run(&mut d, &[("message", chunks[0]), ("message", chunks[1]), ("message", last)]);
        assert_eq!(text(&out), "Hello \"there\"!");
        let mut out = Vec::new();
        d.on_close(&mut out);
        assert_eq!(out, [Event::Done(Some(Usage { input_tokens: Some(5), output_tokens: Some(3) }))]);
    }

    /// What one chunk gives a fresh dialect: its events, progress (or error) and the counts.
    type Reading = (Vec<Event>, Result<Progress, String>, Option<u64>, Option<u64>);

    fn read(data: &str, whole: bool) -> Reading {
        let (mut gemini, mut tally, mut out) = (super::Gemini::default(), crate::provider::Tally::default(), Vec::new());
        let message = crate::Message { event: "message", data, id: "" };
        let progress = match whole {
            true => gemini.whole_chunk(data, &mut tally, &mut out),
            false => crate::provider::Provider::on_message(&mut gemini, &message, &mut tally, &mut out),
        };
        (out, progress.map_err(|e| e.message), tally.input_tokens, tally.output_tokens)
    }

    /// A JSON object as text, keys in order (a key given twice kept, as a server could send it).
    fn object(pairs: &[(&str, Value)]) -> String {
        let fields: Vec<String> = pairs.iter().map(|(k, v)| format!("{}:{v}", json!(k))).collect();
        format!("{{{}}}", fields.join(","))
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 3000, ..Default::default() })]

        /// The one-pass reader gives what the whole parse gives, for chunks built around the
        /// common shape with what servers add or vary: other keys, thoughts, function calls,
        /// several parts or candidates, a finish reason, an error, blocked prompts, odd counts,
        /// keys given twice, escapes, spaces.
        #[test]
        fn chunks_read_in_one_pass_read_as_in_full(
            text in "(\\PC|[\"\\\\\n\t\u{1}é😀 ]){0,12}",
            text_value in prop::option::weighted(0.2, prop_oneof![Just(Value::Null), Just(json!(3))]),
            part_extra in prop::option::weighted(0.5, prop::sample::select(vec![
                ("thought", json!(true)), ("thought", json!(false)), ("thoughtSignature", json!("c2ln")),
                ("functionCall", json!({"name": "f", "args": {"a": 1}})), ("text", json!("again")),
            ])),
            parts in prop::sample::select(vec![1usize, 1, 1, 0, 2]),
            candidates in prop::sample::select(vec![1usize, 1, 1, 0, 2]),
            candidate_extra in prop::option::weighted(0.4, prop::sample::select(vec![
                ("finishReason", json!("STOP")), ("finishReason", json!("MAX_TOKENS")), ("index", json!(0)),
                ("safetyRatings", json!([{"category": "HARM_CATEGORY_HATE_SPEECH", "probability": "NEGLIGIBLE"}])),
                ("content", json!({"parts": [{"text": "twice"}]})),
            ])),
            counts in prop::collection::vec(prop::option::weighted(0.7, prop_oneof![
                4 => any::<u32>().prop_map(|n| json!(n)),
                1 => prop::sample::select(vec![json!(null), json!(-1), json!(2.5), json!(1e3), json!(u64::MAX), json!("7")]),
            ]), 2),
            top_extra in prop::option::weighted(0.4, prop::sample::select(vec![
                ("error", json!({"code": 429, "message": "quota", "status": "RESOURCE_EXHAUSTED"})),
                ("promptFeedback", json!({"blockReason": "SAFETY"})), ("modelVersion", json!("gemini-2.5-flash")),
                ("responseId", json!("r-1")), ("usageMetadata", json!({"promptTokenCount": 1})), ("candidates", json!([])),
            ])),
            spaced in any::<bool>(),
        ) {
            let mut part = vec![("text", text_value.unwrap_or_else(|| json!(text)))];
            part.extend(part_extra);
            let part = object(&part);
            let content = format!("{{\"parts\":[{}],\"role\":\"model\"}}", vec![part; parts].join(","));
            let mut candidate = vec![("content", json!(null))];
            candidate.extend(candidate_extra);
            let candidate = object(&candidate).replacen("\"content\":null", &format!("\"content\":{content}"), 1);
            let mut usage = vec![("totalTokenCount", json!(40))];
            for (key, count) in ["promptTokenCount", "candidatesTokenCount"].into_iter().zip(&counts) {
                usage.extend(count.clone().map(|c| (key, c)));
            }
            let mut top = vec![("candidates", json!(null)), ("usageMetadata", json!(null))];
            top.extend(top_extra);
            let data = object(&top)
                .replacen("\"candidates\":null", &format!("\"candidates\":[{}]", vec![candidate; candidates].join(",")), 1)
                .replacen("\"usageMetadata\":null", &format!("\"usageMetadata\":{}", object(&usage)), 1);
            let data = if spaced { data.replace(',', ", ").replace(':', ": ") } else { data };
            prop_assert_eq!(read(&data, false), read(&data, true), "{}", data);
        }
    }
}
