//! A response body read for a plugin by a task of its own.
//!
//! The HTTP client hands a body over a frame at a time (8 KiB, or one chunk), the next only
//! once its connection task has run. Gathering frames for one `read` inside the plugin's call
//! meant leaving the plugin's fiber for each frame (measured: about half a microsecond a round
//! trip, eight a read of a fast stream). A plain task gathers them instead, and the plugin
//! waits once a read.

use std::sync::{Arc, Mutex, PoisonError};

use tokio::sync::Notify;

use super::host_http::describe;

/// The most bytes gathered for one `read`: whatever has already arrived, up to this. Under the
/// C allocator's threshold for mapping fresh pages (128 KiB), so each read's buffer reuses the
/// last one's memory instead of faulting new pages in and unmapping them; and small enough that
/// the copy and the plugin's parse of it stay in the processor's cache (measured: 16 KiB and
/// 1 MiB reads are both slower, 32 and 128 KiB no faster).
pub(crate) const READ_GATHER: usize = 64 * 1024;

/// How a body ended.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum End {
    /// All of it arrived.
    Finished,
    /// The connection failed: every later read reports this, after the bytes before it.
    Failed(String),
}

/// What a plugin's `read` gets next.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Next {
    /// Bytes that arrived.
    Bytes(Vec<u8>),
    /// The body's end.
    End(End),
}

/// The bytes gathered and not yet taken, shared by the reading task and the plugin's reads.
#[derive(Default)]
struct Shared {
    gathered: Mutex<Gathered>,
    /// The reader published bytes or the end.
    arrived: Notify,
    /// A read asked for a batch.
    wanted: Notify,
}

/// What the reader has published: one batch at most, and the end once it came.
#[derive(Default)]
struct Gathered {
    bytes: Vec<u8>,
    end: Option<End>,
    /// A read found nothing gathered and asked for a batch, not published yet.
    wanted: bool,
}

/// A body being read by its own task; dropping it stops the task and closes the connection.
pub(crate) struct Body {
    shared: Arc<Shared>,
    task: tokio::task::AbortHandle,
}

impl Body {
    /// Starts reading `response`'s body. Needs a tokio runtime.
    pub(crate) fn read(response: reqwest::Response) -> Body {
        let shared = Arc::new(Shared::default());
        let task = tokio::spawn(gather(response, shared.clone())).abort_handle();
        Body { shared, task }
    }

    /// What the plugin gets now, if anything has arrived or the body has ended; else the
    /// reader is asked for the next batch.
    pub(crate) fn take(&self) -> Option<Next> {
        let mut gathered = self.shared.gathered.lock().unwrap_or_else(PoisonError::into_inner);
        // Served: an ask left from a read that timed out must not send the reader ahead.
        if !gathered.bytes.is_empty() {
            gathered.wanted = false;
            return Some(Next::Bytes(std::mem::take(&mut gathered.bytes)));
        }
        if let Some(end) = gathered.end.clone() {
            gathered.wanted = false;
            return Some(Next::End(end));
        }
        gathered.wanted = true;
        drop(gathered);
        self.shared.wanted.notify_one();
        None
    }

    /// Waits until the reader has published a batch or the end (or returns at once for one
    /// published while no read waited): `take` again after it.
    pub(crate) async fn arrival(&self) {
        self.shared.arrived.notified().await;
    }
}

impl Drop for Body {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// Reads `response`'s body into `shared`, in batches of what has arrived, until it ends.
async fn gather(mut response: reqwest::Response, shared: Arc<Shared>) {
    loop {
        // A batch is gathered when the plugin asks for one, not ahead: the socket is read as
        // the plugin reads (a slow plugin slows the server, as TCP means it to), and no second
        // batch waits in memory.
        loop {
            let wanted = shared.wanted.notified();
            {
                let mut gathered = shared.gathered.lock().unwrap_or_else(PoisonError::into_inner);
                // Asked twice (a read that timed out, then its retry) while a batch waits:
                // the read that takes it withdraws the ask.
                if gathered.wanted && gathered.bytes.is_empty() {
                    gathered.wanted = false;
                    break;
                }
            }
            wanted.await;
        }
        let (batch, end) = loop {
            match response.chunk().await {
                // An empty frame is no answer to the ask: read on.
                Ok(Some(first)) if first.is_empty() => continue,
                Ok(Some(first)) => break batch_from(&mut response, first).await,
                Ok(None) => break (Vec::new(), Some(End::Finished)),
                Err(e) => break (Vec::new(), Some(End::Failed(describe(&e)))),
            }
        };
        let ended = end.is_some();
        {
            let mut gathered = shared.gathered.lock().unwrap_or_else(PoisonError::into_inner);
            if gathered.bytes.is_empty() {
                gathered.bytes = batch;
            } else {
                // Never the case (a batch is gathered only once the last was taken), but
                // bytes that arrived are never dropped.
                gathered.bytes.extend_from_slice(&batch);
            }
            gathered.end = end;
        }
        shared.arrived.notify_one();
        if ended {
            return;
        }
    }
}

/// `first` and the frames that have already arrived after it, up to [`READ_GATHER`]: one plugin
/// call and one copy for many small frames of a fast stream. The client hands over a frame only
/// once its connection task has run: when none is ready, that task is let run once. Also the
/// body's end, when it came within the batch.
async fn batch_from(response: &mut reqwest::Response, first: bytes::Bytes) -> (Vec<u8>, Option<End>) {
    let mut batch = Vec::with_capacity(READ_GATHER.max(first.len()));
    batch.extend_from_slice(&first);
    // Let go of the client's buffer at once, as of each frame below.
    drop(first);
    let mut yielded = false;
    while batch.len() < READ_GATHER {
        match futures::FutureExt::now_or_never(response.chunk()) {
            // Copied and let go of at once, so the client reads into the same memory again
            // (measured: holding frames until the plugin's read returned read the OpenAI
            // stream 1.15x slower than this copy costs).
            Some(Ok(Some(more))) => {
                batch.extend_from_slice(&more);
                yielded = false;
            }
            Some(Ok(None)) => return (batch, Some(End::Finished)),
            Some(Err(e)) => return (batch, Some(End::Failed(describe(&e)))),
            None if !yielded => {
                let_others_run().await;
                yielded = true;
            }
            None => break,
        }
    }
    (batch, None)
}

/// Lets the tasks already woken (the HTTP client's connection, say) run once before going on.
/// Unlike tokio's `yield_now`, which waits for the next poll for I/O (a system call each time),
/// the task wakes itself and goes to the back of the queue.
async fn let_others_run() {
    let mut yielded = false;
    std::future::poll_fn(|cx| {
        if yielded {
            return std::task::Poll::Ready(());
        }
        yielded = true;
        cx.waker().wake_by_ref();
        std::task::Poll::Pending
    })
    .await;
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    use tokio::net::TcpListener;

    use super::*;

    /// A server on 127.0.0.1 that answers one request with `body` (then, if `endless`, with
    /// more bytes until the client goes); says through the channel how its writing ended.
    async fn serve(body: Vec<u8>, endless: bool) -> (String, tokio::sync::oneshot::Receiver<std::io::Result<()>>) {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}/", listener.local_addr().unwrap());
        let (done, outcome) = tokio::sync::oneshot::channel();
        tokio::spawn(async move {
            let (mut stream, _) = listener.accept().await.unwrap();
            let mut request = [0; 1024];
            let _ = stream.read(&mut request).await;
            let written = async {
                stream.write_all(b"HTTP/1.1 200 OK\r\nconnection: close\r\n\r\n").await?;
                stream.write_all(&body).await?;
                if endless {
                    loop {
                        stream.write_all(&[b'x'; 4096]).await?;
                    }
                }
                stream.shutdown().await
            };
            let _ = done.send(written.await);
        });
        (url, outcome)
    }

