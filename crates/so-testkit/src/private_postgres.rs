//! A PostgreSQL server of a test's own, for tests that stop or crash the
//! database: `initdb` in a temporary directory, its own port and socket
//! directory, started and stopped with `pg_ctl` from the machine's
//! installation. The machine's shared server, which every other test uses,
//! is never touched. Stopped (immediately) and removed when dropped.
//!
//! PostgreSQL refuses to run as root; as root the tools run as the
//! `postgres` user, which owns the directory.

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant};

use anyhow::{Context, bail};

const BIN: &str = "/usr/lib/postgresql/15/bin";

/// A running private server (trust authentication, user `postgres`).
pub struct PrivatePostgres {
    dir: PathBuf,
    port: u16,
}

/// `pg_ctl stop` modes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StopMode {
    /// Disconnects clients, shuts down cleanly.
    Fast,
    /// Quits at once, like a crash: recovery replays the WAL on start.
    Immediate,
}

impl PrivatePostgres {
    /// Creates a cluster and starts it; waits until it accepts connections.
    pub async fn start() -> anyhow::Result<PrivatePostgres> {
        let id = &uuid::Uuid::new_v4().simple().to_string()[..10];
        let dir = std::env::temp_dir().join(format!("so-postgres-{id}"));
        std::fs::create_dir_all(&dir)?;
        let pg = PrivatePostgres {
            dir,
            port: crate::stable_port(),
        };
        if running_as_root() {
            let owned = tokio::process::Command::new("chown")
                .args(["-R", "postgres:postgres"])
                .arg(&pg.dir)
                .status()
                .await?;
            if !owned.success() {
                bail!("chown of {} to postgres failed", pg.dir.display());
            }
        }
        let data = pg.data();
        pg.tool(
            "initdb",
            &[
                "-D",
                &data,
                "-U",
                "postgres",
                "--auth=trust",
                "--no-sync",
                "-E",
                "UTF8",
            ],
        )
        .await?;
        pg.start_server().await?;
        Ok(pg)
    }

    /// `postgres://postgres@127.0.0.1:<port>/postgres`.
    pub fn admin_url(&self) -> String {
        format!("postgres://postgres@127.0.0.1:{}/postgres", self.port)
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    fn data(&self) -> String {
        self.dir.join("data").display().to_string()
    }

    /// Starts the server (again) on the same data and port.
    pub async fn start_server(&self) -> anyhow::Result<()> {
        let options = format!(
            "-p {} -k {} -c listen_addresses=127.0.0.1 -c fsync=off",
            self.port,
            self.dir.display()
        );
        let log = self.dir.join("server.log").display().to_string();
        self.tool(
            "pg_ctl",
            &[
                "-D",
                &self.data(),
                "-o",
                &options,
                "-l",
                &log,
                "-w",
                "start",
            ],
        )
        .await?;
        self.wait_port(true, Duration::from_secs(30)).await
    }

    /// Stops the server.
    pub async fn stop_server(&self, mode: StopMode) -> anyhow::Result<()> {
        let mode = match mode {
            StopMode::Fast => "fast",
            StopMode::Immediate => "immediate",
        };
        self.tool("pg_ctl", &["-D", &self.data(), "-m", mode, "-w", "stop"])
            .await?;
        self.wait_port(false, Duration::from_secs(30)).await
    }

    async fn wait_port(&self, up: bool, within: Duration) -> anyhow::Result<()> {
        let deadline = Instant::now() + within;
        let addr = std::net::SocketAddr::from(([127, 0, 0, 1], self.port));
        while Instant::now() < deadline {
            let open =
                std::net::TcpStream::connect_timeout(&addr, Duration::from_millis(200)).is_ok();
            if open == up {
                return Ok(());
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        bail!(
            "private PostgreSQL on port {} did not come {}",
            self.port,
            if up { "up" } else { "down" }
        )
    }

    /// Runs one of PostgreSQL's tools (as `postgres` when root).
    async fn tool(&self, name: &str, args: &[&str]) -> anyhow::Result<()> {
        let out = command(&format!("{BIN}/{name}"), args, &self.dir)
            .output()
            .await
            .with_context(|| format!("running {name} (is PostgreSQL 15 installed?)"))?;
        if !out.status.success() {
            bail!(
                "{name} {args:?} failed: {}{}",
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            );
        }
        Ok(())
    }
}

fn running_as_root() -> bool {
    std::process::Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|o| o.stdout.starts_with(b"0\n"))
}

fn command(program: &str, args: &[&str], cwd: &Path) -> tokio::process::Command {
    let mut c = if running_as_root() {
        let mut c = tokio::process::Command::new("runuser");
        c.args(["-u", "postgres", "--", program]);
        c
    } else {
        tokio::process::Command::new(program)
    };
    c.args(args)
        .current_dir(cwd)
        .stdin(Stdio::null())
        .kill_on_drop(true);
    c
}

impl Drop for PrivatePostgres {
    fn drop(&mut self) {
        let data = self.data();
        let args = ["-D", data.as_str(), "-m", "immediate", "stop"];
        let program = format!("{BIN}/pg_ctl");
        let mut c = if running_as_root() {
            let mut c = std::process::Command::new("runuser");
            c.args(["-u", "postgres", "--", &program]);
            c
        } else {
            std::process::Command::new(&program)
        };
        let _stopped = c
            .args(args)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status();
        let _removed = std::fs::remove_dir_all(&self.dir);
    }
}
