//! A RabbitMQ node of a test's own, for tests that stop, kill or alarm the
//! broker: its own node name, AMQP and distribution ports, configuration
//! and data directory, so the machine's shared broker (which every other
//! test uses) is never disturbed. Started from the machine's RabbitMQ
//! installation with the environment variables RabbitMQ documents, and
//! stopped (and its directory removed) when dropped.
//!
//! Nodes started with a shared `HOME` (hence Erlang cookie, see
//! [`NodeOptions`]) can be clustered: [`crate::cluster`].

use std::path::PathBuf;
use std::process::Stdio;
use std::time::{Duration, Instant};

use anyhow::{Context, bail};

const BIN: &str = "/usr/lib/rabbitmq/bin";

/// A running private node.
pub struct PrivateBroker {
    node: String,
    amqp_port: u16,
    dist_port: u16,
    dir: PathBuf,
    home: Option<PathBuf>,
}

/// How to set up a node; the default is a stand-alone node.
#[derive(Debug, Clone, Default)]
pub struct NodeOptions {
    /// `HOME` of the node and of the CLI calls made to it, where Erlang
    /// keeps its cookie: nodes (and CLI tools) sharing one can talk to each
    /// other, which clustering needs. Unset, the user's own `HOME` is used.
    pub home: Option<PathBuf>,
}

/// The ports the CLI tools listen on for Erlang distribution while they run
/// (`RABBITMQ_CTL_DIST_PORT_MIN` 35672 .. +10): a node listening there
/// fails to start its AMQP listener whenever a `rabbitmqctl` runs.
const CLI_DIST_PORTS: std::ops::RangeInclusive<u16> = 35_672..=35_682;

/// A free port outside the CLI tools' range, stable across a restart.
fn node_port() -> u16 {
    loop {
        let port = crate::stable_port();
        if !CLI_DIST_PORTS.contains(&port) {
            return port;
        }
    }
}

fn port_open(port: u16) -> bool {
    std::net::TcpStream::connect_timeout(
        &std::net::SocketAddr::from(([127, 0, 0, 1], port)),
        Duration::from_millis(200),
    )
    .is_ok()
}

impl PrivateBroker {
    /// Starts a fresh node and waits until it accepts AMQP connections.
    pub async fn start() -> anyhow::Result<PrivateBroker> {
        PrivateBroker::start_with(NodeOptions::default()).await
    }

    /// [`PrivateBroker::start`] with `options`.
    pub async fn start_with(options: NodeOptions) -> anyhow::Result<PrivateBroker> {
        let id = &uuid::Uuid::new_v4().simple().to_string()[..10];
        let dir = std::env::temp_dir().join(format!("so-rabbit-{id}"));
        std::fs::create_dir_all(&dir)?;
        let broker = PrivateBroker {
            node: format!("sotest-{id}@localhost"),
            amqp_port: node_port(),
            dist_port: node_port(),
            dir,
            home: options.home,
        };
        std::fs::write(
            broker.dir.join("rabbitmq.conf"),
            format!(
                "listeners.tcp.local = 127.0.0.1:{}\nloopback_users = none\n",
                broker.amqp_port
            ),
        )?;
        std::fs::write(broker.dir.join("env.conf"), "")?;
        std::fs::write(broker.dir.join("plugins"), "[].\n")?;
        broker.launch(Duration::from_secs(60)).await?;
        Ok(broker)
    }

    pub fn amqp_url(&self) -> String {
        format!("amqp://guest:guest@127.0.0.1:{}/%2f", self.amqp_port)
    }

    pub fn amqp_port(&self) -> u16 {
        self.amqp_port
    }

    /// The Erlang node name, e.g. `sotest-0123456789@localhost`.
    pub fn node(&self) -> &str {
        &self.node
    }

    fn env(&self) -> Vec<(&'static str, String)> {
        let d = |name: &str| self.dir.join(name).display().to_string();
        let home = self.home.iter().map(|h| ("HOME", h.display().to_string()));
        home.chain([
            ("RABBITMQ_NODENAME", self.node.clone()),
            ("RABBITMQ_NODE_PORT", self.amqp_port.to_string()),
            ("RABBITMQ_DIST_PORT", self.dist_port.to_string()),
            ("RABBITMQ_MNESIA_BASE", d("mnesia")),
            ("RABBITMQ_LOG_BASE", d("log")),
            ("RABBITMQ_PID_FILE", d("pid")),
            ("RABBITMQ_ENABLED_PLUGINS_FILE", d("plugins")),
            ("RABBITMQ_CONFIG_FILE", d("rabbitmq.conf")),
            // The machine's rabbitmq-env.conf names the shared node.
            ("RABBITMQ_CONF_ENV_FILE", d("env.conf")),
            ("ERL_EPMD_ADDRESS", "127.0.0.1".to_owned()),
        ])
        .collect()
    }

