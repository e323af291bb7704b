//! `list-ais` and `transport`: the configured AIs, whether they answer, and which transport
//! carries each for the rest of the session.

use super::Flow;
use super::args::Args;
use crate::plugin::PluginKind;
use crate::session::Session;

/// `list-ais`: each AI with its transport, dialect, URL, and whether its host answers now.
pub(super) fn list_ais(session: &mut Session, args: &Args<'_>) -> Option<Flow> {
    if !args.is_empty() {
        return None;
    }
    let connector = session.connector().clone();
    let config = connector.config();
    // Every AI is checked at once, so a dead one costs one timeout, not one each.
    let reachable: Vec<Result<(), String>> = std::thread::scope(|scope| {
        let checks: Vec<_> = config.ai.values().map(|ai| scope.spawn(|| health(&ai.url))).collect();
        checks.into_iter().map(|c| c.join().unwrap_or_else(|_| Err("check failed".into()))).collect()
    });
    let mut rows = Vec::new();
    for ((name, ai), state) in config.ai.iter().zip(reachable) {
        let mut state = match state {
            Ok(()) => "up".to_owned(),
            Err(why) => format!("down ({why})"),
        };
        if let Some(system) = &ai.system {
            let first: String = crate::text::one_line(system.trim(), 40);
            let more = if system.trim().chars().count() > 40 { "…" } else { "" };
            state.push_str(&format!("  [persona: {first}{more}]"));
        }
        if ai.stateless {
            state.push_str("  [stateless]");
        }
        rows.push(vec![name.clone(), ai.transport.clone(), ai.dialect.clone(), ai.url.clone(), state]);
    }
    session.display().print(&crate::text::aligned(&rows));
    Some(Flow::Continue)
}

/// Whether the host of `url` accepts a connection now (within 800 ms).
fn health(url: &str) -> Result<(), String> {
    use std::net::{TcpStream, ToSocketAddrs};
    let url = reqwest::Url::parse(url).map_err(|_| "not a URL".to_owned())?;
    let host = url.host_str().ok_or("no host")?.trim_start_matches('[').trim_end_matches(']').to_owned();
    let port = url.port_or_known_default().ok_or("no port")?;
    let addresses = (host.as_str(), port).to_socket_addrs().map_err(|e| format!("cannot resolve {host}: {e}"))?;
    let mut last = "no address".to_owned();
    for address in addresses {
        match TcpStream::connect_timeout(&address, std::time::Duration::from_millis(800)) {
            Ok(_) => return Ok(()),
            Err(e) => last = e.to_string(),
        }
    }
    Err(last)
}

/// `transport`, `transport AI`, `transport AI NAME`.
pub(super) fn transport(session: &mut Session, args: &Args<'_>) -> Option<Flow> {
    let connector = session.connector().clone();
    let config = connector.config();
    let current = |session: &Session, ai: &str| {
        session.transports.get(ai).cloned().unwrap_or_else(|| config.ai[ai].transport.clone())
    };
    super::args::words!(args => words);
    match words.as_slice() {
        [] => {
            let text: String = config.ai.keys().map(|ai| format!("{ai:<12} {}\n", current(session, ai))).collect();
            session.display().print(&text);
        }
        [ai, ..] if !config.ai.contains_key(*ai) => {
            return Some(Flow::Usage(format!("no AI named `{ai}`; `list-ais` shows them")));
        }
        [ai] => {
            let shown = format!("{ai} uses {}", current(session, ai));
            session.display().print(&shown);
        }
        [ai, name] => {
            let transports = connector.registry().names_of(PluginKind::Transport);
            if transports.iter().any(|t| t == name) {
                session.transports.insert((*ai).to_owned(), (*name).to_owned());
                session.display().print(&format!("{ai} now uses {name}"));
            } else {
                let installed = transports.join(", ");
                return Some(Flow::Usage(format!("no transport plugin named `{name}`; installed: {installed}")));
            }
        }
        _ => return Some(Flow::Usage("usage: transport [AI [NAME]]".into())),
    }
    Some(Flow::Continue)
}
