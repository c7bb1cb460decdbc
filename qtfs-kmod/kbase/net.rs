// SPDX-License-Identifier: GPL-2.0
//! TCP over IPv4 from the kernel: a listener and a stream, both owned
//! (released on drop), in the initial network namespace.
//!
//! Every blocking call is bounded by the socket's timeouts (set here, never
//! left at "forever") and sleeps interruptibly, so `kthread_stop()` (which
//! raises `TIF_NOTIFY_SIGNAL`) wakes it at once.
//!
//! C headers: [`include/linux/net.h`](srctree/include/linux/net.h),
//! [`include/net/sock.h`](srctree/include/net/sock.h); the parts that need
//! `init_net` or `struct sockaddr_in` are in `shim/kbase_shim.c`.

use super::config::{Ipv4, SockAddr};
use super::sys::monotonic_ms;
use core::ptr::NonNull;
use kernel::bindings;
use kernel::error::{to_result, Error, Result};
use kernel::ffi::{c_int, c_uint};

// `struct socket` reaches `struct mod_arch_specific`, empty on x86, which
// rustc flags as not FFI-safe; it is only ever behind a pointer here (the
// generated bindings allow the lint for the same reason).
#[allow(improper_ctypes)]
extern "C" {
    fn qtfs_shim_ack_now(sock: *mut bindings::socket);
    fn qtfs_shim_tcp_socket(res: *mut *mut bindings::socket) -> c_int;
    fn qtfs_shim_bind(sock: *mut bindings::socket, addr: u32, port: u16) -> c_int;
    fn qtfs_shim_connect(sock: *mut bindings::socket, addr: u32, port: u16) -> c_int;
    fn qtfs_shim_addr(
        sock: *mut bindings::socket,
        peer: c_int,
        addr: *mut u32,
        port: *mut u16,
    ) -> c_int;
    fn qtfs_shim_set_reuseaddr(sock: *mut bindings::socket);
    fn qtfs_shim_set_timeouts(sock: *mut bindings::socket, rcv_ms: c_uint, snd_ms: c_uint);
    fn qtfs_shim_sock_nofs(sock: *mut bindings::socket);
}

// Exported by net/core/sock.c and net/ipv4/tcp.c (include/net/sock.h,
// include/linux/tcp.h); not in the generated bindings. Each takes the
// socket lock itself.
extern "C" {
    fn sock_set_keepalive(sk: *mut bindings::sock);
    fn tcp_sock_set_keepidle(sk: *mut bindings::sock, val: c_int) -> c_int;
    fn tcp_sock_set_keepintvl(sk: *mut bindings::sock, val: c_int) -> c_int;
    fn tcp_sock_set_keepcnt(sk: *mut bindings::sock, val: c_int) -> c_int;
    fn tcp_sock_set_user_timeout(sk: *mut bindings::sock, val: c_int) -> c_int;
}

const EINPROGRESS: c_int = 115;
const ETIMEDOUT: c_int = 110;

/// Whether `e` only means "interrupted" (a signal, or `kthread_stop()`), so
/// the caller should check whether it is asked to stop and otherwise retry.
pub(crate) fn is_interrupted(e: Error) -> bool {
    // ERESTARTSYS=512, ERESTARTNOINTR=513, ERESTARTNOHAND=514, EINTR=4.
    matches!(-e.to_errno(), 4 | 512 | 513 | 514)
}

/// Whether `e` means a bounded wait ran out (`EAGAIN`).
pub(crate) fn is_timeout(e: Error) -> bool {
    e.to_errno() == -11
}

/// An owned kernel socket.
///
/// # Invariants
///
/// `self.0` points to a valid `struct socket` created by `sock_create_kern`
/// or `kernel_accept`, owned by this value alone and released exactly once,
/// when it is dropped.
struct Socket(NonNull<bindings::socket>);

// SAFETY: A kernel socket is not tied to the thread that created it; the
// socket layer serialises the operations exposed here with the socket lock.
unsafe impl Send for Socket {}
// SAFETY: Every method takes `&self` and calls a socket-layer function that
// does its own locking (`lock_sock`), so concurrent calls from several
// threads are safe.
unsafe impl Sync for Socket {}

