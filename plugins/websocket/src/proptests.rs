//! Property tests of the frame decoder (issue 13, "Parsers that never panic"): arbitrary bytes
//! in arbitrary reads never panic and decode the same whatever the reads; frames a reference
//! encoder (written here from RFC 6455 section 5.2) lays out, fragmented and with control frames
//! between the fragments, decode to the messages it was given; masked, oversize and malformed
//! frames are errors with their close code, and the decoder never holds more than one message.

use aish_dialects::chunks::{config, cut};
use proptest::prelude::*;
use proptest::sample::Index;

use crate::frame::{Decoder, Frame, FrameError, encode, opcode};
use crate::handshake::parse_head;

/// The reference encoder: one frame laid out as RFC 6455 section 5.2 draws it. `fin`, the
/// three reserved bits, the opcode; the mask bit and the shortest payload length (7 bits, 126
/// and 16 bits, or 127 and 64 bits); the masking key when there is one; the payload, each byte
/// XORed with key byte `i mod 4` when masked.
fn frame(fin: bool, opcode: u8, payload: &[u8], mask: Option<[u8; 4]>) -> Vec<u8> {
    let mut out = vec![(u8::from(fin) << 7) | opcode];
    let mask_bit = if mask.is_some() { 0x80 } else { 0 };
    match payload.len() {
        n @ 0..=125 => out.push(mask_bit | n as u8),
        n @ 126..=0xFFFF => {
            out.push(mask_bit | 126);
            out.extend_from_slice(&(n as u16).to_be_bytes());
        }
        n => {
            out.push(mask_bit | 127);
            out.extend_from_slice(&(n as u64).to_be_bytes());
        }
    }
    match mask {
        Some(key) => {
            out.extend_from_slice(&key);
            out.extend(payload.iter().enumerate().map(|(i, b)| b ^ key[i % 4]));
        }
        None => out.extend_from_slice(payload),
    }
    out
}

/// How a decode ended: the frames, then the error or whether something was left half read.
#[derive(Debug, PartialEq)]
struct Decoded {
    frames: Vec<Frame>,
    error: Option<FrameError>,
    in_progress: bool,
}

/// Pushes `chunks` one by one, taking every frame after each, until the end or an error;
/// checks after each read that the decoder holds no more than one message, one control payload
/// and a header's start.
fn decode(chunks: &[&[u8]], limit: usize) -> Result<Decoded, TestCaseError> {
    let mut decoder = Decoder::new(limit);
    let mut frames = Vec::new();
    for chunk in chunks {
        decoder.push(chunk);
        loop {
            match decoder.next_frame() {
                Ok(Some(frame)) => frames.push(frame),
                Ok(None) => break,
                Err(error) => return Ok(Decoded { frames, error: Some(error), in_progress: true }),
            }
        }
        let (kept, unread, message, control) = decoder.held();
        prop_assert!(unread < 10, "{unread} bytes left unread: more than a header's start");
        prop_assert!(kept <= 20 + chunk.len(), "{kept} bytes kept after a read of {}", chunk.len());
        prop_assert!(message <= limit, "a message of {message} bytes held, over the limit {limit}");
        prop_assert!(control <= 125, "a control payload of {control} bytes");
    }
    Ok(Decoded { frames, error: None, in_progress: decoder.in_progress() })
}

/// Decodes `input` whole, in the given cuts and (when short) a byte a read; all must agree.
fn decode_every_way(input: &[u8], cuts: &[Index], limit: usize) -> Result<Decoded, TestCaseError> {
    let whole = decode(&[input], limit)?;
    prop_assert_eq!(&decode(&cut(input, cuts), limit)?, &whole, "cut");
    if input.len() <= 4096 {
        let bytes: Vec<&[u8]> = input.chunks(1).collect();
        prop_assert_eq!(&decode(&bytes, limit)?, &whole, "a byte a read");
    }
    Ok(whole)
}

/// Payload sizes on the edges of the three length encodings.
const EDGES: &[usize] = &[125, 126, 127, 0xFFFF, 0x1_0000, 0x1_0001];

