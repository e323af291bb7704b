//! Trusted native stage plugins: the example in examples/native-upper, built by this test,
//! refused until trusted, then run between AIs; a panic in it is one error line.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

use crate::support::{aish, home, write_config};

/// Builds examples/native-upper (once per test run) and returns the library.
fn native_upper() -> &'static Path {
    static LIBRARY: OnceLock<PathBuf> = OnceLock::new();
    LIBRARY.get_or_init(|| {
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap();
        let target = root.join("target/native-plugins");
        let status = Command::new(env!("CARGO"))
            .current_dir(root)
            .args(["build", "--quiet", "--package", "aish-native-upper", "--target-dir"])
            .arg(&target)
            .env_remove("CARGO_ENCODED_RUSTFLAGS")
            .env_remove("RUSTFLAGS")
            .status()
            .expect("run cargo");
        assert!(status.success(), "building the native example plugin failed");
        target.join("debug").join(format!(
            "{}aish_native_upper{}",
            std::env::consts::DLL_PREFIX,
            std::env::consts::DLL_SUFFIX
        ))
    })
}

#[test]
fn native_plugin_is_refused_until_trusted_then_runs() {
    let home = home();
    let run = aish(home.path(), &["plugin", "add", "--name", "upper", native_upper().to_str().unwrap()], None);
    assert_eq!(run.code, 0, "{run:?}");
    assert!(run.stdout.contains("[plugins.upper] trusted = true"), "{}", run.stdout);
    let list = aish(home.path(), &["plugin", "list"], None).stdout;
    assert!(list.lines().any(|l| l.starts_with("upper ") && l.contains("user (native, untrusted)")), "{list}");

    let run = aish(home.path(), &["-c", "echo hello | upper"], None);
    assert_eq!(run.code, 1);
    assert_eq!(
        run.stderr,
        "error: upper: plugin `upper` is native code, which runs unsandboxed with your rights; aish loads it only when config.toml says [plugins.upper] trusted = true\n"
    );

    write_config(home.path(), "[plugins.upper]\ntrusted = true\n");
    let run = aish(home.path(), &["-c", "echo hello world | upper 'Shout:'"], None);
    assert_eq!((run.code, run.stdout.as_str()), (0, "Shout: HELLO WORLD\n"), "{run:?}");
    // Between AIs (the demo ones here, since the config names none).
    let run = aish(home.path(), &["-c", "echo 'Quiet words.' | hermes | upper"], None);
    assert_eq!(run.stdout, "IN ONE LINE: QUIET WORDS.\n", "{run:?}");

    let list = aish(home.path(), &["plugin", "list"], None).stdout;
    assert!(
        list.lines().any(|l| l.starts_with("upper ") && l.contains("0.1.0") && l.contains("upper-cases its input")),
        "{list}"
    );
    let info = aish(home.path(), &["plugin", "info", "upper"], None).stdout;
    assert!(info.contains("native C ABI 1") && info.contains("not sandboxed"), "{info}");
}

#[test]
fn a_panic_in_native_code_is_one_error_line() {
    let home = home();
    aish(home.path(), &["plugin", "add", "--name", "upper", native_upper().to_str().unwrap()], None);
    write_config(home.path(), "[plugins.upper]\ntrusted = true\n");
    let script = home.path().join("s.aish");
    std::fs::write(&script, "echo x | upper --panic\necho after | upper\n").unwrap();
    let run = aish(home.path(), &[script.to_str().unwrap()], None);
    assert_eq!(run.code, 1);
    assert_eq!(run.stdout, "AFTER\n", "aish goes on after the panic");
    let errors: Vec<&str> = run.stderr.lines().filter(|l| l.starts_with("error:")).collect();
    assert_eq!(errors, vec!["error: upper: the plugin panicked: asked to panic"]);
    let run = aish(home.path(), &["plugin", "remove", "upper"], None);
    assert_eq!(run.code, 0, "{run:?}");
    assert!(!aish(home.path(), &["plugin", "list"], None).stdout.contains("upper"));
}

#[test]
fn a_library_that_is_not_an_aish_plugin_is_refused() {
    let home = home();
    let dir = tempfile::tempdir().unwrap();
    let fake = dir.path().join("fake.so");
    std::fs::write(&fake, b"not a library").unwrap();
    aish(home.path(), &["plugin", "add", fake.to_str().unwrap()], None);
    write_config(home.path(), "[plugins.fake]\ntrusted = true\n");
    let run = aish(home.path(), &["-c", "echo x | fake"], None);
    assert_eq!(run.code, 1);
    assert!(
        run.stderr.starts_with("error: fake: native plugin ") && run.stderr.contains("cannot load it"),
        "{}",
        run.stderr
    );
}
