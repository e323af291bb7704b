//! `aish transport probe`: one transport, every event it yields, as JSON Lines.

use serde_json::{Value, json};

use super::{App, EXIT_FAILED, EXIT_OK, EXIT_USAGE, for_stdout, write_out};
use aish::plugin::capabilities::host_pattern_of;
use aish::transport::{ConnectOptions, ErrorKind, Event, Outgoing, TransportError};

/// Runs the probe, giving up after `idle` without an event (never when `None`); returns the
/// exit status.
pub async fn run(
    app: &App,
    transport: &str,
    dialect: &str,
    model: Option<String>,
    url: &str,
    message: Option<String>,
    idle: Option<std::time::Duration>,
) -> u8 {
    let Some(host) = host_pattern_of(url) else {
        eprintln!("error: `{url}` is not a URL; give one like http://127.0.0.1:8080/events");
        return EXIT_USAGE;
    };
    let mut stdout = std::io::stdout().lock();
    // Once stdout refuses a line (`| head -3` closed it), the probe stops with this status.
    let stopped = std::cell::Cell::new(None);
    let mut print = |value: Value| {
        if stopped.get().is_none()
            && let Err(code) = write_out(&mut stdout, &format!("{}\n", for_stdout(&value.to_string())))
        {
            stopped.set(Some(code));
        }
    };
    let print_error = |print: &mut dyn FnMut(Value), e: &TransportError| {
        let mut line = json!({"type": "error", "message": e.message, "kind": e.kind.as_str()});
        if let Some(status) = e.status {
            line["status"] = json!(status);
        }
        print(line);
    };
    // The user named this URL, so the probe may reach its host whatever the config says.
    let grant = match app.connector.grant(transport, &[host]) {
        Ok(grant) => grant,
        Err(e) => {
            print_error(&mut print, &e);
            return EXIT_FAILED;
        }
    };
    let options =
        ConnectOptions { url: url.to_owned(), dialect: dialect.to_owned(), model, api_key: None, settings: json!({}) };
    let mut session = match app.connector.connect(transport, grant, options).await {
        Ok(session) => session,
        Err(e) => {
            print_error(&mut print, &e);
            // A dialect the transport does not speak is the command line's mistake.
            let dialect = e.kind == ErrorKind::InvalidInput && e.message.contains("unknown dialect");
            return if dialect { EXIT_USAGE } else { EXIT_FAILED };
        }
    };
    let outgoing = Outgoing::new(message.unwrap_or_default(), json!({}), true);
    if let Err(e) = session.send(&outgoing).await {
        print_error(&mut print, &e);
        return EXIT_FAILED;
    }
    let mut status = EXIT_OK;
    loop {
        let waited = async {
            match idle {
                Some(idle) => tokio::time::sleep(idle).await,
                None => std::future::pending().await,
            }
        };
        let events = tokio::select! {
            events = session.receive() => events,
            _ = tokio::signal::ctrl_c() => break,
            () = waited => {
                let seconds = idle.map_or(0, |d| d.as_secs());
                let message = format!("no event for {seconds} s; `--idle SECONDS` waits longer, `--idle 0` until Ctrl-C");
                print(json!({"type": "error", "message": message, "kind": "timeout"}));
                session.close().await;
                return EXIT_FAILED;
            }
        };
        match events {
            Ok(events) if events.is_empty() => break,
            Ok(events) => {
                // An answer ends at `done` or an error, as aish reads it: a transport that
                // keeps returning them is not read for ever.
                let mut ended = false;
                for event in events {
                    if matches!(event, Event::Error(_)) {
                        status = EXIT_FAILED;
                    }
                    ended |= matches!(event, Event::Error(_) | Event::Done(_));
                    print(event.to_json());
                }
                if let Some(code) = stopped.get() {
                    session.close().await;
                    return code;
                }
                if ended {
                    break;
                }
            }
            Err(e) => {
                print_error(&mut print, &e);
                return EXIT_FAILED;
            }
        }
    }
    session.close().await;
    status
}
