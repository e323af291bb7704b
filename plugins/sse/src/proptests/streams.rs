//! Providers' streams through the transport's whole reading: events remembered by their text
//! (and their ID) give exactly what reading every event in full gives.

use aish_dialects::AnswerState;
use aish_dialects::chunks::{config, cut};
use aish_plugin_sdk::Event;
use proptest::prelude::*;
use proptest::sample::Index;

use crate::parser::{Parser, Signal};

/// A dialect for the stream tests.
fn dialect(name: &str) -> aish_dialects::Dialect {
    aish_dialects::Dialect::new(aish_plugin_sdk::ConnectOptions {
        url: "http://127.0.0.1:1/".into(),
        dialect: name.into(),
        model: Some("m".into()),
        api_key: None,
        settings: String::new(),
    })
    .expect("a known dialect")
}

/// One event of a provider's stream, as the test builds it.
#[derive(Clone, Debug)]
enum Piece {
    /// The common token event, around `text`; `variant` changes a byte outside the text (an
    /// id, an index, a key's spacing) so the remembered shape must be learnt again.
    /// With `id`, an `id:` line goes before the data (before or after an `event:` line), with
    /// or without a space after its colon (`spaced`).
    Token { text: String, variant: u8, padding: Option<String>, id: Option<String>, spaced: bool },
    /// An event of another shape (a tool call, a finish reason, a ping, usage).
    Other(u8),
    /// A comment, an `id:` line, or a `retry:` line before the next event.
    Line(u8),
}

fn piece() -> impl Strategy<Value = Piece> {
    prop_oneof![
        8 => (
            "(\\PC|[\"\\\\\n\t\u{1}é😀 ]){0,8}",
            0u8..4,
            prop::option::of("(\\PC|[\"\\\\\n\u{1}]){0,6}"),
            // Mostly numbers, as resuming servers send; sometimes what a run must not take.
            prop::option::of(prop_oneof![
                6 => (0u32..100_000).prop_map(|n| n.to_string()),
                1 => "([a-z0-9 \"\\\\\u{0}é]){0,20}",
            ]),
            any::<bool>(),
        )
            .prop_map(|(text, variant, padding, id, spaced)| Piece::Token { text, variant, padding, id, spaced }),
        1 => (0u8..4).prop_map(Piece::Other),
        1 => (0u8..3).prop_map(Piece::Line),
    ]
}

