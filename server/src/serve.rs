//! The HTTP accept loop, in place of `axum::serve`, which has no header-read
//! timeout, no idle timeout and no connection cap, and which resets
//! connections still in the accept queue (or accepted but not yet read) at
//! shutdown.
//!
//! * **Header timeout**: a connection's first request head must arrive within
//!   it from the accept, and any later head within it from its first byte
//!   (slowloris, silent connections).
//! * **Idle timeout**: a kept-alive connection with no request in progress is
//!   closed after it. It is separate from the header timeout (hyper's own
//!   `header_read_timeout` also runs while a connection is idle, which would
//!   close keep-alive connections long before a load balancer expects).
//! * **Connection cap**: beyond it, new connections wait in the kernel's
//!   accept queue until a slot frees; they are not refused.
//! * **Shutdown**: after `stop_accepting` resolves, the connections the kernel
//!   has already completed are still accepted, every connection finishes the
//!   requests it has (kept-alive HTTP/1 ones then close, HTTP/2 ones get
//!   GOAWAY), and whatever is still in flight at the shutdown timeout is
//!   counted as abandoned.

use std::{
    convert::Infallible,
    future::Future,
    io,
    net::SocketAddr,
    pin::Pin,
    sync::{
        Arc, Mutex, PoisonError,
        atomic::{AtomicUsize, Ordering},
    },
    task::{Context, Poll},
    time::Duration,
};

use axum::{Router, body::Body, extract::ConnectInfo};
use hyper::body::{Frame, Incoming, SizeHint};
use hyper_util::{
    rt::{TokioExecutor, TokioIo},
    server::conn::auto,
};
use tokio::{
    io::{AsyncRead, AsyncWrite, ReadBuf},
    net::{TcpListener, TcpStream},
    sync::{Notify, OwnedSemaphorePermit, Semaphore, watch},
    task::JoinSet,
    time::Instant,
};
use tower::ServiceExt as _;

/// Per-connection limits (`VANGUARD_HEADER_READ_TIMEOUT_MS`,
/// `VANGUARD_IDLE_TIMEOUT_MS`, `VANGUARD_MAX_CONNECTIONS`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ConnectionLimits {
    pub header_read_timeout: Duration,
    pub idle_timeout: Duration,
    pub max_connections: usize,
}

/// How serving ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Drained {
    /// Requests still in progress when the shutdown timeout struck.
    pub abandoned: usize,
    /// When the shutdown timeout ends (or ended).
    pub deadline: Instant,
}

/// Serves `router` on `listener` until `stop_accepting` resolves, then drains
/// for at most `shutdown_timeout`.
pub async fn serve(
    listener: TcpListener,
    router: Router,
    limits: ConnectionLimits,
    stop_accepting: impl Future<Output = ()>,
    shutdown_timeout: Duration,
) -> Drained {
    let in_flight = Arc::new(AtomicUsize::new(0));
    let (shutdown_tx, shutdown_rx) = watch::channel(false);
    let slots = Arc::new(Semaphore::new(limits.max_connections));
    let mut connections = JoinSet::new();
    let spawn = |connections: &mut JoinSet<()>, stream: TcpStream, remote, permit| {
        // Pages stream in several writes: without TCP_NODELAY a later chunk
        // on a kept-alive connection waits for the client's delayed ACK
        // (Nagle; ~40 ms on Linux), which the benchmark showed on SSR.
        if let Err(error) = stream.set_nodelay(true) {
            tracing::warn!(%error, "could not set TCP_NODELAY");
        }
        connections.spawn(serve_connection(
            stream,
            remote,
            router.clone(),
            limits,
            shutdown_rx.clone(),
            in_flight.clone(),
            permit,
        ));
    };

    let mut stop_accepting = std::pin::pin!(stop_accepting);
    loop {
        // At the cap, wait here: the kernel keeps queueing new connections.
        let permit = tokio::select! {
            biased;
            () = &mut stop_accepting => break,
            permit = slots.clone().acquire_owned() => match permit {
                Ok(permit) => permit,
                Err(_) => break,
            },
        };
        let accepted = tokio::select! {
            biased;
            () = &mut stop_accepting => break,
            accepted = listener.accept() => accepted,
        };
        match accepted {
            Ok((stream, remote)) => spawn(&mut connections, stream, remote, Some(permit)),
            Err(error) => {
                tokio::select! {
                    () = &mut stop_accepting => break,
                    () = pause_after_accept_error(error) => {},
                }
            }
        }
        while connections.try_join_next().is_some() {}
    }

    // These clients completed their handshake before we stopped: closing the
    // listener now would reset requests that already reached us. Over the cap
    // if need be (the accept queue bounds them).
    let mut queued = 0_usize;
    loop {
        let next = std::future::poll_fn(|cx| Poll::Ready(listener.poll_accept(cx))).await;
        match next {
            Poll::Ready(Ok((stream, remote))) => {
                queued += 1;
                let permit = slots.clone().try_acquire_owned().ok();
                spawn(&mut connections, stream, remote, permit);
            }
            Poll::Ready(Err(error)) if is_connection_error(&error) => {}
            Poll::Ready(Err(_)) | Poll::Pending => break,
        }
    }
    drop(listener);
    tracing::info!(
        connections = connections.len(),
        accepted_from_queue = queued,
        "listener closed; draining in-flight requests"
    );
    shutdown_tx.send_replace(true);

    let deadline = Instant::now() + shutdown_timeout;
    let all_closed = async { while connections.join_next().await.is_some() {} };
    let abandoned = match tokio::time::timeout_at(deadline, all_closed).await {
        Ok(()) => 0,
        Err(_) => in_flight.load(Ordering::SeqCst),
    };
    if !connections.is_empty() {
        tracing::info!(
            connections = connections.len(),
            requests = abandoned,
            "closing the connections left at the shutdown timeout"
        );
    }
    connections.shutdown().await;
    Drained {
        abandoned,
        deadline,
    }
}

