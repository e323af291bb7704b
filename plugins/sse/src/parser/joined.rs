//! Where the SSE parser's loops of short texts add the texts of a run of remembered events.

/// Where the loops of short texts add a text: a run, or room reserved in one ([`Joined`]).
pub(super) trait PushText {
    /// Adds the first `length` (at most sixteen) bytes of `window`, written as the whole
    /// window (a copy of constant length; see `frame::short_texts`); false (nothing added)
    /// when there is no room.
    fn push_text(&mut self, window: &[u8; 16], length: usize) -> bool;
}

impl PushText for Vec<u8> {
    #[inline(always)]
    fn push_text(&mut self, window: &[u8; 16], length: usize) -> bool {
        self.extend_from_slice(window);
        self.truncate(self.len() - 16 + length);
        true
    }
}

/// Texts added to a run in room reserved for them before the loop: a push that may grow the run
/// is a call inside the loop, and around a call Cranelift keeps the loop's values on the stack
/// instead of in registers. A text is written as its whole window (a copy of constant length;
/// see `frame::short_texts`), the next one over the bytes past it; the run takes them when
/// dropped.
pub(super) struct Joined<'a> {
    run: &'a mut Vec<u8>,
    /// Where the run's bytes end: held, as a write through it could otherwise be the run's own
    /// length and place, which would be read again after each.
    end: *mut u8,
    /// The room past `end`.
    room: usize,
    /// How many bytes past `end` hold texts.
    added: usize,
}

impl<'a> Joined<'a> {
    /// Room for the texts of `bytes` more bytes of events: a text is shorter than its event,
    /// and the last window needs sixteen bytes.
    #[inline(always)]
    pub(super) fn new(run: &'a mut Vec<u8>, bytes: usize) -> Joined<'a> {
        run.reserve(bytes + 16);
        let room = run.capacity() - run.len();
        // SAFETY: `len` is within the allocation (at most its end).
        let end = unsafe { run.as_mut_ptr().add(run.len()) };
        Joined { run, end, room, added: 0 }
    }
}

impl PushText for Joined<'_> {
    #[inline(always)]
    fn push_text(&mut self, window: &[u8; 16], length: usize) -> bool {
        if self.room - self.added < 16 {
            return false;
        }
        // SAFETY: the sixteen bytes from `added` are within the room reserved past `end`, which
        // only this writes while the run is borrowed.
        unsafe { self.end.add(self.added).cast::<[u8; 16]>().write_unaligned(*window) };
        self.added += length.min(16);
        true
    }
}

impl Drop for Joined<'_> {
    fn drop(&mut self) {
        // SAFETY: `push_text` wrote each of the `added` bytes past the run's end, within its capacity.
        unsafe { self.run.set_len(self.run.len() + self.added) };
    }
}