/// `pieces` as `dialect`'s server sends them, with its end.
fn provider_stream(dialect: &str, pieces: &[Piece]) -> Vec<u8> {
    use serde_json::json;
    let mut out = String::new();
    // The Responses API's sequence numbers, one an event.
    let mut sequence = 0u32;
    for piece in pieces {
        sequence += 1;
        match piece {
            Piece::Line(0) => out.push_str(": keep-alive\n"),
            Piece::Line(1) => out.push_str("id: 7\n"),
            Piece::Line(_) => out.push_str("retry: 10\n"),
            Piece::Token { text, variant, padding, id, spaced } => {
                let text = json!(text);
                // Padding after the text, as OpenAI's own API adds it (`obfuscation`).
                let padding = padding.as_ref().map_or(String::new(), |p| format!(",\"obfuscation\":{}", json!(p)));
                let data = match dialect {
                    "openai" => format!(
                        r#"{{"id":"c{variant}","object":"chat.completion.chunk","choices":[{{"index":0,"delta":{{"content":{text}}},"finish_reason":null}}]{padding}}}"#
                    ),
                    "anthropic" => format!(
                        r#"{{"type":"content_block_delta","index":{variant},"delta":{{"type":"text_delta","text":{text}}}{padding}}}"#
                    ),
                    "rhetor" => format!(r#"{{"type":"chunk","content":{text}{padding},"context_id":"c{variant}"}}"#),
                    "responses" => {
                        // Now and then a number no run takes (a sign, a fraction), or a zero.
                        let number = match (sequence % 7, variant) {
                            (0, 0) => "-1".to_owned(),
                            (0, 1) => "1.5".to_owned(),
                            (0, 2) => "0".to_owned(),
                            _ => sequence.to_string(),
                        };
                        format!(
                            r#"{{"type":"response.output_text.delta","sequence_number":{number},"item_id":"msg_{variant}","output_index":0,"content_index":0,"delta":{text},"logprobs":[]{padding}}}"#
                        )
                    }
                    _ => {
                        format!(
                            r#"{{"event":"token","data":{{"token":{text}}}{padding}{}}}"#,
                            " ".repeat(usize::from(*variant))
                        )
                    }
                };
                // The ID's line before the event's type or after it.
                let space = if *spaced { " " } else { "" };
                let id = id.as_ref().map_or(String::new(), |id| format!("id:{space}{id}\n"));
                if *variant < 2 {
                    out.push_str(&id);
                }
                if dialect == "anthropic" && variant % 2 == 0 {
                    out.push_str("event: content_block_delta\n");
                }
                if dialect == "responses" && variant % 2 == 0 {
                    out.push_str("event: response.output_text.delta\n");
                }
                if *variant >= 2 {
                    out.push_str(&id);
                }
                out.push_str(&format!("data: {data}\n\n"));
            }
            Piece::Other(n) => {
                let (event, data) = match (dialect, n) {
                    ("openai", 0) => (
                        "",
                        r#"{"choices":[{"index":0,"delta":{"tool_calls":[{"index":0,"id":"call_1","function":{"name":"f","arguments":""}}]},"finish_reason":null}]}"#,
                    ),
                    ("openai", 1) => (
                        "",
                        r#"{"choices":[{"index":0,"delta":{"tool_calls":[{"index":0,"function":{"arguments":"{}"}}]},"finish_reason":null}]}"#,
                    ),
                    ("openai", _) => ("", r#"{"choices":[{"index":0,"delta":{"refusal":"no"},"finish_reason":null}]}"#),
                    ("anthropic", 0) => ("ping", r#"{"type":"ping"}"#),
                    ("anthropic", 1) => ("content_block_stop", r#"{"type":"content_block_stop","index":0}"#),
                    ("anthropic", _) => (
                        "content_block_start",
                        r#"{"type":"content_block_start","index":1,"content_block":{"type":"text","text":""}}"#,
                    ),
                    ("rhetor", 0) => ("", r#"{"type":"status","message":"thinking"}"#),
                    ("rhetor", 1) => ("", r#"{"type":"chunk","content":7}"#),
                    ("rhetor", _) => ("", r#"{"type":"chunk","content":"x","content":"y"}"#),
                    ("responses", 0) => (
                        "response.output_item.added",
                        r#"{"type":"response.output_item.added","sequence_number":1,"output_index":1,"item":{"type":"function_call","id":"fc_1","call_id":"call_1","name":"f","arguments":""}}"#,
                    ),
                    ("responses", 1) => (
                        "response.function_call_arguments.delta",
                        r#"{"type":"response.function_call_arguments.delta","sequence_number":2,"item_id":"fc_1","output_index":1,"delta":"{}"}"#,
                    ),
                    ("responses", _) => (
                        "response.refusal.delta",
                        r#"{"type":"response.refusal.delta","sequence_number":3,"item_id":"msg_1","output_index":0,"content_index":0,"delta":"no"}"#,
                    ),
                    (_, 0) => ("", r#"{"event":"token","data":{"content":"c"}}"#),
                    (_, 1) => ("token", r#"{"event":"token","data":{"id":1,"token":"t"}}"#),
                    _ => ("", r#"{"event":"status","data":{"message":"working"}}"#),
                };
                if !event.is_empty() {
                    out.push_str(&format!("event: {event}\n"));
                }
                out.push_str(&format!("data: {data}\n\n"));
            }
        }
    }
    out.push_str(match dialect {
        "openai" => "data: {\"choices\":[{\"index\":0,\"delta\":{},\"finish_reason\":\"stop\"}]}\n\ndata: [DONE]\n\n",
        "anthropic" => "event: message_delta\ndata: {\"type\":\"message_delta\",\"delta\":{\"stop_reason\":\"end_turn\"},\"usage\":{\"output_tokens\":3}}\n\nevent: message_stop\ndata: {\"type\":\"message_stop\"}\n\n",
        "rhetor" => "data: {\"type\":\"complete\",\"metadata\":{\"model\":\"m\"}}\n\n",
        "responses" => "event: response.completed\ndata: {\"type\":\"response.completed\",\"sequence_number\":99,\"response\":{\"status\":\"completed\",\"output\":[],\"usage\":{\"input_tokens\":1,\"output_tokens\":3}}}\n\n",
        _ => "event: done\ndata: {}\n\n",
    });
    out.into_bytes()
}

/// Every event `chunks` give through the transport's reading, how the answer ended, and the
/// last event ID after each chunk (what a reconnection would resume from).
fn through_transport(name: &str, chunks: &[&[u8]], remembering: bool) -> (Vec<Event>, bool, Vec<String>) {
    let (mut parser, mut dialect, mut state) = (Parser::new(), dialect(name), AnswerState::default());
    let (mut events, mut ids) = (Vec::new(), Vec::new());
    for chunk in chunks {
        let mut out = Vec::new();
        if remembering {
            crate::read_events(&mut parser, &mut dialect, &mut state, chunk, &mut out);
        } else {
            // The reference: every event parsed in full, none remembered.
            parser.feed(chunk, &mut |signal| {
                match signal {
                    _ if !state.is_open() => {}
                    Signal::Event(e) => {
                        let message = aish_dialects::Message { event: e.event, data: e.data, id: e.id };
                        state.progress(dialect.on_message(&message, &mut out));
                    }
                    Signal::Comment => out.push(Event::Heartbeat),
                    Signal::Repeat { .. } => panic!("no repeat without a text span"),
                }
                None
            });
        }
        events.extend(out.into_iter().filter(|e| !matches!(e, Event::Heartbeat)));
        ids.push(parser.last_event_id().to_owned());
    }
    (events, state.is_finished(), ids)
}

proptest! {
    #![proptest_config(config(1000))]

    /// The transport reading events alike as their text alone gives exactly the events of
    /// reading each in full, for every dialect with such events, whatever the reads.
    #[test]
    fn sse_remembered_events_read_as_in_full(
        name in prop::sample::select(&["openai", "anthropic", "aish", "responses", "rhetor"][..]),
        pieces in prop::collection::vec(piece(), 0..40),
        cuts in prop::collection::vec(any::<Index>(), 0..12),
    ) {
        let stream = provider_stream(name, &pieces);
        let chunks = cut(&stream, &cuts);
        let expected = through_transport(name, &chunks, false);
        prop_assert!(expected.1, "the stream ends the answer");
        prop_assert_eq!(through_transport(name, &chunks, true), expected);
    }
}

/// Events with an ID each are read in runs (the dialect gets a few joined texts, not one text an
/// event), and the last event ID after each read is the one a full parse gives, whatever the
/// IDs (numbers, UUIDs): one that is not ASCII, holds a NUL, starts with a space after a colon
/// with none, stops the run, and the line parser applies the standard's rules.
#[test]
fn events_with_ids_are_read_in_runs_with_the_ids_a_full_parse_gives() {
    let long = [b'x'; 129];
    let odd: [&[u8]; 9] = [b"\xFF", b"4\x00", b" 5", b"", &long, b"\xC3\xA9", b"a\"b", b"0123456789abcdef\xFF", b"8"];
    let mut stream = Vec::new();
    for i in 0..3000usize {
        // Every hundredth event has no space after the colon, as some servers write it.
        stream.extend_from_slice(if i % 100 == 99 { b"id:" } else { b"id: " });
        match i % 40 {
            39 => stream.extend_from_slice(odd[(i / 40) % odd.len()]),
            // Numbers, then UUIDs.
            _ if i < 1500 => stream.extend_from_slice(i.to_string().as_bytes()),
            _ => stream.extend_from_slice(format!("{i:08x}-e29b-41d4-a716-446655440000").as_bytes()),
        }
        stream.extend_from_slice(
            format!("\ndata: {{\"event\":\"token\",\"data\":{{\"token\":\"t{i} \"}}}}\n\n").as_bytes(),
        );
        if i % 40 == 39 {
            // An event of another shape ends the run at the odd ID: it is the run's last.
            stream.extend_from_slice(b"data: {\"event\":\"status\",\"data\":{\"message\":\"working\"}}\n\n");
        }
    }
    stream.extend_from_slice(b"event: done\ndata: {}\n\n");
    for size in [stream.len(), 65_536, 4_099, 777] {
        let chunks: Vec<&[u8]> = stream.chunks(size).collect();
        let expected = through_transport("aish", &chunks, false);
        assert!(expected.1, "the stream ends the answer");
        // The last event's ID: ` 5` after a colon with no space.
        assert_eq!(expected.2.last().map(String::as_str), Some("5"));
        assert_eq!(through_transport("aish", &chunks, true), expected, "reads of {size} bytes");
    }
    // The signals the dialect gets: runs, not one an event.
    let signals = signals_for("aish", &stream);
    assert!(signals < 600, "{signals} signals for 3,000 events");
}

/// A run takes an ID as long as the one before it by a check of its own (not the scan a new
/// length gets): an odd ID of that length stops the run all the same, and the line parser
/// applies the standard's rules to it (a NUL, bytes that are not UTF-8, a space the standard
/// drops after a colon with none, a line end of CR LF).
#[test]
fn an_id_as_long_as_the_last_is_checked_as_any_other() {
    let odd: [&[u8]; 5] = [b"1\x0045", b"\xFF123", b" 123", b"9\r99", b"1234\r"];
    // A read ends after each odd ID's event and an event of another shape (which ends the run
    // there), so the ID after each read is the odd one's reading.
    let mut reads = Vec::new();
    for (round, odd) in odd.iter().enumerate() {
        // After a colon with no space, the space before the odd ID is the one the standard drops.
        let field: &[u8] = if round == 2 { b"id:" } else { b"id: " };
        let mut read = Vec::new();
        for i in 1000..1050 {
            let id: &[u8] = if i == 1040 { odd } else { &i.to_string().into_bytes() };
            read.extend_from_slice(&[field, id].concat());
            read.extend_from_slice(
                format!("\ndata: {{\"event\":\"token\",\"data\":{{\"token\":\"t{i} \"}}}}\n\n").as_bytes(),
            );
            if i == 1040 {
                read.extend_from_slice(b"data: {\"event\":\"status\",\"data\":{\"message\":\"working\"}}\n\n");
                reads.push(std::mem::take(&mut read));
            }
        }
        reads.push(read);
    }
    reads.push(b"event: done\ndata: {}\n\n".to_vec());
    let stream = reads.concat();
    let by_event: Vec<&[u8]> = reads.iter().map(Vec::as_slice).collect();
    for chunks in [by_event, stream.chunks(777).collect()] {
        let expected = through_transport("aish", &chunks, false);
        assert!(expected.1, "the stream ends the answer");
        assert_eq!(through_transport("aish", &chunks, true), expected, "reads of {} bytes", chunks[0].len());
    }
    // Read in runs: the check is what took the IDs.
    let signals = signals_for("aish", &stream);
    assert!(signals < 40, "{signals} signals for 250 events");
}

/// How many signals the dialect `name` gets for `stream` read whole, as the transport reads it.
fn signals_for(name: &str, stream: &[u8]) -> usize {
    let (mut parser, mut dialect, mut state) = (Parser::new(), dialect(name), AnswerState::default());
    let (mut signals, mut out) = (0, Vec::new());
    parser.feed(stream, &mut |signal| {
        signals += 1;
        match signal {
            Signal::Event(e) => {
                let message = aish_dialects::Message { event: e.event, data: e.data, id: e.id };
                state.progress(dialect.on_message(&message, &mut out));
                dialect.text_shape()
            }
            Signal::Repeat { text, .. } => {
                dialect.on_text(&text, &mut out);
                None
            }
            Signal::Comment => None,
        }
    });
    signals
}

/// The Responses API's text deltas, each with its own sequence number before the text and
/// padding after it, are read in runs, and give what a full parse gives; a number no run takes
/// (a sign, a fraction, a leading zero in a string) is read in full.
#[test]
fn responses_deltas_are_read_in_runs_whatever_their_sequence_numbers() {
    let mut stream = Vec::new();
    for i in 0..3000usize {
        let number = match i % 50 {
            49 => "-3".to_owned(),
            48 => "2.5".to_owned(),
            47 => "1e3".to_owned(),
            _ => (i * 37 % 100_000).to_string(),
        };
        let padding = &"Zq3vX9pL0aBw"[..i % 12];
        // Now and then another output item: other bytes between the number and the text.
        let item = if i % 25 == 24 { "msg_2b" } else { "msg_1" };
        stream.extend_from_slice(
            format!(
                "event: response.output_text.delta\ndata: {{\"type\":\"response.output_text.delta\",\"sequence_number\":{number},\"item_id\":\"{item}\",\"output_index\":0,\"content_index\":0,\"delta\":\"t{i} \",\"logprobs\":[],\"obfuscation\":\"{padding}\"}}\n\n"
            )
            .as_bytes(),
        );
    }
    stream.extend_from_slice(b"event: response.completed\ndata: {\"type\":\"response.completed\",\"sequence_number\":3001,\"response\":{\"status\":\"completed\",\"output\":[]}}\n\n");
    for size in [stream.len(), 65_536, 4_099, 777] {
        let chunks: Vec<&[u8]> = stream.chunks(size).collect();
        let expected = through_transport("responses", &chunks, false);
        assert!(expected.1, "the stream ends the answer");
        assert_eq!(through_transport("responses", &chunks, true), expected, "reads of {size} bytes");
    }
    let signals = signals_for("responses", &stream);
    assert!(signals < 600, "{signals} signals for 3,000 events");
    // A number that is not JSON (a leading zero) fails the answer there, as the full parse does.
    let cut = stream.windows(7).position(|w| w == b"\"t100 \"").expect("event 100");
    let start = stream[..cut].windows(6).rposition(|w| w == b"event:").expect("its start");
    let bad = [&stream[..start], b"event: response.output_text.delta\ndata: {\"type\":\"response.output_text.delta\",\"sequence_number\":01,\"item_id\":\"msg_1\",\"output_index\":0,\"content_index\":0,\"delta\":\"bad \",\"logprobs\":[],\"obfuscation\":\"\"}\n\n", &stream[start..]].concat();
    let expected = through_transport("responses", &[&bad], false);
    assert!(!expected.1, "a number that is not JSON fails the answer");
    assert_eq!(through_transport("responses", &[&bad], true), expected);
    // So does one past what serde holds, after events a run would take.
    let huge = format!("1{}", "0".repeat(400));
    let bad = String::from_utf8_lossy(&stream[..start])
        .replace("\"sequence_number\":370,", &format!("\"sequence_number\":{huge},"));
    let expected = through_transport("responses", &[bad.as_bytes()], false);
    assert!(!expected.1, "a number past what serde holds fails the answer");
    assert_eq!(through_transport("responses", &[bad.as_bytes()], true), expected);
}

/// A run takes a sequence number as long as the last by a check of its own: a number of that
/// length that is not JSON (a leading zero, a fraction cut short) still fails the answer where
/// the full parse does, after the same events.
#[test]
fn a_sequence_number_as_long_as_the_last_is_checked_as_any_other() {
    for (odd, json) in [("0123", false), ("1.5e", false), ("12e4", true), ("0", true)] {
        let mut stream = Vec::new();
        for i in 1000..1050 {
            let number = if i == 1040 { odd.to_owned() } else { i.to_string() };
            stream.extend_from_slice(
                format!(
                    "event: response.output_text.delta\ndata: {{\"type\":\"response.output_text.delta\",\"sequence_number\":{number},\"item_id\":\"msg_1\",\"output_index\":0,\"content_index\":0,\"delta\":\"t{i} \",\"logprobs\":[],\"obfuscation\":\"Zq3v\"}}\n\n"
                )
                .as_bytes(),
            );
        }
        stream.extend_from_slice(b"event: response.completed\ndata: {\"type\":\"response.completed\",\"sequence_number\":1050,\"response\":{\"status\":\"completed\",\"output\":[]}}\n\n");
        let expected = through_transport("responses", &[&stream], false);
        assert_eq!(expected.1, json, "{odd}: the answer ends well when the number is JSON");
        assert_eq!(through_transport("responses", &[&stream], true), expected, "{odd}");
        assert!(signals_for("responses", &stream) < 10, "{odd}: read in runs");
    }
}

/// A hole one digit longer than the last (a count passing 999) is scanned, and the run goes on
/// through it: the stream is read in as many signals as one whose count keeps its digits.
#[test]
fn a_run_goes_on_where_a_count_gains_a_digit() {
    for (dialect, field) in [("responses", "number"), ("aish", "id")] {
        let signals = |counts: std::ops::Range<usize>| {
            let mut stream = Vec::new();
            for i in counts {
                stream.extend_from_slice(match field {
                    "number" => format!("event: response.output_text.delta\ndata: {{\"type\":\"response.output_text.delta\",\"sequence_number\":{i},\"item_id\":\"msg_1\",\"output_index\":0,\"content_index\":0,\"delta\":\"t{i} \",\"logprobs\":[],\"obfuscation\":\"Zq3v\"}}\n\n"),
                    _ => format!("id: {i}\ndata: {{\"event\":\"token\",\"data\":{{\"token\":\"t{i} \"}}}}\n\n"),
                }.as_bytes());
            }
            stream.extend_from_slice(match field {
                "number" => b"event: response.completed\ndata: {\"type\":\"response.completed\",\"sequence_number\":99999,\"response\":{\"status\":\"completed\",\"output\":[]}}\n\n".as_slice(),
                _ => b"event: done\ndata: {}\n\n".as_slice(),
            });
            let expected = through_transport(dialect, &[&stream], false);
            assert!(expected.1, "the stream ends the answer");
            assert_eq!(through_transport(dialect, &[&stream], true), expected, "{dialect}");
            signals_for(dialect, &stream)
        };
        let steady = signals(1000..1020);
        assert!(steady <= 4, "{dialect}: {steady} signals for 20 events");
        assert_eq!(signals(990..1010), steady, "{dialect}: through 999 to 1000");
        assert_eq!(signals(9990..10010), steady, "{dialect}: through 9999 to 10000");
    }
}

/// Data with whitespace before its object: the shape's offsets are the data's as it came, so
/// the events after it are read by the right bytes.
#[test]
fn responses_data_with_leading_spaces_is_remembered_where_it_stands() {
    let event = |extra: &str| {
        format!(
            "event: response.output_text.delta\ndata: {}{{\"type\":\"response.output_text.delta\",\"output_index\":7,\"extra\":\"{extra}\",\"sequence_number\":5,\"delta\":\"xyz\"}}\n\n",
            " ".repeat(34)
        )
    };
    let stream = [event("abc"), event("qqq"), event("qqq"), event("qqq")].concat();
    let expected = through_transport("responses", &[stream.as_bytes()], false);
    assert_eq!(expected.0, [aish_plugin_sdk::Event::Token("xyz".repeat(4))]);
    assert_eq!(through_transport("responses", &[stream.as_bytes()], true), expected);
}

/// Events printed with spaces after colons and commas (as Python's `json.dumps` prints them,
/// and servers built on it send them) are read in runs too, and as a full parse reads them.
#[test]
fn events_printed_with_spaces_are_read_in_runs() {
    for name in ["aish", "openai", "responses"] {
        let mut stream = String::new();
        for i in 0..3000 {
            let data = match name {
                "aish" => format!(r#"{{"event": "token", "data": {{"token": "t{i} "}}}}"#),
                "openai" => format!(
                    r#"{{"id": "c1", "object": "chat.completion.chunk", "choices": [{{"index": 0, "delta": {{"content": "t{i} "}}, "finish_reason": null}}]}}"#
                ),
                _ => format!(
                    r#"{{"type": "response.output_text.delta", "sequence_number": {}, "item_id": "msg_1", "output_index": 0, "content_index": 0, "delta": "t{i} ", "logprobs": []}}"#,
                    i + 1
                ),
            };
            stream.push_str(&format!("data: {data}\n\n"));
        }
        stream.push_str(match name {
            "aish" => "event: done\ndata: {}\n\n",
            "openai" => "data: [DONE]\n\n",
            _ => "data: {\"type\": \"response.completed\", \"response\": {\"status\": \"completed\", \"output\": []}}\n\n",
        });
        for size in [stream.len(), 4_099] {
            let chunks: Vec<&[u8]> = stream.as_bytes().chunks(size).collect();
            let expected = through_transport(name, &chunks, false);
            assert!(expected.1, "{name}: the stream ends the answer");
            assert_eq!(through_transport(name, &chunks, true), expected, "{name}, reads of {size} bytes");
        }
        let signals = signals_for(name, stream.as_bytes());
        assert!(signals < 600, "{name}: {signals} signals for 3,000 events");
    }
}
