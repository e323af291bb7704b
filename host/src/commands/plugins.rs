//! `plugins` and `plugin list | info | add | remove | dev`: the installed plugins, changed in
//! place so that a plugin added, rebuilt or removed is usable or gone for the next command.

use super::Flow;
use super::args::Args;
use crate::plugin::PluginKind;
use crate::plugin::manage::{self, Action};
use crate::session::Session;

/// `plugins`: the names of the installed plugins, by kind.
pub(super) fn names(session: &mut Session, args: &Args<'_>) -> Option<Flow> {
    if !args.is_empty() {
        return None;
    }
    let connector = session.connector().clone();
    let registry = connector.registry();
    let mut text = String::new();
    for kind in [PluginKind::Transport, PluginKind::Stage] {
        let names = registry.names_of(kind);
        if !names.is_empty() {
            text.push_str(&format!("{kind}: {}\n", names.join(", ")));
        }
    }
    session.display().print(&text);
    Some(Flow::Continue)
}

/// `plugin list | info NAME | add [--name NAME] PATH | remove NAME`, as `aish plugin` does.
pub(super) fn manage(session: &mut Session, args: &Args<'_>) -> Option<Flow> {
    let Some(dir) = session.plugin_dir().map(std::path::Path::to_path_buf) else {
        return Some(Flow::Failed("plugins cannot be changed in this session".into()));
    };
    super::args::words!(args => words);
    let action = match words.as_slice() {
        ["list"] => Action::List,
        ["info", name] => Action::Info { name: (*name).to_owned() },
        ["add", path] => Action::Add { path: path.into(), name: None, manifest: None },
        ["add", "--name", name, path] => {
            Action::Add { path: path.into(), name: Some((*name).to_owned()), manifest: None }
        }
        ["add", "--manifest", file, path] => Action::Add { path: path.into(), name: None, manifest: Some(file.into()) },
        ["remove", name] => Action::Remove { name: (*name).to_owned() },
        ["dev", folder] => {
            match session.start_dev(std::path::Path::new(folder)) {
                Ok(report) => session.display().print(&report),
                Err(e) => return Some(Flow::Failed(format!("plugin dev: {e}"))),
            }
            return Some(Flow::Continue);
        }
        _ => {
            let usage =
                "usage: plugin list | info NAME | add [--name NAME | --manifest FILE] PATH | remove NAME | dev FOLDER";
            return Some(Flow::Usage(usage.into()));
        }
    };
    let changes = matches!(action, Action::Add { .. } | Action::Remove { .. });
    match manage::run(session.connector(), &dir, &action) {
        Ok(text) => {
            session.display().print(&text);
            if changes {
                session.reload_plugins();
            }
        }
        Err(message) => return Some(Flow::Failed(message)),
    }
    Some(Flow::Continue)
}
