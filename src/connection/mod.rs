//! Connection hygiene below HTTP (contract §4): slow or silent clients cannot hold connections, and
//! running out of file descriptors refuses new connections instead of hanging the server.
//!
//! poem 3.1's server offers only an activity timeout (`Server::idle_timeout`): a client trickling
//! a byte every few seconds into a request head that never ends keeps it open forever, and hyper's
//! own `header_read_timeout` is not reachable through poem. So [`GuardedAcceptor`] wraps the
//! listener, and each connection's [`GuardedStream`] follows the HTTP/1 exchange just enough to
//! know what it is waiting for:
//!
//! - a **request head**: it must be complete (`\r\n\r\n`) within `HTTP_HEADER_TIMEOUT` of the
//!   connection opening (first request) or of its first byte (later requests);
//! - between requests, in a request, and after an upgrade (`101`, as for `/socket.io` WebSockets,
//!   which Engine.IO pings every 10 s by default) or on HTTP/2: nothing read or written for
//!   `HTTP_IDLE_TIMEOUT`.
//!
//! The stream learns where a response starts from what the server writes (`HTTP/1.1 <status>`),
//! and where a request head ends from what it reads; a timed-out read fails with `TimedOut`,
//! which makes hyper (or the WebSocket) close the connection. A pipelined request that arrived
//! with the previous one is only idle-limited (its head was read before its turn).

use std::{
    io,
    sync::{
        Arc,
        atomic::{AtomicU64, AtomicUsize, Ordering},
    },
    time::Duration,
};

use poem::{
    http::uri::Scheme,
    listener::Acceptor,
    web::{LocalAddr, RemoteAddr},
};

mod stream;

pub use stream::GuardedStream;

/// The limits every connection is held to.
#[derive(Debug, Clone, Copy)]
pub struct ConnectionLimits {
    /// Time to send a complete request head.
    pub header_timeout: Duration,
    /// Time a connection may do nothing.
    pub idle_timeout: Duration,
    /// Open connections above which new ones are closed at once.
    pub max_connections: usize,
}

/// Raises the soft open-file limit to the hard limit and returns it (the default soft limit,
/// often 1024, is far below what thousands of sockets need).
pub fn raise_open_file_limit() -> io::Result<u64> {
    use nix::sys::resource::{Resource, getrlimit, setrlimit};
    let (soft, hard) = getrlimit(Resource::RLIMIT_NOFILE).map_err(io::Error::from)?;
    if soft < hard {
        setrlimit(Resource::RLIMIT_NOFILE, hard, hard).map_err(io::Error::from)?;
    }
    Ok(hard.max(soft))
}

/// Connections that fit under an open-file limit, keeping a tenth (at least 64) for the database
/// pool, log files and everything else the process opens.
pub fn connections_within(open_file_limit: u64) -> usize {
    let reserve = (open_file_limit / 10).max(64);
    usize::try_from(open_file_limit.saturating_sub(reserve))
        .unwrap_or(usize::MAX)
        .max(1)
}

/// An acceptor whose connections are [`GuardedStream`]s, and that closes new connections at once
/// while [`ConnectionLimits::max_connections`] are open.
pub struct GuardedAcceptor<A> {
    inner: A,
    limits: ConnectionLimits,
    open: Arc<AtomicUsize>,
    last_refusal_log: AtomicU64,
}

impl<A> GuardedAcceptor<A> {
    /// Wraps `inner`.
    pub fn new(inner: A, limits: ConnectionLimits) -> Self {
        Self {
            inner,
            limits,
            open: Arc::new(AtomicUsize::new(0)),
            last_refusal_log: AtomicU64::new(0),
        }
    }

    /// Logs a refusal at most once a second (an attack must not flood the logs too).
    fn log_refusal(&self, what: &str, error: Option<&io::Error>) {
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_secs())
            .unwrap_or_default();
        if self.last_refusal_log.swap(now, Ordering::Relaxed) != now {
            tracing::warn!(
                open_connections = self.open.load(Ordering::Relaxed),
                error = error.map(tracing::field::display),
                "{what}"
            );
        }
    }
}

/// Whether an accept error means the process or system is out of descriptors or memory (the
/// listener keeps signalling the pending connection, so retrying at once would spin).
fn is_resource_exhaustion(e: &io::Error) -> bool {
    matches!(
        e.raw_os_error(),
        Some(libc_errno::EMFILE | libc_errno::ENFILE | libc_errno::ENOBUFS | libc_errno::ENOMEM)
    )
}

