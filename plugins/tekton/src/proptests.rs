//! Property tests of the Tekton line reader (issue 13, "Parsers that never panic"): the shared
//! line splitter with `\n` ends and the protocol's line parser, over arbitrary bytes in
//! arbitrary reads and over real protocol lines with LF or CRLF ends and a last line without
//! one: never a panic, and the same lines and answer whatever the reads.

use aish_dialects::chunks::{config, cut};
use aish_dialects::lines::{LineEnd, Lines};
use aish_plugin_sdk::{Event, Usage};
use proptest::prelude::*;
use proptest::sample::Index;
use serde_json::{Map, Value, json};

use crate::protocol::{Line, parse_line};

const ID: &str = "r1";

/// What the reader made of a connection: each line, then what each non-blank line means (up to
/// and including the first that ends the answer or fails it), as the transport reads them: the
/// lines of every read, then at the close the last line without its newline.
#[derive(Debug, PartialEq)]
struct Read {
    lines: Vec<Vec<u8>>,
    meanings: Vec<Result<Line, String>>,
}

fn read(chunks: &[&[u8]]) -> Read {
    let mut splitter = Lines::new(LineEnd::Lf);
    let mut lines = Vec::new();
    for chunk in chunks {
        splitter.feed(chunk, |line| lines.push(line.to_vec()));
    }
    let rest = splitter.finish();
    if !rest.is_empty() {
        lines.push(rest);
    }
    let mut meanings = Vec::new();
    for line in lines.iter().filter(|line| !line.iter().all(u8::is_ascii_whitespace)) {
        let meaning = parse_line(line, ID);
        let over = matches!(meaning, Err(_) | Ok(Line::Events(_, true)));
        meanings.push(meaning);
        if over {
            break;
        }
    }
    Read { lines, meanings }
}

/// The lines of the whole input, the obvious way: cut at each `\n`, one `\r` before it dropped,
/// the last piece a line when something is left of it.
fn reference_lines(input: &[u8]) -> Vec<Vec<u8>> {
    let mut lines: Vec<Vec<u8>> = input.split(|&b| b == b'\n').map(<[u8]>::to_vec).collect();
    for line in &mut lines {
        if line.last() == Some(&b'\r') {
            line.pop();
        }
    }
    // The last piece has no newline: nothing left, or only a `\r`, is no line.
    if lines.last().is_some_and(Vec::is_empty) {
        lines.pop();
    }
    lines
}

/// Protocol lines, bits of JSON, blanks and invalid UTF-8.
const PIECES: &[&[u8]] = &[
    br#"{"type":"stream_chunk","request_id":"r1","content":"Hel"}"#,
    br#"{"type":"stream_end","usage":{"input_tokens":3}}"#,
    br#"{"type":"ping","request_id":"r1"}"#,
    br#"{"type":"stream_error","error":{"message":"x"}}"#,
    br#"{"type":"chat_response","response":"whole"}"#,
    br#"{"type":"heartbeat"}"#,
    br#"{"type":"#,
    br#""stream_chunk""#,
    br#"","#,
    b"{",
    b"}",
    b"\"",
    b" ",
    b"\t",
    b"\xE2\x82",
    b"\xFF",
];

/// Line ends, alone and in pairs.
const ENDS: &[&[u8]] = &[b"\n", b"\r\n", b"\r", b"\r\r\n", b"\n\n"];

/// Bytes like a Tekton connection's: [`PIECES`], [`ENDS`] and random runs.
fn connection_bytes() -> impl Strategy<Value = Vec<u8>> {
    let piece = prop_oneof![
        3 => prop::sample::select(PIECES).prop_map(<[u8]>::to_vec),
        3 => prop::sample::select(ENDS).prop_map(<[u8]>::to_vec),
        2 => prop::collection::vec(any::<u8>(), 0..8),
    ];
    prop::collection::vec(piece, 0..48).prop_map(|pieces| pieces.concat())
}

