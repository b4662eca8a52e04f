//! The service under test runs as its own process so its memory is its own.

use std::path::PathBuf;
use std::process::Stdio;
use std::time::{Duration, Instant};

use anyhow::Context;
use tokio::process::{Child, Command};

/// The `shopify-ometria` binary next to this one (same target directory).
pub(crate) fn sibling_binary() -> PathBuf {
    let me = std::env::current_exe().unwrap_or_default();
    me.with_file_name("shopify-ometria")
}

pub(crate) fn free_port() -> anyhow::Result<u16> {
    Ok(std::net::TcpListener::bind("127.0.0.1:0")?
        .local_addr()?
        .port())
}

/// Starts `bin <subcommand>` with `env`, waiting until `ready_url` answers 200.
pub(crate) async fn spawn_service(
    bin: &std::path::Path,
    subcommand: &str,
    env: &[(String, String)],
    ready_url: &str,
) -> anyhow::Result<Child> {
    spawn_service_with(bin, &[subcommand], env, ready_url).await
}

/// [`spawn_service`] with arguments of its own (`--config PATH worker`).
pub(crate) async fn spawn_service_with(
    bin: &std::path::Path,
    args: &[&str],
    env: &[(String, String)],
    ready_url: &str,
) -> anyhow::Result<Child> {
    let subcommand = args.last().copied().unwrap_or_default();
    anyhow::ensure!(
        bin.exists(),
        "{} not found: build it first with `cargo build --release -p shopify-ometria` (or pass --bin)",
        bin.display()
    );
    let mut cmd = Command::new(bin);
    cmd.args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::inherit())
        .kill_on_drop(true);
    // Quiet by default; BENCH_SERVICE_LOG=so_worker=debug shows batch timings.
    cmd.env(
        "RUST_LOG",
        std::env::var("BENCH_SERVICE_LOG").unwrap_or_else(|_| "warn".to_owned()),
    );
    // As deploy/Dockerfile runs the service, unless the caller says otherwise.
    if std::env::var_os("MALLOC_ARENA_MAX").is_none() {
        cmd.env("MALLOC_ARENA_MAX", "2");
    }
    for (k, v) in env {
        cmd.env(k, v);
    }
    let child = cmd
        .spawn()
        .with_context(|| format!("starting {}", bin.display()))?;
    let started = Instant::now();
    loop {
        if http_get_ok(ready_url).await {
            return Ok(child);
        }
        anyhow::ensure!(
            started.elapsed() < Duration::from_secs(30),
            "{subcommand} not ready within 30 s"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// GET `url`; the body when the answer is 200.
pub(crate) async fn http_get(url: &str) -> Option<String> {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let rest = url.strip_prefix("http://")?;
    let (host, path) = rest
        .split_once('/')
        .map_or((rest, "/".to_owned()), |(h, p)| (h, format!("/{p}")));
    let mut s = tokio::net::TcpStream::connect(host).await.ok()?;
    let req = format!("GET {path} HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n");
    s.write_all(req.as_bytes()).await.ok()?;
    let mut buf = Vec::new();
    s.read_to_end(&mut buf).await.ok()?;
    let text = String::from_utf8_lossy(&buf);
    let (head, body) = text.split_once("\r\n\r\n")?;
    head.starts_with("HTTP/1.1 200").then(|| body.to_owned())
}

/// Sum of a counter's samples on a Prometheus page.
pub(crate) fn counter(page: &str, name: &str) -> f64 {
    page.lines()
        .filter(|l| l.starts_with(name) && l[name.len()..].starts_with(['{', ' ']))
        .filter_map(|l| l.rsplit_once(' ').and_then(|(_, v)| v.parse::<f64>().ok()))
        .sum()
}

async fn http_get_ok(url: &str) -> bool {
    let Some(rest) = url.strip_prefix("http://") else {
        return false;
    };
    let (host, path) = rest
        .split_once('/')
        .map_or((rest, "/".to_owned()), |(h, p)| (h, format!("/{p}")));
    let Ok(mut s) = tokio::net::TcpStream::connect(host).await else {
        return false;
    };
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let req = format!("GET {path} HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n");
    if s.write_all(req.as_bytes()).await.is_err() {
        return false;
    }
    let mut buf = [0u8; 16];
    matches!(s.read(&mut buf).await, Ok(n) if n >= 12 && &buf[9..12] == b"200")
}

/// Peak resident set size of `pid` (VmHWM) in MiB.
pub(crate) fn peak_rss_mib(pid: u32) -> Option<f64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kib: f64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib / 1024.0)
}

/// CPU time (user + system) `pid` has used so far, in milliseconds, from
/// `/proc/<pid>/stat` (clock ticks of `getconf CLK_TCK`, 100 if unknown).
pub(crate) fn cpu_ms(pid: u32) -> Option<f64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // The command name may hold spaces; the fields after it are fixed.
    let fields: Vec<&str> = stat.rsplit_once(')')?.1.split_whitespace().collect();
    // utime and stime are fields 14 and 15; the first after the name is 3.
    let ticks: f64 = fields.get(11)?.parse::<f64>().ok()? + fields.get(12)?.parse::<f64>().ok()?;
    Some(ticks * 1000.0 / clock_ticks_per_s())
}

fn clock_ticks_per_s() -> f64 {
    std::process::Command::new("getconf")
        .arg("CLK_TCK")
        .output()
        .ok()
        .and_then(|o| String::from_utf8(o.stdout).ok())
        .and_then(|s| s.trim().parse::<f64>().ok())
        .filter(|t| *t > 0.0)
        .unwrap_or(100.0)
}

/// SIGTERM, then wait (graceful shutdown is part of what is measured).
pub(crate) async fn stop(mut child: Child) {
    if let Some(pid) = child.id() {
        let _sent = Command::new("kill")
            .arg("-TERM")
            .arg(pid.to_string())
            .status()
            .await;
    }
    let _exited = tokio::time::timeout(Duration::from_secs(15), child.wait()).await;
}
