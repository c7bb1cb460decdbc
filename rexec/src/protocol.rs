//! The rexec wire protocol: length-prefixed binary frames.
//!
//! Every frame is `u32 length (big endian) | u8 type | payload`, where
//! `length` counts the type byte and the payload. All integers are big
//! endian; byte strings are `u32 length | bytes`. See docs/rexec.md.

use thiserror::Error;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};

/// Magic at the start of an `Exec` frame.
pub const MAGIC: &[u8; 6] = b"REXEC\0";
/// Protocol version carried in `Exec`.
pub const VERSION: u16 = 1;
/// Largest frame accepted by default (type byte + payload).
pub const DEFAULT_MAX_FRAME: usize = 4 << 20;
/// Size of the data chunks the implementation sends for stdio. A frame of
/// this size stays just below the allocators' mmap threshold (musl: 131052
/// bytes), so buffers come from the heap, not from a fresh mapping each time.
pub const CHUNK: usize = 128 * 1024 - 64;
/// Stdin credit the server grants a client (bytes in flight, unacknowledged).
pub const STDIN_WINDOW: u32 = 1 << 20;

mod ty {
    pub const EXEC: u8 = 0x01;
    pub const STDIN: u8 = 0x02;
    pub const STDIN_EOF: u8 = 0x03;
    pub const SIGNAL: u8 = 0x04;
    pub const PING: u8 = 0x05;
    pub const SUSPEND: u8 = 0x06;
    pub const STARTED: u8 = 0x81;
    pub const STDOUT: u8 = 0x82;
    pub const STDERR: u8 = 0x83;
    pub const EXIT: u8 = 0x84;
    pub const ERROR: u8 = 0x85;
    pub const STDIN_ACK: u8 = 0x86;
}

/// The request that opens a session.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ExecRequest {
    /// argv, argv[0] is the program (name or path), raw bytes.
    pub argv: Vec<Vec<u8>>,
    /// Environment as (name, value) pairs, raw bytes.
    pub env: Vec<(Vec<u8>, Vec<u8>)>,
    /// Working directory (raw bytes; empty = server default).
    pub cwd: Vec<u8>,
}

/// How the remote process ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExitStatus {
    /// Normal exit with a status 0..=255.
    Code(u8),
    /// Killed by a signal.
    Signal(u8),
}

impl ExitStatus {
    /// Shell-style status: the code, or 128+N for a signal.
    pub fn shell_code(self) -> i32 {
        match self {
            ExitStatus::Code(c) => c as i32,
            ExitStatus::Signal(s) => 128 + s as i32,
        }
    }
}

/// One protocol message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Frame {
    /// client -> server: start a command.
    Exec(ExecRequest),
    /// client -> server: bytes for the remote stdin.
    Stdin(Vec<u8>),
    /// client -> server: end of the remote stdin.
    StdinEof,
    /// client -> server: deliver this signal number to the remote process.
    Signal(u8),
    /// Heartbeat, both directions (client: every second; server: every
    /// second while the session runs, unless output is queued).
    Ping,
    /// client -> server: the client is about to stop itself (job control):
    /// do not expect its heartbeat until its next frame.
    Suspend,
    /// server -> client: the process started with this pid; stdin window.
    Started { pid: u32, stdin_window: u32 },
    /// server -> client: remote stdout bytes.
    Stdout(Vec<u8>),
    /// server -> client: remote stderr bytes.
    Stderr(Vec<u8>),
    /// server -> client: the process ended; last frame of a session.
    Exit(ExitStatus),
    /// server -> client: the request failed; `code` is the suggested exit status.
    Error { code: u8, message: String },
    /// server -> client: this many stdin bytes were consumed (credit returned).
    StdinAck(u32),
}

