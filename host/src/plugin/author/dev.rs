//! `plugin dev DIR`: builds the plugin in DIR with the command its `plugin.toml` names, installs
//! it, and does both again whenever a source file changes, while the shell goes on. A failed
//! build shows its errors and leaves the last good version installed. Zed's "install dev
//! extension" is the model.

use std::io::Read as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

use serde::Deserialize;

/// How a plugin folder is built: `[build]` in its `plugin.toml`.
#[derive(Clone, Debug, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct BuildSpec {
    /// One shell command, run in the folder.
    pub command: String,
    /// The component it writes, relative to the folder.
    pub output: PathBuf,
    /// How long a build may take before it is stopped, in seconds (default 600).
    #[serde(default)]
    pub timeout_s: Option<u64>,
}

impl BuildSpec {
    /// The `[build]` table of `dir/plugin.toml`; a Rust crate without one builds with cargo.
    pub fn read(dir: &Path) -> Result<BuildSpec, String> {
        #[derive(Deserialize)]
        struct File {
            build: Option<BuildSpec>,
        }
        let path = dir.join("plugin.toml");
        let text = std::fs::read_to_string(&path).map_err(|e| {
            format!(
                "cannot read {}: {e}; a plugin folder has a plugin.toml (`aish plugin new` writes one)",
                path.display()
            )
        })?;
        let table: toml::Table = toml::from_str(&text).map_err(|e| format!("{}: {}", path.display(), e.message()))?;
        let file = File::deserialize(toml::Value::Table(table))
            .map_err(|e| format!("{}: [build]: {}", path.display(), e.message()))?;
        match file.build {
            Some(spec) => Ok(spec),
            None => cargo_default(dir).ok_or_else(|| {
                format!(
                    "{} has no [build] table: add `command` (run in the folder) and `output` (the .wasm it writes)",
                    path.display()
                )
            }),
        }
    }
}

/// `cargo build` for a Rust plugin crate with no `[build]` table.
fn cargo_default(dir: &Path) -> Option<BuildSpec> {
    let cargo: toml::Table = toml::from_str(&std::fs::read_to_string(dir.join("Cargo.toml")).ok()?).ok()?;
    let name = cargo.get("package")?.get("name")?.as_str()?.replace('-', "_");
    let target = std::env::var_os("CARGO_TARGET_DIR").map(PathBuf::from).unwrap_or_else(|| PathBuf::from("target"));
    Some(BuildSpec {
        command: "cargo build --release --target wasm32-wasip2".into(),
        output: target.join("wasm32-wasip2/release").join(format!("{name}.wasm")),
        timeout_s: None,
    })
}

/// Runs the build; the component it wrote, or the end of what the build printed. Within a watch
/// (`running`), the build's process group is known to it, and stopped with it.
pub fn build(dir: &Path, spec: &BuildSpec, running: Option<&Running>) -> Result<PathBuf, String> {
    use std::os::unix::process::CommandExt as _;
    let output = dir.join(&spec.output);
    let mut command = Command::new("sh");
    command
        .arg("-c")
        .arg(&spec.command)
        .current_dir(dir)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        // The report shows the end of what the build printed: a build tool written in Rust
        // (componentize-py) would end it with its own backtrace, not the plugin's error.
        .env_remove("RUST_BACKTRACE")
        .env_remove("RUST_LIB_BACKTRACE")
        // Its own process group: Ctrl-C on an answer in the shell does not kill the build, and
        // a build that hangs is stopped whole.
        .process_group(0);
    let spawned = match running {
        Some(running) => running.spawn(&mut command),
        None => command.spawn().map(Some),
    };
    let mut child = match spawned.map_err(|e| format!("cannot run `{}`: {e}", spec.command))? {
        Some(child) => child,
        None => return Err(format!("`{}` was not started: its watch ended", spec.command)),
    };
    let read = |pipe: Option<Box<dyn std::io::Read + Send>>| {
        std::thread::spawn(move || {
            let mut text = Vec::new();
            if let Some(mut pipe) = pipe {
                let _ = pipe.read_to_end(&mut text);
            }
            String::from_utf8_lossy(&text).into_owned()
        })
    };
    let out = read(child.stdout.take().map(|p| Box::new(p) as Box<dyn std::io::Read + Send>));
    let err = read(child.stderr.take().map(|p| Box::new(p) as Box<dyn std::io::Read + Send>));
    let limit = Duration::from_secs(spec.timeout_s.unwrap_or(600));
    let started = Instant::now();
    let status = loop {
        let waited = match running {
            Some(running) => running.reap(&mut child),
            None => child.try_wait(),
        };
        match waited {
            Ok(Some(status)) => break status,
            Ok(None) if running.is_some_and(|running| !running.watched()) => {
                // The watch ended (the shell left, or `plugin dev` began again on the folder):
                // dropping it stopped the group; whatever ignored that is stopped now.
                signal_group(child.id(), libc::SIGKILL);
                stopped(running, &mut child);
                return Err(format!("`{}` was stopped: its watch ended", spec.command));
            }
            Ok(None) if started.elapsed() > limit => {
                signal_group(child.id(), libc::SIGKILL);
                stopped(running, &mut child);
                return Err(format!(
                    "`{}` ran for more than {} s and was stopped; raise [build] timeout_s if it needs longer",
                    spec.command,
                    limit.as_secs()
                ));
            }
            Ok(None) => std::thread::sleep(Duration::from_millis(50)),
            Err(e) => return Err(format!("cannot wait for `{}`: {e}", spec.command)),
        }
    };
    if !status.success() {
        let mut log = err.join().unwrap_or_default();
        log.push_str(&out.join().unwrap_or_default());
        return Err(format!("`{}` failed ({status}):\n{}", spec.command, tail(&log, 40)));
    }
    if !output.is_file() {
        return Err(format!(
            "`{}` succeeded but wrote no {}; fix `output` in plugin.toml",
            spec.command,
            output.display()
        ));
    }
    Ok(output)
}

