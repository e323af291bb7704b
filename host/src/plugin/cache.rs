//! The compiled-component cache: only the first start pays for compiling a plugin.
//!
//! Files are named by the SHA-256 of the plugin's bytes and the engine's compatibility hash.
//! Each write goes to a temporary file of its own (never shared with another write, in this
//! process or another), then is renamed into place, so two plugins compiled at once can never
//! swap their files. The directory is owner-only (0700), its files 0600.

use std::hash::{Hash, Hasher};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

use wasmtime::Engine;
use wasmtime::component::Component;

/// Numbers this process's temporary files, so no two writes share one.
static WRITES: AtomicU64 = AtomicU64::new(0);

/// The file ending of cached compilations.
const EXTENSION: &str = "cwasm";

/// Compiled plugins on disk, keyed by their bytes and by what this engine can load.
pub struct ComponentCache {
    dir: Option<PathBuf>,
    engine_key: u64,
}

impl ComponentCache {
    /// A cache in `dir`; `None` disables it. The directory is made owner-only if it exists.
    pub fn new(dir: Option<PathBuf>, engine: &Engine) -> Self {
        let mut hasher = std::collections::hash_map::DefaultHasher::new();
        engine.precompile_compatibility_hash().hash(&mut hasher);
        if let Some(dir) = &dir
            && dir.is_dir()
        {
            // A cache that cannot be tightened is still tried: writing into it will say why not.
            let _ = private_dir(dir);
        }
        ComponentCache { dir, engine_key: hasher.finish() }
    }

    fn path(&self, digest: &[u8; 32]) -> Option<PathBuf> {
        self.dir.as_ref().map(|d| d.join(format!("{}-{:016x}.{EXTENSION}", hex(digest), self.engine_key)))
    }

    /// The compiled component: from the cache when it holds a usable copy, else compiled now
    /// and stored. A damaged or stale cache file is replaced, never trusted.
    pub fn load_or_compile(&self, engine: &Engine, bytes: &[u8], digest: &[u8; 32]) -> wasmtime::Result<Component> {
        if let Some(path) = self.path(digest)
            && path.is_file()
        {
            // SAFETY: the file was written by `Component::serialize` of this same engine
            // configuration (the name carries its compatibility hash) into aish's own
            // owner-only cache directory, under the name of these very bytes' digest;
            // `deserialize_file` still checks its header and refuses a mismatch.
            match unsafe { Component::deserialize_file(engine, &path) } {
                Ok(component) => return Ok(component),
                Err(_) => {
                    let _ = std::fs::remove_file(&path);
                }
            }
        }
        let component = Component::from_binary(engine, bytes)?;
        // A cache that cannot be written only costs time at the next start.
        let _ = self.store(digest, &component.serialize()?);
        Ok(component)
    }

    /// Stores the compiled form of the plugin whose bytes have `digest`.
    fn store(&self, digest: &[u8; 32], compiled: &[u8]) -> std::io::Result<()> {
        let (Some(dir), Some(path)) = (&self.dir, self.path(digest)) else { return Ok(()) };
        private_dir(dir)?;
        let tmp =
            dir.join(format!(".{}-{}-{}.tmp", hex(digest), std::process::id(), WRITES.fetch_add(1, Ordering::Relaxed)));
        let written = write_new(&tmp, compiled).and_then(|()| std::fs::rename(&tmp, &path));
        if written.is_err() {
            let _ = std::fs::remove_file(&tmp);
        }
        written
    }
}

/// Removes every compiled form of the plugin whose bytes have `digest` from the cache in `dir`
/// (none: no cache), for any engine: it was replaced or removed. The files are found by the
/// digest their names start with, so no engine is needed. Returns how many files went.
pub fn remove(dir: Option<&Path>, digest: &[u8; 32]) -> std::io::Result<usize> {
    let Some(dir) = dir else { return Ok(0) };
    let prefix = format!("{}-", hex(digest));
    let entries = match std::fs::read_dir(dir) {
        Ok(entries) => entries,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(0),
        Err(e) => return Err(e),
    };
    let mut removed = 0;
    for entry in entries.flatten() {
        let name = entry.file_name();
        let name = name.to_string_lossy();
        if name.starts_with(&prefix) && name.ends_with(EXTENSION) {
            std::fs::remove_file(entry.path())?;
            removed += 1;
        }
    }
    Ok(removed)
}

/// A digest in lower-case hex.
fn hex(digest: &[u8; 32]) -> String {
    digest.iter().map(|b| format!("{b:02x}")).collect()
}

/// Creates `dir` (and its parents) owner-only, or makes it so if it exists.
fn private_dir(dir: &Path) -> std::io::Result<()> {
    let mut builder = std::fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::{DirBuilderExt, PermissionsExt};
        builder.mode(0o700);
        builder.create(dir)?;
        let mode = std::fs::metadata(dir)?.permissions().mode();
        if mode & 0o077 != 0 {
            std::fs::set_permissions(dir, std::fs::Permissions::from_mode(mode & 0o700))?;
        }
        Ok(())
    }
    #[cfg(not(unix))]
    builder.create(dir)
}