/// Protocol errors.
#[derive(Debug, Error)]
pub enum ProtocolError {
    #[error("i/o error: {0}")]
    Io(#[from] std::io::Error),
    #[error("frame of {0} bytes exceeds the limit of {1}")]
    TooLarge(usize, usize),
    #[error("empty frame")]
    Empty,
    #[error("unknown frame type 0x{0:02x}")]
    UnknownType(u8),
    #[error("malformed frame: {0}")]
    Malformed(&'static str),
    #[error("bad magic: not a rexec client")]
    BadMagic,
    #[error("unsupported protocol version {0}")]
    Version(u16),
}

fn put_bytes(out: &mut Vec<u8>, b: &[u8]) {
    out.extend_from_slice(&(b.len() as u32).to_be_bytes());
    out.extend_from_slice(b);
}

struct Cursor<'a> {
    buf: &'a [u8],
}

impl<'a> Cursor<'a> {
    fn take(&mut self, n: usize) -> Result<&'a [u8], ProtocolError> {
        if self.buf.len() < n {
            return Err(ProtocolError::Malformed("truncated"));
        }
        let (a, b) = self.buf.split_at(n);
        self.buf = b;
        Ok(a)
    }
    fn u8(&mut self) -> Result<u8, ProtocolError> {
        Ok(self.take(1)?[0])
    }
    fn u16(&mut self) -> Result<u16, ProtocolError> {
        let b = self.take(2)?;
        Ok(u16::from_be_bytes([b[0], b[1]]))
    }
    fn u32(&mut self) -> Result<u32, ProtocolError> {
        let b = self.take(4)?;
        Ok(u32::from_be_bytes([b[0], b[1], b[2], b[3]]))
    }
    fn bytes(&mut self) -> Result<Vec<u8>, ProtocolError> {
        let n = self.u32()? as usize;
        Ok(self.take(n)?.to_vec())
    }
    fn end(&self) -> Result<(), ProtocolError> {
        if self.buf.is_empty() {
            Ok(())
        } else {
            Err(ProtocolError::Malformed("trailing bytes"))
        }
    }
}

impl Frame {
    /// Encode the frame, including its length prefix.
    pub fn encode(&self) -> Vec<u8> {
        let mut out = vec![0u8; 4];
        match self {
            Frame::Exec(r) => {
                out.push(ty::EXEC);
                out.extend_from_slice(MAGIC);
                out.extend_from_slice(&VERSION.to_be_bytes());
                out.extend_from_slice(&(r.argv.len() as u32).to_be_bytes());
                for a in &r.argv {
                    put_bytes(&mut out, a);
                }
                out.extend_from_slice(&(r.env.len() as u32).to_be_bytes());
                for (k, v) in &r.env {
                    put_bytes(&mut out, k);
                    put_bytes(&mut out, v);
                }
                put_bytes(&mut out, &r.cwd);
            }
            Frame::Stdin(d) => {
                out.push(ty::STDIN);
                out.extend_from_slice(d);
            }
            Frame::StdinEof => out.push(ty::STDIN_EOF),
            Frame::Signal(s) => {
                out.push(ty::SIGNAL);
                out.push(*s);
            }
            Frame::Ping => out.push(ty::PING),
            Frame::Suspend => out.push(ty::SUSPEND),
            Frame::Started { pid, stdin_window } => {
                out.push(ty::STARTED);
                out.extend_from_slice(&pid.to_be_bytes());
                out.extend_from_slice(&stdin_window.to_be_bytes());
            }
            Frame::Stdout(d) => {
                out.push(ty::STDOUT);
                out.extend_from_slice(d);
            }
            Frame::Stderr(d) => {
                out.push(ty::STDERR);
                out.extend_from_slice(d);
            }
            Frame::Exit(st) => {
                out.push(ty::EXIT);
                match st {
                    ExitStatus::Code(c) => out.extend_from_slice(&[0, *c]),
                    ExitStatus::Signal(s) => out.extend_from_slice(&[1, *s]),
                }
            }
            Frame::Error { code, message } => {
                out.push(ty::ERROR);
                out.push(*code);
                out.extend_from_slice(message.as_bytes());
            }
            Frame::StdinAck(n) => {
                out.push(ty::STDIN_ACK);
                out.extend_from_slice(&n.to_be_bytes());
            }
        }
        let len = (out.len() - 4) as u32;
        out[..4].copy_from_slice(&len.to_be_bytes());
        out
    }

    /// Decode a frame from its type and payload; data frames keep the
    /// payload buffer without copying it.
    pub fn decode_owned(t: u8, payload: Vec<u8>) -> Result<Frame, ProtocolError> {
        match t {
            ty::STDIN => Ok(Frame::Stdin(payload)),
            ty::STDOUT => Ok(Frame::Stdout(payload)),
            ty::STDERR => Ok(Frame::Stderr(payload)),
            _ => {
                let mut body = Vec::with_capacity(payload.len() + 1);
                body.push(t);
                body.extend_from_slice(&payload);
                Frame::decode(&body)
            }
        }
    }

