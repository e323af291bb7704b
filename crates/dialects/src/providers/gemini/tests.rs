//! The Gemini dialect's tests: requests and streams as Google documents them, and the one-pass
//! reader against the whole parse.
use aish_plugin_sdk::{ConnectOptions, Event, Role, Usage};
use proptest::prelude::*;
use serde_json::json;

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

/// What one chunk gives a dialect that has read counts before: its events, progress (or
/// error), the counts then, and the finish reason it remembers.
type Reading = (Vec<Event>, Result<Progress, String>, Option<u64>, Option<u64>, Option<String>);

fn read(data: &str, whole: bool) -> Reading {
    let mut gemini = super::Gemini::default();
    let mut tally = crate::provider::Tally { input_tokens: Some(100), output_tokens: Some(200), ..Default::default() };
    let mut out = Vec::new();
    let message = crate::Message { event: "message", data, id: "" };
    let progress = match whole {
        true => gemini.whole_chunk(data, &mut tally, &mut out),
        false => crate::provider::Provider::on_message(&mut gemini, &message, &mut tally, &mut out),
    };
    (out, progress.map_err(|e| e.message), tally.input_tokens, tally.output_tokens, gemini.finish_reason)
}

/// A JSON object as text from keys and their values' text, in order (a key given twice
/// kept, as a server could send it).
fn object(pairs: &[(&str, String)]) -> String {
    let fields: Vec<String> = pairs.iter().map(|(k, v)| format!("{}:{v}", json!(k))).collect();
    format!("{{{}}}", fields.join(","))
}

/// An array's items by `shape`: none, `item`, `item` twice, or `item` after or before `other`.
fn arranged(shape: u8, item: String, other: String) -> Vec<String> {
    match shape {
        0 => vec![],
        1 => vec![item],
        2 => vec![item.clone(), item],
        3 => vec![other, item],
        _ => vec![item, other],
    }
}

/// serde_json's key for a raw value: first in an object, it changes what serde reads.
const RAW: &str = "$serde_json::private::RawValue";

