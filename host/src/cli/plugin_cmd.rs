//! `aish plugin list | info | add | remove`.

use std::path::Path;

use super::{App, EXIT_FAILED, EXIT_OK, PluginAction};
use crate::plugin::{Plugin, PluginKind, Registry, SUPPORTED_WIT_VERSIONS, Source};

/// Runs a plugin subcommand, printing to stdout and errors to stderr; returns the exit status.
pub fn run(app: &App, action: &PluginAction) -> u8 {
    let result = match action {
        PluginAction::List => Ok(list(app)),
        PluginAction::Info { name } => info(app, name),
        PluginAction::Add { path } => add(app, path),
        PluginAction::Remove { name } => remove(app, name),
    };
    match result {
        Ok(text) => {
            print!("{text}");
            EXIT_OK
        }
        Err(message) => {
            eprintln!("error: {message}");
            EXIT_FAILED
        }
    }
}

fn source_label(plugin: &Plugin) -> String {
    match (&plugin.source, plugin.overrides_builtin) {
        (Source::Builtin, _) => "built-in".into(),
        (Source::User(_), true) => "user (overrides built-in)".into(),
        (Source::User(_), false) => "user".into(),
    }
}

fn list(app: &App) -> String {
    let registry = app.connector.registry();
    let mut text =
        format!("{:<12} {:<10} {:<8} {:<6} {:<26} {}\n", "NAME", "KIND", "VERSION", "API", "SOURCE", "DESCRIPTION");
    for plugin in registry.iter() {
        let m = &plugin.manifest;
        text.push_str(&format!(
            "{:<12} {:<10} {:<8} {:<6} {:<26} {}\n",
            m.name,
            m.kind.to_string(),
            m.version,
            m.wit,
            source_label(plugin),
            m.description
        ));
    }
    text
}

fn info(app: &App, name: &str) -> Result<String, String> {
    let plugin = app
        .connector
        .registry()
        .get(name)
        .ok_or_else(|| format!("no plugin named `{name}`; `aish plugin list` shows what is installed"))?;
    let m = &plugin.manifest;
    let supported =
        if SUPPORTED_WIT_VERSIONS.contains(&m.wit.as_str()) { "supported" } else { "NOT supported by this aish" };
    let location = match &plugin.source {
        Source::Builtin => "built into aish".to_owned(),
        Source::User(path) => path.display().to_string(),
    };
    let config = app.config();
    let settings = config.plugin(name);
    let hosts = config.allowed_hosts(name);
    let capabilities = if m.capabilities.http { "http" } else { "none" };
    let granted = if !m.capabilities.http {
        "nothing (asks for no network)".to_owned()
    } else if hosts.is_empty() {
        "no hosts yet (no AI uses it; set [plugins.NAME] allow_hosts)".to_owned()
    } else {
        hosts.join(", ")
    };
    Ok(format!(
        "name:          {}\nkind:          {}\nversion:       {}\nplugin API:    {} ({supported})\nsource:        {}\nlocation:      {location}\nsize:          {} KiB\ndescription:   {}\ncapabilities:  {capabilities}\nallowed hosts: {granted}\nmemory limit:  {} MiB\ntime limit:    {} ms\n",
        m.name,
        m.kind,
        m.version,
        m.wit,
        source_label(plugin),
        plugin.bytes.len().div_ceil(1024),
        m.description,
        settings.memory_limit_mb.unwrap_or(64),
        settings.time_limit_ms.unwrap_or(2000),
    ))
}

fn add(app: &App, path: &Path) -> Result<String, String> {
    let plugin = Plugin::from_file(path).map_err(|e| e.to_string())?;
    let name = plugin.manifest.name.clone();
    // Compiling it now proves it loads, and warms the cache for its first use.
    if plugin.manifest.kind == PluginKind::Transport {
        app.connector.runtime().prepare(&plugin).map_err(|e| e.to_string())?;
    }
    let dir = app.paths.plugin_dir();
    std::fs::create_dir_all(&dir).map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
    let target = dir.join(format!("{name}.wasm"));
    let tmp = dir.join(format!(".{name}.wasm.tmp"));
    std::fs::write(&tmp, &plugin.bytes)
        .and_then(|_| std::fs::rename(&tmp, &target))
        .map_err(|e| format!("cannot install into {}: {e}", target.display()))?;
    let note = if Registry::is_builtin_name(&name) { "; it overrides the built-in plugin of that name" } else { "" };
    Ok(format!(
        "installed {} plugin `{name}` {} to {}{note}\n",
        plugin.manifest.kind,
        plugin.manifest.version,
        target.display()
    ))
}

fn remove(app: &App, name: &str) -> Result<String, String> {
    let registry = app.connector.registry();
    match registry.get(name).map(|p| &p.source) {
        Some(Source::User(path)) => {
            std::fs::remove_file(path).map_err(|e| format!("cannot remove {}: {e}", path.display()))?;
            let note = if Registry::is_builtin_name(name) { "; the built-in plugin of that name is back" } else { "" };
            Ok(format!("removed plugin `{name}` ({}){note}\n", path.display()))
        }
        Some(Source::Builtin) => Err(format!("`{name}` is built into aish and cannot be removed")),
        None => Err(format!("no plugin named `{name}`; `aish plugin list` shows what is installed")),
    }
}