    /// Decode a frame body (type byte + payload, without the length prefix).
    pub fn decode(body: &[u8]) -> Result<Frame, ProtocolError> {
        let (&t, payload) = body.split_first().ok_or(ProtocolError::Empty)?;
        let mut c = Cursor { buf: payload };
        let f = match t {
            ty::EXEC => {
                if c.take(MAGIC.len())? != MAGIC {
                    return Err(ProtocolError::BadMagic);
                }
                let v = c.u16()?;
                if v != VERSION {
                    return Err(ProtocolError::Version(v));
                }
                let n = c.u32()? as usize;
                // Each entry needs at least 4 bytes: bound allocation by input size.
                if n > c.buf.len() / 4 {
                    return Err(ProtocolError::Malformed("argv count"));
                }
                let mut argv = Vec::with_capacity(n);
                for _ in 0..n {
                    argv.push(c.bytes()?);
                }
                let n = c.u32()? as usize;
                if n > c.buf.len() / 8 {
                    return Err(ProtocolError::Malformed("env count"));
                }
                let mut env = Vec::with_capacity(n);
                for _ in 0..n {
                    let k = c.bytes()?;
                    let v = c.bytes()?;
                    env.push((k, v));
                }
                let cwd = c.bytes()?;
                c.end()?;
                return Ok(Frame::Exec(ExecRequest { argv, env, cwd }));
            }
            ty::STDIN => return Ok(Frame::Stdin(payload.to_vec())),
            ty::STDIN_EOF => Frame::StdinEof,
            ty::SIGNAL => Frame::Signal(c.u8()?),
            ty::PING => Frame::Ping,
            ty::SUSPEND => Frame::Suspend,
            ty::STARTED => Frame::Started {
                pid: c.u32()?,
                stdin_window: c.u32()?,
            },
            ty::STDOUT => return Ok(Frame::Stdout(payload.to_vec())),
            ty::STDERR => return Ok(Frame::Stderr(payload.to_vec())),
            ty::EXIT => {
                let kind = c.u8()?;
                let v = c.u8()?;
                match kind {
                    0 => Frame::Exit(ExitStatus::Code(v)),
                    1 => Frame::Exit(ExitStatus::Signal(v)),
                    _ => return Err(ProtocolError::Malformed("exit kind")),
                }
            }
            ty::ERROR => {
                let code = c.u8()?;
                let message = String::from_utf8_lossy(c.buf).into_owned();
                return Ok(Frame::Error { code, message });
            }
            ty::STDIN_ACK => Frame::StdinAck(c.u32()?),
            other => return Err(ProtocolError::UnknownType(other)),
        };
        c.end()?;
        Ok(f)
    }
}

/// Reads frames from a byte stream (buffered, so small frames cost no
/// extra system calls).
pub struct FrameReader<R> {
    inner: tokio::io::BufReader<R>,
    max: usize,
}

/// Read buffer of a connection. Small, because every connection gets one
/// before it has authenticated; payload reads larger than this bypass it.
const READ_BUFFER: usize = 32 * 1024;

/// The most a frame header alone makes the reader allocate for the payload:
/// enough for a full data chunk in one allocation, while a header that
/// announces a large frame gets more memory only as its bytes arrive.
const FIRST_PAYLOAD_ALLOC: usize = CHUNK + HEADER_LEN;

impl<R: AsyncRead + Unpin> FrameReader<R> {
    pub fn new(inner: R, max: usize) -> Self {
        FrameReader {
            inner: tokio::io::BufReader::with_capacity(READ_BUFFER, inner),
            max,
        }
    }

