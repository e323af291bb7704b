//! A scriptable HTTP/1.1 server on 127.0.0.1:0: records every request and answers with exactly
//! the bytes a test scripts, in separate writes with pauses between, then closes the connection.

#![allow(dead_code)]

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Condvar, Mutex};
use std::time::Duration;

/// A request as the server received it.
#[derive(Clone, Debug)]
pub struct Recorded {
    pub method: String,
    pub path: String,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Recorded {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(n, _)| n.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_str())
    }

    pub fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.body).expect("request body is JSON")
    }
}

/// A one-shot signal between a test and a server thread.
#[derive(Clone, Default)]
pub struct Gate(Arc<(Mutex<bool>, Condvar)>);

impl Gate {
    pub fn open(&self) {
        *self.0.0.lock().unwrap() = true;
        self.0.1.notify_all();
    }

    /// Waits until opened; false on timeout.
    pub fn wait(&self, timeout: Duration) -> bool {
        let guard = self.0.0.lock().unwrap();
        let (guard, _) = self.0.1.wait_timeout_while(guard, timeout, |open| !*open).unwrap();
        *guard
    }
}

/// One step of a scripted response body.
#[derive(Clone)]
pub enum Part {
    /// Bytes written (and flushed) in one write.
    Data(Vec<u8>),
    /// A pause before the next write.
    Pause(Duration),
    /// Waits (up to 10 s) until the test opens the gate.
    Wait(Gate),
    /// Opens a gate (tells the test the server got this far).
    Signal(Gate),
    /// Ends the body, then opens the gate once the client has closed the connection (it has
    /// read all of it); the parts after it are not sent.
    Closed(Gate),
}

/// A scripted response.
#[derive(Clone)]
pub struct Reply {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub parts: Vec<Part>,
}

impl Reply {
    /// A `text/event-stream` answer written as the given pieces, 5 ms apart.
    pub fn sse<I, B>(pieces: I) -> Reply
    where
        I: IntoIterator<Item = B>,
        B: AsRef<[u8]>,
    {
        let mut parts = Vec::new();
        for piece in pieces {
            if !parts.is_empty() {
                parts.push(Part::Pause(Duration::from_millis(5)));
            }
            parts.push(Part::Data(piece.as_ref().to_vec()));
        }
        Reply { status: 200, headers: vec![("content-type".into(), "text/event-stream".into())], parts }
    }

    /// A body with any status and content type.
    pub fn body(status: u16, content_type: &str, body: &str) -> Reply {
        Reply {
            status,
            headers: vec![("content-type".into(), content_type.into())],
            parts: vec![Part::Data(body.as_bytes().to_vec())],
        }
    }

    pub fn header(mut self, name: &str, value: &str) -> Reply {
        self.headers.push((name.into(), value.into()));
        self
    }

    pub fn then(mut self, part: Part) -> Reply {
        self.parts.push(part);
        self
    }
}

type Handler = dyn Fn(&Recorded) -> Reply + Send + Sync;

/// A running server; stops when dropped.
pub struct TestServer {
    pub addr: SocketAddr,
    requests: Arc<Mutex<Vec<Recorded>>>,
    stop: Arc<AtomicBool>,
}

impl TestServer {
    pub fn start(handler: impl Fn(&Recorded) -> Reply + Send + Sync + 'static) -> TestServer {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1:0");
        let addr = listener.local_addr().unwrap();
        let requests = Arc::new(Mutex::new(Vec::new()));
        let stop = Arc::new(AtomicBool::new(false));
        let handler: Arc<Handler> = Arc::new(handler);
        let (recorded, stopping) = (requests.clone(), stop.clone());
        std::thread::spawn(move || {
            for stream in listener.incoming() {
                if stopping.load(Ordering::SeqCst) {
                    break;
                }
                let Ok(stream) = stream else { continue };
                let (handler, recorded) = (handler.clone(), recorded.clone());
                std::thread::spawn(move || serve(stream, &*handler, &recorded));
            }
        });
        TestServer { addr, requests, stop }
    }

    /// A server that answers every request the same way.
    pub fn always(reply: Reply) -> TestServer {
        TestServer::start(move |_| reply.clone())
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    pub fn requests(&self) -> Vec<Recorded> {
        self.requests.lock().unwrap().clone()
    }
}

impl Drop for TestServer {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        let _ = TcpStream::connect(self.addr);
    }
}

fn serve(stream: TcpStream, handler: &Handler, recorded: &Mutex<Vec<Recorded>>) {
    let _ = stream.set_read_timeout(Some(Duration::from_secs(10)));
    let mut reader = BufReader::new(stream.try_clone().expect("clone stream"));
    let mut line = String::new();
    if reader.read_line(&mut line).unwrap_or(0) == 0 {
        return;
    }
    let mut words = line.split_whitespace();
    let method = words.next().unwrap_or("").to_owned();
    let path = words.next().unwrap_or("").to_owned();
    let mut headers = Vec::new();
    loop {
        let mut header = String::new();
        if reader.read_line(&mut header).unwrap_or(0) == 0 || header == "\r\n" || header == "\n" {
            break;
        }
        if let Some((name, value)) = header.trim_end().split_once(':') {
            headers.push((name.trim().to_ascii_lowercase(), value.trim().to_owned()));
        }
    }
    let length = headers.iter().find(|(n, _)| n == "content-length").and_then(|(_, v)| v.parse().ok()).unwrap_or(0);
    let mut body = vec![0; length];
    if reader.read_exact(&mut body).is_err() {
        return;
    }
    let request = Recorded { method, path, headers, body };
    recorded.lock().unwrap().push(request.clone());
    let reply = handler(&request);
    let mut stream = stream;
    let mut head = format!("HTTP/1.1 {} Scripted\r\n", reply.status);
    for (name, value) in &reply.headers {
        head.push_str(&format!("{name}: {value}\r\n"));
    }
    head.push_str("connection: close\r\n\r\n");
    if stream.write_all(head.as_bytes()).is_err() {
        return;
    }
    for part in reply.parts {
        match part {
            Part::Data(bytes) => {
                if stream.write_all(&bytes).and_then(|_| stream.flush()).is_err() {
                    return;
                }
            }
            Part::Pause(d) => std::thread::sleep(d),
            Part::Wait(gate) => {
                if !gate.wait(Duration::from_secs(10)) {
                    return;
                }
            }
            Part::Signal(gate) => gate.open(),
            Part::Closed(gate) => {
                let _ = stream.shutdown(std::net::Shutdown::Write);
                // Up to the read timeout set above: a client that never closes fails the test's wait.
                let _ = std::io::Read::read_to_end(&mut reader, &mut Vec::new());
                gate.open();
                return;
            }
        }
    }
    let _ = stream.shutdown(std::net::Shutdown::Both);
}