/// Serves one connection until it closes, its header or idle timeout strikes,
/// or (after shutdown) it has finished its requests.
async fn serve_connection(
    stream: TcpStream,
    remote: SocketAddr,
    router: Router,
    limits: ConnectionLimits,
    mut shutdown: watch::Receiver<bool>,
    in_flight: Arc<AtomicUsize>,
    _permit: Option<OwnedSemaphorePermit>,
) {
    let activity = Arc::new(Activity::new());
    let io = TokioIo::new(Watched {
        inner: stream,
        activity: activity.clone(),
    });
    let service = {
        let activity = activity.clone();
        hyper::service::service_fn(move |request: hyper::Request<Incoming>| {
            // Counted here, when hyper has the head, not when the future is
            // first polled: the watchdog below must never see a request whose
            // head arrived as an idle connection.
            let guard = RequestGuard::new(activity.clone(), in_flight.clone());
            let mut request = request.map(Body::new);
            request.extensions_mut().insert(ConnectInfo(remote));
            let response = router.clone().oneshot(request);
            async move {
                let response = response.await?;
                Ok::<_, Infallible>(response.map(|body| Tracked {
                    body,
                    _guard: guard,
                }))
            }
        })
    };
    let mut builder = auto::Builder::new(TokioExecutor::new());
    // As axum::serve: CONNECT is how WebSockets run over HTTP/2.
    builder.http2().enable_connect_protocol();
    let mut conn = std::pin::pin!(builder.serve_connection_with_upgrades(io, service));

    let mut shutting_down = *shutdown.borrow();
    let mut told = false;
    loop {
        // Not before the first request: a connection whose protocol is not
        // known yet would be dropped unread (hyper-util cancels it), and its
        // request may already be in the socket buffer.
        if shutting_down && !told && activity.requests() > 0 {
            conn.as_mut().graceful_shutdown();
            told = true;
        }
        let now = Instant::now();
        let check = activity.next_check(&limits, now);
        tokio::select! {
            result = conn.as_mut() => {
                if let Err(error) = result {
                    tracing::debug!(%remote, error = %error, "connection ended with an error");
                }
                break;
            }
            () = tokio::time::sleep_until(check) => {
                if let Some(reason) = activity.expired(&limits, Instant::now()) {
                    tracing::debug!(%remote, reason, "closing the connection");
                    break;
                }
            }
            changed = shutdown.changed(), if !shutting_down => {
                // A dropped sender means the server is gone: shut down too.
                shutting_down = changed.is_err() || *shutdown.borrow();
            }
            () = activity.started.notified(), if shutting_down && !told => {}
        }
    }
}

/// What a connection is doing, for its header and idle timeouts.
struct Activity {
    state: Mutex<ActivityState>,
    /// Signalled when a request starts (a connection told to shut down
    /// waits for its first one).
    started: Notify,
}

struct ActivityState {
    /// Requests in progress (several with HTTP/2).
    active: usize,
    /// Requests started so far.
    requests: u64,
    /// The accept, or when the last request finished.
    idle_since: Instant,
    /// When the first bytes of the next request head arrived.
    head_started: Option<Instant>,
}

