//! Managing the installed plugins: list, describe, install into and remove from the user plugin
//! folder. Both `aish plugin ...` and the shell's `plugin` built-in run these. A plugin replaced
//! or removed takes its compiled code out of the cache; a native library is never trusted by
//! installing it: `add` prints the config line that pins its content.

use std::path::{Path, PathBuf};
use std::time::Instant;

use super::manifest::{Manifest, Origin, with_section};
use super::native::{NativeError, file_sha256, trust_line};
use super::registry::NATIVE_EXTENSIONS;
use super::{Plugin, PluginKind, Registry, SUPPORTED_WIT_VERSIONS, Source};
use crate::transport::Connector;

/// What to do with the plugins.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Action {
    /// List every installed plugin.
    List,
    /// Describe one plugin: manifest, capabilities, what it is allowed.
    Info {
        /// The plugin's name.
        name: String,
    },
    /// Install a .wasm component, or a native library (.so, .dylib, .dll).
    Add {
        /// The file.
        path: PathBuf,
        /// The name of a native plugin (default: its file name without `lib`).
        name: Option<String>,
        /// The manifest of a component that carries none (default: `plugin.toml` beside it).
        manifest: Option<PathBuf>,
    },
    /// Remove a user plugin (a built-in one it overrode comes back).
    Remove {
        /// The plugin's name.
        name: String,
    },
}

/// What the plugin commands work on: the installed plugins and the user plugin folder.
struct Ctx<'a> {
    connector: &'a Connector,
    dir: PathBuf,
}

/// Carries out `action` on the plugins in `plugin_dir`: the report to print, or one error line.
pub fn run(connector: &Connector, plugin_dir: &Path, action: &Action) -> Result<String, String> {
    let ctx = &Ctx { connector, dir: plugin_dir.to_path_buf() };
    match action {
        Action::List => Ok(list(ctx)),
        Action::Info { name } => info(ctx, name),
        Action::Add { path, name, manifest } => add(ctx, path, name.as_deref(), manifest.as_deref()),
        Action::Remove { name } => remove(ctx, name),
    }
}

fn source_label(plugin: &Plugin) -> String {
    match (&plugin.source, plugin.overrides_builtin) {
        (Source::Builtin, _) => "built-in".into(),
        (Source::User(_), true) => "user (overrides built-in)".into(),
        (Source::User(_), false) => "user".into(),
    }
}

/// What a native plugin says about itself, when it may be opened.
fn native_label(ctx: &Ctx<'_>, name: &str) -> (String, String, String) {
    match ctx.connector.native_stage(name) {
        Ok(library) => (library.version.clone(), "user (native, trusted)".into(), library.description.clone()),
        Err(NativeError::Untrusted(_)) => (
            "?".into(),
            "user (native, untrusted)".into(),
            format!("not loaded: pin it with [plugins.{name}] trusted = \"sha256:…\" (see `aish plugin info {name}`)"),
        ),
        Err(NativeError::Changed { .. }) => {
            ("?".into(), "user (native, changed)".into(), "not loaded: the file is not the one you trusted".into())
        }
        Err(e) => ("?".into(), "user (native, broken)".into(), e.to_string()),
    }
}

fn list(ctx: &Ctx<'_>) -> String {
    let registry = ctx.connector.registry();
    let mut rows = vec![["NAME", "KIND", "VERSION", "API", "SOURCE", "DESCRIPTION"].map(str::to_owned).to_vec()];
    for plugin in registry.iter() {
        let m = &plugin.manifest;
        let source = source_label(plugin).to_string();
        rows.push(vec![
            m.name.clone(),
            m.kind.to_string(),
            m.version.clone(),
            m.wit.to_string(),
            source,
            m.description.clone(),
        ]);
    }
    for (name, _) in registry.natives() {
        let (version, source, description) = native_label(ctx, name);
        rows.push(vec![name.to_owned(), "stage".into(), version, "native".into(), source, description]);
    }
    crate::text::aligned(&rows)
}

