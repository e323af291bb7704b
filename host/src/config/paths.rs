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

    /// Tightens aish's own directories that exist to owner-only (0700): they hold the history,
    /// the config with its settings and compiled plugins.
    pub fn tighten(&self) -> std::io::Result<()> {
        for dir in [&self.config_dir, &self.data_dir, &self.cache_dir] {
            if dir.is_dir() {
                private_dir(dir)?;
            }
        }
        Ok(())
    }
}

/// Creates `dir` (and missing parents) readable by the owner only, and tightens it to 0700 when
/// it already existed.
pub fn private_dir(dir: &Path) -> std::io::Result<()> {
    use std::os::unix::fs::{DirBuilderExt, PermissionsExt};
    std::fs::DirBuilder::new().recursive(true).mode(0o700).create(dir)?;
    let mode = std::fs::metadata(dir)?.permissions().mode() & 0o777;
    if mode != 0o700 {
        std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700))?;
    }
    Ok(())
}

/// Creates `file` readable by the owner only if it is missing, and tightens it to 0600 if not.
pub fn private_file(file: &Path) -> std::io::Result<()> {
    use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
    std::fs::OpenOptions::new().create(true).append(true).mode(0o600).open(file)?;
    let mode = std::fs::metadata(file)?.permissions().mode() & 0o777;
    if mode != 0o600 {
        std::fs::set_permissions(file, std::fs::Permissions::from_mode(0o600))?;
    }
    Ok(())
}

/// Reads a small text file the user names (a config, a system prompt): only a regular file of
/// at most `limit` bytes, so a device, a FIFO or a wrong file (`/dev/zero`) is refused at once
/// instead of read without end.
pub fn read_small_text(path: &Path, limit: u64) -> std::io::Result<String> {
    use std::io::Read;
    // Asked before opening too: opening a FIFO waits for a writer.
    if !std::fs::metadata(path)?.is_file() {
        return Err(std::io::Error::other("it is not a regular file"));
    }
    let file = std::fs::File::open(path)?;
    if !file.metadata()?.is_file() {
        return Err(std::io::Error::other("it is not a regular file"));
    }
    let mut bytes = Vec::new();
    file.take(limit + 1).read_to_end(&mut bytes)?;
    if bytes.len() as u64 > limit {
        return Err(std::io::Error::other(format!("it is larger than {} KiB; is it the right file?", limit >> 10)));
    }
    String::from_utf8(bytes).map_err(|_| std::io::Error::other("it is not UTF-8 text"))
}
