//! How long a guest call has computed: the time since it started, less the time its aish host
//! calls spent waiting on the network (each beyond its first millisecond). Shared, so that a
//! watch outside the call can stop one that waits on something else (a sleep) for too long:
//! the engine's own check runs only while the plugin's code runs.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

/// The part of every host call that counts as compute, whatever it waited: the resolution of
/// the host's timers, so a zero timeout (which lasts until the next timer tick) is not a wait.
const UNCREDITED_WAIT: Duration = Duration::from_millis(1);

/// The compute clock of one store's current call.
#[derive(Clone)]
pub(crate) struct Clock(Arc<Shared>);

struct Shared {
    counts: Mutex<Counts>,
    /// An aish host call began since the last WASI call: only then has a WASI call work to do
    /// (a plugin may make a WASI call per event; most find nothing to do, at one load).
    host_call_pending: AtomicBool,
}

struct Counts {
    /// When the call started, moved later by each wait credited.
    counting_from: Instant,
    /// When the aish host call under way began, or the latest one not credited yet (one that did
    /// not wait keeps its time here until the next host or WASI call).
    host_call_began: Option<Instant>,
    /// When the latest aish host call that waited on the network finished.
    wait_ended: Instant,
    /// The end of the latest wait already credited.
    credited_until: Instant,
    /// Whether the call has had a wait credited (it waited on the network).
    credited: bool,
}

impl Clock {
    /// A clock whose call starts `now`.
    pub(crate) fn new(now: Instant) -> Self {
        Clock(Arc::new(Shared { counts: Mutex::new(Counts::new(now)), host_call_pending: AtomicBool::new(false) }))
    }

    fn counts(&self) -> std::sync::MutexGuard<'_, Counts> {
        self.0.counts.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// A call starts afresh `now`.
    pub(crate) fn restart(&self, now: Instant) {
        *self.counts() = Counts::new(now);
    }

    /// A call starts `now` whose compute adds to the last one's, which ended at `last_ended`.
    pub(crate) fn resume(&self, now: Instant, last_ended: Instant) {
        let mut counts = self.counts();
        counts.settle();
        counts.counting_from += now.saturating_duration_since(last_ended);
        counts.host_call_began = None;
        counts.wait_ended = now;
        counts.credited_until = now;
        counts.credited = false;
    }

    /// Whether the call since it started (or resumed) waited on the network.
    pub(crate) fn waited_on_network(&self) -> bool {
        let mut counts = self.counts();
        counts.settle();
        counts.credited
    }

    /// An aish host call begins: the network wait it may make is not compute.
    pub(crate) fn host_call(&self) {
        let mut counts = self.counts();
        counts.settle();
        counts.host_call_began = Some(Instant::now());
        self.0.host_call_pending.store(true, Ordering::Relaxed);
    }

    /// The aish host call under way finished waiting on the network.
    pub(crate) fn waited(&self) {
        self.counts().wait_ended = Instant::now();
    }

    /// A WASI call begins: what it waits on (a sleep; WASI has no network here) is the plugin's
    /// own time, and counts.
    pub(crate) fn wasi_call(&self) {
        if !self.0.host_call_pending.load(Ordering::Relaxed) || !self.0.host_call_pending.swap(false, Ordering::Relaxed)
        {
            return;
        }
        let mut counts = self.counts();
        counts.settle();
        counts.host_call_began = None;
    }

    /// How long the call has computed by now.
    pub(crate) fn computed(&self) -> Duration {
        let mut counts = self.counts();
        counts.settle();
        Instant::now().saturating_duration_since(counts.counting_from)
    }

    /// How long the call has computed by now, taking an aish host call under way as a network
    /// wait from its start (it is credited only once it returns).
    fn computed_outside_host_calls(&self) -> Duration {
        let mut counts = self.counts();
        counts.settle();
        let until = counts.host_call_began.unwrap_or_else(Instant::now);
        until.saturating_duration_since(counts.counting_from)
    }

    /// Resolves once the call has computed past `limit` outside aish's host calls: a plugin
    /// waiting in a WASI call (a sleep) that the engine's check, which runs only while the
    /// plugin's code runs, would see only when the wait ends.
    pub(crate) async fn overran(&self, limit: Duration) {
        loop {
            // Until the limit would be reached if nothing more were credited.
            let left = limit.saturating_sub(self.computed_outside_host_calls());
            if left.is_zero() {
                return;
            }
            tokio::time::sleep(left + Duration::from_millis(1)).await;
        }
    }
}

impl Counts {
    fn new(now: Instant) -> Self {
        Counts { counting_from: now, host_call_began: None, wait_ended: now, credited_until: now, credited: false }
    }

    /// Credits the wait of the latest host call, once it has ended.
    fn settle(&mut self) {
        if self.wait_ended == self.credited_until {
            return;
        }
        if let Some(began) = self.host_call_began.take() {
            let credit = self.wait_ended.saturating_duration_since(began).saturating_sub(UNCREDITED_WAIT);
            self.counting_from += credit;
            self.credited |= !credit.is_zero();
        }
        self.credited_until = self.wait_ended;
    }
}