fn info(ctx: &Ctx<'_>, name: &str) -> Result<String, String> {
    if let Some(path) = ctx.connector.registry().native(name) {
        let (version, source, description) = native_label(ctx, name);
        let sha256 = file_sha256(path).map(|h| format!("sha256:{h}")).unwrap_or_else(|e| e.to_string());
        return Ok(format!(
            "name:          {name}\nkind:          stage (native C ABI {})\nversion:       {version}\nsource:        {source}\nlocation:      {}\ncontent:       {sha256}\ndescription:   {description}\ncapabilities:  everything your user can do (native code is not sandboxed)\n",
            aish_plugin_sdk::native::ABI_VERSION,
            path.display()
        ));
    }
    let plugin = ctx
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
    let config = ctx.connector.config();
    let settings = config.plugin(name);
    let hosts = config.allowed_hosts(name);
    let capabilities = m.capabilities.names();
    let granted = if !m.capabilities.network() {
        "nothing (asks for no network)".to_owned()
    } else if m.kind == PluginKind::Stage {
        "nothing (stage plugins get no network)".to_owned()
    } else if hosts.is_empty() {
        "no hosts yet (no AI uses it; set [plugins.NAME] allow_hosts)".to_owned()
    } else {
        hosts.join(", ")
    };
    let (memory, time) = super::runtime::granted_limits(&settings, &m.limits);
    Ok(format!(
        "name:          {}\nkind:          {}\nversion:       {}\nplugin API:    {} ({supported})\nsource:        {}\nlocation:      {location}\nsize:          {} KiB\ndescription:   {}\ncapabilities:  {capabilities}\nallowed hosts: {granted}\nmemory limit:  {} MiB\ntime limit:    {} ms\ninstances:     {}\n",
        m.name,
        m.kind,
        m.version,
        m.wit,
        source_label(plugin),
        plugin.bytes.len().div_ceil(1024),
        m.description,
        memory >> 20,
        time.as_millis(),
        instance_use(config, m),
    ))
}

fn add(ctx: &Ctx<'_>, path: &Path, name: Option<&str>, manifest: Option<&Path>) -> Result<String, String> {
    let extension = path.extension().and_then(|x| x.to_str()).unwrap_or("");
    if NATIVE_EXTENSIONS.contains(&extension) {
        if manifest.is_some() {
            return Err("--manifest is for WebAssembly components; a native plugin describes itself".into());
        }
        return add_native(ctx, path, name, extension);
    }
    if name.is_some() {
        return Err("--name is for native plugins; a WebAssembly plugin's name comes from its manifest".into());
    }
    let beside = path.with_file_name("plugin.toml");
    let manifest = match manifest {
        Some(file) => Some((file, true)),
        None => beside.is_file().then_some((beside.as_path(), false)),
    };
    install(ctx, path, manifest).map(|(_, report)| report)
}

/// Builds the plugin in the folder `source` with its `[build]` command, as its watch's build
/// (`running`), and installs what it built, its manifest from `source/plugin.toml` unless the
/// component carries one: a report, or what went wrong (the build's own errors included).
fn dev_build(
    connector: &Connector,
    plugin_dir: &Path,
    source: &Path,
    running: &super::author::dev::Running,
) -> Result<String, String> {
    let ctx = &Ctx { connector, dir: plugin_dir.to_path_buf() };
    let spec = super::author::dev::BuildSpec::read(source)?;
    let started = Instant::now();
    let output = super::author::dev::build(source, &spec, Some(running))?;
    let built = started.elapsed();
    let (_, report) = install(ctx, &output, Some((&source.join("plugin.toml"), false)))?;
    Ok(format!("built in {:.1} s; {report}", built.as_secs_f64()))
}

