//! Splitting a byte stream into lines, in time linear in its length: lines inside one read are
//! handed over as slices of it, and only a line cut by the end of a read is kept (and grown)
//! until its end arrives. Nothing is ever drained from the front of a buffer per line. Used by
//! the `http` (NDJSON), `tekton` (its socket protocol) and `sse` (event stream) transports.

/// Which bytes end a line.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LineEnd {
    /// `\n`, a `\r` just before it dropped (NDJSON, Tekton's protocol).
    Lf,
    /// `\r\n`, `\n` or `\r` alone (server-sent events), a `\r\n` split across reads included.
    Any,
}

/// A line splitter for one stream.
#[derive(Debug)]
pub struct Lines {
    ends: LineEnd,
    /// The start of a line whose end has not arrived yet.
    partial: Vec<u8>,
    /// The last read ended in `\r` (with [`LineEnd::Any`]): a `\n` first in the next is part of it.
    after_cr: bool,
}

impl Lines {
    /// A splitter at the start of a stream.
    pub fn new(ends: LineEnd) -> Self {
        Lines { ends, partial: Vec::new(), after_cr: false }
    }

    /// Splits the next bytes of the stream, calling `each` with every line they complete
    /// (without its end); what follows the last line end is kept for the next call.
    pub fn feed(&mut self, bytes: &[u8], each: impl FnMut(&[u8])) {
        // One loop per kind of line end, so the search inside it is a single tight scan.
        match self.ends {
            LineEnd::Lf => self.split::<false>(bytes, each),
            LineEnd::Any => self.split::<true>(bytes, each),
        }
    }

    fn split<const ANY: bool>(&mut self, mut bytes: &[u8], mut each: impl FnMut(&[u8])) {
        if self.after_cr && !bytes.is_empty() {
            self.after_cr = false;
            if bytes[0] == b'\n' {
                bytes = &bytes[1..];
            }
        }
        loop {
            let found = match ANY {
                true => memchr::memchr2(b'\n', b'\r', bytes),
                false => memchr::memchr(b'\n', bytes),
            };
            let Some(end) = found else { break };
            if self.partial.is_empty() {
                each(trim::<ANY>(&bytes[..end]));
            } else {
                let mut line = std::mem::take(&mut self.partial);
                line.extend_from_slice(&bytes[..end]);
                each(trim::<ANY>(&line));
                // Cleared, not freed: the capacity serves the next cut line.
                line.clear();
                self.partial = line;
            }
            let cr = ANY && bytes[end] == b'\r';
            bytes = &bytes[end + 1..];
            if cr {
                match bytes.first() {
                    Some(b'\n') => bytes = &bytes[1..],
                    Some(_) => {}
                    None => self.after_cr = true,
                }
            }
        }
        self.partial.extend_from_slice(bytes);
    }

    /// Whether the splitter is between lines: nothing held, no `\r` waiting for its `\n`.
    pub fn at_line_start(&self) -> bool {
        self.partial.is_empty() && !self.after_cr
    }

    /// How many bytes of an unfinished line are held (what a caller's line limit applies to).
    pub fn pending(&self) -> usize {
        self.partial.len()
    }

    /// The stream has ended: takes the unfinished line, if any, without its end.
    pub fn finish(&mut self) -> Vec<u8> {
        self.after_cr = false;
        let mut rest = std::mem::take(&mut self.partial);
        if self.ends == LineEnd::Lf && rest.last() == Some(&b'\r') {
            rest.pop();
        }
        rest
    }
}

/// A line without its end: with `\n` ends, a `\r` just before it dropped.
fn trim<const ANY: bool>(line: &[u8]) -> &[u8] {
    if ANY { line } else { line.strip_suffix(b"\r").unwrap_or(line) }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every line from feeding `chunks`, then what `finish` leaves.
    fn split(ends: LineEnd, chunks: &[&[u8]]) -> (Vec<Vec<u8>>, Vec<u8>) {
        let mut lines = Lines::new(ends);
        let mut out = Vec::new();
        for chunk in chunks {
            lines.feed(chunk, |line| out.push(line.to_vec()));
        }
        (out, lines.finish())
    }

    /// What splitting the whole input at once should give, written the obvious way.
    fn reference(ends: LineEnd, input: &[u8]) -> (Vec<Vec<u8>>, Vec<u8>) {
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

    #[test]
    fn lf_lines_drop_one_cr_and_keep_the_rest() {
        let (lines, rest) = split(LineEnd::Lf, &[b"a\r\nb\n\nc\r\r\nhalf"]);
        assert_eq!(lines, vec![b"a".to_vec(), b"b".to_vec(), b"".to_vec(), b"c\r".to_vec()]);
        assert_eq!(rest, b"half");
    }

    #[test]
    fn any_line_end_and_a_crlf_split_across_reads() {
        let (lines, rest) = split(LineEnd::Any, &[b"one\r", b"\ntwo\r", b"three\n\r\n"]);
        assert_eq!(lines, vec![b"one".to_vec(), b"two".to_vec(), b"three".to_vec(), b"".to_vec()]);
        assert!(rest.is_empty());
    }

    #[test]
    fn every_split_of_random_input_gives_the_same_lines() {
        // A small xorshift: reproducible, no dependency.
        let mut state = 0x9E37_79B9_7F4A_7C15_u64;
        let mut next = move || {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state
        };
        for round in 0..300 {
            let len = (next() % 64) as usize;
            let input: Vec<u8> = (0..len).map(|_| [b'a', b'b', b'\r', b'\n'][(next() % 4) as usize]).collect();
            for ends in [LineEnd::Lf, LineEnd::Any] {
                let want = reference(ends, &input);
                assert_eq!(split(ends, &[&input]), want, "round {round}, whole");
                let mut chunks = Vec::new();
                let mut rest = &input[..];
                while !rest.is_empty() {
                    let take = 1 + (next() as usize % rest.len().min(8));
                    chunks.push(&rest[..take]);
                    rest = &rest[take..];
                }
                assert_eq!(split(ends, &chunks), want, "round {round}, {chunks:?}");
            }
        }
    }

    #[test]
    fn a_million_lines_in_one_read_and_a_long_line_in_small_ones() {
        // Quadratic splitting (draining per line) would take hours here; linear takes milliseconds.
        let input = b"{\"n\":1}\n".repeat(1_000_000);
        let mut lines = Lines::new(LineEnd::Lf);
        let mut count = 0;
        lines.feed(&input, |line| {
            assert_eq!(line, b"{\"n\":1}");
            count += 1;
        });
        assert_eq!((count, lines.pending()), (1_000_000, 0));

        let long = vec![b'x'; 8 << 20];
        let mut got = Vec::new();
        for chunk in long.chunks(4096) {
            lines.feed(chunk, |line| got.push(line.len()));
        }
        assert_eq!(lines.pending(), 8 << 20, "held until its end arrives");
        lines.feed(b"\n", |line| got.push(line.len()));
        assert_eq!((got, lines.pending()), (vec![8 << 20], 0));
    }
}
