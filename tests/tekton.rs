//! The `tekton` transport against a TCP server speaking the Tekton specialist socket protocol
//! (newline-delimited JSON): streamed chunks, whole answers, errors, pings, other requests'
//! lines on the same socket, and a specialist that hangs up mid-answer.

use std::io::{BufRead, BufReader, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde_json::{Value, json};

use aish::transport::{ErrorKind, Event};

use crate::support::{aish, ask, connector, home, write_config};

/// A specialist on 127.0.0.1:0: each connection reads the chat line, then runs the script.
struct Specialist {
    addr: SocketAddr,
    requests: Arc<Mutex<Vec<Value>>>,
}

/// What a script gets: the socket, the request, and a reader for what the client sends next.
struct Chat {
    stream: TcpStream,
    reader: BufReader<TcpStream>,
    request: Value,
}

impl Chat {
    fn send(&mut self, value: Value) {
        self.stream.write_all(format!("{value}\n").as_bytes()).unwrap();
    }

    fn id(&self) -> Value {
        self.request["request_id"].clone()
    }

    fn next_line(&mut self) -> Value {
        let mut line = String::new();
        self.reader.read_line(&mut line).unwrap();
        serde_json::from_str(&line).unwrap_or(Value::Null)
    }
}

impl Specialist {
    fn start(script: impl Fn(&mut Chat) + Send + Sync + 'static) -> Specialist {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        let requests = Arc::new(Mutex::new(Vec::new()));
        let seen = requests.clone();
        let script = Arc::new(script);
        std::thread::spawn(move || {
            for stream in listener.incoming() {
                let Ok(stream) = stream else { return };
                let (script, seen) = (script.clone(), seen.clone());
                std::thread::spawn(move || {
                    stream.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
                    let mut reader = BufReader::new(stream.try_clone().unwrap());
                    let mut line = String::new();
                    if reader.read_line(&mut line).unwrap_or(0) == 0 {
                        return;
                    }
                    let request: Value = serde_json::from_str(&line).expect("the chat line is JSON");
                    seen.lock().unwrap().push(request.clone());
                    script(&mut Chat { stream, reader, request });
                });
            }
        });
        Specialist { addr, requests }
    }

    fn url(&self) -> String {
        format!("tcp://{}", self.addr)
    }
}

#[test]
fn a_specialist_streams_its_answer_through_aish() {
    let specialist = Specialist::start(|chat| {
        let id = chat.id();
        chat.send(json!({"type": "stream_chunk", "request_id": id, "content": "Tekton "}));
        // Another request's line on the same socket is not part of this answer.
        chat.send(json!({"type": "stream_chunk", "request_id": "someone-else", "content": "WRONG"}));
        chat.send(json!({"type": "ping", "request_id": id}));
        assert_eq!(chat.next_line(), json!({"type": "pong", "request_id": id}), "the client answers pings");
        chat.stream
            .write_all(
                format!("{}\r\n", json!({"type": "stream_chunk", "request_id": id, "content": "says hi"})).as_bytes(),
            )
            .unwrap();
        chat.send(json!({"type": "stream_end", "request_id": id, "usage": {"input_tokens": 5, "output_tokens": 2}}));
    });
    let home = home();
    write_config(home.path(), &format!("[ai.prometheus]\nurl = \"{}\"\ntransport = \"tekton\"\n", specialist.url()));
    let run = aish(home.path(), &["-c", "echo plan a launch | prometheus"], None);
    assert_eq!(run.code, 0, "{run:?}");
    assert_eq!(run.stdout, "Tekton says hi\n");
    let request = specialist.requests.lock().unwrap()[0].clone();
    assert_eq!((request["type"].as_str(), request["content"].as_str()), (Some("chat"), Some("plan a launch")));
    assert_eq!(request["stream"], true);
    assert_eq!(request["context"]["pipeline_position"], 1);
    assert!(request["request_id"].as_str().is_some_and(|id| id.starts_with("aish-")), "{request}");
    let history = std::fs::read_to_string(home.path().join("history.jsonl")).unwrap();
    assert!(history.contains(r#""tokens":2"#), "the specialist's usage is recorded: {history}");
}

#[test]
fn without_streaming_the_specialist_gives_one_chat_response() {
    let specialist = Specialist::start(|chat| {
        assert_eq!(chat.request["stream"], false);
        let id = chat.id();
        chat.send(json!({"type": "chat_response", "request_id": id, "content": "all at once"}));
    });
    let home = home();
    write_config(home.path(), &format!("[ai.prometheus]\nurl = \"{}\"\ntransport = \"tekton\"\n", specialist.url()));
    let run = aish(home.path(), &["--no-stream", "-c", "echo hi | prometheus"], None);
    assert_eq!((run.code, run.stdout.as_str()), (0, "all at once\n"), "{run:?}");
}

#[tokio::test(flavor = "multi_thread")]
async fn errors_hang_ups_and_bad_lines_are_named() {
    let specialist = Specialist::start(|chat| {
        let id = chat.id();
        match chat.request["content"].as_str() {
            Some("error") => {
                chat.send(json!({"type": "stream_chunk", "request_id": id, "content": "one "}));
                chat.send(json!({"type": "stream_error", "request_id": id, "error": "no model loaded"}));
            }
            Some("hang up") => {
                chat.send(json!({"type": "stream_chunk", "request_id": id, "content": "half"}));
            }
            _ => chat.stream.write_all(b"<html>not tekton</html>\n").unwrap(),
        }
    });
    let connector = connector(None, "");
    let answer = ask(&connector, "tekton", &specialist.url(), "aish", "error").await;
    assert_eq!(answer.text(), "one ");
    assert_eq!(answer.events.last(), Some(&Event::Error("no model loaded".into())));

    let answer = ask(&connector, "tekton", &specialist.url(), "aish", "hang up").await;
    assert_eq!(answer.text(), "half", "what arrived is kept");
    let error = answer.error.expect("interrupted");
    assert_eq!(error.kind, ErrorKind::Interrupted);
    assert!(error.message.contains("closed the connection before the answer was complete"), "{}", error.message);

    let answer = ask(&connector, "tekton", &specialist.url(), "aish", "garbage").await;
    let error = answer.error.expect("a protocol error");
    assert_eq!(error.kind, ErrorKind::Protocol);
    assert!(error.message.contains("not a Tekton message") && error.message.contains("<html>"), "{}", error.message);

    // Nobody listening: a connect error, which a fallback transport may take over.
    let dead = TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap();
    let answer = ask(&connector, "tekton", &format!("tcp://{dead}"), "aish", "hi").await;
    assert_eq!(answer.error.expect("refused").kind, ErrorKind::Connect);
    let answer = ask(&connector, "tekton", "http://127.0.0.1:1/", "aish", "hi").await;
    assert!(answer.error.expect("bad url").message.contains("tcp://HOST:PORT"));
}
