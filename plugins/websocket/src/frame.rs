//! RFC 6455 framing: client frames out (always masked), server frames in (never masked),
//! reassembled into whole messages with control frames interleaved.

/// Frame opcodes (RFC 6455 section 5.2).
pub mod opcode {
    /// A continuation of a fragmented message.
    pub const CONTINUATION: u8 = 0x0;
    /// A text message (UTF-8).
    pub const TEXT: u8 = 0x1;
    /// A binary message.
    pub const BINARY: u8 = 0x2;
    /// The closing handshake.
    pub const CLOSE: u8 = 0x8;
    /// A ping, answered by a pong with the same payload.
    pub const PING: u8 = 0x9;
    /// A pong.
    pub const PONG: u8 = 0xA;
}

/// Something whole the server sent.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Frame {
    /// A text message, all its fragments joined.
    Text(String),
    /// A binary message, all its fragments joined.
    Binary(Vec<u8>),
    /// A ping and its payload.
    Ping(Vec<u8>),
    /// A pong and its payload.
    Pong(Vec<u8>),
    /// A close frame: its status code, if any, and reason.
    Close(Option<u16>, String),
}

/// Why the server's bytes are not valid WebSocket frames; the connection must be failed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FrameError {
    /// The close code to send (1002 protocol error, 1007 bad data, 1009 too big).
    pub code: u16,
    /// What was wrong, for the user.
    pub message: String,
}

fn fail(code: u16, message: impl Into<String>) -> FrameError {
    FrameError { code, message: message.into() }
}

#[derive(Clone, Copy, Debug)]
enum State {
    /// Waiting for a frame header.
    Header,
    /// Reading a frame's payload: `remaining` bytes still to come.
    Payload { opcode: u8, fin: bool, remaining: usize },
}

/// Turns the bytes the server sends into [`Frame`]s, whatever sizes they arrive in.
pub struct Decoder {
    /// Bytes received; those before `start` are consumed (dropped in bulk, not per frame).
    pending: Vec<u8>,
    start: usize,
    state: State,
    /// The data message being assembled (payload goes straight here, not through `pending`,
    /// so a 16 MiB message is held once).
    message: Vec<u8>,
    /// TEXT or BINARY while a fragmented message is open.
    message_opcode: Option<u8>,
    /// The payload of the control frame being read.
    control: Vec<u8>,
    limit: usize,
}

impl Decoder {
    /// A decoder that refuses messages over `limit` bytes.
    pub fn new(limit: usize) -> Self {
        Decoder {
            pending: Vec::new(),
            start: 0,
            state: State::Header,
            message: Vec::new(),
            message_opcode: None,
            control: Vec::new(),
            limit,
        }
    }

    /// Adds bytes as they arrived.
    pub fn push(&mut self, mut bytes: &[u8]) {
        if self.start == self.pending.len() {
            self.pending.clear();
            self.start = 0;
        } else if self.start > self.pending.len() / 2 {
            self.pending.drain(..self.start);
            self.start = 0;
        }
        // A data payload already under way goes straight into the message.
        if let State::Payload { opcode, remaining, .. } = &mut self.state
            && !is_control(*opcode)
            && self.pending.is_empty()
        {
            let n = (*remaining).min(bytes.len());
            self.message.extend_from_slice(&bytes[..n]);
            *remaining -= n;
            bytes = &bytes[n..];
        }
        self.pending.extend_from_slice(bytes);
    }

    /// What the decoder holds: (bytes kept, of which not yet consumed, the message being
    /// assembled, the control payload being read).
    #[cfg(test)]
    pub(crate) fn held(&self) -> (usize, usize, usize, usize) {
        (self.pending.len(), self.pending.len() - self.start, self.message.len(), self.control.len())
    }

    /// Whether a message or frame is partly received.
    pub fn in_progress(&self) -> bool {
        self.start < self.pending.len() || matches!(self.state, State::Payload { .. }) || self.message_opcode.is_some()
    }

    /// The next whole frame or message, `None` until more bytes arrive.
    pub fn next_frame(&mut self) -> Result<Option<Frame>, FrameError> {
        loop {
            match self.state {
                State::Header => {
                    let Some((opcode, fin, length, used)) = self.header()? else { return Ok(None) };
                    self.start += used;
                    if !is_control(opcode) {
                        let total = self.message.len().saturating_add(length);
                        if total > self.limit {
                            return Err(fail(
                                1009,
                                format!(
                                    "the server sent a message over {} MiB, this transport's limit",
                                    self.limit >> 20
                                ),
                            ));
                        }
                        self.message.reserve_exact(length);
                    }
                    self.state = State::Payload { opcode, fin, remaining: length };
                }
                State::Payload { opcode, fin, remaining } => {
                    let n = remaining.min(self.pending.len() - self.start);
                    let target = if is_control(opcode) { &mut self.control } else { &mut self.message };
                    target.extend_from_slice(&self.pending[self.start..self.start + n]);
                    self.start += n;
                    let remaining = remaining - n;
                    if remaining > 0 {
                        self.state = State::Payload { opcode, fin, remaining };
                        return Ok(None);
                    }
                    self.state = State::Header;
                    if is_control(opcode) {
                        return self.control_frame(opcode).map(Some);
                    }
                    if opcode != opcode::CONTINUATION {
                        self.message_opcode = Some(opcode);
                    }
                    if fin {
                        return self.whole_message().map(Some);
                    }
                }
            }
        }
    }