/// Binary data: mostly short and random, sometimes a pattern as long as an edge of the length
/// encodings (cheap to make, so big frames stay fast).
fn binary() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        12 => prop::collection::vec(any::<u8>(), 0..200),
        1 => (prop::sample::select(EDGES), any::<u8>())
            .prop_map(|(n, seed)| (0..n).map(|i| seed.wrapping_add(i as u8)).collect()),
    ]
}

/// Text: mostly short with any characters, sometimes a few characters repeated to about an
/// edge of the length encodings.
fn text() -> impl Strategy<Value = String> {
    prop_oneof![
        12 => ".{0,60}",
        1 => (prop::sample::select(EDGES), ".{1,4}").prop_map(|(n, unit)| unit.repeat(n / unit.len() + 1)),
    ]
}

/// A control frame a server may send between the fragments of a message.
fn control() -> impl Strategy<Value = Frame> {
    let payload = || prop::collection::vec(any::<u8>(), 0..=125);
    prop_oneof![payload().prop_map(Frame::Ping), payload().prop_map(Frame::Pong)]
}

/// One message to send: the message, where its payload is cut into fragments, and the
/// control frames sent after each fragment but the last.
#[derive(Clone, Debug)]
struct Sent {
    message: Frame,
    cuts: Vec<Index>,
    between: Vec<Vec<Frame>>,
}

fn sent() -> impl Strategy<Value = Sent> {
    let message = prop_oneof![text().prop_map(Frame::Text), binary().prop_map(Frame::Binary)];
    let between = prop::collection::vec(prop::collection::vec(control(), 0..3), 0..5);
    (message, prop::collection::vec(any::<Index>(), 0..4), between).prop_map(|(message, cuts, between)| Sent {
        message,
        cuts,
        between,
    })
}

/// The frame a control [`Frame`] is sent as.
fn control_frame(control: &Frame, mask: Option<[u8; 4]>) -> Vec<u8> {
    match control {
        Frame::Ping(payload) => frame(true, opcode::PING, payload, mask),
        Frame::Pong(payload) => frame(true, opcode::PONG, payload, mask),
        Frame::Close(None, _) => frame(true, opcode::CLOSE, &[], mask),
        Frame::Close(Some(code), reason) => {
            let mut payload = code.to_be_bytes().to_vec();
            payload.extend_from_slice(reason.as_bytes());
            frame(true, opcode::CLOSE, &payload, mask)
        }
        Frame::Text(_) | Frame::Binary(_) => unreachable!("not a control frame"),
    }
}

/// Lays out `messages` as a server sends them (each frame masked when `masks` says so), then
/// the close, if any; returns the bytes and the frames a decoder should give, in order.
fn lay_out(
    messages: &[Sent],
    close: &Option<Frame>,
    masks: &mut dyn FnMut() -> Option<[u8; 4]>,
) -> (Vec<u8>, Vec<Frame>) {
    let mut bytes = Vec::new();
    let mut expected = Vec::new();
    for sent in messages {
        let (kind, payload) = match &sent.message {
            Frame::Text(text) => (opcode::TEXT, text.as_bytes()),
            Frame::Binary(data) => (opcode::BINARY, data.as_slice()),
            _ => unreachable!("a data message"),
        };
        let mut at: Vec<usize> = sent.cuts.iter().map(|c| c.index(payload.len() + 1)).collect();
        at.sort_unstable();
        at.push(payload.len());
        let mut from = 0;
        let last = at.len() - 1;
        for (i, to) in at.into_iter().enumerate() {
            let code = if i == 0 { kind } else { opcode::CONTINUATION };
            bytes.extend(frame(i == last, code, &payload[from..to], masks()));
            from = to;
            if i < last {
                for control in sent.between.get(i).into_iter().flatten() {
                    bytes.extend(control_frame(control, masks()));
                    expected.push(control.clone());
                }
            }
        }
        expected.push(sent.message.clone());
    }
    if let Some(close) = close {
        bytes.extend(control_frame(close, masks()));
        expected.push(close.clone());
    }
    (bytes, expected)
}

