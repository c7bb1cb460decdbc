//! Endpoint addresses (`tcp://host:port`, `unix:///path`) and the byte
//! streams built on them.

use std::fmt;
use std::path::PathBuf;
use std::pin::Pin;
use std::str::FromStr;
use std::task::{Context, Poll};
use std::time::Duration;

use thiserror::Error;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};

/// The environment variable that names the endpoint, as in the deployment guide.
pub const ENV_ADDR: &str = "CMD_NET_ADDR";

/// A parsed endpoint.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Addr {
    /// `tcp://host:port` (host may be a name, an IPv4 or a bracketed IPv6 address).
    Tcp(String),
    /// `unix://<path>`.
    Unix(PathBuf),
}

#[derive(Debug, Error)]
#[error("invalid address {0:?}: expected tcp://<host>:<port> or unix://<path>")]
pub struct AddrError(pub String);

impl FromStr for Addr {
    type Err = AddrError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        if let Some(rest) = s.strip_prefix("tcp://") {
            let rest = rest.trim_end_matches('/');
            match rest.rsplit_once(':') {
                Some((h, p)) if !h.is_empty() && p.parse::<u16>().is_ok() => {
                    Ok(Addr::Tcp(rest.to_string()))
                }
                _ => Err(AddrError(s.to_string())),
            }
        } else if let Some(rest) = s.strip_prefix("unix://") {
            if rest.is_empty() {
                return Err(AddrError(s.to_string()));
            }
            Ok(Addr::Unix(PathBuf::from(rest)))
        } else {
            Err(AddrError(s.to_string()))
        }
    }
}

impl fmt::Display for Addr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Addr::Tcp(a) => write!(f, "tcp://{a}"),
            Addr::Unix(p) => write!(f, "unix://{}", p.display()),
        }
    }
}

impl Addr {
    /// The host part of a TCP address, without brackets (used as TLS server name).
    pub fn host(&self) -> Option<String> {
        match self {
            Addr::Tcp(a) => {
                let (h, _) = a.rsplit_once(':')?;
                Some(h.trim_start_matches('[').trim_end_matches(']').to_string())
            }
            Addr::Unix(_) => None,
        }
    }
}

/// Apply TCP_NODELAY and keepalive (idle 2 s, interval 1 s, 3 probes).
/// No TCP_USER_TIMEOUT: since Linux 5.11 it also aborts connections whose
/// receive window stays closed, i.e. a reader that is merely slow.
pub fn tune_tcp(s: &tokio::net::TcpStream) {
    let _ = s.set_nodelay(true);
    let sock = socket2::SockRef::from(s);
    let ka = socket2::TcpKeepalive::new()
        .with_time(Duration::from_secs(2))
        .with_interval(Duration::from_secs(1))
        .with_retries(3);
    let _ = sock.set_tcp_keepalive(&ka);
}

/// Any bidirectional byte stream (TCP, unix, TLS over either).
pub trait Stream: AsyncRead + AsyncWrite + Unpin + Send {}
impl<T: AsyncRead + AsyncWrite + Unpin + Send> Stream for T {}

/// A boxed stream.
pub struct BoxStream(pub Box<dyn Stream>);

impl AsyncRead for BoxStream {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        Pin::new(&mut *self.0).poll_read(cx, buf)
    }
}

impl AsyncWrite for BoxStream {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        Pin::new(&mut *self.0).poll_write(cx, buf)
    }
    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut *self.0).poll_flush(cx)
    }
    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut *self.0).poll_shutdown(cx)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parse() {
        assert_eq!(
            "tcp://1.2.3.4:5".parse::<Addr>().unwrap(),
            Addr::Tcp("1.2.3.4:5".into())
        );
        assert_eq!(
            "tcp://[::1]:5".parse::<Addr>().unwrap().host().unwrap(),
            "::1"
        );
        assert_eq!(
            "unix:///run/x.sock".parse::<Addr>().unwrap(),
            Addr::Unix("/run/x.sock".into())
        );
        assert!("tcp://1.2.3.4".parse::<Addr>().is_err());
        assert!("http://x:1".parse::<Addr>().is_err());
        assert!("unix://".parse::<Addr>().is_err());
    }
}