    /// Parses a header at the start of `pending`: (opcode, fin, payload length, header size).
    fn header(&self) -> Result<Option<(u8, bool, usize, usize)>, FrameError> {
        let bytes = &self.pending[self.start..];
        if bytes.len() < 2 {
            return Ok(None);
        }
        let fin = bytes[0] & 0x80 != 0;
        if bytes[0] & 0x70 != 0 {
            return Err(fail(1002, "the server set reserved frame bits no extension was agreed for"));
        }
        let opcode = bytes[0] & 0x0F;
        if bytes[1] & 0x80 != 0 {
            return Err(fail(1002, "the server masked a frame (only clients mask)"));
        }
        let (length, used) = match bytes[1] & 0x7F {
            126 if bytes.len() < 4 => return Ok(None),
            126 => (u16::from_be_bytes([bytes[2], bytes[3]]) as u64, 4),
            127 if bytes.len() < 10 => return Ok(None),
            127 => {
                let mut be = [0; 8];
                be.copy_from_slice(&bytes[2..10]);
                (u64::from_be_bytes(be), 10)
            }
            short => (short as u64, 2),
        };
        match opcode {
            opcode::CLOSE | opcode::PING | opcode::PONG => {
                if !fin || length > 125 {
                    return Err(fail(1002, "the server sent a fragmented or oversized control frame"));
                }
            }
            opcode::CONTINUATION if self.message_opcode.is_none() => {
                return Err(fail(1002, "the server continued a message it never started"));
            }
            opcode::TEXT | opcode::BINARY if self.message_opcode.is_some() => {
                return Err(fail(1002, "the server started a message inside another fragmented one"));
            }
            opcode::CONTINUATION | opcode::TEXT | opcode::BINARY => {}
            other => return Err(fail(1002, format!("the server sent a frame with unknown opcode {other:#x}"))),
        }
        let length = usize::try_from(length).unwrap_or(usize::MAX);
        Ok(Some((opcode, fin, length, used)))
    }

    fn control_frame(&mut self, opcode: u8) -> Result<Frame, FrameError> {
        let payload = std::mem::take(&mut self.control);
        Ok(match opcode {
            opcode::PING => Frame::Ping(payload),
            opcode::PONG => Frame::Pong(payload),
            _ => match payload.len() {
                0 => Frame::Close(None, String::new()),
                1 => return Err(fail(1002, "the server sent a close frame with a one-byte payload")),
                _ => {
                    let code = u16::from_be_bytes([payload[0], payload[1]]);
                    let reason = String::from_utf8(payload[2..].to_vec())
                        .map_err(|_| fail(1007, "the server's close reason is not UTF-8"))?;
                    Frame::Close(Some(code), reason)
                }
            },
        })
    }

    fn whole_message(&mut self) -> Result<Frame, FrameError> {
        let data = std::mem::take(&mut self.message);
        match self.message_opcode.take() {
            Some(opcode::BINARY) => Ok(Frame::Binary(data)),
            _ => String::from_utf8(data)
                .map(Frame::Text)
                .map_err(|_| fail(1007, "the server sent a text message that is not UTF-8")),
        }
    }
}

fn is_control(opcode: u8) -> bool {
    opcode & 0x8 != 0
}

/// One client frame: FIN set, masked with `mask` as RFC 6455 requires of clients.
pub fn encode(opcode: u8, payload: &[u8], mask: [u8; 4]) -> Vec<u8> {
    let mut frame = Vec::with_capacity(payload.len() + 14);
    frame.push(0x80 | opcode);
    match payload.len() {
        n if n < 126 => frame.push(0x80 | n as u8),
        n if n <= u16::MAX as usize => {
            frame.push(0x80 | 126);
            frame.extend_from_slice(&(n as u16).to_be_bytes());
        }
        n => {
            frame.push(0x80 | 127);
            frame.extend_from_slice(&(n as u64).to_be_bytes());
        }
    }
    frame.extend_from_slice(&mask);
    frame.extend(payload.iter().enumerate().map(|(i, b)| b ^ mask[i % 4]));
    frame
}

/// The bytes of a server's close frame without a status: what a hang-up means where the
/// protocol treats it as the end.
pub fn server_close() -> [u8; 2] {
    [0x80 | opcode::CLOSE, 0]
}

/// A close frame's payload: the code and a reason.
pub fn close_payload(code: u16, reason: &str) -> Vec<u8> {
    let mut payload = code.to_be_bytes().to_vec();
    // Control payloads are at most 125 bytes; cut the reason on a character boundary.
    let mut end = reason.len().min(123);
    while !reason.is_char_boundary(end) {
        end -= 1;
    }
    payload.extend_from_slice(&reason.as_bytes()[..end]);
    payload
}