/// Ends `child`, whose group was killed: the watch forgets the group before the child is
/// reaped (after which its number may be reused).
fn stopped(running: Option<&Running>, child: &mut std::process::Child) {
    if let Some(running) = running {
        running.state().building = None;
    }
    let _ = child.kill();
    let _ = child.wait();
}

/// The last `lines` lines of `text`.
fn tail(text: &str, lines: usize) -> String {
    let all: Vec<&str> = text.trim_end().lines().collect();
    all[all.len().saturating_sub(lines)..].join("\n")
}

/// Never watched: build output, dependencies, tool caches, and `Cargo.lock`, which cargo writes
/// as it builds (the first build of a new Rust plugin creates it, and was then built again).
const IGNORED: &[&str] = &["target", "node_modules", "__pycache__", ".git", "Cargo.lock"];

/// What the sources look like now: every file's path, size and change time, except build
/// output and components.
pub fn fingerprint(dir: &Path) -> Fingerprint {
    let mut files = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(folder) = stack.pop() {
        let Ok(entries) = std::fs::read_dir(&folder) else { continue };
        for entry in entries.flatten() {
            let name = entry.file_name();
            let name = name.to_string_lossy();
            if IGNORED.contains(&name.as_ref()) || name.starts_with('.') || name.ends_with(".wasm") {
                continue;
            }
            let Ok(meta) = entry.metadata() else { continue };
            if meta.is_dir() {
                stack.push(entry.path());
            } else {
                files.push((entry.path(), meta.len(), meta.modified().unwrap_or(SystemTime::UNIX_EPOCH)));
            }
        }
    }
    files.sort();
    files
}

/// Sends `signal` to the process group led by `leader` (a build's `sh`, the compiler it started,
/// and theirs); whether any process of it got it.
fn signal_group(leader: u32, signal: libc::c_int) -> bool {
    let Ok(group) = libc::pid_t::try_from(leader) else { return false };
    // Never 0 or 1 (this process's own group, or every process): a group is led by a child.
    if group <= 1 {
        return false;
    }
    // SAFETY: kill(2) takes plain integers and touches no memory of this process.
    unsafe { libc::kill(-group, signal) == 0 }
}

/// How long a build stopped by the end of its watch has to finish before it is killed.
const STOP_GRACE: Duration = Duration::from_millis(500);

/// A folder being watched; dropping it stops the watch, and the build it runs, if any (a build
/// runs in a process group of its own, which the end of aish would not stop): asked to stop,
/// then after [`STOP_GRACE`] killed.
pub struct Watch {
    running: Running,
}

impl Drop for Watch {
    fn drop(&mut self) {
        let leader = {
            let mut state = self.running.state();
            // Under the lock: a build is either not spawned yet (and now will not be) or known.
            state.stopped = true;
            state.building
        };
        let Some(leader) = leader else { return };
        if !signal_group(leader, libc::SIGTERM) {
            return;
        }
        let asked = Instant::now();
        while asked.elapsed() < STOP_GRACE {
            std::thread::sleep(Duration::from_millis(20));
            // Gone (or only zombies its watch thread has not reaped): nothing left to kill.
            if self.running.state().building.is_none() || !signal_group(leader, 0) {
                return;
            }
        }
        signal_group(leader, libc::SIGKILL);
    }
}

/// What a watch's builds share with it: whether it still runs, and the build it runs.
#[derive(Clone, Default)]
pub struct Running(Arc<std::sync::Mutex<RunningState>>);

#[derive(Default)]
struct RunningState {
    stopped: bool,
    /// The running build's process group leader.
    building: Option<u32>,
}

impl Running {
    fn state(&self) -> std::sync::MutexGuard<'_, RunningState> {
        self.0.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Whether the watch still runs.
    pub fn watched(&self) -> bool {
        !self.state().stopped
    }