/// A `plugin dev` build of a watch that failed: what went wrong, and whether an earlier build of
/// the watch installed a good version, which stays (else there is none yet to keep).
#[derive(Debug)]
pub struct DevFailure {
    /// What went wrong, the build's own errors included.
    pub error: String,
    /// Whether a good version built earlier stays installed.
    pub last_good_kept: bool,
}

/// What a watch reports of each build: its report, or its failure.
pub type DevReport = Result<String, DevFailure>;

/// Starts `plugin dev` on the folder `source`: builds and installs it on a thread of its own,
/// now and on every change to its sources, passing each result to `report` there (a shell takes
/// the next line meanwhile). The watch ends when the returned
/// [`Watch`](super::author::dev::Watch) is dropped. A folder that cannot be built at all (no
/// `plugin.toml`, no `[build]`) is an error, and not watched. A build whose watch ended
/// meanwhile is stopped and not reported (the watch that replaced it reports its own).
pub fn start_dev(
    connector: &Connector,
    plugin_dir: &Path,
    source: &Path,
    mut report: impl FnMut(DevReport) + Send + 'static,
) -> Result<super::author::dev::Watch, String> {
    super::author::dev::BuildSpec::read(source)?;
    let before = super::author::dev::fingerprint(source);
    // Whether a good version is installed by this watch already.
    let mut built = false;
    let (connector, plugin_dir, folder) = (connector.clone(), plugin_dir.to_path_buf(), source.to_path_buf());
    let every = std::time::Duration::from_millis(300);
    Ok(super::author::dev::watch(source, before, every, move |running| {
        let _one = DEV_BUILD.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        if !running.watched() {
            return;
        }
        // The plugin it replaces is the one installed now, not when the watch began.
        let (registry, _) = Registry::discover(&plugin_dir);
        let connector = connector.with_registry(std::sync::Arc::new(registry));
        let result = dev_build(&connector, &plugin_dir, &folder, running);
        let last_good_kept = built;
        built |= result.is_ok();
        if running.watched() {
            report(result.map_err(|error| DevFailure { error, last_good_kept }));
        }
    }))
}

/// Held by each `plugin dev` build and install: a watch started again on a folder whose first
/// build still runs (or two folders changing at once) builds after it, not beside it.
static DEV_BUILD: std::sync::Mutex<()> = std::sync::Mutex::new(());

