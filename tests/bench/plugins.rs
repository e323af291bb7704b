//! Plugin start-up benchmark with its own report: `cargo bench -p aish --bench plugins`.
//!
//! H. A large component (the Python example stage, an interpreter inside) installed with
//!    `aish plugin add`, which compiles it once: the first `aish -c` that uses it against a
//!    warm one, and against a first use with nothing compiled (what a start paid before).
//! I. A script of 100 lines through that stage, its instance kept from run to run (what its
//!    manifest asks) against a fresh instance for each run (`reuse_instance = false`).

#[allow(dead_code)]
#[path = "../support/toolchains.rs"]
mod toolchains;

use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

fn aish(home: &Path, args: &[&str]) -> (Duration, String) {
    let started = Instant::now();
    let out = Command::new(env!("CARGO_BIN_EXE_aish")).args(args).env("AISH_HOME", home).output().expect("run aish");
    let took = started.elapsed();
    assert!(out.status.success(), "aish {args:?}: {}", String::from_utf8_lossy(&out.stderr));
    (took, String::from_utf8_lossy(&out.stdout).into_owned())
}

fn median(mut runs: Vec<Duration>) -> Duration {
    runs.sort();
    runs[runs.len() / 2]
}

fn main() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).parent().expect("workspace").to_path_buf();
    let bin = toolchains::componentize_py();
    let work = tempfile::tempdir().expect("temp dir");
    let folder = work.path().join("wrap");
    std::fs::create_dir_all(&folder).expect("folder");
    for file in ["app.py", "plugin.toml"] {
        std::fs::copy(root.join("examples/python-stage").join(file), folder.join(file)).expect("copy the example");
    }
    let home = work.path().join("home");
    aish(&home, &["plugin", "wit", folder.join("wit").to_str().unwrap()]);
    let build = Command::new("sh")
        .arg("-c")
        .arg("componentize-py -d wit -w stage-plugin componentize app -o wrap.wasm")
        .current_dir(&folder)
        .env("PATH", toolchains::path_with(&bin))
        .output()
        .expect("build");
    assert!(build.status.success(), "{}", String::from_utf8_lossy(&build.stderr));
    let wasm = folder.join("wrap.wasm");
    let size = std::fs::metadata(&wasm).expect("built").len();

    let (add, report) = aish(&home, &["plugin", "add", wasm.to_str().unwrap()]);
    let line = ["-c", "echo a few words to wrap | wrap 10"];
    let (first, out) = aish(&home, &line);
    assert!(out.contains("a few"), "{out}");
    let warm = median((0..5).map(|_| aish(&home, &line).0).collect());
    std::fs::remove_dir_all(home.join("cache")).expect("empty the cache");
    let (cold, _) = aish(&home, &line);

    // I: the same script with the instance kept, then fresh each run, taking turns.
    const LINES: usize = 100;
    let script = work.path().join("wrap.aish");
    std::fs::write(&script, "echo a few words to wrap | wrap 10\n".repeat(LINES)).expect("write the script");
    let config = home.join("config.toml");
    let (mut kept, mut fresh) = (Vec::new(), Vec::new());
    for _ in 0..5 {
        let _ = std::fs::remove_file(&config);
        let (took, out) = aish(&home, &[script.to_str().unwrap()]);
        assert_eq!(out.matches("a few").count(), LINES, "{out}");
        kept.push(took);
        std::fs::write(&config, "[plugins.wrap]\nreuse_instance = false\n").expect("write the config");
        let (took, out) = aish(&home, &[script.to_str().unwrap()]);
        assert_eq!(out.matches("a few").count(), LINES, "{out}");
        fresh.push(took);
    }
    let (kept, fresh) = (median(kept), median(fresh));

    println!("H. a {:.1} MiB Python stage component (wall time, whole process)", size as f64 / (1 << 20) as f64);
    println!(
        "   plugin add (checks, compiles, caches)     {:>8.3} s   {}",
        add.as_secs_f64(),
        report.lines().next().unwrap_or("")
    );
    println!("   first use after plugin add               {:>8.3} s", first.as_secs_f64());
    println!("   warm use (median of 5)                   {:>8.3} s", warm.as_secs_f64());
    println!("   first use with nothing compiled          {:>8.3} s", cold.as_secs_f64());
    println!(
        "   first / warm: {:.2}x (aim: about 1x); nothing compiled / warm: {:.1}x",
        first.as_secs_f64() / warm.as_secs_f64(),
        cold.as_secs_f64() / warm.as_secs_f64()
    );
    println!("\nI. a script of {LINES} lines through that stage (wall time, whole process, median of 5)");
    println!("   its instance kept from run to run           {:>8.3} s", kept.as_secs_f64());
    println!("   a fresh instance each run                   {:>8.3} s", fresh.as_secs_f64());
    println!("   fresh / kept: {:.2}x", fresh.as_secs_f64() / kept.as_secs_f64());
}
