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

/// Signals the server accepts in a `Signal` frame: the forwarded ones, plus
/// SIGKILL (used by helpers such as `remote_kill -9`).
pub fn is_forwardable(sig: i32) -> bool {
    FORWARDED.contains(&sig) || sig == libc::SIGKILL
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