impl Socket {
    fn new_tcp() -> Result<Self> {
        let mut sock: *mut bindings::socket = core::ptr::null_mut();
        // SAFETY: `sock` is a valid place for the result; the shim calls
        // `sock_create_kern(&init_net, PF_INET, SOCK_STREAM, IPPROTO_TCP, ..)`.
        to_result(unsafe { qtfs_shim_tcp_socket(&mut sock) })?;
        // `sock_create_kern` sets `*res` on success; stay defensive anyway.
        let sock = NonNull::new(sock).ok_or(kernel::error::code::ENOMEM)?;
        // INVARIANT: a fresh socket, owned by nobody else.
        Ok(Socket(sock))
    }

    fn as_ptr(&self) -> *mut bindings::socket {
        self.0.as_ptr()
    }

    /// The `struct sock` of this socket.
    fn sk(&self) -> *mut bindings::sock {
        // SAFETY: `self.0` is a valid socket (type invariant); `sk` is set
        // when it is created or accepted and stays until it is released.
        unsafe { (*self.as_ptr()).sk }
    }

    /// Bounds blocking receive/accept and send/connect; 0 keeps a value.
    fn set_timeouts(&self, rcv_ms: u32, snd_ms: u32) {
        // SAFETY: `self.0` is a valid socket (type invariant); the shim takes
        // the socket lock around the two `WRITE_ONCE`s.
        unsafe { qtfs_shim_set_timeouts(self.as_ptr(), rcv_ms, snd_ms) };
    }

    /// The remote (`peer`) or local address.
    fn addr(&self, peer: bool) -> Result<SockAddr> {
        let (mut addr, mut port) = (0u32, 0u16);
        // SAFETY: `self.0` is a valid socket (type invariant); `addr` and
        // `port` are valid places for the results.
        to_result(unsafe {
            qtfs_shim_addr(self.as_ptr(), c_int::from(peer), &mut addr, &mut port)
        })?;
        Ok(SockAddr {
            ip: Ipv4::from_u32(addr),
            port,
        })
    }
}

impl Drop for Socket {
    fn drop(&mut self) {
        // SAFETY: `self.0` is a valid socket owned by this value alone (type
        // invariant) and nobody can use it any more: this is its release.
        unsafe { bindings::sock_release(self.as_ptr()) };
    }
}

/// A listening TCP socket.
pub(crate) struct TcpListener {
    sock: Socket,
    local: SockAddr,
}

impl TcpListener {
    /// Binds `addr` with `SO_REUSEADDR` (a reload binds again at once, even
    /// while old connections linger in TIME_WAIT) and listens. `accept`
    /// waits at most `accept_timeout_ms` per call.
    pub(crate) fn bind(addr: SockAddr, backlog: i32, accept_timeout_ms: u32) -> Result<Self> {
        let sock = Socket::new_tcp()?;
        // SAFETY: `sock` is a valid socket (invariant of `Socket`); the shim
        // calls `sock_set_reuseaddr` on its `sk`, which locks it.
        unsafe { qtfs_shim_set_reuseaddr(sock.as_ptr()) };
        sock.set_timeouts(accept_timeout_ms, 0);
        // SAFETY: `sock` is a valid, unbound socket (invariant of `Socket`).
        to_result(unsafe { qtfs_shim_bind(sock.as_ptr(), addr.ip.to_u32(), addr.port) })?;
        // SAFETY: `sock` is a valid, bound socket (invariant of `Socket`).
        to_result(unsafe { bindings::kernel_listen(sock.as_ptr(), backlog) })?;
        Ok(TcpListener { sock, local: addr })
    }

    /// The address it listens on.
    pub(crate) fn local_addr(&self) -> SockAddr {
        self.local
    }

    /// Waits for a connection, at most the accept timeout given to
    /// [`Self::bind`] (then `EAGAIN`, see [`is_timeout`]); interruptible
    /// (see [`is_interrupted`]).
    pub(crate) fn accept(&self) -> Result<TcpStream> {
        let mut new: *mut bindings::socket = core::ptr::null_mut();
        // SAFETY: `self.sock` is a valid listening socket (invariant of
        // `Socket`); `new` is a valid place for the result, set to a new
        // socket on success and to NULL on failure.
        to_result(unsafe { bindings::kernel_accept(self.sock.as_ptr(), &mut new, 0) })?;
        let new = NonNull::new(new).ok_or(kernel::error::code::ENOMEM)?;
        // INVARIANT: `kernel_accept` succeeded: `new` is a valid connected
        // socket and we are its only owner.
        let sock = Socket(new);
        let peer = sock.addr(true)?;
        let local = sock.addr(false)?;
        Ok(TcpStream { sock, peer, local })
    }
}

