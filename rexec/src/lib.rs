//! rexec library (see issue 4)
