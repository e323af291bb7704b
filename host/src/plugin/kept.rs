//! Plugin instances kept after a clean use (a transport's answer, a stage's run), for the
//! next use of the same plugin under the same grant (and, for a transport, the same AI).
//!
//! A fresh instance costs its instantiation, the page faults of its memory coming in and the
//! unmapping of it going: a tenth of an answer's time for the `sse` plugin on a fast stream,
//! and more for a plugin in Python or JavaScript, whose interpreter's memory is large. A kept
//! instance gets a fresh resource (a transport's `stream-wrapper`, a stage's `processor`), as
//! before; what the plugin keeps in its globals survives, as in a server process (Zed keeps an
//! extension's instance for the whole session the same way), so only plugins that say they
//! keep no use's state in globals have theirs kept. An instance is kept only after its
//! resource was dropped, with no connection left open: one that failed, trapped, was cut off
//! mid-call or dropped mid-use is never reused. A transport's serves only the AI it served
//! (the same URL and API key), so a plugin that does keep a key in a global cannot send it
//! to another AI's server.

use std::sync::{Arc, Mutex, PoisonError};

use wasmtime::Store;

use super::Grant;
use super::runtime::HostState;

/// The most transport instances kept: enough for the AIs of a fan-out (`a & b & c`) to find
/// theirs.
pub(crate) const KEPT_TRANSPORTS: usize = 4;
/// The most stage instances kept: enough for a long pipeline's stages, line after line, to
/// find theirs (each is small, and the memory budget below holds either way).
pub(crate) const KEPT_STAGES: usize = 8;
/// The most memory the kept instances may hold together, by the size of each one's largest
/// memory: an instance larger than this alone is let go at once, so a shell left open does
/// not hold a big answer's memory.
const KEPT_MEMORY: usize = 128 << 20;

/// A plugin instance between uses, with its exports `B` (by contract version).
pub(crate) struct Instance<B> {
    /// The instance's store: its memory and the host's state for it.
    pub(crate) store: Store<HostState>,
    /// Its exports, by contract version.
    pub(crate) bindings: B,
}

/// The AI a transport's instance connected to: its URL and API key.
pub(crate) type Ai = (String, Option<String>);

/// What an instance is kept for: the plugin's bytes, the grant its store was made with, and
/// for a transport the AI it connected to.
#[derive(Clone)]
struct Key {
    digest: [u8; 32],
    grant: Grant,
    ai: Option<Ai>,
}

impl Key {
    fn fits(&self, plugin: &str, other: &Key, store: &Store<HostState>) -> bool {
        self.digest == other.digest
            && self.ai == other.ai
            && self.grant.is(&other.grant)
            && store.data().plugin() == plugin
    }
}

/// Where an instance goes back to after its use: the kept instances, and what it is kept for.
pub(crate) struct Home<B> {
    kept: Arc<Kept<B>>,
    key: Key,
}

impl<B> Home<B> {
    /// Keeps `instance` for the next use of the same plugin under the same grant (by the same
    /// AI), unless it still holds a connection or is too large to keep.
    pub(crate) fn keep(self, instance: Instance<B>) {
        let state = instance.store.data();
        let memory = state.memory_grown_to();
        let let_go = if state.holds_connections() {
            Some("it still holds an HTTP response or a socket connection (release them when its stream-wrapper is dropped)".to_owned())
        } else if memory > KEPT_MEMORY {
            Some(format!("its memory grew to {} MiB, past the {} MiB kept", memory >> 20, KEPT_MEMORY >> 20))
        } else {
            None
        };
        // For plugin authors: whether their plugin is kept, and if not why.
        if std::env::var_os("AISH_LOG").is_some() {
            let next = if self.key.ai.is_some() { "answer" } else { "run" };
            let said = let_go.as_deref().map_or(format!("kept for the next {next}"), |why| format!("not kept: {why}"));
            eprintln!("[plugin {}] debug: instance {said}", state.plugin());
        }
        if let_go.is_some() {
            return;
        }
        let mut kept = self.kept.kept.lock().unwrap_or_else(PoisonError::into_inner);
        kept.push(Entry { instance, memory, key: self.key });
        // The oldest go first; their memory is unmapped once the lock is let go.
        let mut over = 0;
        while kept.len() - over > self.kept.most || kept[over..].iter().map(|k| k.memory).sum::<usize>() > KEPT_MEMORY {
            over += 1;
        }
        let gone: Vec<Entry<B>> = kept.drain(..over).collect();
        drop(kept);
        drop(gone);
    }
}

/// An instance kept, with the size of its largest memory and what it is kept for.
struct Entry<B> {
    instance: Instance<B>,
    memory: usize,
    key: Key,
}

/// The instances of one kind (transports, or stages) kept between uses.
pub(crate) struct Kept<B> {
    kept: Mutex<Vec<Entry<B>>>,
    /// The most kept at once; the oldest go first.
    most: usize,
}

impl<B> Kept<B> {
    /// Keeps up to `most` instances at once.
    pub(crate) fn holding(most: usize) -> Arc<Self> {
        Arc::new(Kept { kept: Mutex::new(Vec::new()), most })
    }

    /// The newest instance kept of plugin `name` (with bytes `digest`) under exactly `grant`
    /// (for a transport, for the AI `ai`), if any, and where to keep the instance the use ends
    /// up with.
    pub(crate) fn take(
        self: &Arc<Self>,
        name: &str,
        digest: [u8; 32],
        grant: &Grant,
        ai: Option<Ai>,
    ) -> (Option<Instance<B>>, Home<B>) {
        let key = Key { digest, grant: grant.clone(), ai };
        let mut kept = self.kept.lock().unwrap_or_else(PoisonError::into_inner);
        let found = kept.iter().rposition(|k| k.key.fits(name, &key, &k.instance.store));
        let instance = found.map(|at| kept.remove(at).instance);
        (instance, Home { kept: self.clone(), key })
    }
}