/// A connected TCP socket.
pub(crate) struct TcpStream {
    sock: Socket,
    peer: SockAddr,
    local: SockAddr,
}

impl TcpStream {
    /// Connects to `addr`, waiting at most `timeout_ms` (then `ETIMEDOUT`);
    /// the wait is interruptible.
    pub(crate) fn connect(addr: SockAddr, timeout_ms: u32) -> Result<Self> {
        let sock = Socket::new_tcp()?;
        sock.set_timeouts(timeout_ms, timeout_ms);
        // SAFETY: `sock` is a valid, unconnected socket (invariant of
        // `Socket`). The connect blocks at most the send timeout set above.
        let ret = unsafe { qtfs_shim_connect(sock.as_ptr(), addr.ip.to_u32(), addr.port) };
        // A blocking connect that runs out of time reports EINPROGRESS.
        let ret = if ret == -EINPROGRESS { -ETIMEDOUT } else { ret };
        to_result(ret)?;
        let local = sock.addr(false)?;
        Ok(TcpStream {
            sock,
            peer: addr,
            local,
        })
    }

    /// The remote end.
    pub(crate) fn peer_addr(&self) -> SockAddr {
        self.peer
    }

    /// The local end.
    pub(crate) fn local_addr(&self) -> SockAddr {
        self.local
    }

    /// Makes the socket's own allocations `GFP_NOFS` (a file system's
    /// transport must not recurse into reclaim of its own pages).
    pub(crate) fn set_nofs(&self) {
        // SAFETY: valid socket (invariant of `Socket`); a plain field store.
        unsafe { qtfs_shim_sock_nofs(self.sock.as_ptr()) };
    }

    /// Acknowledges what arrived at once and leaves delayed-ACK
    /// ("pingpong") mode (`tcp_sock_set_quickack`). Called before reading a
    /// frame body longer than a segment: its sender's Nagle algorithm holds
    /// the body's last, partial segment until the first ones are
    /// acknowledged, which a receiver waiting to piggyback the ACK on its
    /// reply would otherwise delay by up to the delayed-ACK timeout (40 ms).
    pub(crate) fn ack_now(&self) {
        // SAFETY: valid socket (invariant of `Socket`); takes the socket lock.
        unsafe { qtfs_shim_ack_now(self.sock.as_ptr()) };
    }

    /// Turns on TCP keepalive (`SO_KEEPALIVE`): after `idle_s` seconds
    /// without traffic, a probe every `intvl_s` seconds; `cnt` unanswered
    /// probes end the connection (a blocked `recv` then fails with
    /// `ETIMEDOUT`). Values out of the kernel's ranges are refused
    /// (`EINVAL`), keepalive stays on with the values set so far.
    pub(crate) fn set_keepalive(&self, idle_s: i32, intvl_s: i32, cnt: i32) -> Result {
        let sk = self.sock.sk();
        // SAFETY: `sk` is the valid `struct sock` of our socket (invariant
        // of `Socket`); the helper locks it.
        unsafe { sock_set_keepalive(sk) };
        // SAFETY: As above; each helper takes the socket lock and checks
        // its value's range.
        to_result(unsafe { tcp_sock_set_keepidle(sk, idle_s) })?;
        // SAFETY: As above.
        to_result(unsafe { tcp_sock_set_keepintvl(sk, intvl_s) })?;
        // SAFETY: As above.
        to_result(unsafe { tcp_sock_set_keepcnt(sk, cnt) })
    }

    /// `TCP_USER_TIMEOUT`: data (or a zero-window probe) unacknowledged for
    /// `ms` milliseconds ends the connection with `ETIMEDOUT`.
    pub(crate) fn set_user_timeout(&self, ms: u32) -> Result {
        let val = c_int::try_from(ms).map_err(|_| kernel::error::code::EINVAL)?;
        // SAFETY: `sk` is the valid `struct sock` of our socket (invariant
        // of `Socket`); the helper takes the socket lock and checks `val`.
        to_result(unsafe { tcp_sock_set_user_timeout(self.sock.sk(), val) })
    }