    async fn launch(&self, within: Duration) -> anyhow::Result<()> {
        let status = tokio::process::Command::new(format!("{BIN}/rabbitmq-server"))
            .arg("-detached")
            .envs(self.env())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .await
            .context("starting rabbitmq-server (is RabbitMQ installed?)")?;
        if !status.success() {
            bail!("rabbitmq-server -detached failed: {status}");
        }
        self.wait_amqp(true, within)
            .await
            .with_context(|| format!("the node's log ends with:\n{}", self.log_tail(40)))
    }

    /// The last `lines` lines of the node's log, for a failure's message.
    pub fn log_tail(&self, lines: usize) -> String {
        let path = self.dir.join("log").join(format!("{}.log", self.node));
        match std::fs::read_to_string(&path) {
            Ok(text) => {
                let all: Vec<&str> = text.lines().collect();
                all[all.len().saturating_sub(lines)..].join("\n")
            }
            Err(e) => format!("({} unreadable: {e})", path.display()),
        }
    }

    /// Waits until the AMQP port is open (`up`) or closed.
    pub async fn wait_amqp(&self, up: bool, within: Duration) -> anyhow::Result<()> {
        let deadline = Instant::now() + within;
        while Instant::now() < deadline {
            if port_open(self.amqp_port) == up {
                return Ok(());
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        bail!(
            "private broker {} did not {} within {within:?}",
            self.node,
            if up {
                "open its AMQP port"
            } else {
                "close its AMQP port"
            }
        )
    }

    /// `rabbitmqctl -n <node> args...`; its output on success.
    pub async fn ctl(&self, args: &[&str]) -> anyhow::Result<String> {
        let out = tokio::process::Command::new(format!("{BIN}/rabbitmqctl"))
            .arg("-n")
            .arg(&self.node)
            .args(args)
            .envs(self.env())
            .output()
            .await
            .context("running rabbitmqctl")?;
        if !out.status.success() {
            bail!(
                "rabbitmqctl {args:?} failed: {}",
                String::from_utf8_lossy(&out.stderr)
            );
        }
        Ok(String::from_utf8_lossy(&out.stdout).into_owned())
    }

    /// `stop_app`: the broker is down, the Erlang VM stays up.
    pub async fn stop_app(&self) -> anyhow::Result<()> {
        self.ctl(&["stop_app"]).await?;
        self.wait_amqp(false, Duration::from_secs(30)).await
    }

    pub async fn start_app(&self) -> anyhow::Result<()> {
        self.ctl(&["start_app"]).await?;
        self.wait_amqp(true, Duration::from_secs(60)).await
    }

    /// Closes every client connection, as an operator or a failover would.
    pub async fn close_all_connections(&self) -> anyhow::Result<()> {
        self.ctl(&["close_all_connections", "fault injection"])
            .await
            .map(|_| ())
    }

    /// Raises (or clears) a disk alarm: publishers are blocked meanwhile.
    pub async fn set_disk_alarm(&self, on: bool) -> anyhow::Result<()> {
        let limit = if on { "10000GB" } else { "50MB" };
        self.ctl(&["set_disk_free_limit", limit]).await.map(|_| ())
    }

    /// SIGKILL of the broker's VM (a crash), then a start on the same data.
    pub async fn kill_and_restart(&self) -> anyhow::Result<()> {
        self.kill().await?;
        self.restart().await
    }

    /// SIGKILL of the broker's VM (a crash); returns once its AMQP port is
    /// closed.
    pub async fn kill(&self) -> anyhow::Result<()> {
        let pid = std::fs::read_to_string(self.dir.join("pid"))
            .context("reading the private broker's pid file")?;
        let pid = pid.trim().to_owned();
        let killed = tokio::process::Command::new("kill")
            .args(["-9", &pid])
            .status()
            .await?;
        if !killed.success() {
            bail!("kill -9 {pid} failed");
        }
        self.wait_amqp(false, Duration::from_secs(30)).await
    }

    /// Starts the node again on its data (after [`PrivateBroker::kill`]); a
    /// cluster member rejoins its cluster. A crashed node replays its
    /// quorum-queue logs before it opens its AMQP port, which on a loaded
    /// 2-core machine has taken over a minute, hence the longer wait.
    pub async fn restart(&self) -> anyhow::Result<()> {
        self.launch(Duration::from_secs(180)).await
    }
}

impl Drop for PrivateBroker {
    fn drop(&mut self) {
        let _stopped = std::process::Command::new(format!("{BIN}/rabbitmqctl"))
            .arg("-n")
            .arg(&self.node)
            .arg("stop")
            .envs(self.env())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status();
        if let Ok(pid) = std::fs::read_to_string(self.dir.join("pid")) {
            let _killed = std::process::Command::new("kill")
                .args(["-9", pid.trim()])
                .stderr(Stdio::null())
                .status();
        }
        let _removed = std::fs::remove_dir_all(&self.dir);
    }
}
