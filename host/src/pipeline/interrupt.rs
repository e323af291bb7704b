//! Ctrl-C, heard for the whole process: it stops the answers on screen, and a script or `-c`
//! line after the line it came in (exit status 130), whatever was running then.

use std::sync::atomic::{AtomicBool, Ordering};

use tokio::sync::Notify;

/// Set when the user pressed Ctrl-C; see [`take_ctrl_c`].
static PRESSED: AtomicBool = AtomicBool::new(false);
/// Wakes what waits in [`ctrl_c`].
static WAKE: Notify = Notify::const_new();
/// The listener has been started.
static LISTENING: AtomicBool = AtomicBool::new(false);

/// Listens for Ctrl-C from now to the end of the process (once; needs a tokio runtime). Started
/// before a script's first line, a press during a built-in or between lines is not lost: once a
/// handler is installed the system no longer ends the process on Ctrl-C.
pub fn watch_ctrl_c() {
    if LISTENING.swap(true, Ordering::AcqRel) {
        return;
    }
    // Marked in the handler itself, not by a task: a line that blocks the runtime (a script's
    // first `plugin dev` build) is followed at once by the check for it.
    // SAFETY: the action only stores to an atomic, which is async-signal-safe.
    let marked = unsafe { signal_hook_registry::register(libc::SIGINT, || PRESSED.store(true, Ordering::Release)) };
    let Ok(mut presses) = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::interrupt()) else {
        return;
    };
    tokio::spawn(async move {
        while presses.recv().await.is_some() {
            if marked.is_err() {
                PRESSED.store(true, Ordering::Release);
            }
            WAKE.notify_waiters();
        }
    });
}

/// Whether the user pressed Ctrl-C since the last call: a script stops there, and `-c` exits
/// with 130, as a shell's command killed by it does.
pub fn take_ctrl_c() -> bool {
    PRESSED.swap(false, Ordering::AcqRel)
}

/// Whether the user pressed Ctrl-C and [`take_ctrl_c`] has not been asked since: for waits that
/// cannot await [`ctrl_c`].
pub(crate) fn ctrl_c_pressed() -> bool {
    PRESSED.load(Ordering::Acquire)
}

/// Resolves when the user presses Ctrl-C after the call; never, where signals cannot be watched.
pub(crate) async fn ctrl_c() {
    let pressed = WAKE.notified();
    watch_ctrl_c();
    pressed.await;
}
