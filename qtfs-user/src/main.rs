//! qtfsctl: set-up tool for qtfs (grows in later issues).
fn main() {
    eprintln!("qtfsctl: not yet implemented");
    std::process::exit(2);
}
