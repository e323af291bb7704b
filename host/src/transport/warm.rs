//! Transport plugin instances kept after an answer ended cleanly, for the next answer of the
//! same AI through the same plugin under the same grant.
//!
//! A fresh instance costs its instantiation, the page faults of its memory coming in and the
//! unmapping of it going: a tenth of an answer's time for the `sse` plugin on a fast stream,
//! and more for a plugin in Python or JavaScript, whose interpreter's memory is large. A kept
//! instance gets a fresh `stream-wrapper` resource through `connect`, as before; what the
//! plugin keeps in its globals survives, as in a server process (Zed keeps an extension's
//! instance for the whole session the same way), so only plugins that say they keep no
//! answer's state in globals have theirs kept. An instance is kept only after `close` returned
//! and its resource was dropped, with no connection left open: one that failed, trapped, was
//! cut off mid-call or dropped mid-answer is never reused. It serves only the AI it served
//! (the same URL and API key), so a plugin that does keep a key in a global cannot send it
//! to another AI's server.

use std::sync::{Arc, Mutex, PoisonError};

use wasmtime::Store;

use super::ConnectOptions;
use super::plugin_session::Bindings;
use crate::plugin::Grant;
use crate::plugin::runtime::HostState;

/// The most instances kept: enough for the AIs of a fan-out (`a & b & c`) to find theirs.
const KEPT: usize = 4;
/// The most memory the kept instances may hold together, by the size of each one's largest
/// memory: an instance larger than this alone is let go at once, so a shell left open does
/// not hold a big answer's memory.
const KEPT_MEMORY: usize = 128 << 20;

/// A plugin instance between answers.
pub(crate) struct Instance {
    /// The instance's store: its memory and the host's state for it.
    pub(crate) store: Store<HostState>,
    /// Its exports, by contract version.
    pub(crate) bindings: Bindings,
}

/// What an instance is kept for: the plugin's bytes, the grant its store was made with, and
/// the AI (its URL and API key) it connected to.
#[derive(Clone)]
struct Key {
    digest: [u8; 32],
    grant: Grant,
    url: String,
    api_key: Option<String>,
}

impl Key {
    fn fits(&self, plugin: &str, other: &Key, store: &Store<HostState>) -> bool {
        self.digest == other.digest
            && self.url == other.url
            && self.api_key == other.api_key
            && self.grant.is(&other.grant)
            && store.data().plugin() == plugin
    }
}

/// Where an instance goes back to after its answer: the kept instances, and what it is kept
/// for.
pub(crate) struct Home {
    warm: Arc<Warm>,
    key: Key,
}

impl Home {
    /// Keeps `instance` for the next answer of the same AI with the same plugin and grant,
    /// unless it still holds a connection or is too large to keep.
    pub(crate) fn keep(self, instance: Instance) {
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
            let said =
                let_go.as_deref().map_or("kept for the next answer".to_owned(), |why| format!("not kept: {why}"));
            eprintln!("[plugin {}] debug: instance {said}", state.plugin());
        }
        if let_go.is_some() {
            return;
        }
        let mut kept = self.warm.kept.lock().unwrap_or_else(PoisonError::into_inner);
        kept.push(Kept { instance, memory, key: self.key });
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

/// An instance kept, with the size of its largest memory and what it is kept for.
struct Kept {
    instance: Instance,
    memory: usize,
    key: Key,
}

/// The instances kept between answers.
#[derive(Default)]
pub(crate) struct Warm {
    kept: Mutex<Vec<Kept>>,
}

impl Warm {
    /// The newest instance kept of plugin `name` (with bytes `digest`) under exactly `grant`
    /// for the AI `options` name, if any, and where to keep the instance the answer ends up
    /// with.
    pub(crate) fn take(
        self: &Arc<Self>,
        name: &str,
        digest: [u8; 32],
        grant: &Grant,
        options: &ConnectOptions,
    ) -> (Option<Instance>, Home) {
        let key = Key { digest, grant: grant.clone(), url: options.url.clone(), api_key: options.api_key.clone() };
        let mut kept = self.kept.lock().unwrap_or_else(PoisonError::into_inner);
        let found = kept.iter().rposition(|k| k.key.fits(name, &key, &k.instance.store));
        let instance = found.map(|at| kept.remove(at).instance);
        (instance, Home { warm: self.clone(), key })
    }
}