/// Writes a file that must not exist yet, readable by its owner only.
fn write_new(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    options.open(path)?.write_all(bytes)
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use sha2::{Digest, Sha256};
    use wasmtime::component::types::ComponentItem;

    use super::*;

    fn engine() -> Engine {
        let mut config = wasmtime::Config::new();
        config.epoch_interruption(true).wasm_component_model(true);
        Engine::new(&config).expect("engine")
    }

    /// (bytes, digest, the interface it exports) of a stage and of a transport plugin.
    fn two_plugins() -> Vec<(Vec<u8>, [u8; 32], &'static str)> {
        let stage = crate::plugin::BUILTIN_PLUGINS.iter().find(|b| b.name == "head").expect("head").bytes.to_vec();
        let transport = std::fs::read(Path::new(crate::plugin::PLUGIN_ARTIFACTS).join("aish_test_plugin_spin.wasm"))
            .expect("the spin test plugin was built");
        [(stage, "/stage@"), (transport, "/transport@")]
            .into_iter()
            .map(|(bytes, export)| {
                let digest = Sha256::digest(&bytes).into();
                (bytes, digest, export)
            })
            .collect()
    }

    fn exports(engine: &Engine, component: &Component) -> Vec<String> {
        component
            .component_type()
            .exports(engine)
            .filter(|(_, item)| matches!(item.ty, ComponentItem::ComponentInstance(_)))
            .map(|(name, _)| name.to_owned())
            .collect()
    }

    #[test]
    fn concurrent_compiles_of_two_plugins_never_swap_their_files() {
        let engine = engine();
        let dir = tempfile::tempdir().expect("temp dir");
        let cache = Arc::new(ComponentCache::new(Some(dir.path().join("components")), &engine));
        let plugins = two_plugins();
        // Both compiled at once, each on its own thread.
        let compiled: Vec<Vec<u8>> = std::thread::scope(|s| {
            let handles: Vec<_> = plugins
                .iter()
                .map(|(bytes, digest, _)| {
                    let (cache, engine) = (&cache, &engine);
                    s.spawn(move || cache.load_or_compile(engine, bytes, digest).and_then(|c| c.serialize()))
                })
                .collect();
            handles.into_iter().map(|h| h.join().expect("no panic").expect("compiles")).collect()
        });
        // Then the same two written over and over by many threads at once.
        for _ in 0..40 {
            std::thread::scope(|s| {
                for i in 0..8 {
                    let (cache, digest, code) = (&cache, &plugins[i % 2].1, &compiled[i % 2]);
                    // As `load_or_compile` does, a failed write is ignored: only swaps matter.
                    s.spawn(move || {
                        let _ = cache.store(digest, code);
                    });
                }
            });
            for ((_, digest, _), code) in plugins.iter().zip(&compiled) {
                let path = cache.path(digest).expect("a cache path");
                assert!(std::fs::read(path).expect("cached") == *code, "a cache file holds another plugin's code");
            }
        }
        // Each loads its own code.
        for (bytes, digest, export) in &plugins {
            let component = cache.load_or_compile(&engine, bytes, digest).expect("loads");
            let names = exports(&engine, &component);
            assert!(names.iter().all(|n| n.contains(export)) && !names.is_empty(), "{names:?} for {export}");
        }
        let leftovers: Vec<_> = std::fs::read_dir(dir.path().join("components"))
            .expect("cache dir")
            .flatten()
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .filter(|n| !n.ends_with(EXTENSION))
            .collect();
        assert!(leftovers.is_empty(), "no temporary file is left: {leftovers:?}");
    }

    #[cfg(unix)]
    #[test]
    fn the_cache_is_owner_only_and_removing_a_plugin_removes_its_files() {
        use std::os::unix::fs::PermissionsExt;
        let engine = engine();
        let dir = tempfile::tempdir().expect("temp dir");
        let components = dir.path().join("components");
        std::fs::create_dir(&components).expect("mkdir");
        std::fs::set_permissions(&components, std::fs::Permissions::from_mode(0o755)).expect("chmod");
        let cache = ComponentCache::new(Some(components.clone()), &engine);
        let mode = |p: &Path| std::fs::metadata(p).expect("exists").permissions().mode() & 0o777;
        assert_eq!(mode(&components), 0o700, "an existing directory is tightened");
        let (a, b) = ([1u8; 32], [2u8; 32]);
        cache.store(&a, b"compiled a").expect("stored");
        cache.store(&b, b"compiled b").expect("stored");
        let a_path = cache.path(&a).expect("path");
        assert_eq!(mode(&a_path), 0o600);
        // An entry of another engine version for the same plugin goes too.
        std::fs::write(components.join(format!("{}-0000000000000000.cwasm", hex(&a))), b"old").expect("write");
        assert_eq!(remove(Some(&components), &a).expect("removed"), 2);
        assert!(!a_path.exists() && cache.path(&b).is_some_and(|p| p.exists()));

        let fresh = dir.path().join("new/components");
        let cache = ComponentCache::new(Some(fresh.clone()), &engine);
        cache.store(&a, b"compiled a").expect("stored");
        assert_eq!(mode(&fresh), 0o700, "a new directory is created owner-only");
    }
}
