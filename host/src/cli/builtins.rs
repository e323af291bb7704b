//! Built-in commands, shared by `-c`, scripts and the interactive shell.

use serde_json::Value;

use crate::display::Display;
use crate::history::{Entry, History, text_block};
use crate::pipeline::Executor;
use crate::plugin::PluginKind;

/// The built-ins with one line each.
pub const BUILTINS: &[(&str, &str)] = &[
    ("help", "shows this list"),
    ("list-ais", "lists the AIs with transport, dialect, URL, and whether each answers now"),
    ("plugins", "lists installed plugins"),
    ("plugin list | info NAME | add [--name NAME] PATH | remove NAME", "manages plugins (usable at once)"),
    ("history [N]", "shows the last N commands (default 20) with their answers"),
    ("history search TEXT", "shows the commands whose line or answers contain TEXT"),
    ("!N", "runs command N of the history again"),
    ("transport [AI [NAME]]", "shows each AI's transport, or makes AI use transport NAME from now on"),
    ("session", "shows this session's id (every AI stage receives it as session_id)"),
    ("context [set KEY VALUE | unset KEY | clear]", "shows or sets context sent to every AI stage"),
    ("memory [add TEXT | clear]", "shows or sets memory hints sent to every AI stage"),
    ("exit", "leaves the shell (also Ctrl-D)"),
];

/// What a built-in asks of its caller.
#[derive(Debug, PartialEq, Eq)]
pub enum Flow {
    /// Go on.
    Continue,
    /// Leave the shell.
    Exit,
}

/// Runs `line` if it is a built-in; `None` when it is not one.
pub fn run(line: &str, executor: &mut Executor) -> Option<Flow> {
    let word = |name: &str| line == name || line.starts_with(&format!("{name} "));
    if word("history") {
        let history = executor.history().cloned();
        show_history(line["history".len()..].trim(), history.as_ref(), &mut executor.display);
        return Some(Flow::Continue);
    }
    if word("context") {
        context(line["context".len()..].trim(), executor);
        return Some(Flow::Continue);
    }
    if word("memory") {
        memory(line["memory".len()..].trim(), executor);
        return Some(Flow::Continue);
    }
    if word("transport") {
        transport(line["transport".len()..].trim(), executor);
        return Some(Flow::Continue);
    }
    if word("plugin") {
        plugin(line["plugin".len()..].trim(), executor);
        return Some(Flow::Continue);
    }
    if line == "session" {
        let id = executor.session_id().to_owned();
        executor.display.print(&id);
        return Some(Flow::Continue);
    }
    let connector = executor.connector().clone();
    let display = &mut executor.display;
    let mut words = line.split_whitespace();
    let name = words.next()?;
    let rest: Vec<&str> = words.collect();
    match (name, rest.as_slice()) {
        ("help", []) => {
            let mut text = String::from("Built-ins:\n");
            for (name, about) in BUILTINS {
                text.push_str(&format!("  {name:<44} {about}\n"));
            }
            text.push_str("Pipelines:\n  echo \"text\" | AI | AI     send text through AIs in turn\n");
            text.push_str("  AI text...                 send text to one AI\n");
            text.push_str("  AI < FILE > FILE           read input from / write the answer to a file\n");
            display.print(&text);
        }
        ("list-ais", []) => {
            let config = connector.config();
            // Every AI is checked at once, so a dead one costs one timeout, not one each.
            let reachable: Vec<Result<(), String>> = std::thread::scope(|scope| {
                let checks: Vec<_> = config.ai.values().map(|ai| scope.spawn(|| health(&ai.url))).collect();
                checks.into_iter().map(|c| c.join().unwrap_or_else(|_| Err("check failed".into()))).collect()
            });
            let mut text = String::new();
            for ((name, ai), state) in config.ai.iter().zip(reachable) {
                let state = match state {
                    Ok(()) => "up".to_owned(),
                    Err(why) => format!("down ({why})"),
                };
                text.push_str(&format!("{name:<12} {:<10} {:<10} {:<44} {state}\n", ai.transport, ai.dialect, ai.url));
            }
            display.print(&text);
        }
        ("plugins", []) => {
            let registry = connector.registry();
            let mut text = String::new();
            for kind in [PluginKind::Transport, PluginKind::Stage] {
                let names = registry.names_of(kind);
                if !names.is_empty() {
                    text.push_str(&format!("{kind}: {}\n", names.join(", ")));
                }
            }
            display.print(&text);
        }
        ("exit" | "quit", []) => return Some(Flow::Exit),
        _ => return None,
    }
    Some(Flow::Continue)
}

/// `history`, `history N`, `history search TEXT`.
fn show_history(args: &str, history: Option<&History>, display: &mut Display) {
    let Some(history) = history else {
        display.error("no history is kept in this session");
        return;
    };
    let loaded = match history.load() {
        Ok(loaded) => loaded,
        Err(e) => {
            display.error(&format!("cannot read the history: {e}"));
            return;
        }
    };
    if let Some(warning) = &loaded.warning {
        display.warning(&format!("warning: {warning}"));
    }
    let entries: Vec<&Entry> = if let Some(text) = args.strip_prefix("search") {
        let needle = text.trim().to_lowercase();
        if needle.is_empty() {
            display.error("history search needs TEXT to look for");
            return;
        }
        loaded
            .entries
            .iter()
            .filter(|e| {
                e.command.to_lowercase().contains(&needle)
                    || e.responses.iter().any(|(_, answer)| answer.to_lowercase().contains(&needle))
            })
            .collect()
    } else {
        let count = if args.is_empty() {
            20
        } else {
            match args.parse::<usize>() {
                Ok(n) => n,
                Err(_) => {
                    display.error(&format!("history takes a number of entries, not `{args}`"));
                    return;
                }
            }
        };
        let skip = loaded.entries.len().saturating_sub(count);
        loaded.entries.iter().skip(skip).collect()
    };
    let mut text = String::new();
    for entry in entries {
        let responses: Vec<(&str, &str)> = entry.responses.iter().map(|(a, r)| (a.as_str(), r.as_str())).collect();
        text.push_str(&text_block(entry.number, &entry.command, &responses, &entry.metadata));
    }
    if !text.is_empty() {
        display.print(&text);
    }
}

