//! Shared test support: servers, the binary, the plugin runtime.

#![allow(dead_code)]

pub mod server;
pub mod toolchains;
pub mod ws;

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

use aish::config::Config;
use aish::plugin::{Registry, Runtime};
use aish::transport::{ConnectOptions, Connector, Event, Outgoing, TransportError};

/// The compiled-component cache [`shared_cache`] makes.
static CACHE: OnceLock<tempfile::TempDir> = OnceLock::new();

/// One compiled-component cache for the whole test run, so each plugin compiles once. A static
/// is never dropped: the folder (a few hundred MB of compiled plugins) is removed when the test
/// process exits, or every run would leave one behind.
pub fn shared_cache() -> &'static Path {
    CACHE
        .get_or_init(|| {
            extern "C" fn remove_cache() {
                if let Some(dir) = CACHE.get() {
                    let _ = std::fs::remove_dir_all(dir.path());
                }
            }
            // SAFETY: `remove_cache` is a plain function that neither unwinds nor returns a
            // value, as `atexit` requires.
            unsafe { libc::atexit(remove_cache) };
            tempfile::tempdir().expect("temp dir")
        })
        .path()
}

/// One plugin runtime for the whole test process.
pub fn runtime() -> Arc<Runtime> {
    static RUNTIME: OnceLock<Arc<Runtime>> = OnceLock::new();
    RUNTIME.get_or_init(|| Arc::new(Runtime::new(Some(shared_cache().to_path_buf())))).clone()
}

/// The compiled test plugin `name` (from tests/plugins/).
pub fn test_plugin(name: &str) -> PathBuf {
    Path::new(aish::plugin::PLUGIN_ARTIFACTS).join(format!("aish_test_plugin_{name}.wasm"))
}

/// A connector over the built-in plugins plus the given user plugin folder, with `config` TOML.
pub fn connector(plugin_dir: Option<&Path>, config: &str) -> Connector {
    let (registry, warnings) = Registry::discover(plugin_dir.unwrap_or(Path::new("/nonexistent")));
    assert!(warnings.is_empty(), "{warnings:?}");
    let config = Config::parse(config, Path::new("test-config.toml")).expect("test config parses");
    Connector::new(runtime(), Arc::new(registry), Arc::new(config))
}

/// Everything one answer produced: the events, then the error that ended it, if any.
#[derive(Debug)]
pub struct Answer {
    pub events: Vec<Event>,
    pub error: Option<TransportError>,
}

impl Answer {
    pub fn text(&self) -> String {
        self.events.iter().filter_map(|e| if let Event::Token(t) = e { Some(t.as_str()) } else { None }).collect()
    }

    /// Raw SSE events as (type, data, id).
    pub fn raw(&self) -> Vec<(String, String, String)> {
        self.events
            .iter()
            .filter_map(|e| match e {
                Event::Raw { event, data, id } => Some((event.clone(), data.clone(), id.clone())),
                _ => None,
            })
            .collect()
    }
}

/// Sends `message` through `transport` to `url` in `dialect` and collects the whole answer.
pub async fn ask(connector: &Connector, transport: &str, url: &str, dialect: &str, message: &str) -> Answer {
    ask_with(connector, transport, url, dialect, message, |_| {}).await
}

/// As [`ask`], calling `on_event` as each event arrives.
pub async fn ask_with(
    connector: &Connector,
    transport: &str,
    url: &str,
    dialect: &str,
    message: &str,
    on_event: impl FnMut(&Event),
) -> Answer {
    ask_with_settings(connector, transport, url, dialect, message, serde_json::json!({}), on_event).await
}

/// As [`ask_with`], with the AI's settings (a JSON object).
pub async fn ask_with_settings(
    connector: &Connector,
    transport: &str,
    url: &str,
    dialect: &str,
    message: &str,
    settings: serde_json::Value,
    mut on_event: impl FnMut(&Event),
) -> Answer {
    let host = aish::plugin::capabilities::host_pattern_of(url).expect("test URL");
    let grant = connector.grant(transport, &[host]).expect("grant");
    let options = ConnectOptions {
        url: url.into(),
        dialect: dialect.into(),
        model: Some("test-model".into()),
        api_key: Some("sk-test".into()),
        settings,
    };
    let mut answer = Answer { events: Vec::new(), error: None };
    let run = async {
        let mut session = connector.connect(transport, grant, options).await?;
        session.send(&Outgoing::new(message, serde_json::json!({}), true)).await?;
        for _ in 0..100_000 {
            let events = session.receive().await?;
            if events.is_empty() {
                break;
            }
            for event in events {
                on_event(&event);
                answer.events.push(event);
            }
        }
        session.close().await;
        Ok::<(), TransportError>(())
    };
    match tokio::time::timeout(Duration::from_secs(30), run).await {
        Ok(Ok(())) => {}
        Ok(Err(e)) => answer.error = Some(e),
        Err(_) => panic!("the answer did not end within 30 s"),
    }
    answer
}

