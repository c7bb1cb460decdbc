// SPDX-License-Identifier: GPL-2.0
//! Logging filtered by the `qtfs_log_level` parameter.
//!
//! [`qerr!`], [`qwarn!`], [`qinfo!`] and [`qdebug!`] take `format!`-style
//! arguments, append the newline, and print through the kernel's `pr_*`
//! macros (so every line carries the module name as prefix: `qtfs: ` or
//! `qtfs_server: `) when the configured level lets them through. Debug lines
//! go out at KERN_INFO with a `debug: ` prefix, because 6.12's `pr_debug!`
//! prints only in kernels built with Rust debug assertions.
#![forbid(unsafe_code)]

use super::config::{LogLevel, DEFAULT_LOG_LEVEL};
use core::sync::atomic::{AtomicU8, Ordering};

static LEVEL: AtomicU8 = AtomicU8::new(DEFAULT_LOG_LEVEL as u8);

/// Sets the level for the rest of the module's life.
pub(crate) fn set_level(level: LogLevel) {
    LEVEL.store(level as u8, Ordering::Relaxed);
}

/// The current level.
pub(crate) fn level() -> LogLevel {
    LogLevel::from_u8(LEVEL.load(Ordering::Relaxed))
}

/// Whether a message of `at` is printed.
pub(crate) fn enabled(at: LogLevel) -> bool {
    at != LogLevel::None && at <= level()
}

macro_rules! qerr {
    ($($arg:tt)*) => {
        if $crate::kbase::log::enabled($crate::kbase::config::LogLevel::Error) {
            kernel::pr_err!("{}\n", format_args!($($arg)*));
        }
    };
}

macro_rules! qwarn {
    ($($arg:tt)*) => {
        if $crate::kbase::log::enabled($crate::kbase::config::LogLevel::Warn) {
            kernel::pr_warn!("{}\n", format_args!($($arg)*));
        }
    };
}

macro_rules! qinfo {
    ($($arg:tt)*) => {
        if $crate::kbase::log::enabled($crate::kbase::config::LogLevel::Info) {
            kernel::pr_info!("{}\n", format_args!($($arg)*));
        }
    };
}

// Not every module logs at debug level.
#[allow(unused_macros)]
macro_rules! qdebug {
    ($($arg:tt)*) => {
        if $crate::kbase::log::enabled($crate::kbase::config::LogLevel::Debug) {
            kernel::pr_info!("debug: {}\n", format_args!($($arg)*));
        }
    };
}

/// [`qwarn!`], but only while the module-wide rate limit allows
/// (`kbase::sys::ratelimit_ok`): for lines a peer can trigger at will.
#[allow(unused_macros)]
macro_rules! qwarn_rl {
    ($($arg:tt)*) => {
        if $crate::kbase::log::enabled($crate::kbase::config::LogLevel::Warn)
            && $crate::kbase::sys::ratelimit_ok()
        {
            kernel::pr_warn!("{}\n", format_args!($($arg)*));
        }
    };
}

#[allow(unused_imports)]
pub(crate) use {qdebug, qerr, qinfo, qwarn, qwarn_rl};