proptest! {
    #![proptest_config(config(2000))]

    /// Any bytes, whole, cut at random places and a byte a read: never a panic, the reference's
    /// lines, and the same meaning of every line whatever the reads.
    #[test]
    fn tekton_same_lines_whatever_the_reads(
        input in prop_oneof![3 => connection_bytes(), 1 => prop::collection::vec(any::<u8>(), 0..256)],
        cuts in prop::collection::vec(any::<Index>(), 0..24),
    ) {
        let whole = read(&[&input]);
        prop_assert_eq!(&whole.lines, &reference_lines(&input));
        prop_assert!(whole.lines.iter().all(|line| !line.contains(&b'\n')));
        prop_assert_eq!(&read(&cut(&input, &cuts)), &whole, "cut");
        let bytes: Vec<&[u8]> = input.chunks(1).collect();
        prop_assert_eq!(&read(&bytes), &whole, "a byte a read");
    }
}

/// One line a specialist sends.
#[derive(Clone, Debug)]
enum Sent {
    /// A piece of the answer under `content`, `chunk` or `response`, for this request, no
    /// request, or another one.
    Chunk(&'static str, String, Option<bool>),
    Ping(Option<bool>),
    Heartbeat,
    Status,
    Blank(String),
    End(Option<(u64, u64)>),
    Whole(String),
    Error(String),
}

/// Text with any characters, line ends and JSON's escapes included.
fn text() -> impl Strategy<Value = String> {
    prop_oneof![3 => ".{0,16}", 1 => "[\r\n\"\\\\/ \u{0}\u{2028}é]{0,6}"]
}

fn sent() -> impl Strategy<Value = Sent> {
    let whose = || prop::option::of(prop::bool::weighted(0.8));
    prop_oneof![
        8 => (prop::sample::select(&["content", "chunk", "response"][..]), text(), whose())
            .prop_map(|(key, text, whose)| Sent::Chunk(key, text, whose)),
        1 => whose().prop_map(Sent::Ping),
        1 => Just(Sent::Heartbeat),
        1 => Just(Sent::Status),
        1 => "[ \t\r]{0,3}".prop_map(Sent::Blank),
        1 => prop::option::of((any::<u64>(), any::<u64>())).prop_map(Sent::End),
        1 => text().prop_map(Sent::Whole),
        1 => text().prop_map(Sent::Error),
    ]
}

/// The line for `sent`, without its end.
fn line(sent: &Sent) -> String {
    let id = |whose: &Option<bool>, value: &mut Value| {
        if let Some(mine) = whose {
            value["request_id"] = json!(if *mine { ID } else { "other" });
        }
    };
    let value = match sent {
        Sent::Chunk(key, text, whose) => {
            let mut value = json!({"type": "stream_chunk"});
            value[*key] = json!(text);
            id(whose, &mut value);
            value
        }
        Sent::Ping(whose) => {
            let mut value = json!({"type": "ping"});
            id(whose, &mut value);
            value
        }
        Sent::Heartbeat => json!({"type": "heartbeat"}),
        Sent::Status => json!({"type": "status", "state": "thinking"}),
        Sent::Blank(blank) => return blank.clone(),
        Sent::End(None) => json!({"type": "stream_end"}),
        Sent::End(Some((i, o))) => json!({"type": "stream_end", "usage": {"input_tokens": i, "output_tokens": o}}),
        Sent::Whole(text) => json!({"type": "chat_response", "response": text}),
        Sent::Error(text) => json!({"type": "stream_error", "error": text}),
    };
    value.to_string()
}

/// The events the answer should have: tokens for this request, heartbeats, then its end.
fn expected(lines: &[Sent]) -> Vec<Event> {
    let mut events = Vec::new();
    for sent in lines {
        match sent {
            Sent::Chunk(_, text, whose) if *whose != Some(false) && !text.is_empty() => {
                events.push(Event::Token(text.clone()))
            }
            Sent::Ping(whose) if *whose != Some(false) => events.push(Event::Heartbeat),
            Sent::Heartbeat => events.push(Event::Heartbeat),
            Sent::End(usage) => {
                let usage = usage.map(|(i, o)| Usage { input_tokens: Some(i), output_tokens: Some(o) });
                events.push(Event::Done(usage));
                break;
            }
            Sent::Whole(text) => {
                events.extend([Event::Token(text.clone()), Event::Done(None)]);
                break;
            }
            Sent::Error(text) => {
                events.push(Event::Error(text.clone()));
                break;
            }
            _ => {}
        }
    }
    events
}

proptest! {
    #![proptest_config(config(2000))]

    /// Protocol lines with LF or CRLF ends, the last one sometimes without: whatever the reads,
    /// the answer is the lines' tokens and its end, and a ping is answered with a pong line.
    #[test]
    fn tekton_protocol_lines_whatever_the_reads(
        lines in prop::collection::vec((sent(), any::<bool>()), 0..12),
        last_end in any::<bool>(),
        cuts in prop::collection::vec(any::<Index>(), 0..24),
    ) {
        let mut input = Vec::new();
        for (i, (sent, crlf)) in lines.iter().enumerate() {
            input.extend_from_slice(line(sent).as_bytes());
            if i + 1 < lines.len() || last_end {
                input.extend_from_slice(if *crlf { b"\r\n" } else { b"\n" });
            }
        }
        let sent: Vec<Sent> = lines.into_iter().map(|(sent, _)| sent).collect();
        let whole = read(&[&input]);
        prop_assert_eq!(&read(&cut(&input, &cuts)), &whole, "cut");
        let mut events = Vec::new();
        for meaning in &whole.meanings {
            match meaning {
                Ok(Line::Events(new, _)) => events.extend(new.iter().cloned()),
                Ok(Line::Ping(pong)) => {
                    prop_assert!(pong.ends_with(b"\n"));
                    let pong: Value = serde_json::from_slice(pong).map_err(|e| TestCaseError::fail(e.to_string()))?;
                    prop_assert_eq!(&pong["type"], "pong");
                    events.push(Event::Heartbeat);
                }
                Ok(Line::Skip) => {}
                Err(e) => prop_assert!(false, "a valid line refused: {}", e),
            }
        }
        prop_assert_eq!(events, expected(&sent));
    }
}

/// Keys a Tekton message may have.
const KEYS: &[&str] =
    &["type", "request_id", "content", "chunk", "response", "error", "message", "usage", "metadata", "input_tokens"];

/// Values of `type` and other strings.
const WORDS: &[&str] =
    &["stream_chunk", "stream_end", "chat_response", "stream_error", "error", "ping", "pong", "heartbeat", "r1", ""];

fn json_value() -> impl Strategy<Value = Value> {
    let word = prop_oneof![3 => prop::sample::select(WORDS).prop_map(str::to_owned), 1 => any::<String>()];
    let key = prop_oneof![4 => prop::sample::select(KEYS).prop_map(str::to_owned), 1 => any::<String>()];
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::from),
        any::<u64>().prop_map(Value::from),
        any::<f64>().prop_map(Value::from),
        word.prop_map(Value::String),
    ];
    leaf.prop_recursive(4, 32, 6, move |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
            prop::collection::vec((key.clone(), inner), 0..6)
                .prop_map(|fields| Value::Object(fields.into_iter().collect::<Map<_, _>>())),
        ]
    })
}