/// Installs the component at `path`: validated against the contract, its manifest embedded,
/// compiled once into the cache so its first use is as fast as any other. `manifest` is a
/// file to read the manifest from when the component carries none, and whether the user named
/// it (then a component with its own manifest is an error, not silently preferred).
fn install(ctx: &Ctx<'_>, path: &Path, manifest: Option<(&Path, bool)>) -> Result<(String, String), String> {
    let bytes = std::fs::read(path).map_err(|e| format!("cannot read {}: {e}", path.display()))?;
    let text = match manifest {
        Some((file, _)) => Some(
            std::fs::read_to_string(file).map_err(|e| format!("cannot read the manifest {}: {e}", file.display()))?,
        ),
        None => None,
    };
    let origin_name = manifest.map(|(file, _)| file.display().to_string()).unwrap_or_default();
    let (manifest_read, origin) = Manifest::for_component(&bytes, text.as_deref().map(|t| (t, origin_name.as_str())))
        .map_err(|e| format!("{} cannot be installed: {e}", path.display()))?;
    if manifest.is_some_and(|(_, named)| named) && origin == Origin::Section {
        return Err(format!("{} carries its own manifest; --manifest is for components without one", path.display()));
    }
    let name = manifest_read.name.clone();
    if let (Some((file, false)), Origin::File(_)) = (manifest, &origin) {
        // A plugin.toml found beside a component (in /tmp, say) is trusted only so far.
        if !owned_by_me(file) {
            return Err(format!("{} is not yours; give the manifest explicitly with --manifest FILE", file.display()));
        }
        if Registry::is_builtin_name(&name) {
            return Err(format!(
                "{} names the built-in plugin `{name}`; replacing a built-in plugin takes --manifest FILE",
                file.display()
            ));
        }
    }
    let (bytes, from) = match &origin {
        Origin::Section => (bytes, "its own manifest".to_owned()),
        Origin::File(text) => (with_section(&bytes, text), format!("the manifest in {origin_name}")),
    };
    let dir = ctx.dir.clone();
    let target = dir.join(format!("{name}.wasm"));
    // The manifest embedded just now is the one read above (a unit test reads it back).
    let plugin = Plugin::described(manifest_read, bytes.into(), Source::User(target.clone()));
    // Compiling now checks it against the contract and warms the cache for its first use.
    let started = Instant::now();
    let prepared = match plugin.manifest.kind {
        PluginKind::Transport => ctx.connector.runtime().prepare(&plugin).map(drop),
        PluginKind::Stage => ctx.connector.runtime().prepare_stage(&plugin).map(drop),
    };
    prepared.map_err(|e| format!("{} cannot be installed: {e}", path.display()))?;
    let compiled = started.elapsed();
    super::super::config::private_dir(&dir).map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
    let tmp = dir.join(format!(".{name}.wasm.tmp"));
    std::fs::write(&tmp, &plugin.bytes)
        .and_then(|_| std::fs::rename(&tmp, &target))
        .map_err(|e| format!("cannot install into {}: {e}", target.display()))?;
    // The plugin it replaced, if that was this very file, leaves the cache with it.
    if let Some(old) = ctx.connector.registry().get(&name)
        && old.source == Source::User(target.clone())
        && old.digest != plugin.digest
    {
        forget(ctx, &name, &old.digest);
    }
    let m = &plugin.manifest;
    let mut report = format!(
        "installed {} plugin `{name}` {} (contract {}, {from}) to {}; compiled in {:.2} s\n",
        m.kind,
        m.version,
        m.wit,
        target.display(),
        compiled.as_secs_f64()
    );
    if Registry::is_builtin_name(&name) {
        report.push_str("  it overrides the built-in plugin of that name\n");
    }
    for note in config_notes(ctx, m) {
        report.push_str(&format!("  {note}\n"));
    }
    Ok((name, report))
}

/// Whether `path` belongs to the user running aish.
fn owned_by_me(path: &Path) -> bool {
    use std::os::unix::fs::MetadataExt;
    // The process's own /proc entry carries its user id, with no libc call.
    match (std::fs::metadata(path), std::fs::metadata("/proc/self")) {
        (Ok(file), Ok(me)) => file.uid() == me.uid(),
        (Ok(_), Err(_)) => true,
        (Err(_), _) => false,
    }
}

/// What the user's `[plugins.NAME]` config means for a plugin being installed: what it is
/// granted, and settings that do nothing for it.
fn config_notes(ctx: &Ctx<'_>, m: &Manifest) -> Vec<String> {
    let config = ctx.connector.config();
    let settings = config.plugin(&m.name);
    let mut notes = Vec::new();
    let hosts = config.allowed_hosts(&m.name);
    if m.kind == PluginKind::Stage && m.capabilities.network() {
        notes.push(format!("it asks for {}, but stage plugins get no network", m.capabilities.names()));
    } else if m.capabilities.network() {
        notes.push(match hosts.is_empty() {
            true => format!(
                "it asks for {}; no host is allowed yet: use it as an AI's transport, or set [plugins.{}] allow_hosts",
                m.capabilities.names(),
                m.name
            ),
            false => format!("it asks for {}; allowed hosts: {}", m.capabilities.names(), hosts.join(", ")),
        });
    } else if settings.allow_hosts.is_some() {
        notes.push(format!("[plugins.{}] allow_hosts does nothing: the plugin asks for no network", m.name));
    }
    if config.plugins.get(&m.name).is_some_and(|p| p.trusted != crate::config::Trust::No) {
        notes.push(format!("[plugins.{}] trusted does nothing: it is for native plugins", m.name));
    }
    let (memory, time) = super::runtime::granted_limits(&settings, &m.limits);
    notes.push(format!("limits: {} MiB of memory, {} ms of compute per call", memory >> 20, time.as_millis()));
    notes.push(format!("instances: {}", instance_use(config, m)));
    notes
}

