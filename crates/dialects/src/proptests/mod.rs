//! Property tests (issue 13, "Parsers that never panic"): the shared line splitter over arbitrary
//! bytes cut into arbitrary reads, and every dialect's stream reader over arbitrary messages
//! (random bytes as lossy UTF-8, random JSON values, real streams mutated). Each property runs a
//! fixed number of cases so the whole set takes seconds; a failure prints the smallest input
//! proptest could shrink it to, which then belongs in a regular regression test.

use aish_plugin_sdk::Event;
use proptest::prelude::*;
use proptest::sample::Index;

use crate::chunks::{config, cut};
use serde_json::Value;

use crate::lines::{LineEnd, Lines};
use crate::testing::dialect;
use crate::{AnswerState, Message, Progress};

mod fast_paths;
mod inputs;
use inputs::*;

/// Bytes rich in line ends: random runs, `\r`, `\n`, `\r\n` and bits of JSON.
fn line_bytes() -> impl Strategy<Value = Vec<u8>> {
    let piece = prop_oneof![
        4 => prop::collection::vec(any::<u8>(), 0..8),
        2 => Just(b"\n".to_vec()),
        2 => Just(b"\r".to_vec()),
        2 => Just(b"\r\n".to_vec()),
        1 => Just(b"\r\r\n".to_vec()),
        1 => Just(br#"{"a":"b"}"#.to_vec()),
    ];
    prop::collection::vec(piece, 0..48).prop_map(|pieces| pieces.concat())
}

/// Every line and what `finish` leaves, written the obvious way over the whole input.
fn reference_lines(ends: LineEnd, input: &[u8]) -> (Vec<Vec<u8>>, Vec<u8>) {
    let mut out = Vec::new();
    let mut line = Vec::new();
    let mut i = 0;
    while i < input.len() {
        match (ends, input[i]) {
            (_, b'\n') => out.push(std::mem::take(&mut line)),
            (LineEnd::Any, b'\r') => {
                out.push(std::mem::take(&mut line));
                if input.get(i + 1) == Some(&b'\n') {
                    i += 1;
                }
            }
            (_, byte) => line.push(byte),
        }
        i += 1;
    }
    if ends == LineEnd::Lf {
        for l in out.iter_mut().chain([&mut line]) {
            if l.last() == Some(&b'\r') {
                l.pop();
            }
        }
    }
    (out, line)
}

/// Feeds `chunks`, checking after each that what is held is exactly the unfinished line.
fn split_lines(ends: LineEnd, chunks: &[&[u8]]) -> Result<(Vec<Vec<u8>>, Vec<u8>), TestCaseError> {
    let is_end = |b: &u8| *b == b'\n' || (ends == LineEnd::Any && *b == b'\r');
    let mut lines = Lines::new(ends);
    let mut out = Vec::new();
    let mut seen = Vec::new();
    for chunk in chunks {
        lines.feed(chunk, |line| out.push(line.to_vec()));
        seen.extend_from_slice(chunk);
        let unfinished = seen.len() - seen.iter().rposition(is_end).map_or(0, |end| end + 1);
        prop_assert_eq!(lines.pending(), unfinished, "held bytes after {} read(s)", seen.len());
    }
    Ok((out, lines.finish()))
}

proptest! {
    #![proptest_config(config(2000))]

    /// The line splitter gives the reference's lines whatever the reads (random cuts, one byte a
    /// read), for both kinds of line end; it holds only the unfinished line.
    #[test]
    fn lines_same_whatever_the_reads(
        input in prop_oneof![line_bytes(), prop::collection::vec(any::<u8>(), 0..512)],
        cuts in prop::collection::vec(any::<Index>(), 0..24),
    ) {
        for ends in [LineEnd::Lf, LineEnd::Any] {
            let want = reference_lines(ends, &input);
            prop_assert_eq!(&split_lines(ends, &[&input])?, &want, "whole");
            prop_assert_eq!(&split_lines(ends, &cut(&input, &cuts))?, &want, "cut");
            let bytes: Vec<&[u8]> = input.chunks(1).collect();
            prop_assert_eq!(&split_lines(ends, &bytes)?, &want, "a byte a read");
        }
    }
}

/// Whether an event ends an answer.
fn is_end(event: &Event) -> bool {
    matches!(event, Event::Done(_) | Event::Error(_))
}

/// Feeds `messages` to a fresh `kind` dialect as every transport does (nothing after the
/// answer's end or its first error), then closes the stream if the answer is still open; checks
/// that an end comes only with `Finished`, once, as the last event, and that every event is
/// well formed.
fn stream(kind: &str, messages: &[(String, String)]) -> Result<(), TestCaseError> {
    let mut d = dialect(kind);
    let mut state = AnswerState::default();
    let mut events = Vec::new();
    for (event, data) in messages {
        if !state.is_open() {
            break;
        }
        let before = events.len();
        let result = d.on_message(&Message { event, data, id: "7" }, &mut events);
        let new = &events[before..];
        let ends = new.iter().filter(|e| is_end(e)).count();
        match &result {
            Ok(Progress::Finished) => {
                prop_assert!(ends == 1 && new.last().is_some_and(is_end), "{kind}: Finished without one end: {new:?}");
            }
            Ok(Progress::More) | Err(_) => prop_assert_eq!(ends, 0, "{}: an end without Finished: {:?}", kind, new),
        }
        state.progress(result);
    }
    if state.is_open() {
        let before = events.len();
        let closed = d.on_close(&mut events);
        let new = &events[before..];
        match closed {
            Progress::Finished => {
                prop_assert!(matches!(new, [Event::Done(_)]), "{kind}: close ends with one done: {new:?}");
                state.finish();
            }
            Progress::More => prop_assert!(new.is_empty(), "{kind}: a close that cuts the answer adds {new:?}"),
        }
    }
    let ends = events.iter().filter(|e| is_end(e)).count();
    prop_assert!(ends <= 1, "{kind}: {ends} ends: {events:?}");
    prop_assert!(ends == 0 || events.last().is_some_and(is_end), "{kind}: events after the end: {events:?}");
    prop_assert_eq!(ends == 1, state.is_finished(), "{}: finished without an end event: {:?}", kind, events);
    for event in &events {
        match event {
            Event::Token(text) => prop_assert!(!text.is_empty(), "{kind}: an empty token"),
            // Well-formed JSON, checked without a recursion limit: the aish dialect passes its
            // `data` through as it came, and JSON nested deeper than 128 is still JSON (the host
            // keeps what it cannot parse as text).
            Event::Metadata(json) => prop_assert!(
                serde_json::from_str::<Box<serde_json::value::RawValue>>(json).is_ok(),
                "{kind}: metadata not JSON: {json:?}"
            ),
            Event::ToolCall(call) => prop_assert!(!call.arguments.is_empty(), "{kind}: a call without arguments"),
            _ => {}
        }
    }
    Ok(())
}

/// Feeds `messages` to every dialect the registry knows.
fn every_dialect(messages: &[(String, String)]) -> Result<(), TestCaseError> {
    crate::providers::names().into_iter().try_for_each(|kind| stream(kind, messages))
}

/// One change to a message's bytes.
#[derive(Clone, Debug)]
enum ByteEdit {
    Truncate(Index),
    Delete(Index, usize),
    Insert(Index, Vec<u8>),
    Replace(Index, u8),
}

/// One change to a message's JSON: the value at one of its places replaced.
#[derive(Clone, Debug)]
struct JsonEdit(Index, Value);

/// One change to the list of messages.
#[derive(Clone, Debug)]
enum ListEdit {
    Drop(Index),
    Repeat(Index),
    Swap(Index, Index),
    Rename(Index, String),
}

fn byte_edit() -> impl Strategy<Value = ByteEdit> {
    prop_oneof![
        any::<Index>().prop_map(ByteEdit::Truncate),
        (any::<Index>(), 1..8usize).prop_map(|(at, n)| ByteEdit::Delete(at, n)),
        (any::<Index>(), prop::collection::vec(any::<u8>(), 1..6)).prop_map(|(at, b)| ByteEdit::Insert(at, b)),
        (any::<Index>(), any::<u8>()).prop_map(|(at, b)| ByteEdit::Replace(at, b)),
    ]
}

fn list_edit() -> impl Strategy<Value = ListEdit> {
    prop_oneof![
        any::<Index>().prop_map(ListEdit::Drop),
        any::<Index>().prop_map(ListEdit::Repeat),
        (any::<Index>(), any::<Index>()).prop_map(|(a, b)| ListEdit::Swap(a, b)),
        (any::<Index>(), event_name()).prop_map(|(at, name)| ListEdit::Rename(at, name)),
    ]
}

/// Applies byte edits to `data`, read back as lossy UTF-8 (what a transport hands a dialect).
fn edit_bytes(data: &str, edits: &[ByteEdit]) -> String {
    let mut bytes = data.as_bytes().to_vec();
    for edit in edits {
        let len = bytes.len();
        match edit {
            ByteEdit::Truncate(at) => bytes.truncate(at.index(len + 1)),
            ByteEdit::Delete(at, n) => {
                let from = at.index(len + 1);
                bytes.drain(from..(from + n).min(len));
            }
            ByteEdit::Insert(at, new) => {
                let at = at.index(len + 1);
                bytes.splice(at..at, new.iter().copied());
            }
            ByteEdit::Replace(at, byte) if len > 0 => bytes[at.index(len)] = *byte,
            ByteEdit::Replace(..) => {}
        }
    }
    String::from_utf8_lossy(&bytes).into_owned()
}

/// The JSON pointer of every place in `value`, the root (`""`) first.
fn places(value: &Value, at: String, all: &mut Vec<String>) {
    match value {
        Value::Array(items) => {
            all.push(at.clone());
            for (i, item) in items.iter().enumerate() {
                places(item, format!("{at}/{i}"), all);
            }
        }
        Value::Object(fields) => {
            all.push(at.clone());
            for (key, field) in fields {
                places(field, format!("{at}/{}", key.replace('~', "~0").replace('/', "~1")), all);
            }
        }
        _ => all.push(at),
    }
}

/// Replaces the values at places of `data` (when it is JSON) with others.
fn edit_json(data: &str, edits: &[JsonEdit]) -> String {
    let Ok(mut value) = serde_json::from_str::<Value>(data) else { return data.to_owned() };
    for JsonEdit(at, new) in edits {
        let mut all = Vec::new();
        places(&value, String::new(), &mut all);
        if let Some(place) = value.pointer_mut(at.get(&all).as_str()) {
            *place = new.clone();
        }
    }
    value.to_string()
}

proptest! {
    #![proptest_config(config(2000))]

    /// Random bytes read as lossy UTF-8, under names the dialects know: no dialect panics, and a
    /// stream ends at most once, with its last event.
    #[test]
    fn dialects_take_random_text(
        messages in prop::collection::vec(
            (event_name(), prop_oneof![
                4 => prop::collection::vec(any::<u8>(), 0..96).prop_map(|b| String::from_utf8_lossy(&b).into_owned()),
                1 => prop::sample::select(WORDS).prop_map(str::to_owned),
            ]),
            0..12,
        ),
    ) {
        every_dialect(&messages)?;
    }
}

proptest! {
    #![proptest_config(config(1000))]

    /// Random JSON values keyed with what the dialects read, as data of messages under names the
    /// dialects know.
    #[test]
    fn dialects_take_random_json(messages in prop::collection::vec((event_name(), json_value()), 0..10)) {
        let messages: Vec<(String, String)> =
            messages.into_iter().map(|(event, value)| (event, value.to_string())).collect();
        every_dialect(&messages)?;
    }

    /// Real streams of every dialect, their messages dropped, repeated, swapped and renamed, their
    /// JSON values replaced with random ones and their bytes cut, inserted and overwritten; each
    /// stream is fed to every dialect.
    #[test]
    fn dialects_take_mutated_real_streams(
        fixture in any::<Index>(),
        list_edits in prop::collection::vec(list_edit(), 0..4),
        json_edits in prop::collection::vec((any::<Index>(), prop::collection::vec((any::<Index>(), json_value()), 1..3)), 0..4),
        byte_edits in prop::collection::vec((any::<Index>(), prop::collection::vec(byte_edit(), 1..4)), 0..3),
    ) {
        let mut messages: Vec<(String, String)> =
            fixture.get(FIXTURES).iter().map(|(e, d)| ((*e).to_owned(), (*d).to_owned())).collect();
        for edit in list_edits {
            let n = messages.len();
            match edit {
                ListEdit::Drop(at) if n > 0 => drop(messages.remove(at.index(n))),
                ListEdit::Repeat(at) if n > 0 => messages.insert(at.index(n), messages[at.index(n)].clone()),
                ListEdit::Swap(a, b) if n > 0 => messages.swap(a.index(n), b.index(n)),
                ListEdit::Rename(at, name) if n > 0 => messages[at.index(n)].0 = name,
                _ => {}
            }
        }
        for (at, edits) in json_edits {
            if !messages.is_empty() {
                let n = messages.len();
                let data = &mut messages[at.index(n)].1;
                let edits: Vec<JsonEdit> = edits.into_iter().map(|(place, value)| JsonEdit(place, value)).collect();
                *data = edit_json(data, &edits);
            }
        }
        for (at, edits) in byte_edits {
            if !messages.is_empty() {
                let n = messages.len();
                let data = &mut messages[at.index(n)].1;
                *data = edit_bytes(data, &edits);
            }
        }
        every_dialect(&messages)?;
    }
}

proptest! {
    #![proptest_config(config(200))]

    /// JSON nested deeper than any parser's recursion (arrays, objects, and both in a field a
    /// dialect reads): an error or a skipped message, never a stack overflow.
    #[test]
    fn dialects_take_deep_json(
        depth in prop_oneof![0usize..200, 200usize..20_000],
        nest in prop::sample::select(&[
            ("[", "]"),
            (r#"{"a":"#, "}"),
            (r#"{"data":"#, "}"),
            (r#"{"choices":["#, "]}"),
            (r#"{"candidates":[{"content":"#, "}]}"),
        ][..]),
        closed in any::<bool>(),
        event in event_name(),
    ) {
        let (open, close) = nest;
        let mut data = open.repeat(depth);
        if closed {
            data.push_str("null");
            data.push_str(&close.repeat(depth));
        }
        every_dialect(&[(event, data)])?;
    }
}

/// The fixtures themselves: each dialect's own stream ends once (a sanity check that the
/// properties above start from streams the dialects understand).
#[test]
fn fixtures_end_their_own_dialect() {
    let own = [("aish", 0), ("rhetor", 2), ("openai", 3), ("anthropic", 4), ("ollama", 5), ("responses", 6)];
    for (kind, at) in own {
        let messages: Vec<(String, String)> =
            FIXTURES[at].iter().map(|(e, d)| ((*e).to_owned(), (*d).to_owned())).collect();
        let mut d = dialect(kind);
        let mut out = Vec::new();
        let mut finished = false;
        for (event, data) in &messages {
            if d.on_message(&Message { event, data, id: "" }, &mut out).unwrap() == Progress::Finished {
                finished = true;
                break;
            }
        }
        assert!(finished && out.last().is_some_and(is_end), "{kind}: {out:?}");
        assert!(out.iter().any(|e| matches!(e, Event::Token(_) | Event::Error(_))), "{kind}: {out:?}");
    }
}
