//! Transport plugin instances kept after an answer ended cleanly, for the next answer through
//! the same plugin under the same grant.
//!
//! A fresh instance costs its instantiation, the page faults of its memory coming in and the
//! unmapping of it going: a tenth of an answer's time for the `sse` plugin on a fast stream,
//! and more for a plugin in Python or JavaScript, whose interpreter's memory is large. A kept
//! instance gets a fresh `stream-wrapper` resource through `connect`, as before; what the
//! plugin keeps in its globals survives, as in a server process (Zed keeps an extension's
//! instance for the whole session the same way). An instance is kept only after `close`
//! returned and its resource was dropped without a trap: one that failed, trapped or was
//! dropped mid-answer is never reused.

use std::sync::{Mutex, PoisonError};

use wasmtime::Store;

use super::plugin_session::Bindings;
use crate::plugin::Grant;
use crate::plugin::runtime::HostState;

/// The most instances kept: enough for the AIs of a fan-out (`a & b & c`) to find theirs.
const KEPT: usize = 4;
/// The most memory the kept instances may hold together (their memories' sizes): an instance
/// that grew past it is let go, so a shell left open does not hold a big answer's memory.
const KEPT_MEMORY: usize = 128 << 20;

/// A plugin instance between answers.
pub(crate) struct Instance {
    pub(crate) store: Store<HostState>,
    pub(crate) bindings: Bindings,
}

/// Where an instance goes back to after its answer: the kept instances, and what it is kept
/// under (the plugin's bytes and the grant its store was made with).
pub(crate) struct Home {
    warm: std::sync::Arc<Warm>,
    digest: [u8; 32],
    grant: Grant,
}

impl Home {
    /// Keeps `instance` for the next answer with the same plugin and grant.
    pub(crate) fn keep(self, instance: Instance) {
        let memory = instance.store.data().memory_grown_to();
        if memory > KEPT_MEMORY {
            return;
        }
        let mut kept = self.warm.kept.lock().unwrap_or_else(PoisonError::into_inner);
        kept.push(Kept { instance, memory, digest: self.digest, grant: self.grant });
        // The oldest go first; their memory is unmapped once the lock is let go.
        let mut over = 0;
        while kept.len() - over > KEPT || kept[over..].iter().map(|k| k.memory).sum::<usize>() > KEPT_MEMORY {
            over += 1;
        }
        let gone: Vec<Kept> = kept.drain(..over).collect();
        drop(kept);
        drop(gone);
    }
}

struct Kept {
    instance: Instance,
    memory: usize,
    digest: [u8; 32],
    grant: Grant,
}

/// The instances kept between answers.
#[derive(Default)]
pub(crate) struct Warm {
    kept: Mutex<Vec<Kept>>,
}

impl Warm {
    /// The newest instance kept of plugin `name` (with bytes `digest`) under exactly `grant`,
    /// if any, and where to keep the instance the answer ends up with.
    pub(crate) fn take(
        self: &std::sync::Arc<Self>,
        name: &str,
        digest: [u8; 32],
        grant: &Grant,
    ) -> (Option<Instance>, Option<Home>) {
        let mut kept = self.kept.lock().unwrap_or_else(PoisonError::into_inner);
        let found = kept
            .iter()
            .rposition(|k| k.digest == digest && k.instance.store.data().plugin() == name && k.grant.is(grant));
        let instance = found.map(|at| kept.remove(at).instance);
        (instance, Some(Home { warm: self.clone(), digest, grant: grant.clone() }))
    }
}
