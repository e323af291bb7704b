//! Which plugins exist: the built-in ones, and user plugins that add names or override them.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};

use super::manifest::{Manifest, ManifestError};
use super::{BUILTIN_PLUGINS, PluginError};

/// Where a plugin came from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Source {
    /// Compiled into aish.
    Builtin,
    /// A file in the user's plugin folder.
    User(PathBuf),
}

/// A plugin ready to be compiled and run.
#[derive(Clone, Debug)]
pub struct Plugin {
    /// What it says about itself.
    pub manifest: Manifest,
    /// The component (a built-in one is not copied out of the binary).
    pub bytes: bytes::Bytes,
    /// SHA-256 of the bytes (the cache key).
    pub digest: [u8; 32],
    /// Where it came from.
    pub source: Source,
    /// A user plugin that replaces a built-in one of the same name.
    pub overrides_builtin: bool,
}

impl Plugin {
    /// Reads a plugin from component bytes.
    pub fn from_bytes(bytes: bytes::Bytes, source: Source) -> Result<Plugin, PluginError> {
        let digest = Sha256::digest(&bytes).into();
        Self::with_manifest(Manifest::from_component(&bytes), bytes, digest, source)
    }

    /// A built-in plugin, from what the build read of it: its bytes are not read at all until
    /// it is compiled.
    fn builtin(builtin: &super::Builtin) -> Result<Plugin, PluginError> {
        let manifest = Manifest::builtin(builtin.manifest, builtin.exports);
        Self::with_manifest(manifest, bytes::Bytes::from_static(builtin.bytes), builtin.sha256, Source::Builtin)
    }

    /// A plugin with the manifest read for it; a manifest that could not be read is an error
    /// naming where the plugin came from.
    fn with_manifest(
        manifest: Result<Manifest, ManifestError>,
        bytes: bytes::Bytes,
        digest: [u8; 32],
        source: Source,
    ) -> Result<Plugin, PluginError> {
        let label = match &source {
            Source::Builtin => "built-in plugin".to_owned(),
            Source::User(p) => p.display().to_string(),
        };
        let manifest = manifest.map_err(|e| PluginError::Invalid { plugin: label, why: e.to_string() })?;
        Ok(Plugin { manifest, bytes, digest, source, overrides_builtin: false })
    }

    /// A plugin whose manifest was already read from `bytes` (by `plugin add`).
    pub(crate) fn described(manifest: Manifest, bytes: bytes::Bytes, source: Source) -> Plugin {
        let digest = Sha256::digest(&bytes).into();
        Plugin { manifest, bytes, digest, source, overrides_builtin: false }
    }

    /// Reads a plugin file.
    pub fn from_file(path: &Path) -> Result<Plugin, PluginError> {
        let bytes = std::fs::read(path).map_err(|e| PluginError::Invalid {
            plugin: path.display().to_string(),
            why: format!("cannot read it: {e}"),
        })?;
        Self::from_bytes(bytes.into(), Source::User(path.to_path_buf()))
    }
}

/// All plugins by name.
#[derive(Clone, Debug, Default)]
pub struct Registry {
    plugins: BTreeMap<String, Plugin>,
    /// Native stage plugins (shared libraries) by name; never opened here, since opening one
    /// runs its code.
    natives: BTreeMap<String, PathBuf>,
}

/// The file endings of native plugins.
pub const NATIVE_EXTENSIONS: &[&str] = &["so", "dylib", "dll"];

impl Registry {
    /// The built-in plugins, then every `*.wasm` in `user_dir`. A broken user plugin is left
    /// out with a warning in the returned list rather than stopping aish.
    pub fn discover(user_dir: &Path) -> (Registry, Vec<String>) {
        let mut registry = Registry::default();
        let mut warnings = Vec::new();
        for builtin in BUILTIN_PLUGINS {
            match Plugin::builtin(builtin) {
                Ok(plugin) => {
                    registry.plugins.insert(plugin.manifest.name.clone(), plugin);
                }
                Err(e) => warnings.push(e.to_string()),
            }
        }
        let mut files: Vec<PathBuf> = match std::fs::read_dir(user_dir) {
            Ok(entries) => {
                entries.flatten().map(|e| e.path()).filter(|p| p.extension().is_some_and(|x| x == "wasm")).collect()
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Vec::new(),
            Err(e) => {
                warnings.push(format!("cannot read the plugin folder {}: {e}", user_dir.display()));
                Vec::new()
            }
        };
        files.sort();
        if let Ok(entries) = std::fs::read_dir(user_dir) {
            for path in entries.flatten().map(|e| e.path()) {
                let native = path.extension().and_then(|x| x.to_str()).is_some_and(|x| NATIVE_EXTENSIONS.contains(&x));
                if let (true, Some(name)) = (native, path.file_stem().and_then(|s| s.to_str())) {
                    registry.natives.insert(name.to_owned(), path.clone());
                }
            }
        }
        for path in files {
            match Plugin::from_file(&path) {
                Ok(mut plugin) => {
                    let name = plugin.manifest.name.clone();
                    plugin.overrides_builtin = registry.plugins.get(&name).is_some_and(|p| p.source == Source::Builtin);
                    registry.plugins.insert(name, plugin);
                }
                Err(e) => warnings.push(format!("{e}; it was not loaded")),
            }
        }
        (registry, warnings)
    }

    /// A plugin by name.
    pub fn get(&self, name: &str) -> Option<&Plugin> {
        self.plugins.get(name)
    }

    /// Every plugin, by name.
    pub fn iter(&self) -> impl Iterator<Item = &Plugin> {
        self.plugins.values()
    }

    /// Names of plugins of one kind (native plugins are stages).
    pub fn names_of(&self, kind: super::PluginKind) -> Vec<String> {
        let mut names: Vec<String> =
            self.plugins.values().filter(|p| p.manifest.kind == kind).map(|p| p.manifest.name.clone()).collect();
        if kind == super::PluginKind::Stage {
            names.extend(self.natives.keys().cloned());
            names.sort();
        }
        names
    }

    /// The file of native plugin `name`.
    pub fn native(&self, name: &str) -> Option<&Path> {
        self.natives.get(name).map(PathBuf::as_path)
    }

    /// Every native plugin: (name, file).
    pub fn natives(&self) -> impl Iterator<Item = (&str, &Path)> {
        self.natives.iter().map(|(n, p)| (n.as_str(), p.as_path()))
    }

    /// Whether `name` runs as a stage (a WebAssembly stage plugin or a native one).
    pub fn is_stage(&self, name: &str) -> bool {
        self.natives.contains_key(name) || self.get(name).is_some_and(|p| p.manifest.kind == super::PluginKind::Stage)
    }

    /// Whether a built-in plugin of this name exists.
    pub fn is_builtin_name(name: &str) -> bool {
        BUILTIN_PLUGINS.iter().any(|b| b.name == name)
    }
}
