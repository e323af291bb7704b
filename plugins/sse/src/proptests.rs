//! Property tests of the event-stream parser (issue 13, "Parsers that never panic"): arbitrary
//! bytes in arbitrary reads never panic and give the same events, ids and retry as the whole
//! stream read at once, and as a reference parser written from the standard's text; a line or an
//! event past the size limit is reported at the read that crosses it.

use aish_dialects::chunks::{config, cut};
use proptest::prelude::*;
use proptest::sample::Index;

use crate::parser::{LIMIT, Parser, Signal};

/// A signal as an owned value: `None` for a comment, else (type, data, id).
type Owned = Option<(String, String, String)>;

/// What a stream gave: every signal, then the retry and the last event id at its end.
#[derive(Debug, PartialEq)]
struct Parsed {
    signals: Vec<Owned>,
    retry_ms: Option<u64>,
    last_event_id: String,
}

/// Feeds `chunks` to a parser and ends the stream.
fn parse(chunks: &[&[u8]]) -> Parsed {
    let mut parser = Parser::new();
    let mut signals = Vec::new();
    for chunk in chunks {
        parser.feed(chunk, &mut |signal| {
            signals.push(match signal {
                Signal::Event(e) => Some((e.event.to_owned(), e.data.to_owned(), e.id.to_owned())),
                Signal::Comment => None,
            })
        });
    }
    parser.finish();
    Parsed { signals, retry_ms: parser.retry_ms(), last_event_id: parser.last_event_id().to_owned() }
}

/// The standard's "Interpreting an event stream" over the whole stream at once: decoded as
/// UTF-8 first (one leading BOM dropped, invalid bytes replaced), then split into lines.
fn reference(input: &[u8]) -> Parsed {
    let text = String::from_utf8_lossy(input.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(input)).into_owned();
    let mut parsed = Parsed { signals: Vec::new(), retry_ms: None, last_event_id: String::new() };
    let (mut data, mut event_type, mut id_buffer) = (String::new(), String::new(), String::new());
    let mut rest = text.as_str();
    // Only lines with an end: the last, unfinished one is dropped with the pending event.
    while let Some(end) = rest.find(['\r', '\n']) {
        let line = &rest[..end];
        let cr = rest.as_bytes()[end] == b'\r';
        rest = &rest[end + 1..];
        if cr {
            rest = rest.strip_prefix('\n').unwrap_or(rest);
        }
        if line.is_empty() {
            parsed.last_event_id.clone_from(&id_buffer);
            if data.is_empty() {
                event_type.clear();
                continue;
            }
            data.pop();
            let kind = if event_type.is_empty() { "message".to_owned() } else { std::mem::take(&mut event_type) };
            parsed.signals.push(Some((kind, std::mem::take(&mut data), parsed.last_event_id.clone())));
            continue;
        }
        if line.starts_with(':') {
            parsed.signals.push(None);
            continue;
        }
        let (field, value) = match line.split_once(':') {
            Some((field, value)) => (field, value.strip_prefix(' ').unwrap_or(value)),
            None => (line, ""),
        };
        match field {
            "event" => event_type = value.to_owned(),
            "data" => {
                data.push_str(value);
                data.push('\n');
            }
            "id" if !value.contains('\0') => id_buffer = value.to_owned(),
            "retry" if !value.is_empty() && value.bytes().all(|b| b.is_ascii_digit()) => {
                parsed.retry_ms = Some(value.parse().unwrap_or(u64::MAX));
            }
            _ => {}
        }
    }
    parsed
}

/// Field names, values and comments, BOMs, NULs, invalid and split UTF-8.
const WORDS: &[&[u8]] = &[
    b"data:",
    b"data: ",
    b"data",
    b"event:",
    b"event: ",
    b"id:",
    b"id: ",
    b"id",
    b"retry:",
    b"retry: ",
    b":",
    b": keep-alive",
    b"Data:",
    b"\xEF\xBB\xBF",
    b"\0",
    b" ",
    b"\xE2\x82",
    b"\xAC",
    b"\xC3\xA9",
    b"\xFF",
    b"message",
    b"add",
];

/// Every line end, alone and in pairs.
const ENDS: &[&[u8]] = &[b"\n", b"\r", b"\r\n", b"\n\n", b"\r\r", b"\r\n\r\n"];

/// Bytes that look like an event stream: [`WORDS`], [`ENDS`], digits and random runs.
fn stream_bytes() -> impl Strategy<Value = Vec<u8>> {
    let piece = prop_oneof![
        3 => prop::sample::select(WORDS).prop_map(<[u8]>::to_vec),
        3 => prop::sample::select(ENDS).prop_map(<[u8]>::to_vec),
        2 => "[0-9]{0,24}".prop_map(String::into_bytes),
        2 => prop::collection::vec(any::<u8>(), 0..6),
    ];
    prop::collection::vec(piece, 0..64).prop_map(|pieces| pieces.concat())
}