    /// Next frame; `Ok(None)` on a clean end of stream at a frame boundary.
    pub async fn next(&mut self) -> Result<Option<Frame>, ProtocolError> {
        let mut len = [0u8; 4];
        // Read the first byte separately to tell clean EOF from truncation.
        let n = self.inner.read(&mut len[..1]).await?;
        if n == 0 {
            return Ok(None);
        }
        self.inner.read_exact(&mut len[1..]).await?;
        let len = u32::from_be_bytes(len) as usize;
        if len > self.max {
            return Err(ProtocolError::TooLarge(len, self.max));
        }
        if len == 0 {
            return Err(ProtocolError::Empty);
        }
        let mut ty = [0u8; 1];
        self.inner.read_exact(&mut ty).await?;
        let want = len - 1;
        let mut payload = Vec::with_capacity(want.min(FIRST_PAYLOAD_ALLOC));
        while payload.len() < want {
            if payload.len() == payload.capacity() {
                // At most double what has arrived: memory follows the data.
                payload.reserve_exact((want - payload.len()).min(payload.len()));
            }
            let room = (payload.capacity() - payload.len()).min(want - payload.len());
            let n = (&mut self.inner)
                .take(room as u64)
                .read_buf(&mut payload)
                .await?;
            if n == 0 {
                return Err(ProtocolError::Io(std::io::ErrorKind::UnexpectedEof.into()));
            }
        }
        Frame::decode_owned(ty[0], payload).map(Some)
    }

    /// Read and discard input until end of stream or error.
    pub async fn discard_input(&mut self) {
        let mut sink = [0u8; 4096];
        while let Ok(n) = self.inner.read(&mut sink).await {
            if n == 0 {
                break;
            }
        }
    }
}

/// Length of a frame header (length prefix + type byte).
pub const HEADER_LEN: usize = 5;

/// Which stdio stream a data frame carries.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DataKind {
    Stdin,
    Stdout,
    Stderr,
}

/// Turn `buf` (whose first `HEADER_LEN` bytes are reserved, followed by the
/// payload) into an encoded data frame without copying the payload.
pub fn fill_data_header(buf: &mut [u8], kind: DataKind) {
    let len = (buf.len() - 4) as u32;
    buf[..4].copy_from_slice(&len.to_be_bytes());
    buf[4] = match kind {
        DataKind::Stdin => ty::STDIN,
        DataKind::Stdout => ty::STDOUT,
        DataKind::Stderr => ty::STDERR,
    };
}

/// Drain encoded frames from `rx` into `w`, flushing whenever the queue is
/// empty; shuts the stream down when every sender is gone.
pub async fn frame_writer<W: AsyncWrite + Unpin>(
    w: W,
    mut rx: tokio::sync::mpsc::Receiver<Vec<u8>>,
) {
    // Small frames are batched into one buffer; large ones go out directly.
    let mut w = tokio::io::BufWriter::with_capacity(16 * 1024, w);
    while let Some(b) = rx.recv().await {
        if w.write_all(&b).await.is_err() {
            return;
        }
        while let Ok(b) = rx.try_recv() {
            if w.write_all(&b).await.is_err() {
                return;
            }
        }
        if w.flush().await.is_err() {
            return;
        }
    }
    let _ = w.shutdown().await;
}

/// Write one frame (no flush).
pub async fn write_frame<W: AsyncWrite + Unpin>(w: &mut W, f: &Frame) -> std::io::Result<()> {
    w.write_all(&f.encode()).await
}

#[cfg(test)]
mod tests {
    use super::*;

    fn roundtrip(f: Frame) {
        let enc = f.encode();
        let len = u32::from_be_bytes(enc[..4].try_into().unwrap()) as usize;
        assert_eq!(len, enc.len() - 4);
        assert_eq!(Frame::decode(&enc[4..]).unwrap(), f);
    }

    #[test]
    fn frames_roundtrip() {
        roundtrip(Frame::Exec(ExecRequest {
            argv: vec![b"a b".to_vec(), vec![], vec![0xff, 0xfe]],
            env: vec![(b"K".to_vec(), b"v=1".to_vec())],
            cwd: b"/tmp".to_vec(),
        }));
        roundtrip(Frame::Stdin(b"hello".to_vec()));
        roundtrip(Frame::StdinEof);
        roundtrip(Frame::Signal(15));
        roundtrip(Frame::Ping);
        roundtrip(Frame::Suspend);
        roundtrip(Frame::Started {
            pid: 42,
            stdin_window: 7,
        });
        roundtrip(Frame::Stdout(vec![1, 2, 3]));
        roundtrip(Frame::Stderr(vec![]));
        roundtrip(Frame::Exit(ExitStatus::Code(255)));
        roundtrip(Frame::Exit(ExitStatus::Signal(9)));
        roundtrip(Frame::Error {
            code: 127,
            message: "nope".into(),
        });
        roundtrip(Frame::StdinAck(65536));
    }