impl Activity {
    fn new() -> Self {
        Self {
            state: Mutex::new(ActivityState {
                active: 0,
                requests: 0,
                idle_since: Instant::now(),
                head_started: None,
            }),
            started: Notify::new(),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, ActivityState> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn requests(&self) -> u64 {
        self.lock().requests
    }

    fn bytes_read(&self) {
        let mut state = self.lock();
        if state.active == 0 && state.head_started.is_none() {
            state.head_started = Some(Instant::now());
        }
    }

    /// When the connection is to be closed as it stands; `None` while a
    /// request is in progress.
    fn deadline(&self, limits: &ConnectionLimits) -> Option<(Instant, &'static str)> {
        let state = self.lock();
        if state.active > 0 {
            None
        } else if state.requests == 0 {
            Some((
                state.idle_since + limits.header_read_timeout,
                "no request within the header timeout",
            ))
        } else if let Some(started) = state.head_started {
            Some((
                started + limits.header_read_timeout,
                "request head incomplete at the header timeout",
            ))
        } else {
            Some((state.idle_since + limits.idle_timeout, "idle timeout"))
        }
    }

    /// The next time to look: never after the current deadline, and never
    /// after the earliest deadline a request head starting now could have.
    fn next_check(&self, limits: &ConnectionLimits, now: Instant) -> Instant {
        let soonest = now + limits.header_read_timeout.min(limits.idle_timeout);
        match self.deadline(limits) {
            Some((deadline, _)) => deadline.min(now + limits.header_read_timeout),
            None => soonest,
        }
    }

    fn expired(&self, limits: &ConnectionLimits, now: Instant) -> Option<&'static str> {
        self.deadline(limits)
            .and_then(|(deadline, reason)| (deadline <= now).then_some(reason))
    }
}

/// One request in progress, from its head until its response body is done
/// (or dropped).
struct RequestGuard {
    activity: Arc<Activity>,
    in_flight: Arc<AtomicUsize>,
}

impl RequestGuard {
    fn new(activity: Arc<Activity>, in_flight: Arc<AtomicUsize>) -> Self {
        in_flight.fetch_add(1, Ordering::SeqCst);
        {
            let mut state = activity.lock();
            state.active += 1;
            state.requests += 1;
            state.head_started = None;
        }
        activity.started.notify_one();
        Self {
            activity,
            in_flight,
        }
    }
}

impl Drop for RequestGuard {
    fn drop(&mut self) {
        self.in_flight.fetch_sub(1, Ordering::SeqCst);
        let mut state = self.activity.lock();
        state.active = state.active.saturating_sub(1);
        if state.active == 0 {
            state.idle_since = Instant::now();
        }
    }
}

/// A response body that holds its request's [`RequestGuard`].
struct Tracked {
    body: Body,
    _guard: RequestGuard,
}

impl hyper::body::Body for Tracked {
    type Data = axum::body::Bytes;
    type Error = axum::Error;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Self::Data>, Self::Error>>> {
        Pin::new(&mut self.get_mut().body).poll_frame(cx)
    }

    fn is_end_stream(&self) -> bool {
        self.body.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.body.size_hint()
    }
}

/// The connection's socket, noting when request bytes arrive.
struct Watched {
    inner: TcpStream,
    activity: Arc<Activity>,
}

impl AsyncRead for Watched {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        let before = buf.filled().len();
        let polled = Pin::new(&mut this.inner).poll_read(cx, buf);
        if matches!(polled, Poll::Ready(Ok(()))) && buf.filled().len() > before {
            this.activity.bytes_read();
        }
        polled
    }
}

impl AsyncWrite for Watched {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.get_mut().inner).poll_write(cx, buf)
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.get_mut().inner).poll_write_vectored(cx, bufs)
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

fn is_connection_error(error: &io::Error) -> bool {
    matches!(
        error.kind(),
        io::ErrorKind::ConnectionRefused
            | io::ErrorKind::ConnectionAborted
            | io::ErrorKind::ConnectionReset
    )
}

/// As axum::serve (after hyper 0.14): a client that gave up is nothing; any
/// other error is most likely EMFILE, so wait for descriptors to free up.
async fn pause_after_accept_error(error: io::Error) {
    if is_connection_error(&error) {
        return;
    }
    tracing::error!(%error, "accept error");
    tokio::time::sleep(Duration::from_secs(1)).await;
}