fn close() -> impl Strategy<Value = Option<Frame>> {
    let reason = prop::collection::vec(any::<char>(), 0..30).prop_map(|chars| {
        let mut reason: String = chars.into_iter().collect();
        while reason.len() > 123 {
            reason.pop();
        }
        reason
    });
    prop_oneof![
        Just(None),
        Just(Some(Frame::Close(None, String::new()))),
        (any::<u16>(), reason).prop_map(|(code, reason)| Some(Frame::Close(Some(code), reason))),
    ]
}

proptest! {
    #![proptest_config(config(2000))]

    /// Messages the reference encoder lays out, cut into fragments with pings and pongs between
    /// them and a close at the end, decode to the same messages whatever the reads.
    #[test]
    fn ws_reference_frames_decode_whatever_the_reads(
        messages in prop::collection::vec(sent(), 0..5),
        close in close(),
        cuts in prop::collection::vec(any::<Index>(), 0..32),
    ) {
        let (bytes, expected) = lay_out(&messages, &close, &mut || None);
        let decoded = decode_every_way(&bytes, &cuts, 1 << 20)?;
        prop_assert_eq!(decoded, Decoded { frames: expected, error: None, in_progress: false });
    }

    /// A masked frame (only clients mask) is a protocol error (1002) where it stands, the frames
    /// before it decoded, whatever the reads; and the client encoder's frames are the reference
    /// encoder's masked ones.
    #[test]
    fn ws_masked_frames_are_protocol_errors(
        messages in prop::collection::vec(sent(), 1..4),
        masked in any::<Index>(),
        key in any::<[u8; 4]>(),
        cuts in prop::collection::vec(any::<Index>(), 0..32),
    ) {
        let (plain, _) = lay_out(&messages, &None, &mut || None);
        let frames = {
            let mut count = 0;
            lay_out(&messages, &None, &mut || { count += 1; None });
            count
        };
        let target = masked.index(frames);
        let mut seen = 0;
        let (bytes, expected) = lay_out(&messages, &None, &mut || {
            seen += 1;
            (seen - 1 == target).then_some(key)
        });
        prop_assert_eq!(bytes.len(), plain.len() + 4);
        let decoded = decode_every_way(&bytes, &cuts, 1 << 20)?;
        prop_assert_eq!(decoded.error.map(|e| e.code), Some(1002));
        // What came before the masked frame came out, in order.
        prop_assert!(expected.starts_with(&decoded.frames), "{:?}", decoded.frames);
        for sent in &messages {
            if let Frame::Text(text) = &sent.message {
                prop_assert_eq!(encode(opcode::TEXT, text.as_bytes(), key), frame(true, opcode::TEXT, text.as_bytes(), Some(key)));
            }
        }
    }

    /// A message over the limit, whole or in fragments, is refused (1009) at the header that
    /// takes it over, before its payload is held, whatever the reads.
    #[test]
    fn ws_oversize_messages_are_refused(
        limit in prop_oneof![3 => 0usize..256, 1 => 0usize..140_000],
        message in sent(),
        cuts in prop::collection::vec(any::<Index>(), 0..32),
    ) {
        let (bytes, expected) = lay_out(std::slice::from_ref(&message), &None, &mut || None);
        let size = match &message.message {
            Frame::Text(text) => text.len(),
            Frame::Binary(data) => data.len(),
            _ => unreachable!(),
        };
        let decoded = decode_every_way(&bytes, &cuts, limit)?;
        if size > limit {
            prop_assert_eq!(decoded.error.map(|e| e.code), Some(1009));
        } else {
            prop_assert_eq!(decoded, Decoded { frames: expected, error: None, in_progress: false });
        }
    }
}

/// A frame header with any field: reserved bits, any opcode, mask bit, a length encoding that
/// need not be the shortest and a declared length that need not match the payload that follows.
#[derive(Clone, Debug)]
struct AnyFrame {
    first: u8,
    mask: Option<[u8; 4]>,
    length: Length,
    payload: Vec<u8>,
}

#[derive(Clone, Debug)]
enum Length {
    Short(u8),
    Medium(u16),
    Long(u64),
}

