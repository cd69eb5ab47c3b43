//! [`GuardedStream`]: one connection held to its [`ConnectionLimits`], following the HTTP/1
//! exchange just enough to know whether a request head is due (see the module above).

use std::{
    io,
    pin::Pin,
    task::{Context, Poll},
};

use tokio::{
    io::{AsyncRead, AsyncWrite, ReadBuf},
    time::{Instant, Sleep},
};

use super::{ConnectionLimits, OpenGuard};

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
    /// The connection underneath.
    pub fn get_ref(&self) -> &S {
        &self.inner
    }

    pub(super) fn new(inner: S, limits: ConnectionLimits, open: OpenGuard) -> Self {
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
    use std::{
        sync::{Arc, atomic::AtomicUsize},
        time::Duration,
    };

    use super::super::connections_within;
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
