//! Per-connection deadlines against clients that hold connections without using them.
//!
//! A connection is always in one of three states:
//!
//! - **idle**: no request is being served and no byte of a next one has arrived. It may
//!   stay so for the keep-alive timeout (a new connection starts idle).
//! - **reading a head**: bytes of a request arrived, but not yet its whole request line and
//!   headers. The head must be complete within the header timeout of its first byte.
//! - **busy**: a request is being served, from its complete head until its response body
//!   has been sent. No deadline here: the request body has its own (see `layers.rs`), and
//!   handlers may legitimately take long (function calls have their own timeout).
//!
//! hyper's own `header_read_timeout` cannot express this: it starts counting when hyper
//! begins waiting for a head, so on a kept-alive connection it also bounds the idle time
//! and the two timeouts could not differ. [`Watch`] tracks the state instead: [`WatchedIo`]
//! sees the first byte of a head, [`InFlight`] guards (held by the response body) see
//! requests start and finish, and the connection's task asks [`Watch::deadline`] when to
//! drop the connection.

use std::io;
use std::pin::Pin;
use std::sync::{Arc, Mutex, MutexGuard};
use std::task::{Context, Poll};
use std::time::Duration;

use axum::body::{Body, Bytes, HttpBody};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::sync::Notify;
use tokio::time::Instant;

/// The timeouts of one connection; `None` switches one off.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Timeouts {
    /// From a head's first byte to its last.
    pub(crate) header: Option<Duration>,
    /// How long a connection may sit idle.
    pub(crate) keep_alive: Option<Duration>,
}

/// What one connection is doing, shared by its reader, its requests and its task.
pub(crate) struct Watch {
    timeouts: Timeouts,
    state: Mutex<State>,
    /// Wakes the connection's task when the deadline may have changed.
    changed: Notify,
}

struct State {
    /// Requests whose response has not been sent completely.
    in_flight: usize,
    /// When there is none: since when the connection is idle or reading a head.
    waiting: Waiting,
}

#[derive(Clone, Copy)]
enum Waiting {
    Idle(Instant),
    Head(Instant),
}

impl Watch {
    /// A watch for a connection accepted now (idle until its first byte arrives).
    pub(crate) fn new(timeouts: Timeouts) -> Arc<Self> {
        Arc::new(Self {
            timeouts,
            state: Mutex::new(State {
                in_flight: 0,
                waiting: Waiting::Idle(Instant::now()),
            }),
            changed: Notify::new(),
        })
    }

    fn state(&self) -> MutexGuard<'_, State> {
        // The lock guards plain values that every update leaves consistent.
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// When the connection is to be dropped unless something happens first; `None` while
    /// a request is being served or when the applicable timeout is off.
    pub(crate) fn deadline(&self) -> Option<Instant> {
        let state = self.state();
        if state.in_flight > 0 {
            return None;
        }
        // An instant too far out to represent is no deadline at all.
        match state.waiting {
            Waiting::Idle(since) => since.checked_add(self.timeouts.keep_alive?),
            Waiting::Head(since) => since.checked_add(self.timeouts.header?),
        }
    }

    /// Completes when the deadline may have moved (a request started or ended, or a head
    /// began).
    pub(crate) async fn changed(&self) {
        self.changed.notified().await;
    }

    /// Whether a request is being served.
    pub(crate) fn is_busy(&self) -> bool {
        self.state().in_flight > 0
    }

    /// Whether the connection was reading a head (rather than idle) when it ran out of time.
    pub(crate) fn was_reading_head(&self) -> bool {
        matches!(self.state().waiting, Waiting::Head(_))
    }

    /// Bytes arrived: on an idle connection they begin a request head.
    fn bytes_arrived(&self) {
        let mut state = self.state();
        if state.in_flight == 0 && matches!(state.waiting, Waiting::Idle(_)) {
            state.waiting = Waiting::Head(Instant::now());
            drop(state);
            self.changed.notify_one();
        }
    }

    /// A request's head is complete and the request goes to the router. The returned guard
    /// ends the request when dropped; the response body holds it until it is sent.
    pub(crate) fn request_started(self: &Arc<Self>) -> InFlight {
        self.state().in_flight += 1;
        self.changed.notify_one();
        InFlight(Arc::clone(self))
    }
}