proptest! {
    #![proptest_config(config(2000))]

    /// Any bytes, whole, cut at random places and a byte a read: no panic, and the same events,
    /// comments, ids and retry every way, which are the reference parser's.
    #[test]
    fn sse_same_events_whatever_the_reads(
        input in prop_oneof![3 => stream_bytes(), 1 => prop::collection::vec(any::<u8>(), 0..256)],
        cuts in prop::collection::vec(any::<Index>(), 0..24),
    ) {
        let whole = parse(&[&input]);
        prop_assert_eq!(&whole, &reference(&input), "whole vs reference");
        prop_assert_eq!(&parse(&cut(&input, &cuts)), &whole, "cut");
        let bytes: Vec<&[u8]> = input.chunks(1).collect();
        prop_assert_eq!(&parse(&bytes), &whole, "a byte a read");
    }
}

/// A stream that never ends its line, or sends data lines without ever ending the event.
#[derive(Clone, Debug)]
enum Endless {
    /// One line, `x` after `x`.
    Line,
    /// `data:` lines of this many bytes, with a comment between them sometimes.
    DataLines(usize),
}

proptest! {
    #![proptest_config(config(16))]

    /// Past [`LIMIT`] the parser says so at the read that crosses it, whatever the read sizes,
    /// and until then holds no more than the unfinished line and the pending data.
    #[test]
    fn sse_limit_reported_at_the_read_that_crosses_it(
        // Data lines of a thousand bytes or more: shorter ones would need a stream many times
        // the limit (the comment lines between them are not data) and hours of one-byte reads.
        shape in prop_oneof![Just(Endless::Line), (1_000usize..70_000).prop_map(Endless::DataLines)],
        sizes in prop::collection::vec(1usize..300_000, 1..8),
    ) {
        let stream: Vec<u8> = match shape {
            Endless::Line => vec![b'x'; LIMIT + 300_000],
            Endless::DataLines(n) => {
                let mut line = b"data: ".to_vec();
                line.resize(6 + n, b'y');
                line.push(b'\n');
                // Enough lines for the pending data (not the stream) to pass the limit.
                let mut stream = Vec::with_capacity(LIMIT + LIMIT / 50 + 2 * line.len() + 300_000);
                let mut data = 0;
                while data < LIMIT + line.len() + 300_000 {
                    stream.extend_from_slice(&line);
                    stream.extend_from_slice(b": ping\n");
                    data += n + 1;
                }
                stream
            }
        };
        let mut parser = Parser::new();
        let mut fed = 0;
        let mut reads = sizes.iter().cycle();
        // The model: the unfinished line's length, and the data of the pending event.
        let (mut line, mut data) = (0usize, 0usize);
        loop {
            let size = *reads.next().unwrap_or(&1);
            let chunk = &stream[fed..(fed + size).min(stream.len())];
            let mut events = 0;
            parser.feed(chunk, &mut |signal| events += usize::from(matches!(signal, Signal::Event(_))));
            prop_assert_eq!(events, 0, "no event ever ends");
            for &byte in chunk {
                if byte == b'\n' {
                    if stream[fed - line..].starts_with(b"data: ") {
                        data += line - 6 + 1;
                    }
                    line = 0;
                } else {
                    line += 1;
                }
                fed += 1;
            }
            prop_assert_eq!(parser.held(), (line, data), "held after {} bytes", fed);
            let over = line > LIMIT || data > LIMIT;
            prop_assert_eq!(parser.over_limit(), over, "over the limit after {} bytes", fed);
            if over {
                // The transport stops reading here: at most one read past the limit is held.
                prop_assert!(line + data <= LIMIT + size + 70_007, "{} + {} held", line, data);
                break;
            }
            prop_assert!(fed < stream.len(), "the stream ran out before the limit");
        }
    }
}

#[test]
fn reference_agrees_on_the_parser_unit_cases() {
    // A few of the parser's own cases, so that the reference is known to read the standard alike.
    for input in [
        &b"data: a\ndata: b\n\n"[..],
        b"data: one\r\n\r\ndata: two\r\rdata: three\n\n",
        b"\xEF\xBB\xBFdata: x\n\n",
        b"\xEF\xBB\xBF\xEF\xBB\xBFdata: x\n\n",
        b"id: 7\ndata: a\n\ndata: b\n\nid: 8\0x\ndata: c\n\nid\ndata: d\n\n",
        b"data: a\xFFb\xE2\x82\n\n",
        b"retry: 1500\n\nretry: 12a\n\nretry:\n\nretry: 99999999999999999999999\n\n",
        b": keep-alive\ndata: x\n: more\n\ndata: half",
    ] {
        assert_eq!(parse(&[input]), reference(input), "{:?}", String::from_utf8_lossy(input));
    }
}