    /// Spawns `command` as the watch's build, unless the watch has ended (`None`).
    fn spawn(&self, command: &mut Command) -> std::io::Result<Option<std::process::Child>> {
        let mut state = self.state();
        if state.stopped {
            return Ok(None);
        }
        let child = command.spawn()?;
        state.building = Some(child.id());
        Ok(Some(child))
    }

    /// [`std::process::Child::try_wait`] for the watch's build; once it has ended, the watch no
    /// longer knows its group (whose number may then be reused).
    fn reap(&self, child: &mut std::process::Child) -> std::io::Result<Option<std::process::ExitStatus>> {
        let mut state = self.state();
        let waited = child.try_wait();
        if !matches!(waited, Ok(None)) {
            state.building = None;
        }
        waited
    }
}

/// What the sources looked like at one moment ([`fingerprint`]).
pub type Fingerprint = Vec<(PathBuf, u64, SystemTime)>;

/// Calls `changed` on a thread of its own once at the start, then each time the sources in `dir`
/// differ from `seen` (looked at every `every`; a burst of saves counts once, after it settles).
/// `changed` is given what its build shares with the watch: the watch may end while a build runs.
pub fn watch(
    dir: &Path,
    seen: Fingerprint,
    every: Duration,
    mut changed: impl FnMut(&Running) + Send + 'static,
) -> Watch {
    let running = Running::default();
    let (dir, watching) = (dir.to_path_buf(), running.clone());
    let mut seen = seen;
    std::thread::spawn(move || {
        changed(&watching);
        while watching.watched() {
            std::thread::sleep(every);
            let now = fingerprint(&dir);
            if now == seen {
                continue;
            }
            // Wait for the editor to finish writing.
            let settle = Instant::now();
            let mut last = now;
            while settle.elapsed() < every * 4 {
                std::thread::sleep(every / 2);
                let again = fingerprint(&dir);
                if again == last {
                    break;
                }
                last = again;
            }
            if !watching.watched() {
                break;
            }
            // What is built is the sources as they are now; a save during the build shows up as
            // a difference on the next look, and is built then.
            seen = last;
            changed(&watching);
        }
    });
    Watch { running }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_build_reports_its_errors_and_a_missing_output() {
        let dir = tempfile::tempdir().unwrap();
        let spec = BuildSpec {
            command: "echo 'error: line 3: bad syntax' >&2; exit 1".into(),
            output: "x.wasm".into(),
            timeout_s: None,
        };
        let error = build(dir.path(), &spec, None).unwrap_err();
        assert!(error.contains("error: line 3: bad syntax") && error.contains("exit status: 1"), "{error}");
        let spec = BuildSpec { command: "true".into(), output: "x.wasm".into(), timeout_s: None };
        assert!(build(dir.path(), &spec, None).unwrap_err().contains("wrote no"));
        let spec = BuildSpec { command: "printf wasm > x.wasm".into(), output: "x.wasm".into(), timeout_s: None };
        assert_eq!(build(dir.path(), &spec, None).unwrap(), dir.path().join("x.wasm"));
        // A build that hangs is stopped, with what it started.
        let spec = BuildSpec { command: "sleep 30 & sleep 30".into(), output: "x.wasm".into(), timeout_s: Some(1) };
        let started = Instant::now();
        let error = build(dir.path(), &spec, None).unwrap_err();
        assert!(error.contains("ran for more than 1 s and was stopped"), "{error}");
        assert!(started.elapsed() < Duration::from_secs(20), "it did not wait for the build");
    }

    #[test]
    fn the_build_table_is_read_or_its_absence_explained() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("plugin.toml"), "name = \"a\"\nversion = \"1\"\n").unwrap();
        assert!(BuildSpec::read(dir.path()).unwrap_err().contains("has no [build] table"));
        std::fs::write(
            dir.path().join("plugin.toml"),
            "name = \"a\"\nversion = \"1\"\n[build]\ncommand = \"make\"\noutput = \"a.wasm\"\n",
        )
        .unwrap();
        assert_eq!(BuildSpec::read(dir.path()).unwrap().command, "make");
    }

    #[test]
    fn sources_changing_are_seen_and_outputs_are_not() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("app.py"), "one").unwrap();
        let before = fingerprint(dir.path());
        std::fs::write(dir.path().join("out.wasm"), "built").unwrap();
        std::fs::create_dir(dir.path().join("target")).unwrap();
        std::fs::write(dir.path().join("target/x"), "built").unwrap();
        std::fs::write(dir.path().join("Cargo.lock"), "# written by cargo").unwrap();
        assert_eq!(fingerprint(dir.path()), before);
        std::fs::write(dir.path().join("app.py"), "two!").unwrap();
        assert_ne!(fingerprint(dir.path()), before);
    }
}
