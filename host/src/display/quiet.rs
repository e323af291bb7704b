//! Ctrl-C kept out of an answer on screen: a terminal echoes it as `^C` where the cursor stands,
//! in the middle of the answer's text, before aish has even seen it.

/// While alive, the terminal on stdout does not echo control characters (ECHOCTL off), so a
/// Ctrl-C during an answer leaves its text whole, and does not flush its queues (NOFLSH on), so
/// the answer's text already written is not thrown away; both come back when dropped.
pub(super) struct QuietCtrlC {
    /// NOFLSH was off before, so it is turned off again.
    flushed: bool,
}

impl QuietCtrlC {
    /// Turns the echo of `^C` off, when stdout is a terminal that echoes it and aish runs in its
    /// foreground (a background job changing it would be stopped by the terminal, SIGTTOU).
    pub(super) fn start() -> Option<QuietCtrlC> {
        // SAFETY: tcgetpgrp(3) and getpgrp(2) take and return plain integers.
        if unsafe { libc::tcgetpgrp(libc::STDOUT_FILENO) != libc::getpgrp() } {
            return None;
        }
        let mut settings = settings()?;
        let echo = libc::ECHO | libc::ECHOCTL;
        if settings.c_lflag & echo != echo {
            return None;
        }
        // With NOFLSH the kernel echoes the Ctrl-C in the same step as it sends SIGINT. Flushing,
        // it sends the signal, lets go of the terminal's settings to flush, and echoes after: aish
        // could end the answer and turn ECHOCTL back on in between, and `^C` showed after all.
        let flushed = settings.c_lflag & libc::NOFLSH == 0;
        settings.c_lflag &= !libc::ECHOCTL;
        settings.c_lflag |= libc::NOFLSH;
        apply(&settings).then_some(QuietCtrlC { flushed })
    }
}

impl Drop for QuietCtrlC {
    fn drop(&mut self) {
        // Only these settings are put back: the rest may have changed meanwhile. Put into the
        // background meanwhile (Ctrl-Z, `bg`), aish would be stopped for changing it, unless it
        // holds SIGTTOU back while it does.
        let Some(mut settings) = settings() else { return };
        settings.c_lflag |= libc::ECHOCTL;
        if self.flushed {
            settings.c_lflag &= !libc::NOFLSH;
        }
        let mut ttou = std::mem::MaybeUninit::<libc::sigset_t>::uninit();
        let mut before = std::mem::MaybeUninit::<libc::sigset_t>::uninit();
        // SAFETY: the sets are initialised by sigemptyset before use, and pthread_sigmask only
        // reads `ttou` and writes `before`; the mask is restored below on this same thread.
        unsafe {
            libc::sigemptyset(ttou.as_mut_ptr());
            libc::sigaddset(ttou.as_mut_ptr(), libc::SIGTTOU);
            let held = libc::pthread_sigmask(libc::SIG_BLOCK, ttou.as_ptr(), before.as_mut_ptr()) == 0;
            apply(&settings);
            if held {
                libc::pthread_sigmask(libc::SIG_SETMASK, before.as_ptr(), std::ptr::null_mut());
            }
        }
    }
}

/// The terminal settings of stdout, when it is a terminal.
fn settings() -> Option<libc::termios> {
    let mut settings = std::mem::MaybeUninit::<libc::termios>::uninit();
    // SAFETY: tcgetattr(3) writes a termios into the buffer it is given and touches nothing else.
    if unsafe { libc::tcgetattr(libc::STDOUT_FILENO, settings.as_mut_ptr()) } != 0 {
        return None;
    }
    // SAFETY: tcgetattr succeeded, so it filled the whole struct.
    Some(unsafe { settings.assume_init() })
}

fn apply(settings: &libc::termios) -> bool {
    // SAFETY: tcsetattr(3) reads the termios it is given and touches no other memory.
    unsafe { libc::tcsetattr(libc::STDOUT_FILENO, libc::TCSANOW, settings) == 0 }
}