/// A fresh `AISH_HOME` that shares the test run's compiled-component cache.
pub fn home() -> tempfile::TempDir {
    let home = tempfile::tempdir().expect("temp dir");
    std::os::unix::fs::symlink(shared_cache(), home.path().join("cache")).expect("link the cache");
    home
}

/// What a run of the binary produced.
#[derive(Debug)]
pub struct Run {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

/// Runs the real `aish` binary with `AISH_HOME=home`, optional standard input, and a 60 s limit.
pub fn aish(home: &Path, args: &[&str], stdin: Option<&str>) -> Run {
    aish_with_env(home, args, stdin, &[])
}

/// As [`aish`], with extra environment variables.
pub fn aish_with_env(home: &Path, args: &[&str], stdin: Option<&str>, env: &[(&str, &str)]) -> Run {
    let mut command = Command::new(env!("CARGO_BIN_EXE_aish"));
    command
        .args(args)
        .env("AISH_HOME", home)
        .env("AISH_DEMO_DELAY_MS", "0")
        .env_remove("NO_COLOR")
        .env_remove("AISH_LOG")
        // After the defaults, so a test can set any of them.
        .envs(env.iter().copied())
        .stdin(if stdin.is_some() { Stdio::piped() } else { Stdio::null() })
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = command.spawn().expect("start aish");
    if let Some(text) = stdin {
        let mut input = child.stdin.take().unwrap();
        input.write_all(text.as_bytes()).unwrap();
    }
    // Read both pipes while the child runs, so a large output never blocks it.
    let mut out = child.stdout.take().unwrap();
    let mut err = child.stderr.take().unwrap();
    let out = std::thread::spawn(move || {
        let mut s = Vec::new();
        let _ = std::io::Read::read_to_end(&mut out, &mut s);
        s
    });
    let err = std::thread::spawn(move || {
        let mut s = Vec::new();
        let _ = std::io::Read::read_to_end(&mut err, &mut s);
        s
    });
    let started = Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().expect("wait for aish") {
            break status;
        }
        if started.elapsed() > Duration::from_secs(60) {
            let _ = child.kill();
            panic!("aish {args:?} did not finish within 60 s");
        }
        std::thread::sleep(Duration::from_millis(10));
    };
    Run {
        code: status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.join().unwrap()).into_owned(),
        stderr: String::from_utf8_lossy(&err.join().unwrap()).into_owned(),
    }
}

/// Takes the test build's own flags and wrappers (clippy's, coverage's) out of `command`'s
/// environment: they are for the host, not for a plugin a cargo run (or an aish) builds.
pub fn without_host_build_flags(command: &mut Command) -> &mut Command {
    for var in
        ["CARGO_ENCODED_RUSTFLAGS", "RUSTFLAGS", "RUSTC_WORKSPACE_WRAPPER", "RUSTC_WRAPPER", "CARGO_BUILD_TARGET"]
    {
        command.env_remove(var);
    }
    command
}

/// The target folder plugin crates built outside the workspace share, so only each plugin
/// itself compiles.
pub fn standalone_target() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().expect("workspace").join("target/sdk-standalone")
}

/// Builds the plugin crate in `folder` for wasm32-wasip2 with no network, with the workspace's
/// lock file, into [`standalone_target`]; the component named `crate_name`.
pub fn build_standalone(folder: &Path, crate_name: &str) -> PathBuf {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).parent().expect("workspace");
    std::fs::copy(root.join("Cargo.lock"), folder.join("Cargo.lock")).expect("copy the lock file");
    let target = standalone_target();
    let status = without_host_build_flags(&mut Command::new(env!("CARGO")))
        .current_dir(folder)
        .args(["build", "--quiet", "--offline", "--release", "--target", "wasm32-wasip2"])
        .env("CARGO_TARGET_DIR", &target)
        .status()
        .expect("run cargo");
    assert!(status.success(), "the plugin in {} builds offline", folder.display());
    target.join(format!("wasm32-wasip2/release/{crate_name}.wasm"))
}

/// Writes `config.toml` into `home`.
pub fn write_config(home: &Path, text: &str) {
    std::fs::write(home.join("config.toml"), text).expect("write config");
}