proptest! {
    #![proptest_config(ProptestConfig { cases: 4000, ..Default::default() })]

    /// The one-pass reader gives what the whole parse gives, for chunks built around the
    /// common shape with what servers add or vary: other keys, thoughts, function calls,
    /// parts and candidates without text, several of them, a finish reason, an error,
    /// blocked prompts, odd counts, keys given twice, serde's raw-value key, escapes,
    /// whitespace. The common shape itself must take the one-pass reader.
    #[test]
    fn chunks_read_in_one_pass_read_as_in_full(
        text in "(\\PC|[\"\\\\\n\t\u{1}é😀/ ]){0,12}",
        text_value in prop::option::weighted(0.15, prop::sample::select(vec!["null", "3", "[\"a\"]"])),
        part_extra in prop::option::weighted(0.4, prop::sample::select(vec![
            ("thought", "true"), ("thought", "false"), ("thoughtSignature", "\"c2ln\""),
            ("functionCall", "{\"name\":\"f\",\"args\":{\"a\":1}}"), ("text", "\"again\""), ("text", "null"),
        ])),
        // One part; none; the same twice; one without text before or after it.
        parts in prop::sample::select(vec![1u8, 1, 1, 0, 2, 3, 4]),
        // One candidate; none; the same twice; one without content before or after it.
        candidates in prop::sample::select(vec![1u8, 1, 1, 0, 2, 3, 4]),
        candidate_extra in prop::option::weighted(0.4, prop::sample::select(vec![
            ("finishReason", "\"STOP\""), ("finishReason", "\"MAX_TOKENS\""), ("index", "0"),
            ("safetyRatings", "[{\"category\":\"HARM_CATEGORY_HATE_SPEECH\",\"probability\":\"NEGLIGIBLE\"}]"),
            ("content", "{\"parts\":[]}"), ("content", "{\"parts\":[{\"text\":\"twice\"}]}"),
        ])),
        content_extra in prop::option::weighted(0.2, prop::sample::select(vec![
            ("parts", "[]"), ("parts", "[{\"text\":\"twice\"}]"), ("role", "\"user\""),
        ])),
        counts in prop::collection::vec(prop::option::weighted(0.7, prop_oneof![
            4 => any::<u32>().prop_map(|n| n.to_string()),
            1 => prop::sample::select(vec!["null", "-1", "-0", "2.5", "1e3", "18446744073709551615", "18446744073709551616", "\"7\"", "1.0"]).prop_map(str::to_owned),
        ]), 2),
        count_twice in any::<bool>(),
        top_extra in prop::option::weighted(0.4, prop::sample::select(vec![
            ("error", "{\"code\":429,\"message\":\"quota\",\"status\":\"RESOURCE_EXHAUSTED\"}"),
            ("promptFeedback", "{\"blockReason\":\"SAFETY\"}"), ("modelVersion", "\"gemini-2.5-flash\""),
            ("responseId", "\"r-1\""), ("usageMetadata", "{\"promptTokenCount\":1}"), ("candidates", "[]"),
            ("candidates", "[{\"index\":0}]"),
        ])),
        // serde's raw-value key first in the top object, the usage, a candidate or a part.
        raw in prop::option::weighted(0.1, 0..4u8),
        spacing in 0..3u8,
        escaped in any::<bool>(),
    ) {
        let with_raw = |level: u8, mut pairs: Vec<(&str, String)>| {
            if raw == Some(level) {
                pairs.insert(0, (RAW, "\"{\\\"promptTokenCount\\\":9}\"".to_owned()));
            }
            object(&pairs)
        };
        let mut part = vec![("text", text_value.map_or_else(|| json!(text).to_string(), str::to_owned))];
        part.extend(part_extra.map(|(k, v)| (k, v.to_owned())));
        let part = with_raw(3, part);
        let other_part = "{\"thoughtSignature\":\"c2ln\"}".to_owned();
        let parts = arranged(parts, part, other_part);
        let mut content = vec![("parts", format!("[{}]", parts.join(","))), ("role", "\"model\"".to_owned())];
        content.extend(content_extra.map(|(k, v)| (k, v.to_owned())));
        let mut candidate = vec![("content", object(&content))];
        candidate.extend(candidate_extra.map(|(k, v)| (k, v.to_owned())));
        let candidate = with_raw(2, candidate);
        let other_candidate = "{\"index\":1,\"safetyRatings\":[]}".to_owned();
        let candidates = arranged(candidates, candidate, other_candidate);
        let mut usage = vec![("totalTokenCount", "40".to_owned())];
        for (key, count) in ["promptTokenCount", "candidatesTokenCount"].into_iter().zip(&counts) {
            usage.extend(count.clone().map(|c| (key, c)));
        }
        if count_twice {
            usage.push(("promptTokenCount", "41".to_owned()));
        }
        let mut top = vec![("candidates", format!("[{}]", candidates.join(","))), ("usageMetadata", with_raw(1, usage))];
        top.extend(top_extra.map(|(k, v)| (k, v.to_owned())));
        let data = with_raw(0, top);
        let data = if escaped { data.replace('😀', "\\ud83d\\ude00").replace('é', "\\u00e9").replace('/', "\\/") } else { data };
        let data = match spacing {
            0 => data,
            1 => data.replace(',', ", ").replace(':', ": "),
            _ => format!("\n\t{}\r\n ", data.replace(',', " ,\n\t").replace(':', " : ").replace('{', "{ ").replace(']', " ]")),
        };
        let got = read(&data, false);
        prop_assert_eq!(&got, &read(&data, true), "{}", data);
        let common = (text_value, part_extra, content_extra, candidate_extra, top_extra, raw) == (None, None, None, None, None, None)
            && parts.len() == 1 && candidates.len() == 1 && !count_twice
            // The widest spacing puts line breaks inside strings that hold what it spaces out.
            && (spacing < 2 || !text.contains([',', ':', '{', ']']))
            && counts.iter().flatten().all(|c| c.bytes().all(|b| b.is_ascii_digit()) && c.parse::<u64>().is_ok());
        if common {
            prop_assert!(super::text_chunk(&data).is_some(), "the common shape takes the one-pass reader: {}", data);
        }
    }
}
