//! A RabbitMQ cluster of a test's own: private nodes on this machine
//! ([`PrivateBroker`]: own names, ports and data directories) sharing one
//! Erlang cookie, joined with `rabbitmqctl stop_app / join_cluster /
//! start_app` as an operator would. Stopped and removed when dropped.

use std::collections::BTreeMap;
use std::path::PathBuf;

use anyhow::{Context, bail};

use crate::private_broker::{NodeOptions, PrivateBroker};

/// A running cluster; node 0 is the one the others joined.
pub struct Cluster {
    nodes: Vec<PrivateBroker>,
    home: PathBuf,
}

impl Cluster {
    /// Starts `size` nodes and clusters them; returns once every node is
    /// running in the cluster and accepts AMQP connections.
    pub async fn start(size: usize) -> anyhow::Result<Cluster> {
        let home = shared_home()?;
        let options = NodeOptions {
            home: Some(home.clone()),
        };
        // The nodes boot in parallel (about 4 s each on their own).
        let booting: Vec<_> = (0..size)
            .map(|_| tokio::spawn(PrivateBroker::start_with(options.clone())))
            .collect();
        let mut nodes = Vec::with_capacity(size);
        for boot in booting {
            nodes.push(boot.await.context("a node's start panicked")??);
        }
        let cluster = Cluster { nodes, home };
        let seed = cluster.nodes[0].node().to_owned();
        for node in &cluster.nodes[1..] {
            node.ctl(&["stop_app"]).await?;
            node.ctl(&["join_cluster", &seed]).await?;
            node.start_app().await?;
        }
        let running = cluster.running_nodes(0).await?;
        if running.len() != size {
            bail!("only {running:?} of {size} nodes run in the cluster");
        }
        Ok(cluster)
    }

    pub fn nodes(&self) -> &[PrivateBroker] {
        &self.nodes
    }

    pub fn node(&self, i: usize) -> &PrivateBroker {
        &self.nodes[i]
    }

    /// Every node's AMQP URL, in node order (what `amqp.urls` lists).
    pub fn amqp_urls(&self) -> Vec<String> {
        self.nodes.iter().map(PrivateBroker::amqp_url).collect()
    }

    /// The index of the node named `name`.
    pub fn index_of(&self, name: &str) -> Option<usize> {
        self.nodes.iter().position(|n| n.node() == name)
    }

    /// The index of the node whose AMQP listener is `port`.
    pub fn index_of_port(&self, port: u16) -> Option<usize> {
        self.nodes.iter().position(|n| n.amqp_port() == port)
    }

    /// The nodes running in the cluster, as node `via` sees it.
    pub async fn running_nodes(&self, via: usize) -> anyhow::Result<Vec<String>> {
        let out = self.nodes[via]
            .ctl(&["cluster_status", "--formatter", "json"])
            .await?;
        let status: serde_json::Value =
            serde_json::from_str(&out).context("cluster_status output")?;
        let mut running: Vec<String> = status["running_nodes"]
            .as_array()
            .context("cluster_status has running_nodes")?
            .iter()
            .filter_map(|n| n.as_str().map(str::to_owned))
            .collect();
        running.sort();
        Ok(running)
    }

    /// Leader node of each quorum queue whose name starts with `prefix`,
    /// as node `via` reports it (`list_queues name leader`).
    pub async fn queue_leaders(
        &self,
        via: usize,
        prefix: &str,
    ) -> anyhow::Result<BTreeMap<String, String>> {
        let rows = self.list(via, &["list_queues", "name", "leader"]).await?;
        Ok(rows
            .iter()
            .filter_map(|r| Some((r["name"].as_str()?, r["leader"].as_str()?)))
            .filter(|(name, _)| name.starts_with(prefix))
            .map(|(name, leader)| (name.to_owned(), leader.to_owned()))
            .collect())
    }

    /// Client connections per node index (by the AMQP port they reached),
    /// as node `via` reports them.
    pub async fn connections_per_node(&self, via: usize) -> anyhow::Result<BTreeMap<usize, usize>> {
        let rows = self.list(via, &["list_connections", "port"]).await?;
        let mut out = BTreeMap::new();
        for row in rows {
            let port = row["port"].as_u64().and_then(|p| u16::try_from(p).ok());
            if let Some(i) = port.and_then(|p| self.index_of_port(p)) {
                *out.entry(i).or_default() += 1;
            }
        }
        Ok(out)
    }

    async fn list(&self, via: usize, args: &[&str]) -> anyhow::Result<Vec<serde_json::Value>> {
        let mut args = args.to_vec();
        args.extend(["--formatter", "json", "-q"]);
        let out = self.nodes[via].ctl(&args).await?;
        serde_json::from_str(&out).with_context(|| format!("{args:?} output: {out}"))
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        // The nodes stop first (their own Drop), then the cookie goes.
        self.nodes.clear();
        let _removed = std::fs::remove_dir_all(&self.home);
    }
}

/// A `HOME` holding a fresh Erlang cookie, readable by its owner only
/// (Erlang refuses a cookie file others can read).
fn shared_home() -> anyhow::Result<PathBuf> {
    use std::os::unix::fs::PermissionsExt;
    let id = uuid::Uuid::new_v4().simple().to_string();
    let home = std::env::temp_dir().join(format!("so-cluster-{}", &id[..10]));
    std::fs::create_dir_all(&home)?;
    let cookie = home.join(".erlang.cookie");
    std::fs::write(&cookie, id.to_ascii_uppercase())?;
    std::fs::set_permissions(&cookie, std::fs::Permissions::from_mode(0o400))?;
    Ok(home)
}
