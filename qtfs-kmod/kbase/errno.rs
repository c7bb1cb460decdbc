// SPDX-License-Identifier: GPL-2.0
//! The errno values qtfs returns that 6.12's `kernel::error::code` lacks,
//! and `ERR_PTR` for callbacks that return a pointer or an error.

use kernel::error::Error;

macro_rules! errnos {
    ($($(#[$doc:meta])* $name:ident = $v:expr;)*) => {$(
        $(#[$doc])*
        pub(crate) fn $name() -> Error {
            Error::from_errno(-$v)
        }
    )*};
}

errnos! {
    /// `ECHILD`: retry outside RCU walk.
    echild = 10;
    /// `ENAMETOOLONG`.
    enametoolong = 36;
    /// `EPROTO`: the peer broke the protocol.
    eproto = 71;
    /// `EOPNOTSUPP`.
    eopnotsupp = 95;
    /// `ETIMEDOUT`.
    etimedout = 110;
    /// `ESTALE`: the file is not the one it was.
    estale = 116;
}

/// `ERR_PTR(e)`.
pub(crate) fn err_ptr<T>(e: Error) -> *mut T {
    e.to_errno() as isize as *mut T
}
