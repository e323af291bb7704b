//! Where one answer stands, as every transport tracks it: still streaming, finished (its
//! `done` or `error` event produced), or failed with an error that waits until the events
//! produced before it are handed over.

use aish_plugin_sdk::{Event, TransportError};

use crate::Progress;

/// Whether an answer is finished, and the error waiting to be reported after its events.
#[derive(Debug, Default)]
pub struct AnswerState {
    finished: bool,
    pending_error: Option<TransportError>,
}

impl AnswerState {
    /// A new answer starts.
    pub fn reset(&mut self) {
        *self = AnswerState::default();
    }

    /// Whether incoming messages still count: not finished, and no error waiting.
    pub fn is_open(&self) -> bool {
        !self.finished && self.pending_error.is_none()
    }

    /// Whether the answer's end was produced or its error reported.
    pub fn is_finished(&self) -> bool {
        self.finished
    }

    /// The answer's end (a `done` or `error` event) was produced.
    pub fn finish(&mut self) {
        self.finished = true;
    }

    /// Records what a dialect made of a message: its end, or its error.
    pub fn progress(&mut self, result: Result<Progress, TransportError>) {
        match result {
            Ok(Progress::More) => {}
            Ok(Progress::Finished) => self.finish(),
            Err(error) => self.fail(error),
        }
    }

    /// The answer failed: `error` is reported once the events before it are handed over. Only
    /// the first outcome counts; an error after the end or after another error is dropped.
    pub fn fail(&mut self, error: TransportError) {
        if self.is_open() {
            self.pending_error = Some(error);
        }
    }

    /// The waiting error, to report now; the answer is finished after it.
    pub fn take_error(&mut self) -> Option<TransportError> {
        let error = self.pending_error.take()?;
        self.finished = true;
        Some(error)
    }

    /// What `receive` returns: the events, or the waiting error when there are none.
    pub fn deliver(&mut self, events: Vec<Event>) -> Result<Vec<Event>, TransportError> {
        match events.is_empty().then(|| self.take_error()).flatten() {
            Some(error) => Err(error),
            None => Ok(events),
        }
    }

    /// Fails the answer and hands over the events already produced, keeping the error for the
    /// next call (at once when there are none).
    pub fn fail_after(&mut self, events: Vec<Event>, error: TransportError) -> Result<Vec<Event>, TransportError> {
        self.fail(error);
        self.deliver(events)
    }
}

#[cfg(test)]
mod tests {
    use aish_plugin_sdk::ErrorKind;

    use super::*;

    fn error(text: &str) -> TransportError {
        TransportError::new(ErrorKind::Interrupted, text)
    }

    #[test]
    fn events_first_then_the_error_then_nothing() {
        let mut state = AnswerState::default();
        assert!(state.is_open());
        let events = state.fail_after(vec![Event::Token("a".into())], error("cut")).unwrap();
        assert_eq!(events, vec![Event::Token("a".into())]);
        assert!(!state.is_open() && !state.is_finished(), "the error waits for the next call");
        assert_eq!(state.deliver(Vec::new()).unwrap_err().message, "cut");
        assert!(state.is_finished());
        assert_eq!(state.deliver(Vec::new()).unwrap(), Vec::new());
    }

    #[test]
    fn with_no_events_the_error_comes_at_once_and_only_the_first_counts() {
        let mut state = AnswerState::default();
        state.progress(Err(error("first")));
        state.fail(error("second"));
        assert_eq!(state.fail_after(Vec::new(), error("third")).unwrap_err().message, "first");
    }

    #[test]
    fn an_error_after_the_end_is_dropped_and_reset_starts_over() {
        let mut state = AnswerState::default();
        state.progress(Ok(Progress::More));
        assert!(state.is_open());
        state.progress(Ok(Progress::Finished));
        state.fail(error("late"));
        assert!(state.is_finished() && state.take_error().is_none());
        state.reset();
        assert!(state.is_open() && !state.is_finished());
    }
}