proptest! {
    #![proptest_config(config(2000))]

    /// Any JSON value as a line: never a panic; an answer's end comes only with `true`, once,
    /// last; a pong is a JSON line.
    #[test]
    fn tekton_any_json_line(value in json_value()) {
        let text = value.to_string();
        match parse_line(text.as_bytes(), ID) {
            Ok(Line::Events(events, finished)) => {
                let ends = events.iter().filter(|e| matches!(e, Event::Done(_) | Event::Error(_))).count();
                prop_assert_eq!(ends, usize::from(finished), "{:?}", events);
                prop_assert!(!finished || matches!(events.last(), Some(Event::Done(_) | Event::Error(_))));
            }
            Ok(Line::Ping(pong)) => {
                prop_assert!(pong.ends_with(b"\n") && serde_json::from_slice::<Value>(&pong).is_ok());
            }
            Ok(Line::Skip) | Err(_) => {}
        }
    }
}

proptest! {
    #![proptest_config(config(200))]

    /// JSON nested deeper than the parser's recursion, in a field Tekton reads or not: an
    /// error, never a stack overflow.
    #[test]
    fn tekton_deep_json_line(
        depth in prop_oneof![0usize..200, 200usize..20_000],
        nest in prop::sample::select(&[("[", "]"), (r#"{"a":"#, "}"), (r#"{"type":"error","error":"#, "}")][..]),
        closed in any::<bool>(),
    ) {
        let (open, close) = nest;
        let mut line = open.repeat(depth);
        if closed {
            line.push_str("null");
            line.push_str(&close.repeat(depth));
        }
        let _ = parse_line(line.as_bytes(), ID);
    }
}
