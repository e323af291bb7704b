//! The `http` transport's line splitting at scale: 100,000 Ollama NDJSON lines, cut across
//! reads at arbitrary points, all arrive. Splitting that drains its buffer per line is
//! quadratic and would not finish within the answer's time limit.

use aish::transport::Event;

use crate::support::server::{Part, Reply, TestServer};
use crate::support::{ask, connector};

const LINES: usize = 100_000;

#[tokio::test(flavor = "multi_thread")]
async fn http_streams_100k_ndjson_lines_in_linear_time() {
    let mut body = br#"{"message":{"content":"x"},"done":false}"#.to_vec();
    body.push(b'\n');
    let mut body = body.repeat(LINES);
    body.extend_from_slice(b"{\"done\":true}\n");
    // Writes of a size no line divides, so lines are cut across reads everywhere.
    let parts = body.chunks(65_521).map(|chunk| Part::Data(chunk.to_vec())).collect();
    let server = TestServer::always(Reply {
        status: 200,
        headers: vec![("content-type".into(), "application/x-ndjson".into())],
        parts,
    });
    // `ask` fails the test if the answer takes over 30 s (linear splitting takes well under one).
    let answer = ask(&connector(None, ""), "http", &server.url("/api/chat"), "ollama", "go").await;
    assert!(answer.error.is_none(), "{:?}", answer.error);
    let text = answer.text();
    assert_eq!(text.len(), LINES, "every token arrived once");
    assert!(text.bytes().all(|b| b == b'x'));
    // With no counts from the server, the done event reports none (the host counts the text).
    assert_eq!(answer.events.last(), Some(&Event::Done(None)));
}