    /// Bounds each [`Self::recv`] to `ms` milliseconds (then `EAGAIN`).
    pub(crate) fn set_recv_timeout(&self, ms: u32) {
        self.sock.set_timeouts(ms, 0);
    }

    /// Bounds each blocking send to `ms` milliseconds (then `EAGAIN`).
    pub(crate) fn set_send_timeout(&self, ms: u32) {
        self.sock.set_timeouts(0, ms);
    }

    /// Sends all of `buf`. Each wait for buffer space is bounded by the send
    /// timeout and interruptible; a short send continues where it stopped,
    /// any error (`EAGAIN` once the timeout ran out) is returned.
    pub(crate) fn send_all(&self, mut buf: &[u8]) -> Result {
        while !buf.is_empty() {
            buf = self.send_some(buf)?;
        }
        Ok(())
    }

    /// [`Self::send_all`], all of it within `limit_ms` (then `ETIMEDOUT`);
    /// `wait_ms` is the send timeout the socket has (its per-wait bound,
    /// restored before returning). A peer that takes a byte at a time
    /// cannot stretch one send beyond the limit: once less than `wait_ms`
    /// is left, the socket's send timeout is lowered to what is left.
    pub(crate) fn send_all_within(&self, mut buf: &[u8], limit_ms: u64, wait_ms: u32) -> Result {
        let deadline = monotonic_ms().saturating_add(limit_ms);
        let mut lowered = false;
        let mut result = Ok(());
        while !buf.is_empty() {
            let left = deadline.saturating_sub(monotonic_ms());
            if left == 0 {
                result = Err(Error::from_errno(-ETIMEDOUT));
                break;
            }
            if left < u64::from(wait_ms) {
                // `left` < `wait_ms`, a u32.
                self.sock.set_timeouts(0, left as u32);
                lowered = true;
            }
            match self.send_some(buf) {
                Ok(rest) => buf = rest,
                Err(e) => {
                    result = Err(e);
                    break;
                }
            }
        }
        if lowered {
            self.sock.set_timeouts(0, wait_ms);
        }
        result
    }

    /// One `kernel_sendmsg` of (a prefix of) `buf`; what is left of it.
    fn send_some<'a>(&self, buf: &'a [u8]) -> Result<&'a [u8]> {
        let mut vec = bindings::kvec {
            iov_base: buf.as_ptr().cast_mut().cast(),
            iov_len: buf.len(),
        };
        // SAFETY: As in `recv`: all-zero is a valid `msghdr`.
        let mut msg: bindings::msghdr = unsafe { core::mem::zeroed() };
        // SAFETY: `self.sock` is a valid connected socket (invariant of
        // `Socket`); `vec` describes `buf`, valid for reads of
        // `buf.len()` bytes for the whole call; `kernel_sendmsg` only
        // reads through `iov_base` (the pointer is `*mut` in C only).
        let ret = unsafe {
            bindings::kernel_sendmsg(self.sock.as_ptr(), &mut msg, &mut vec, 1, buf.len())
        };
        to_result(ret)?;
        if ret == 0 {
            return Err(kernel::error::code::EPIPE);
        }
        // `ret` is positive here and at most `buf.len()`.
        Ok(buf.get(ret as usize..).unwrap_or(&[]))
    }

    /// Receives up to `buf.len()` bytes; `Ok(0)` means the peer closed.
    /// Bounded by the receive timeout and
    /// interruptible.
    pub(crate) fn recv(&self, buf: &mut [u8]) -> Result<usize> {
        let mut vec = bindings::kvec {
            iov_base: buf.as_mut_ptr().cast(),
            iov_len: buf.len(),
        };
        // SAFETY: `msghdr` is a plain C struct (integers, pointers and
        // unions of them) for which all-zero bytes are a valid value: no
        // name, no control data, no flags; `kernel_recvmsg` sets the iterator.
        let mut msg: bindings::msghdr = unsafe { core::mem::zeroed() };
        // SAFETY: `self.sock` is a valid connected socket (invariant of
        // `Socket`); `vec` describes `buf`, which is valid for writes of
        // `buf.len()` bytes and borrowed mutably for the whole call.
        let ret = unsafe {
            bindings::kernel_recvmsg(self.sock.as_ptr(), &mut msg, &mut vec, 1, buf.len(), 0)
        };
        to_result(ret)?;
        // `ret` is non-negative here and at most `buf.len()`.
        Ok(ret as usize)
    }
}