/// One request being served; dropping it ends the request.
pub(crate) struct InFlight(Arc<Watch>);

impl Drop for InFlight {
    fn drop(&mut self) {
        let mut state = self.0.state();
        state.in_flight = state.in_flight.saturating_sub(1);
        if state.in_flight == 0 {
            state.waiting = Waiting::Idle(Instant::now());
        }
        drop(state);
        self.0.changed.notify_one();
    }
}

/// The connection's socket, reporting arriving bytes to its [`Watch`].
pub(crate) struct WatchedIo<T> {
    inner: T,
    watch: Arc<Watch>,
}

impl<T> WatchedIo<T> {
    /// Wraps `inner`, reporting to `watch`.
    pub(crate) fn new(inner: T, watch: Arc<Watch>) -> Self {
        Self { inner, watch }
    }
}

impl<T: AsyncRead + Unpin> AsyncRead for WatchedIo<T> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let before = buf.filled().len();
        let polled = Pin::new(&mut self.inner).poll_read(cx, buf);
        if matches!(polled, Poll::Ready(Ok(()))) && buf.filled().len() > before {
            self.watch.bytes_arrived();
        }
        polled
    }
}

impl<T: AsyncWrite + Unpin> AsyncWrite for WatchedIo<T> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.inner).poll_write(cx, buf)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.inner).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }
}

/// A response body that keeps its request in flight until it has been sent (or dropped).
pub(crate) struct TrackedBody {
    inner: Body,
    _in_flight: InFlight,
}

impl TrackedBody {
    /// `inner`, ending the request `in_flight` when done.
    pub(crate) fn new(inner: Body, in_flight: InFlight) -> Self {
        Self {
            inner,
            _in_flight: in_flight,
        }
    }
}

impl HttpBody for TrackedBody {
    type Data = Bytes;
    type Error = axum::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<http_body::Frame<Bytes>, axum::Error>>> {
        Pin::new(&mut self.inner).poll_frame(cx)
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> http_body::SizeHint {
        self.inner.size_hint()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SECOND: Duration = Duration::from_secs(1);

    fn watch() -> Arc<Watch> {
        Watch::new(Timeouts {
            header: Some(SECOND),
            keep_alive: Some(3 * SECOND),
        })
    }

    #[tokio::test(start_paused = true)]
    async fn an_idle_connection_gets_the_keep_alive_timeout() {
        let watch = watch();
        let accepted = Instant::now();
        assert_eq!(watch.deadline(), Some(accepted + 3 * SECOND));
        assert!(!watch.was_reading_head());
    }

    #[tokio::test(start_paused = true)]
    async fn the_first_byte_starts_the_header_timeout() {
        let watch = watch();
        tokio::time::advance(2 * SECOND).await;
        watch.bytes_arrived();
        let first_byte = Instant::now();
        assert_eq!(watch.deadline(), Some(first_byte + SECOND));
        assert!(watch.was_reading_head());
        // More bytes of the same head do not move the deadline.
        tokio::time::advance(SECOND / 2).await;
        watch.bytes_arrived();
        assert_eq!(watch.deadline(), Some(first_byte + SECOND));
    }

    #[tokio::test(start_paused = true)]
    async fn a_request_in_flight_has_no_deadline_and_its_end_makes_the_connection_idle() {
        let watch = watch();
        watch.bytes_arrived();
        let request = watch.request_started();
        // Body bytes are not a new head.
        watch.bytes_arrived();
        assert_eq!(watch.deadline(), None);
        tokio::time::advance(10 * SECOND).await;
        assert_eq!(watch.deadline(), None);
        drop(request);
        let done = Instant::now();
        assert_eq!(watch.deadline(), Some(done + 3 * SECOND));
        assert!(!watch.was_reading_head());
    }

    #[tokio::test(start_paused = true)]
    async fn switched_off_timeouts_give_no_deadline() {
        let watch = Watch::new(Timeouts {
            header: None,
            keep_alive: None,
        });
        assert_eq!(watch.deadline(), None);
        watch.bytes_arrived();
        assert_eq!(watch.deadline(), None);
    }
}
