//! `rexec_server`: serve rexec clients.

fn main() {
    if let Err(e) = rexec::server::main_entry() {
        eprintln!("rexec_server: {e:#}");
        std::process::exit(1);
    }
}
