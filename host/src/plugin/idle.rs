//! One timer kept for a connection's waits. A fresh `tokio::time::timeout` per read registers a
//! new timer each time the read waits, and a timer registered while the runtime has none wakes
//! its I/O driver with a system call (an `eventfd` write, then a poll): one pair per read of a
//! fast stream. A kept timer pushed later, before it fired, is only marked.

use std::future::{Future, poll_fn};
use std::pin::{Pin, pin};
use std::task::Poll;
use std::time::Duration;

use tokio::time::{Instant, Sleep};

/// Far enough to count as never (about thirty years; tokio's own "far future").
const FOREVER: Duration = Duration::from_secs(86_400 * 365 * 30);

/// The deadline for a connection's waits, one wait at a time.
#[derive(Debug)]
pub(crate) struct IdleTimer(Pin<Box<Sleep>>);

impl IdleTimer {
    /// A timer not yet running (it starts with the first wait). Needs a tokio runtime.
    pub(crate) fn new() -> IdleTimer {
        IdleTimer(Box::pin(tokio::time::sleep(Duration::ZERO)))
    }

    /// What `future` gives, or `None` when it has not finished `limit` from now.
    pub(crate) async fn within<F: Future>(&mut self, limit: Duration, future: F) -> Option<F::Output> {
        let mut future = pin!(future);
        let timer = &mut self.0;
        // A limit past any clock (a plugin's `wait_ms` of `u64::MAX`) waits for ever, as
        // `tokio::time::timeout` does.
        let now = Instant::now();
        timer.as_mut().reset(now.checked_add(limit).unwrap_or_else(|| now + FOREVER));
        poll_fn(|cx| match future.as_mut().poll(cx) {
            Poll::Ready(output) => Poll::Ready(Some(output)),
            Poll::Pending => timer.as_mut().poll(cx).map(|()| None),
        })
        .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn each_wait_gets_its_whole_limit_from_one_kept_timer() {
        let mut timer = IdleTimer::new();
        let limit = Duration::from_millis(40);
        let started = Instant::now();
        assert_eq!(timer.within(limit, std::future::pending::<()>()).await, None);
        assert!(started.elapsed() >= limit);
        assert_eq!(timer.within(limit, async { 7 }).await, Some(7));
        // A wait longer than the last one's limit, but within its own: the kept timer was
        // pushed later, not left where it was.
        let late = async {
            tokio::time::sleep(Duration::from_millis(60)).await;
            8
        };
        assert_eq!(timer.within(Duration::from_secs(5), late).await, Some(8));
        let started = Instant::now();
        assert_eq!(timer.within(limit, std::future::pending::<()>()).await, None);
        assert!(started.elapsed() >= limit);
    }
}