/// `context`, `context set KEY VALUE`, `context unset KEY`, `context clear`.
fn context(args: &str, executor: &mut Executor) {
    let mut words = args.splitn(3, ' ');
    match (words.next().unwrap_or(""), words.next(), words.next()) {
        ("", None, None) => {
            let shown = serde_json::to_string_pretty(&executor.context).unwrap_or_default();
            executor.display.print(&shown);
        }
        ("set", Some(key), Some(value)) => {
            // JSON when it parses (numbers, lists, objects), otherwise the text itself.
            let value = serde_json::from_str(value.trim()).unwrap_or_else(|_| Value::String(value.trim().to_owned()));
            executor.context.insert(key.to_owned(), value);
        }
        ("unset", Some(key), None) => {
            if executor.context.remove(key).is_none() {
                executor.display.error(&format!("context has no key `{key}`"));
            }
        }
        ("clear", None, None) => executor.context.clear(),
        _ => executor.display.error("usage: context [set KEY VALUE | unset KEY | clear]"),
    }
}

/// `memory`, `memory add TEXT`, `memory clear`.
fn memory(args: &str, executor: &mut Executor) {
    match args.split_once(' ').unwrap_or((args, "")) {
        ("", "") => {
            let hints: String =
                executor.memory_hints.iter().enumerate().map(|(i, h)| format!("{}: {h}\n", i + 1)).collect();
            if !hints.is_empty() {
                executor.display.print(&hints);
            }
        }
        ("add", text) if !text.trim().is_empty() => executor.memory_hints.push(text.trim().to_owned()),
        ("clear", "") => executor.memory_hints.clear(),
        _ => executor.display.error("usage: memory [add TEXT | clear]"),
    }
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
fn transport(args: &str, executor: &mut Executor) {
    let connector = executor.connector().clone();
    let config = connector.config();
    let current = |executor: &Executor, ai: &str| {
        executor.transports.get(ai).cloned().unwrap_or_else(|| config.ai[ai].transport.clone())
    };
    let words: Vec<&str> = args.split_whitespace().collect();
    match words.as_slice() {
        [] => {
            let text: String = config.ai.keys().map(|ai| format!("{ai:<12} {}\n", current(executor, ai))).collect();
            executor.display.print(&text);
        }
        [ai, rest @ ..] if !config.ai.contains_key(*ai) => {
            let _ = rest;
            executor.display.error(&format!("no AI named `{ai}`; `list-ais` shows them"));
        }
        [ai] => {
            let shown = format!("{ai} uses {}", current(executor, ai));
            executor.display.print(&shown);
        }
        [ai, name] => {
            let transports = connector.registry().names_of(PluginKind::Transport);
            if transports.iter().any(|t| t == name) {
                executor.transports.insert((*ai).to_owned(), (*name).to_owned());
                let shown = format!("{ai} now uses {name}");
                executor.display.print(&shown);
            } else {
                executor
                    .display
                    .error(&format!("no transport plugin named `{name}`; installed: {}", transports.join(", ")));
            }
        }
        _ => executor.display.error("usage: transport [AI [NAME]]"),
    }
}

/// `plugin list | info NAME | add [--name NAME] PATH | remove NAME`, as `aish plugin` does.
fn plugin(args: &str, executor: &mut Executor) {
    use super::PluginAction;
    let Some(dir) = executor.plugin_dir().map(std::path::Path::to_path_buf) else {
        executor.display.error("plugins cannot be changed in this session");
        return;
    };
    let words = match crate::pipeline::tokenize(args) {
        Ok(tokens) => tokens
            .into_iter()
            .filter_map(|(t, _)| if let crate::pipeline::Token::Word { text, .. } = t { Some(text) } else { None })
            .collect::<Vec<_>>(),
        Err(e) => {
            executor.display.error(&e.to_string());
            return;
        }
    };
    let words: Vec<&str> = words.iter().map(String::as_str).collect();
    let action = match words.as_slice() {
        ["list"] => PluginAction::List,
        ["info", name] => PluginAction::Info { name: (*name).to_owned() },
        ["add", path] => PluginAction::Add { path: path.into(), name: None },
        ["add", "--name", name, path] => PluginAction::Add { path: path.into(), name: Some((*name).to_owned()) },
        ["remove", name] => PluginAction::Remove { name: (*name).to_owned() },
        _ => {
            executor.display.error("usage: plugin list | info NAME | add [--name NAME] PATH | remove NAME");
            return;
        }
    };
    let changes = matches!(action, PluginAction::Add { .. } | PluginAction::Remove { .. });
    if super::run_plugin_command(executor.connector(), &dir, &action) == super::EXIT_OK && changes {
        executor.reload_plugins();
    }
}
