//! The real `shopify-ometria` binary as a child process: its environment,
//! its output captured whole, readiness, SIGTERM and SIGKILL.

use std::process::{ExitStatus, Stdio};
use std::time::Duration;

use tokio::io::AsyncReadExt;
use tokio::process::Child;
use tokio::task::JoinHandle;

/// A port nobody listens on right now.
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free local port")
}

/// Ports below the kernel's ephemeral range (32768 and up by default).
const STABLE_PORTS: std::ops::Range<u16> = 20_000..32_000;

/// A free port for a listener that a test closes and opens again on the
/// same number (a killed broker, database or ingress started again). A port
/// from [`free_port`] lies in the kernel's ephemeral range, where any
/// outgoing connection on the machine may take it while the listener is
/// down, and the restart then cannot bind; below that range only listeners
/// bind.
pub fn stable_port() -> u16 {
    loop {
        let r = uuid::Uuid::new_v4().as_u128();
        let span = u128::from(STABLE_PORTS.end - STABLE_PORTS.start);
        let port = STABLE_PORTS.start + u16::try_from(r % span).unwrap_or(0);
        if port == 25_672 {
            continue; // the machine's broker's distribution port
        }
        if std::net::TcpListener::bind(("127.0.0.1", port)).is_ok() {
            return port;
        }
    }
}

/// A running `shopify-ometria <subcommand>` with its output captured.
pub struct ServiceProcess {
    child: Child,
    stdout: Option<JoinHandle<Vec<u8>>>,
    stderr: Option<JoinHandle<Vec<u8>>>,
    /// `http://127.0.0.1:<ops port>`.
    pub ops_url: String,
    /// `http://127.0.0.1:<ingress port>/webhooks/shopify`.
    pub webhook_url: String,
}

impl ServiceProcess {
    /// Starts `bin subcommand` with only `PATH`, the listeners on free ports
    /// and `env` in its environment.
    pub fn spawn(bin: &str, subcommand: &str, env: &[(&str, String)]) -> ServiceProcess {
        ServiceProcess::spawn_args(bin, &[subcommand], env)
    }

    /// Like [`ServiceProcess::spawn`] with more arguments (`--config <path>`).
    pub fn spawn_args(bin: &str, args: &[&str], env: &[(&str, String)]) -> ServiceProcess {
        // Below the ephemeral range: an outgoing connection elsewhere in the suite cannot take
        // the port between its pick and the child's bind (the child would exit, unready).
        let ingress = stable_port();
        let ops = loop {
            let p = stable_port();
            if p != ingress {
                break p;
            }
        };
        let mut command = tokio::process::Command::new(bin);
        command
            .args(args)
            .env_clear()
            .env("PATH", std::env::var("PATH").unwrap_or_default())
            .env("SO_INGRESS__LISTEN", format!("127.0.0.1:{ingress}"))
            .env("SO_OPS__LISTEN", format!("127.0.0.1:{ops}"))
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .kill_on_drop(true);
        for (k, v) in env {
            command.env(k, v);
        }
        let mut child = command.spawn().expect("the binary starts");
        let stdout = child.stdout.take().map(|mut r| {
            tokio::spawn(async move {
                let mut buf = Vec::new();
                let _read = r.read_to_end(&mut buf).await;
                buf
            })
        });
        let stderr = child.stderr.take().map(|mut r| {
            tokio::spawn(async move {
                let mut buf = Vec::new();
                let _read = r.read_to_end(&mut buf).await;
                buf
            })
        });
        ServiceProcess {
            child,
            stdout,
            stderr,
            ops_url: format!("http://127.0.0.1:{ops}"),
            webhook_url: format!("http://127.0.0.1:{ingress}/webhooks/shopify"),
        }
    }

    /// Waits until `/readyz` answers 200.
    pub async fn wait_ready(&self, deadline: Duration) {
        let client = reqwest::Client::new();
        let url = format!("{}/readyz", self.ops_url);
        crate::eventually(deadline, || async {
            match client.get(&url).send().await {
                Ok(r) if r.status() == 200 => Ok(()),
                Ok(r) => Err(format!("readyz {}", r.status())),
                Err(e) => Err(e.to_string()),
            }
        })
        .await;
    }

    /// Sends `signal` (`TERM`, `KILL`, ...) with `kill(1)`.
    pub async fn signal(&self, signal: &str) {
        let pid = self.child.id().expect("still running").to_string();
        let status = tokio::process::Command::new("kill")
            .args([format!("-{signal}"), pid])
            .status()
            .await
            .expect("kill runs");
        assert!(status.success(), "kill -{signal} failed");
    }

    /// Waits for the exit, or `None` once `deadline` has passed (the
    /// process is then killed).
    pub async fn wait(&mut self, deadline: Duration) -> Option<ExitStatus> {
        match tokio::time::timeout(deadline, self.child.wait()).await {
            Ok(status) => Some(status.expect("wait on the child")),
            Err(_) => {
                let _killed = self.child.kill().await;
                None
            }
        }
    }

    /// Everything the process wrote to stdout and stderr; call after it exited.
    pub async fn output(&mut self) -> String {
        let mut text = String::new();
        for handle in [self.stdout.take(), self.stderr.take()]
            .into_iter()
            .flatten()
        {
            let bytes = handle.await.unwrap_or_default();
            text.push_str(&String::from_utf8_lossy(&bytes));
        }
        text
    }
}
