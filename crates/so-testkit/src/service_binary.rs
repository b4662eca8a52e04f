//! Where the real `shopify-ometria` binary is, for tests outside its own
//! package (which get `CARGO_BIN_EXE_shopify-ometria` from Cargo): the
//! binary Cargo put next to the test's own, built on first use if a run
//! of only the test's package did not build it.

use std::path::PathBuf;
use std::sync::OnceLock;

/// Set to use another binary.
pub const SERVICE_BINARY_ENV: &str = "SO_SERVICE_BINARY";

static BINARY: OnceLock<PathBuf> = OnceLock::new();

/// The path of the `shopify-ometria` binary of this build.
///
/// # Panics
/// If it is not there and cannot be built: test support fails loudly.
pub fn service_binary() -> PathBuf {
    BINARY.get_or_init(locate).clone()
}

fn locate() -> PathBuf {
    if let Some(path) = std::env::var_os(SERVICE_BINARY_ENV) {
        return PathBuf::from(path);
    }
    // Tests run from `<target>/<profile>/deps/`; binaries are in `<profile>/`.
    let exe = std::env::current_exe().expect("the test's own path");
    let profile_dir = exe
        .parent()
        .and_then(|deps| deps.parent())
        .expect("a test binary under <target>/<profile>/deps");
    let binary = profile_dir.join("shopify-ometria");
    if !binary.exists() {
        build(profile_dir);
    }
    assert!(binary.exists(), "no binary at {}", binary.display());
    binary
}

/// `cargo build -p shopify-ometria` into the same target directory.
fn build(profile_dir: &std::path::Path) {
    let target_dir = profile_dir.parent().expect("<target>/<profile>");
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let mut command = std::process::Command::new(cargo);
    command.args(["build", "--locked", "-p", "shopify-ometria"]);
    if profile_dir.ends_with("release") {
        command.arg("--release");
    }
    let status = command
        .env("CARGO_TARGET_DIR", target_dir)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .status()
        .expect("cargo runs");
    assert!(status.success(), "cargo build -p shopify-ometria failed");
}