/// The errno values of [`is_resource_exhaustion`] (Linux and the BSDs agree on these).
mod libc_errno {
    pub const EMFILE: i32 = nix::errno::Errno::EMFILE as i32;
    pub const ENFILE: i32 = nix::errno::Errno::ENFILE as i32;
    pub const ENOBUFS: i32 = nix::errno::Errno::ENOBUFS as i32;
    pub const ENOMEM: i32 = nix::errno::Errno::ENOMEM as i32;
}

/// A connection whose small writes can be sent at once ([`GuardedAcceptor`] turns Nagle's
/// algorithm off on every connection it accepts).
///
/// Socket.IO traffic is many small frames each way (events, acknowledgements, pings). With
/// Nagle's algorithm (RFC 896) on, a frame written while the previous one is not yet acknowledged
/// waits for the peer's TCP ACK, and the peer may hold that ACK for its delayed-ACK timer (up to
/// 40 ms on Linux, RFC 1122 §4.2.3.2 allows 500 ms). Measured at 2,000 msg/s with every receiver
/// acknowledging: delivery p50 20–26 ms with Nagle on and 5.8–7.6 ms with it off (BENCHMARKS.md),
/// where the server emitted at p50 3.7 ms after the batch started.
pub trait NoDelay {
    /// Sets `TCP_NODELAY`.
    fn set_nodelay(&self, nodelay: bool) -> io::Result<()>;
}

impl NoDelay for tokio::net::TcpStream {
    fn set_nodelay(&self, nodelay: bool) -> io::Result<()> {
        tokio::net::TcpStream::set_nodelay(self, nodelay)
    }
}

impl<A: Acceptor> Acceptor for GuardedAcceptor<A>
where
    A::Io: NoDelay,
{
    type Io = GuardedStream<A::Io>;

    fn local_addr(&self) -> Vec<LocalAddr> {
        self.inner.local_addr()
    }

    async fn accept(&mut self) -> io::Result<(Self::Io, LocalAddr, RemoteAddr, Scheme)> {
        loop {
            match self.inner.accept().await {
                Ok((io, local, remote, scheme)) => {
                    if let Err(e) = io.set_nodelay(true) {
                        // The connection still works, with Nagle's delays.
                        tracing::debug!(error = %e, "could not set TCP_NODELAY");
                    }
                    let open = self.open.fetch_add(1, Ordering::AcqRel) + 1;
                    let guard = OpenGuard(self.open.clone());
                    if open > self.limits.max_connections {
                        // Closed at once: the client sees a reset and retries, instead of waiting
                        // on a server that can no longer answer anyone.
                        drop((io, guard));
                        self.log_refusal("connection limit reached; refusing connections", None);
                        continue;
                    }
                    return Ok((
                        GuardedStream::new(io, self.limits, guard),
                        local,
                        remote,
                        scheme,
                    ));
                }
                Err(e) if is_resource_exhaustion(&e) => {
                    self.log_refusal("out of file descriptors; pausing accepts", Some(&e));
                    tokio::time::sleep(Duration::from_millis(50)).await;
                }
                Err(e) => return Err(e),
            }
        }
    }
}

/// Counts a connection as open until dropped.
pub(crate) struct OpenGuard(pub(crate) Arc<AtomicUsize>);

impl Drop for OpenGuard {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::AcqRel);
    }
}

#[cfg(test)]
mod tests {
    use poem::listener::{Listener, TcpListener};

    use super::*;

    #[tokio::test]
    async fn accepted_connections_have_nagle_off() -> anyhow::Result<()> {
        let inner = TcpListener::bind("127.0.0.1:0").into_acceptor().await?;
        let limits = ConnectionLimits {
            header_timeout: Duration::from_secs(10),
            idle_timeout: Duration::from_secs(75),
            max_connections: 10,
        };
        let mut acceptor = GuardedAcceptor::new(inner, limits);
        let address = acceptor.local_addr()[0]
            .as_socket_addr()
            .copied()
            .ok_or_else(|| anyhow::anyhow!("no TCP address"))?;
        let client = tokio::net::TcpStream::connect(address).await?;
        let (accepted, ..) = acceptor.accept().await?;
        assert!(
            accepted.get_ref().nodelay()?,
            "the server's side sends at once"
        );
        assert!(!client.nodelay()?, "the client's side was left as it was");
        Ok(())
    }
}