fn any_frame() -> impl Strategy<Value = AnyFrame> {
    let length = prop_oneof![
        (0u8..=127).prop_map(Length::Short),
        any::<u16>().prop_map(Length::Medium),
        prop_oneof![any::<u64>(), 0u64..300, Just(u64::MAX), Just(1 << 63)].prop_map(Length::Long),
    ];
    let first = prop_oneof![
        3 => (any::<bool>(), prop::sample::select(&[0u8, 1, 2, 8, 9, 10][..])).prop_map(|(fin, op)| (u8::from(fin) << 7) | op),
        1 => any::<u8>(),
    ];
    (first, prop::option::weighted(0.1, any::<[u8; 4]>()), length, prop::collection::vec(any::<u8>(), 0..140))
        .prop_map(|(first, mask, length, payload)| AnyFrame { first, mask, length, payload })
}

fn any_frame_bytes(frame: &AnyFrame) -> Vec<u8> {
    let mask_bit = if frame.mask.is_some() { 0x80 } else { 0 };
    let mut out = vec![frame.first];
    match frame.length {
        Length::Short(n) => out.push(mask_bit | n.min(125)),
        Length::Medium(n) => {
            out.push(mask_bit | 126);
            out.extend_from_slice(&n.to_be_bytes());
        }
        Length::Long(n) => {
            out.push(mask_bit | 127);
            out.extend_from_slice(&n.to_be_bytes());
        }
    }
    out.extend(frame.mask.iter().flatten());
    out.extend_from_slice(&frame.payload);
    out
}

proptest! {
    #![proptest_config(config(2000))]

    /// Arbitrary bytes, frames with arbitrary header fields and valid streams with bytes
    /// overwritten: never a panic, the same frames and the same error whatever the reads, and
    /// never more held than one message under the limit.
    #[test]
    fn ws_any_bytes_decode_the_same_whatever_the_reads(
        input in prop_oneof![
            prop::collection::vec(any::<u8>(), 0..512),
            prop::collection::vec(any_frame(), 0..6).prop_map(|frames| frames.iter().flat_map(any_frame_bytes).collect()),
            (prop::collection::vec(sent(), 1..3), prop::collection::vec((any::<Index>(), any::<u8>()), 1..4)).prop_map(
                |(messages, edits)| {
                    let (mut bytes, _) = lay_out(&messages, &None, &mut || None);
                    for (at, byte) in edits {
                        let at = at.index(bytes.len());
                        bytes[at] = byte;
                    }
                    bytes
                }
            ),
        ],
        limit in prop::sample::select(&[0usize, 1, 125, 126, 1000, 1 << 16, 1 << 20][..]),
        cuts in prop::collection::vec(any::<Index>(), 0..32),
    ) {
        let decoded = decode_every_way(&input, &cuts, limit)?;
        if let Some(error) = decoded.error {
            prop_assert!([1002, 1007, 1009].contains(&error.code), "close code {}", error.code);
        }
    }

    /// The handshake's response head, arbitrary or nearly valid, in growing prefixes as reads
    /// bring it: never a panic, and once whole always the same head.
    #[test]
    fn ws_response_head_never_panics(
        input in prop_oneof![
            prop::collection::vec(any::<u8>(), 0..256),
            (any::<u16>(), prop::collection::vec(("[A-Za-z-]{0,12}", "[ -~]{0,16}"), 0..4), prop::collection::vec(any::<u8>(), 0..8))
                .prop_map(|(status, headers, tail)| {
                    let mut head = format!("HTTP/1.1 {status} Switching\r\n");
                    for (name, value) in headers {
                        head.push_str(&format!("{name}:{value}\r\n"));
                    }
                    let mut bytes = head.into_bytes();
                    bytes.extend_from_slice(b"\r\n");
                    bytes.extend(tail);
                    bytes
                }),
        ],
        cuts in prop::collection::vec(any::<Index>(), 0..8),
    ) {
        let whole = parse_head(&input);
        let mut seen = 0;
        for chunk in cut(&input, &cuts) {
            seen += chunk.len();
            match parse_head(&input[..seen]) {
                Ok(None) => {}
                // A head is whole at its first blank line: longer prefixes read the same.
                other => {
                    prop_assert_eq!(&other, &whole);
                    break;
                }
            }
        }
        if let Ok(Some(head)) = whole {
            prop_assert!(head.length <= input.len());
        }
    }
}