/// What a close code means, for messages.
pub fn close_code_name(code: u16) -> &'static str {
    match code {
        1000 => "normal closure",
        1001 => "going away",
        1002 => "protocol error",
        1003 => "unacceptable data",
        1007 => "invalid data",
        1008 => "policy violation",
        1009 => "message too big",
        1010 => "missing extension",
        1011 => "internal server error",
        1012 => "service restart",
        1013 => "try again later",
        1014 => "bad gateway",
        _ => "unregistered code",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A server frame (unmasked).
    fn server(fin: bool, opcode: u8, payload: &[u8]) -> Vec<u8> {
        let mut frame = encode(opcode, payload, [0; 4]);
        // Same layout as a client frame without the mask bit and key.
        frame[1] &= 0x7F;
        let header = match payload.len() {
            n if n < 126 => 2,
            n if n <= u16::MAX as usize => 4,
            _ => 10,
        };
        frame.drain(header..header + 4);
        if !fin {
            frame[0] &= 0x7F;
        }
        frame
    }

    fn decode_all(bytes: &[u8], split: usize) -> Result<Vec<Frame>, FrameError> {
        let mut decoder = Decoder::new(1 << 20);
        let mut frames = Vec::new();
        for chunk in bytes.chunks(split.max(1)) {
            decoder.push(chunk);
            while let Some(frame) = decoder.next_frame()? {
                frames.push(frame);
            }
        }
        assert!(!decoder.in_progress());
        Ok(frames)
    }

    #[test]
    fn messages_fragments_and_control_frames_in_any_split() {
        let mut bytes = server(true, opcode::TEXT, b"hello");
        bytes.extend(server(false, opcode::TEXT, "fragmé".as_bytes()));
        bytes.extend(server(true, opcode::PING, b"p"));
        bytes.extend(server(false, opcode::CONTINUATION, b"nted "));
        bytes.extend(server(true, opcode::CONTINUATION, b"message"));
        bytes.extend(server(true, opcode::BINARY, &[0, 1, 2]));
        bytes.extend(server(true, opcode::TEXT, &vec![b'x'; 300]));
        bytes.extend(server(true, opcode::TEXT, &vec![b'y'; 70_000]));
        bytes.extend(server(true, opcode::CLOSE, &close_payload(1000, "bye")));
        let expected = vec![
            Frame::Text("hello".into()),
            Frame::Ping(b"p".to_vec()),
            Frame::Text("fragménted message".into()),
            Frame::Binary(vec![0, 1, 2]),
            Frame::Text("x".repeat(300)),
            Frame::Text("y".repeat(70_000)),
            Frame::Close(Some(1000), "bye".into()),
        ];
        for split in [1, 2, 3, 7, 125, 4096, bytes.len()] {
            assert_eq!(decode_all(&bytes, split).unwrap(), expected, "split {split}");
        }
    }

    #[test]
    fn protocol_violations_fail_with_their_close_code() {
        let code = |bytes: Vec<u8>| decode_all(&bytes, 1000).unwrap_err().code;
        let mut masked = server(true, opcode::TEXT, b"hi");
        masked[1] |= 0x80;
        assert_eq!(code(masked), 1002);
        let mut reserved = server(true, opcode::TEXT, b"hi");
        reserved[0] |= 0x40;
        assert_eq!(code(reserved), 1002);
        assert_eq!(code(server(true, opcode::CONTINUATION, b"x")), 1002);
        assert_eq!(code(server(false, opcode::PING, b"x")), 1002);
        assert_eq!(code(server(true, 0x3, b"x")), 1002);
        let mut nested = server(false, opcode::TEXT, b"a");
        nested.extend(server(true, opcode::TEXT, b"b"));
        assert_eq!(code(nested), 1002);
        assert_eq!(code(server(true, opcode::TEXT, &[0xC3, 0x28])), 1007);
        let mut decoder = Decoder::new(10);
        decoder.push(&server(true, opcode::TEXT, &[b'a'; 11]));
        assert_eq!(decoder.next_frame().unwrap_err().code, 1009);
    }

    #[test]
    fn client_frames_are_masked() {
        let frame = encode(opcode::TEXT, b"Hello", [0x37, 0xfa, 0x21, 0x3d]);
        // The example from RFC 6455 section 5.7.
        assert_eq!(frame, [0x81, 0x85, 0x37, 0xfa, 0x21, 0x3d, 0x7f, 0x9f, 0x4d, 0x51, 0x58]);
        assert_eq!(&encode(opcode::BINARY, &[0; 200], [0; 4])[..4], &[0x82, 0xFE, 0x00, 200]);
        assert_eq!(&encode(opcode::BINARY, &[0; 70_000], [0; 4])[..2], &[0x82, 0xFF]);
        assert_eq!(close_payload(1000, &"é".repeat(100)).len(), 2 + 122);
    }
}