    async fn body_of(url: &str) -> Body {
        Body::read(reqwest::get(url).await.unwrap())
    }

    /// What the next read gets: what is there, else (the reader asked) a wait for it.
    async fn next(body: &Body) -> Next {
        loop {
            if let Some(next) = body.take() {
                return next;
            }
            tokio::time::timeout(Duration::from_secs(10), body.arrival()).await.expect("bytes or the end");
        }
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_body_arrives_whole_and_is_read_only_as_it_is_asked_for() {
        let sent: Vec<u8> = (0..1_000_000u32).map(|i| (i % 251) as u8).collect();
        let (url, _) = serve(sent.clone(), false).await;
        let body = body_of(&url).await;
        let (mut got, mut paused) = (Vec::new(), false);
        loop {
            match next(&body).await {
                Next::Bytes(bytes) => {
                    assert!(bytes.len() <= READ_GATHER + 64 * 1024, "{} bytes in one read", bytes.len());
                    got.extend_from_slice(&bytes);
                }
                Next::End(end) => {
                    assert_eq!(end, End::Finished);
                    break;
                }
            }
            if !paused {
                // Nothing asked for a while: nothing is read ahead of the plugin.
                paused = true;
                tokio::time::sleep(Duration::from_millis(50)).await;
                let ahead = body.shared.gathered.lock().unwrap().bytes.len();
                assert_eq!(ahead, 0, "read ahead of the plugin");
            }
        }
        assert!(got == sent, "{} bytes read of {}", got.len(), sent.len());
    }

    /// A read that was asked for twice (the first ask timed out) still gets every byte: the
    /// reader does not gather past a batch that waits.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_batch_asked_for_twice_is_not_overwritten_by_the_next() {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}/", listener.local_addr().unwrap());
        let (gate, opened) = tokio::sync::oneshot::channel::<()>();
        tokio::spawn(async move {
            let (mut stream, _) = listener.accept().await.unwrap();
            let mut request = [0; 1024];
            let _ = stream.read(&mut request).await;
            stream.write_all(b"HTTP/1.1 200 OK\r\nconnection: close\r\n\r\none").await.unwrap();
            let _ = opened.await;
            stream.write_all(b"two").await.unwrap();
            // The end comes on its own, after "two" was gathered.
            tokio::time::sleep(Duration::from_millis(100)).await;
            stream.shutdown().await.unwrap();
        });
        let body = body_of(&url).await;
        assert_eq!(next(&body).await, Next::Bytes(b"one".to_vec()));
        // Asked for twice before anything comes (as after a read that timed out), the second
        // time while the reader already waits for the bytes the first asked for.
        assert_eq!(body.take(), None);
        tokio::time::sleep(Duration::from_millis(50)).await;
        assert_eq!(body.take(), None);
        gate.send(()).unwrap();
        // The reader has time to publish "two", then (were it to gather past it) the end.
        tokio::time::sleep(Duration::from_millis(300)).await;
        assert_eq!(next(&body).await, Next::Bytes(b"two".to_vec()));
        assert_eq!(next(&body).await, Next::End(End::Finished));
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn dropping_a_body_stops_its_reader_and_closes_the_connection() {
        let (url, outcome) = serve(b"start".to_vec(), true).await;
        let body = body_of(&url).await;
        assert!(matches!(next(&body).await, Next::Bytes(bytes) if bytes.starts_with(b"start")));
        drop(body);
        let written = tokio::time::timeout(Duration::from_secs(10), outcome).await.expect("the server stopped");
        assert!(written.unwrap().is_err(), "the server's endless writing ended in an error: the client went");
    }
}
