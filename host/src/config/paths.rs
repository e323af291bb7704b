//! Where aish keeps its files: one `AISH_HOME`, or the XDG directories.

use std::path::{Path, PathBuf};

/// The directories aish reads and writes.
#[derive(Clone, Debug)]
pub struct Paths {
    /// Where `config.toml` lives.
    pub config_dir: PathBuf,
    /// History files and user plugins.
    pub data_dir: PathBuf,
    /// Caches (compiled plugins).
    pub cache_dir: PathBuf,
}

impl Paths {
    /// `AISH_HOME` when set, else `$XDG_CONFIG_HOME/aish`, `$XDG_DATA_HOME/aish` and
    /// `$XDG_CACHE_HOME/aish` with their usual defaults under `$HOME`.
    pub fn from_env() -> Self {
        if let Some(home) = std::env::var_os("AISH_HOME").filter(|v| !v.is_empty()) {
            return Self::single(Path::new(&home));
        }
        let home = std::env::var_os("HOME").map(PathBuf::from).unwrap_or_else(|| PathBuf::from("."));
        let xdg = |var: &str, fallback: &str| {
            std::env::var_os(var)
                .map(PathBuf::from)
                .filter(|p| p.is_absolute())
                .unwrap_or_else(|| home.join(fallback))
                .join("aish")
        };
        Paths {
            config_dir: xdg("XDG_CONFIG_HOME", ".config"),
            data_dir: xdg("XDG_DATA_HOME", ".local/share"),
            cache_dir: xdg("XDG_CACHE_HOME", ".cache"),
        }
    }

    /// Everything under one directory, as `AISH_HOME` asks.
    pub fn single(home: &Path) -> Self {
        Paths { config_dir: home.to_path_buf(), data_dir: home.to_path_buf(), cache_dir: home.join("cache") }
    }

    /// The default config file.
    pub fn config_file(&self) -> PathBuf {
        self.config_dir.join("config.toml")
    }

    /// Where user plugins are installed.
    pub fn plugin_dir(&self) -> PathBuf {
        self.data_dir.join("plugins")
    }

    /// Where compiled plugins are cached.
    pub fn component_cache_dir(&self) -> PathBuf {
        self.cache_dir.join("components")
    }
}