    #[test]
    fn random_bytes_never_panic() {
        let mut x: u64 = 0x9E37_79B9_7F4A_7C15;
        let mut next = || {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x
        };
        let valid = Frame::Exec(ExecRequest {
            argv: vec![b"a".to_vec(), b"bc".to_vec()],
            env: vec![(b"K".to_vec(), b"V".to_vec())],
            cwd: b"/".to_vec(),
        })
        .encode();
        for i in 0..20_000 {
            let body: Vec<u8> = if i % 2 == 0 {
                let n = (next() % 64) as usize;
                (0..n).map(|_| next() as u8).collect()
            } else {
                // Mutations of a valid request: flip bytes, truncate.
                let mut b = valid[4..].to_vec();
                let k = (next() % 4) as usize;
                for _ in 0..=k {
                    let at = (next() as usize) % b.len();
                    b[at] = next() as u8;
                }
                b.truncate((next() as usize) % (b.len() + 1));
                b
            };
            let _ = Frame::decode(&body);
            if let Some((&t, rest)) = body.split_first() {
                let _ = Frame::decode_owned(t, rest.to_vec());
            }
        }
    }

    #[test]
    fn data_header() {
        let mut b = vec![0u8; HEADER_LEN];
        b.extend_from_slice(b"abc");
        fill_data_header(&mut b, DataKind::Stderr);
        assert_eq!(b, Frame::Stderr(b"abc".to_vec()).encode());
    }

    /// A stream that hands out `data` and records the largest read buffer
    /// it was offered (what the reader had allocated to read into).
    struct Recording {
        data: Vec<u8>,
        largest_read: std::sync::Arc<std::sync::atomic::AtomicUsize>,
    }

    impl AsyncRead for Recording {
        fn poll_read(
            mut self: std::pin::Pin<&mut Self>,
            _: &mut std::task::Context<'_>,
            buf: &mut tokio::io::ReadBuf<'_>,
        ) -> std::task::Poll<std::io::Result<()>> {
            self.largest_read
                .fetch_max(buf.remaining(), std::sync::atomic::Ordering::SeqCst);
            let n = buf.remaining().min(self.data.len()).min(4096);
            let rest = self.data.split_off(n);
            buf.put_slice(&self.data);
            self.data = rest;
            std::task::Poll::Ready(Ok(()))
        }
    }

    /// Finding 7: a 5-byte header announcing 4 MiB made the reader allocate
    /// 4 MiB before a single payload byte arrived.
    #[tokio::test]
    async fn payload_memory_follows_the_data() {
        let mut data = ((4u32 << 20) - 1).to_be_bytes().to_vec();
        data.push(ty::STDIN);
        data.extend_from_slice(&[7u8; 1000]);
        let largest_read = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let stream = Recording {
            data,
            largest_read: largest_read.clone(),
        };
        let mut r = FrameReader::new(stream, DEFAULT_MAX_FRAME);
        assert!(matches!(r.next().await, Err(ProtocolError::Io(_))));
        let largest = largest_read.load(std::sync::atomic::Ordering::SeqCst);
        assert!(
            largest <= FIRST_PAYLOAD_ALLOC,
            "offered a {largest}-byte buffer"
        );
        // A full frame still arrives whole, however it is split.
        let big = Frame::Stdin(vec![3u8; 3 * CHUNK + 17]);
        let stream = Recording {
            data: big.encode(),
            largest_read: largest_read.clone(),
        };
        let mut r = FrameReader::new(stream, DEFAULT_MAX_FRAME);
        assert_eq!(r.next().await.unwrap(), Some(big));
    }

    #[test]
    fn garbage_is_rejected() {
        assert!(Frame::decode(&[]).is_err());
        assert!(Frame::decode(&[0x77]).is_err());
        assert!(Frame::decode(&[ty::EXEC, b'X']).is_err());
        assert!(Frame::decode(&[ty::SIGNAL]).is_err());
        assert!(Frame::decode(&[ty::SIGNAL, 1, 2]).is_err());
        let mut huge = vec![ty::EXEC];
        huge.extend_from_slice(MAGIC);
        huge.extend_from_slice(&VERSION.to_be_bytes());
        huge.extend_from_slice(&u32::MAX.to_be_bytes());
        assert!(Frame::decode(&huge).is_err());
    }
}
