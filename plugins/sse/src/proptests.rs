//! Property tests of the event-stream parser (issue 13, "Parsers that never panic"): arbitrary
//! bytes in arbitrary reads never panic and give the same events, ids and retry as the whole
//! stream read at once, and as a reference parser written from the standard's text; a line or an
//! event past the size limit is reported at the read that crosses it. The transport's whole
//! reading of providers' streams is in `streams`.

use aish_dialects::chunks::{config, cut};
use proptest::prelude::*;
use proptest::sample::Index;

use aish_dialects::TextShape;

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

/// Which events a caller reads by one JSON string alone, as a dialect reads its token events.
#[derive(Clone, Copy, Debug)]
enum Rule {
    /// None: the parser never hands back a [`Signal::Repeat`].
    Never,
    /// Data that is one JSON string.
    String,
    /// Data that is `{"t":` and a JSON string, then `}`.
    Object,
    /// Data that is `{"t":` and a JSON string, then `,"p":`, a JSON string whose content does
    /// not matter (padding), and `}`.
    Padded,
}

impl Rule {
    /// Where the string stands in `data`, and the string decoded, when the rule reads it.
    fn read(self, data: &str) -> Option<(TextShape, String)> {
        let start = match self {
            Rule::Never => return None,
            Rule::String => 0,
            Rule::Object | Rule::Padded => data.strip_prefix(r#"{"t":"#).map(|_| 5)?,
        };
        let (text, end) = aish_dialects::json_string(data, start)?;
        let mut shape = TextShape { text: (start, end), free: None, number: None };
        let rest = match self {
            Rule::Padded => {
                let at = end + data[end..].strip_prefix(r#","p":"#).map(|_| 5)?;
                let (_, padding_end) = aish_dialects::json_string(data, at)?;
                shape.free = Some((at, padding_end));
                &data[padding_end..]
            }
            _ => &data[end..],
        };
        let closing = if let Rule::String = self { "" } else { "}" };
        (rest == closing).then(|| (shape, text.into_owned()))
    }

    /// An event as the caller sees it: data the rule reads becomes its string, decoded.
    fn owned(self, event: &str, data: &str, id: &str) -> Owned {
        let data = match self.read(data) {
            Some((_, text)) => format!("text {text}"),
            None => format!("data {data}"),
        };
        Some((event.to_owned(), data, id.to_owned()))
    }
}

/// Feeds `chunks` to a parser and ends the stream.
fn parse(chunks: &[&[u8]]) -> Parsed {
    parse_reading(chunks, Rule::Never)
}

/// Feeds `chunks` to a parser whose caller reads events by `rule`, and ends the stream.
fn parse_reading(chunks: &[&[u8]], rule: Rule) -> Parsed {
    let mut parser = Parser::new();
    let mut signals = Vec::new();
    for chunk in chunks {
        parser.feed(chunk, &mut |signal| match signal {
            Signal::Event(e) => {
                signals.push(rule.owned(e.event, e.data, e.id));
                rule.read(e.data).map(|(shape, _)| shape)
            }
            Signal::Comment => {
                signals.push(None);
                None
            }
            Signal::Repeat { event, text, id } => {
                assert!(!matches!(rule, Rule::Never), "a repeat only after an event read by its text");
                signals.push(Some((event.to_owned(), format!("text {text}"), id.to_owned())));
                None
            }
        });
    }
    parser.finish();
    Parsed { signals, retry_ms: parser.retry_ms(), last_event_id: parser.last_event_id().to_owned() }
}

/// `parsed` as a caller reading events by `rule` sees it, the strings of events in a row of
/// one type joined, with the last one's id (as a repeat signal hands them over).
fn as_read_by(mut parsed: Parsed, rule: Rule) -> Parsed {
    for signal in parsed.signals.iter_mut().flatten() {
        let data = signal.1.strip_prefix("data ").unwrap_or(&signal.1).to_owned();
        *signal = rule.owned(&signal.0, &data, &signal.2).expect("an event");
    }
    joined(parsed)
}

/// `parsed` with the strings of text events in a row of one type joined, with the last one's id
/// (a run of events with an id each is handed over as one repeat signal with the last id).
fn joined(mut parsed: Parsed) -> Parsed {
    let mut signals: Vec<Owned> = Vec::new();
    for signal in parsed.signals {
        if let (Some(Some(last)), Some(this)) = (signals.last_mut(), &signal)
            && last.1.starts_with("text ")
            && this.1.starts_with("text ")
            && last.0 == this.0
        {
            last.1.push_str(&this.1["text ".len()..]);
            last.2.clone_from(&this.2);
            continue;
        }
        signals.push(signal);
    }
    parsed.signals = signals;
    parsed
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
            let data = format!("data {}", std::mem::take(&mut data));
            parsed.signals.push(Some((kind, data, parsed.last_event_id.clone())));
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
    // Events a caller reads by their text, and pieces of them.
    b"data: \"tok\"\n\n",
    b"data: \"t\\\"o\\u00e9k\\n\"\n\n",
    b"event: add\ndata: \"x\"\n\n",
    b"data: {\"t\":\"tok\"}\n\n",
    b"id: 1\ndata: {\"t\":\"tok\"}\n\n",
    b"id: 22\ndata: {\"t\":\"k\"}\n\n",
    b"event: add\nid:3\ndata: {\"t\":\"x\"}\n\n",
    b"id: 4\ndata: {\"t\":\"a\"}\n\nid: 5\ndata: {\"t\":\"b\"}\n\nid: 6\ndata: {\"t\":\"c\"}\n\n",
    b"data: {\"t\":\"tok\",\"p\":\"pad\"}\n\n",
    b"data: {\"t\":\"k\",\"p\":\"\\\"q\"}\n\n",
    b",\"p\":",
    b"data:{\"t\":\"\xC3\xA9\"}\n\n",
    b"\"",
    b"\\",
    b"\\u00",
    b"{\"t\":",
    b"}",
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
        // A caller that reads some events by one string gets the same events, some of them
        // handed back as repeats, whatever the reads.
        for rule in [Rule::String, Rule::Object, Rule::Padded] {
            let expected = as_read_by(reference(&input), rule);
            prop_assert_eq!(&joined(parse_reading(&[&input], rule)), &expected, "whole, read by {:?}", rule);
            prop_assert_eq!(&joined(parse_reading(&cut(&input, &cuts), rule)), &expected, "cut, read by {:?}", rule);
        }
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
            parser.feed(chunk, &mut |signal| {
                events += usize::from(matches!(signal, Signal::Event(_)));
                None
            });
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

#[test]
fn events_alike_but_for_their_string_come_back_as_repeats() {
    // The first bytes wait for a possible BOM and go line by line: a comment takes them.
    let stream = ": open\n\ndata: {\"t\":\"a\"}\n\ndata: {\"t\":\"1\"}\n\ndata: {\"t\":\"2\"}\n\n: between\n\ndata: {\"t\":\"b\\n\\u00e9\"}\n\ndata: {\"t\":\"c\"} \n\n\
                  event: x\ndata: {\"t\":\"d\"}\n\nevent: x\ndata: {\"t\":\"e\"}\n\ndata: {\"t\":\"f\"}\n\n\
                  data: {\"t\":\"g\",\"p\":\"1\"}\n\ndata: {\"t\":\"h\",\"p\":\"22\\\"\"}\n\n\
                  data: {\"t\":\"i\",\"p\":\"3\"} \n\n";
    assert_eq!(
        signals_of(stream.as_bytes()),
        [
            "event message {\"t\":\"a\"}",
            // A run of events alike in one signal.
            "repeat message 12",
            "repeat message b\né",
            // A byte more after the string: not the remembered event.
            "event message {\"t\":\"c\"} ",
            // Another event type: learnt anew.
            "event x {\"t\":\"d\"}",
            "repeat x e",
            "event message {\"t\":\"f\"}",
            // Padding after the text may change: the event is still the remembered one.
            "event message {\"t\":\"g\",\"p\":\"1\"}",
            "repeat message h",
            "event message {\"t\":\"i\",\"p\":\"3\"} ",
        ]
    );
}

/// The signals `stream` gives, fed in one read: each event's type and data, or a run's type and
/// text. Events are answered with the shape of their text, and of any padding after it.
fn signals_of(stream: &[u8]) -> Vec<String> {
    let mut parser = Parser::new();
    let mut seen = Vec::new();
    parser.feed(stream, &mut |signal| match signal {
        Signal::Event(e) => {
            seen.push(format!("event {} {}", e.event, e.data));
            Rule::Padded.read(e.data).or_else(|| Rule::Object.read(e.data)).map(|(shape, _)| shape)
        }
        Signal::Repeat { event, text, .. } => {
            seen.push(format!("repeat {event} {text}"));
            None
        }
        Signal::Comment => None,
    });
    seen
}

#[test]
fn a_run_with_a_text_that_is_not_utf8_reads_as_the_standard_says() {
    // Runs are read before their texts are checked: a byte that is not UTF-8 in one text sends
    // the events before it one by one, that event line by line (the byte replaced), and the
    // events after it back to a run.
    let stream = b": open\n\ndata: {\"t\":\"a\"}\n\ndata: {\"t\":\"b\"}\n\ndata: {\"t\":\"c\xFF\"}\n\n\
                   data: {\"t\":\"d\"}\n\ndata: {\"t\":\"e\"}\n\n";
    assert_eq!(
        signals_of(stream),
        [
            "event message {\"t\":\"a\"}",
            "event message {\"t\":\"b\"}",
            "event message {\"t\":\"c\u{FFFD}\"}",
            "repeat message de"
        ]
    );
    // Halves of one character in two texts: joined they would be UTF-8, but each event is
    // read alone, as a replaced byte each.
    let stream = b": open\n\ndata: {\"t\":\"a\"}\n\ndata: {\"t\":\"\xC3\"}\n\ndata: {\"t\":\"\xA9\"}\n\n\
                   data: {\"t\":\"z\"}\n\n";
    assert_eq!(
        signals_of(stream),
        [
            "event message {\"t\":\"a\"}",
            "event message {\"t\":\"\u{FFFD}\"}",
            "event message {\"t\":\"\u{FFFD}\"}",
            "repeat message z"
        ]
    );
}

mod streams;
