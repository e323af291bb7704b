//! The compiled-component cache: only the first start pays for compiling a plugin.

use std::hash::{Hash, Hasher};
use std::path::{Path, PathBuf};

use wasmtime::Engine;
use wasmtime::component::Component;

/// Compiled plugins on disk, keyed by their bytes and by what this engine can load.
pub struct ComponentCache {
    dir: Option<PathBuf>,
    engine_key: u64,
}

impl ComponentCache {
    /// A cache in `dir`; `None` disables it.
    pub fn new(dir: Option<PathBuf>, engine: &Engine) -> Self {
        let mut hasher = std::collections::hash_map::DefaultHasher::new();
        engine.precompile_compatibility_hash().hash(&mut hasher);
        ComponentCache { dir, engine_key: hasher.finish() }
    }

    fn path(&self, digest: &[u8; 32]) -> Option<PathBuf> {
        let hex: String = digest.iter().map(|b| format!("{b:02x}")).collect();
        self.dir.as_ref().map(|d| d.join(format!("{hex}-{:016x}.cwasm", self.engine_key)))
    }

    /// The compiled component: from the cache when it holds a usable copy, else compiled now
    /// and stored. A damaged or stale cache file is replaced, never trusted.
    pub fn load_or_compile(&self, engine: &Engine, bytes: &[u8], digest: &[u8; 32]) -> wasmtime::Result<Component> {
        let path = self.path(digest);
        if let Some(path) = &path
            && path.is_file()
        {
            // SAFETY: the file was written by `Component::serialize` of this same engine
            // configuration (the name carries its compatibility hash) into aish's own cache
            // directory; `deserialize_file` still checks its header and refuses a mismatch.
            match unsafe { Component::deserialize_file(engine, path) } {
                Ok(component) => return Ok(component),
                Err(_) => {
                    let _ = std::fs::remove_file(path);
                }
            }
        }
        let component = Component::from_binary(engine, bytes)?;
        if let Some(path) = &path {
            // A cache that cannot be written only costs time at the next start.
            let _ = store(path, &component.serialize()?);
        }
        Ok(component)
    }
}

fn store(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let dir = path.parent().expect("cache files live in a directory");
    std::fs::create_dir_all(dir)?;
    let tmp = dir.join(format!(".{}.tmp", std::process::id()));
    std::fs::write(&tmp, bytes)?;
    std::fs::rename(&tmp, path)
}
