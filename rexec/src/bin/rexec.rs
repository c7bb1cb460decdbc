//! `rexec <cmd> [args…]`: run a command on the rexec server.

fn main() {
    std::process::exit(rexec::client::main_entry());
}