/// How aish uses the plugin's instances, as `plugin info` and `plugin add` say it.
fn instance_use(config: &crate::config::Config, m: &Manifest) -> &'static str {
    match (m.kind, config.reuse_instance(&m.name, m.instance.reuse)) {
        (PluginKind::Stage, true) => "one that ended a run cleanly serves the next (its globals survive)",
        (PluginKind::Stage, false) => "a fresh one for each run",
        (PluginKind::Transport, true) => "one that ended an answer cleanly serves the next (its globals survive)",
        (PluginKind::Transport, false) => "a fresh one for each answer",
    }
}

/// Installs a native library without opening it (opening runs its code).
fn add_native(ctx: &Ctx<'_>, path: &Path, name: Option<&str>, extension: &str) -> Result<String, String> {
    let stem = path.file_stem().and_then(|s| s.to_str()).unwrap_or("");
    let name = name.unwrap_or_else(|| stem.strip_prefix("lib").unwrap_or(stem));
    let usable = !name.is_empty() && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_');
    if !usable {
        return Err(format!("`{name}` is not a usable plugin name; give one with --name"));
    }
    super::native::check_library_file(path, extension)?;
    let dir = ctx.dir.clone();
    std::fs::create_dir_all(&dir).map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
    let target = dir.join(format!("{name}.{extension}"));
    std::fs::copy(path, &target)
        .map_err(|e| format!("cannot install {} to {}: {e}", path.display(), target.display()))?;
    let sha256 = file_sha256(&target).map_err(|e| e.to_string())?;
    Ok(format!(
        "installed native plugin `{name}` to {} (sha256:{sha256})\nit runs unsandboxed with your rights, so aish loads it only once config.toml pins this content; if you trust it, add:\n\n{}\n",
        target.display(),
        trust_line(name, &sha256)
    ))
}

/// Drops the compiled code of plugin `name` built from the bytes with `digest`, unless the
/// built-in plugin of that name has the same bytes (it comes back, and its code stays cached).
fn forget(ctx: &Ctx<'_>, name: &str, digest: &[u8; 32]) {
    let builtin = super::BUILTIN_PLUGINS.iter().any(|b| b.name == name && b.sha256 == *digest);
    // A cache entry that cannot be removed is only disk space: never used for other bytes.
    let _ = ctx.connector.runtime().forget(name, digest, builtin);
}

fn remove(ctx: &Ctx<'_>, name: &str) -> Result<String, String> {
    let registry = ctx.connector.registry();
    if let Some(path) = registry.native(name) {
        std::fs::remove_file(path).map_err(|e| format!("cannot remove {}: {e}", path.display()))?;
        return Ok(format!("removed native plugin `{name}` ({})\n", path.display()));
    }
    let plugin = registry.get(name);
    match plugin.map(|p| &p.source) {
        Some(Source::User(path)) => {
            std::fs::remove_file(path).map_err(|e| format!("cannot remove {}: {e}", path.display()))?;
            if let Some(plugin) = plugin {
                forget(ctx, name, &plugin.digest);
            }
            let note = if Registry::is_builtin_name(name) { "; the built-in plugin of that name is back" } else { "" };
            Ok(format!("removed plugin `{name}` ({}){note}\n", path.display()))
        }
        Some(Source::Builtin) => Err(format!("`{name}` is built into aish and cannot be removed")),
        None => Err(format!("no plugin named `{name}`; `aish plugin list` shows what is installed")),
    }
}
