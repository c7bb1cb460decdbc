//! Which signals rexec forwards, and the client side listener.

use tokio::signal::unix::{signal, SignalKind};
use tokio::sync::mpsc;

/// Signals the client catches and forwards to the remote process.
pub const FORWARDED: [i32; 6] = [
    libc::SIGINT,
    libc::SIGTERM,
    libc::SIGHUP,
    libc::SIGQUIT,
    libc::SIGUSR1,
    libc::SIGUSR2,
];

/// Signals the server accepts in a `Signal` frame: the forwarded ones, the
/// job-control pair the client sends around its own stop (SIGTSTP, SIGCONT),
/// and SIGKILL.
pub fn is_forwardable(sig: i32) -> bool {
    FORWARDED.contains(&sig) || [libc::SIGKILL, libc::SIGTSTP, libc::SIGCONT].contains(&sig)
}

/// Stop this process (as SIGTSTP's default action would); returns once
/// it is continued (SIGCONT).
pub fn stop_self() {
    // SAFETY: raise(2) has no memory-safety preconditions.
    unsafe {
        libc::raise(libc::SIGSTOP);
    }
}

/// Install handlers for the forwarded signals; each delivery is sent on the channel.
pub fn listen() -> std::io::Result<mpsc::UnboundedReceiver<i32>> {
    let (tx, rx) = mpsc::unbounded_channel();
    for sig in FORWARDED {
        let mut s = signal(SignalKind::from_raw(sig))?;
        let tx = tx.clone();
        tokio::spawn(async move {
            while s.recv().await.is_some() {
                if tx.send(sig).is_err() {
                    return;
                }
            }
        });
    }
    Ok(rx)
}

/// Die by `sig` with its default action (used to mirror SIGPIPE).
pub fn die_by(sig: i32) -> ! {
    // SAFETY: resetting a disposition to SIG_DFL and raising a signal have no
    // memory-safety preconditions.
    unsafe {
        libc::signal(sig, libc::SIG_DFL);
        libc::raise(sig);
    }
    std::process::exit(128 + sig)
}
