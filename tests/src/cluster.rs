//! The throwaway Postgres cluster that `scripts/test` starts: its superuser URL
//! (`TOLLGATE_TEST_PG`, read here and nowhere else), the other variables it sets, and
//! restarting it. A test binary run without them (a bare `cargo test`) stops at the
//! first test that needs one, with one line saying to run `scripts/test`.

use std::io::Write;
use std::sync::Mutex;

/// The cluster's superuser URL without a database, e.g. `postgres://tollgate@127.0.0.1:5432`.
pub fn admin_url() -> String {
    var("TOLLGATE_TEST_PG")
}

/// A variable `scripts/test` sets (`TOLLGATE_TEST_PG_CA`, `TOLLGATE_TEST_PG_DATA`, …).
pub fn var(name: &str) -> String {
    std::env::var(name).unwrap_or_else(|_| not_set(name))
}

/// Restarts the cluster (`pg_ctl restart`, fast mode) and returns when it accepts
/// connections again (`TOLLGATE_TEST_PG_DATA`: where `scripts/test` keeps it).
pub fn restart() {
    let dir = var("TOLLGATE_TEST_PG_DATA");
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let status = std::process::Command::new("bash")
        .current_dir(root)
        .args([
            "-c",
            "source scripts/lib/pg.sh && pg_restart \"$1\"",
            "-",
            &dir,
        ])
        .status()
        .unwrap();
    assert!(status.success(), "pg_restart failed");
}

/// Ends the whole test binary with one line, rather than a panic (and its message, and a
/// failure report) for each of its tests. The first test to get here prints it; the
/// others wait on the lock until the process is gone. Written to stderr itself: the test
/// harness captures `eprintln!`, and would drop the line with the process.
fn not_set(name: &str) -> ! {
    static ONCE: Mutex<()> = Mutex::new(());
    let _first = ONCE.lock();
    let _ = writeln!(
        std::io::stderr(),
        "{name} is not set: run scripts/test (it starts a throwaway Postgres and sets it)"
    );
    std::process::exit(2)
}
