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
//!   which Engine.IO pings every 25 s) or on HTTP/2: nothing read or written for
//!   `HTTP_IDLE_TIMEOUT`.
//!
//! The stream learns where a response starts from what the server writes (`HTTP/1.1 <status>`),
//! and where a request head ends from what it reads; a timed-out read fails with `TimedOut`,
//! which makes hyper (or the WebSocket) close the connection. A pipelined request that arrived
//! with the previous one is only idle-limited (its head was read before its turn).

use std::{
    io,
    pin::Pin,
    sync::{
        Arc,
        atomic::{AtomicU64, AtomicUsize, Ordering},
    },
    task::{Context, Poll},
    time::Duration,
};

use poem::{
    http::uri::Scheme,
    listener::Acceptor,
    web::{LocalAddr, RemoteAddr},
};
use tokio::{
    io::{AsyncRead, AsyncWrite, ReadBuf},
    time::{Instant, Sleep},
};

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

impl<A: Acceptor> Acceptor for GuardedAcceptor<A> {
    type Io = GuardedStream<A::Io>;

    fn local_addr(&self) -> Vec<LocalAddr> {
        self.inner.local_addr()
    }

    async fn accept(&mut self) -> io::Result<(Self::Io, LocalAddr, RemoteAddr, Scheme)> {
        loop {
            match self.inner.accept().await {
                Ok((io, local, remote, scheme)) => {
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
struct OpenGuard(Arc<AtomicUsize>);

impl Drop for OpenGuard {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::AcqRel);
    }
}

/// What a connection is waiting for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Phase {
    /// A request head, begun at the given time (`None`: not a byte of it yet, between requests).
    Head(Option<Instant>),
    /// The response to a request whose head is complete; `status` collects its status line.
    Request,
    /// Upgraded (`101`) or HTTP/2: no more HTTP/1 heads to follow.
    Opaque,
}

const HEAD_END: &[u8; 4] = b"\r\n\r\n";
/// `HTTP/1.1 101`: enough of a status line to know the status.
const STATUS_PREFIX: usize = 12;

/// A connection held to [`ConnectionLimits`]; see the module documentation.
pub struct GuardedStream<S> {
    inner: S,
    limits: ConnectionLimits,
    phase: Phase,
    /// How much of [`HEAD_END`] the bytes read so far end with.
    head_end_matched: usize,
    /// The first bytes of the current request head (to recognise the HTTP/2 preface).
    head_start: Vec<u8>,
    /// The start of the response being written, until its status is known.
    status: Vec<u8>,
    /// After an interim (`1xx`) response: how much of its head's end has been written.
    interim_end_matched: Option<usize>,
    last_activity: Instant,
    timer: Pin<Box<Sleep>>,
    _open: OpenGuard,
}

impl<S> GuardedStream<S> {
    fn new(inner: S, limits: ConnectionLimits, open: OpenGuard) -> Self {
        let now = Instant::now();
        Self {
            inner,
            limits,
            // The first head is timed from the connection's opening, not from its first byte.
            phase: Phase::Head(Some(now)),
            head_end_matched: 0,
            head_start: Vec::with_capacity(4),
            status: Vec::with_capacity(STATUS_PREFIX),
            interim_end_matched: None,
            last_activity: now,
            timer: Box::pin(tokio::time::sleep_until(now + limits.header_timeout)),
            _open: open,
        }
    }

    /// When the connection is closed unless something happens.
    fn deadline(&self) -> Instant {
        match self.phase {
            Phase::Head(Some(started)) => started + self.limits.header_timeout,
            Phase::Head(None) | Phase::Request | Phase::Opaque => {
                self.last_activity + self.limits.idle_timeout
            }
        }
    }

    fn on_read(&mut self, bytes: &[u8]) {
        self.last_activity = Instant::now();
        let Phase::Head(started) = self.phase else {
            return;
        };
        if started.is_none() {
            self.phase = Phase::Head(Some(self.last_activity));
        }
        for &byte in bytes {
            if self.head_start.len() < 4 {
                self.head_start.push(byte);
            }
            self.head_end_matched = match byte {
                b'\r' if self.head_end_matched == 2 => 3,
                b'\r' => 1,
                b'\n' if self.head_end_matched == 1 || self.head_end_matched == 3 => {
                    self.head_end_matched + 1
                }
                _ => 0,
            };
            if self.head_end_matched == HEAD_END.len() {
                // Bytes after the head are its body (or a pipelined request): not scanned.
                self.head_end_matched = 0;
                self.phase = if self.head_start.as_slice() == b"PRI " {
                    Phase::Opaque
                } else {
                    Phase::Request
                };
                self.head_start.clear();
                self.status.clear();
                return;
            }
        }
    }

    fn on_write(&mut self, mut bytes: &[u8]) {
        self.last_activity = Instant::now();
        if self.phase != Phase::Request {
            return;
        }
        if let Some(matched) = self.interim_end_matched.as_mut() {
            // Skip the rest of an interim response's head; the final status line follows.
            while let Some((&byte, rest)) = bytes.split_first() {
                bytes = rest;
                *matched = match byte {
                    b'\r' if *matched == 2 => 3,
                    b'\r' => 1,
                    b'\n' if *matched == 1 || *matched == 3 => *matched + 1,
                    _ => 0,
                };
                if *matched == HEAD_END.len() {
                    self.interim_end_matched = None;
                    break;
                }
            }
            if self.interim_end_matched.is_some() {
                return;
            }
        }
        let take = (STATUS_PREFIX - self.status.len()).min(bytes.len());
        self.status.extend_from_slice(&bytes[..take]);
        if self.status.len() < STATUS_PREFIX {
            return;
        }
        match &self.status[9..12] {
            b"101" => self.phase = Phase::Opaque,
            [b'1', _, _] => {
                // `100 Continue` and the like: the request (its body) goes on.
                self.status.clear();
                self.interim_end_matched = Some(0);
                self.on_write(&bytes[take..]);
            }
            // A final response: the next bytes from the client start the next request.
            _ => self.phase = Phase::Head(None),
        }
    }

    /// Polls the deadline; `Ready` with an error once it has passed.
    fn poll_deadline(&mut self, cx: &mut Context<'_>) -> Poll<io::Error> {
        loop {
            let deadline = self.deadline();
            if Instant::now() >= deadline {
                return Poll::Ready(io::Error::new(
                    io::ErrorKind::TimedOut,
                    match self.phase {
                        Phase::Head(Some(_)) => "request head not complete in time",
                        _ => "connection idle for too long",
                    },
                ));
            }
            // The timer only ever moves earlier here; a timer that fires before a deadline that
            // moved later is re-armed below (cheaper than re-arming on every byte).
            if self.timer.deadline() > deadline {
                self.timer.as_mut().reset(deadline);
            }
            match self.timer.as_mut().poll(cx) {
                Poll::Pending => return Poll::Pending,
                Poll::Ready(()) => self.timer.as_mut().reset(deadline),
            }
        }
    }
}

impl<S: AsyncRead + Unpin> AsyncRead for GuardedStream<S> {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        let before = buf.filled().len();
        match Pin::new(&mut this.inner).poll_read(cx, buf) {
            Poll::Ready(Ok(())) => {
                if buf.filled().len() > before {
                    let filled = buf.filled()[before..].to_vec();
                    this.on_read(&filled);
                }
                Poll::Ready(Ok(()))
            }
            Poll::Ready(Err(e)) => Poll::Ready(Err(e)),
            Poll::Pending => this.poll_deadline(cx).map(Err),
        }
    }
}

impl<S: AsyncWrite + Unpin> AsyncWrite for GuardedStream<S> {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        let written = Pin::new(&mut this.inner).poll_write(cx, buf);
        if let Poll::Ready(Ok(n)) = written {
            this.on_write(&buf[..n]);
        }
        written
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        let written = Pin::new(&mut this.inner).poll_write_vectored(cx, bufs);
        if let Poll::Ready(Ok(mut n)) = written {
            for slice in bufs {
                if n == 0 {
                    break;
                }
                let part = &slice[..n.min(slice.len())];
                n -= part.len();
                this.on_write(part);
            }
        }
        written
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().inner).poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().inner).poll_shutdown(cx)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn stream() -> GuardedStream<()> {
        let limits = ConnectionLimits {
            header_timeout: Duration::from_secs(10),
            idle_timeout: Duration::from_secs(75),
            max_connections: 10,
        };
        GuardedStream::new((), limits, OpenGuard(Arc::new(AtomicUsize::new(1))))
    }

    #[tokio::test]
    async fn heads_responses_and_upgrades_move_the_phase() {
        let mut s = stream();
        assert!(matches!(s.phase, Phase::Head(Some(_))));
        s.on_read(b"GET / HTTP/1.1\r\nHost: x\r");
        assert!(matches!(s.phase, Phase::Head(Some(_))));
        s.on_read(b"\n\r\nbody");
        assert_eq!(s.phase, Phase::Request);
        s.on_write(b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 2");
        assert_eq!(s.phase, Phase::Request);
        s.on_write(b"00 OK\r\n");
        assert_eq!(s.phase, Phase::Head(None));
        s.on_read(b"GET /socket.io/ HTTP/1.1\r\n\r\n");
        assert_eq!(s.phase, Phase::Request);
        s.on_write(b"HTTP/1.1 101 Switching Protocols\r\n\r\n");
        assert_eq!(s.phase, Phase::Opaque);
    }

    #[tokio::test]
    async fn the_http2_preface_is_not_held_to_http1_heads() {
        let mut s = stream();
        s.on_read(b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n");
        assert_eq!(s.phase, Phase::Opaque);
    }

    #[test]
    fn a_tenth_of_the_open_file_limit_is_kept_back() {
        assert_eq!(connections_within(20_000), 18_000);
        assert_eq!(connections_within(256), 192);
        assert_eq!(connections_within(10), 1);
    }
}
