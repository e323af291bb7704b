//! Built-in commands, shared by `-c`, scripts and the interactive shell.

use crate::display::Display;
use crate::plugin::PluginKind;
use crate::transport::Connector;

/// The built-ins with one line each.
pub const BUILTINS: &[(&str, &str)] = &[
    ("help", "shows this list"),
    ("list-ais", "lists the configured AIs with their transport and dialect"),
    ("plugins", "lists installed plugins"),
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
pub fn run(line: &str, connector: &Connector, display: &mut Display) -> Option<Flow> {
    let mut words = line.split_whitespace();
    let name = words.next()?;
    let rest: Vec<&str> = words.collect();
    match (name, rest.as_slice()) {
        ("help", []) => {
            let mut text = String::from("Built-ins:\n");
            for (name, about) in BUILTINS {
                text.push_str(&format!("  {name:<10} {about}\n"));
            }
            text.push_str("Pipelines:\n  echo \"text\" | AI | AI     send text through AIs in turn\n");
            text.push_str("  AI text...                 send text to one AI\n");
            text.push_str("  AI < FILE > FILE           read input from / write the answer to a file\n");
            display.print(&text);
        }
        ("list-ais", []) => {
            let config = connector.config();
            let mut text = String::new();
            for (name, ai) in &config.ai {
                text.push_str(&format!("{name:<12} {:<10} {:<10} {}\n", ai.transport, ai.dialect, ai.url));
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
