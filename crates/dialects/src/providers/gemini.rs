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
/// read in one pass with no tree: one candidate, whose content has one part with a string
/// `text` (no `thought`, no `functionCall`; parts with no text may stand beside it) and which
/// has no `finishReason`, and no `error`. Counts are plain integers. Every other field (the
/// role, the model version, the response ID, safety ratings, other counts, a prompt's
/// feedback, which matters only with no candidate) is skipped, as the whole parse ignores it.
/// `None` at any other chunk, which serde then reads in full.
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
        k if skim::is(k, "error") => None,
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
            // A second part with text is refused by `once`; one without is skipped, as the
            // whole parse skips it.
            s.array(|s| {
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
mod tests;
