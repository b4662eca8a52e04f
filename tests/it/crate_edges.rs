//! The workspace's dependency direction, read from `cargo metadata`: the
//! domain at the centre, adapters around it, plumbing, services, the binary
//! at the edge; lapin only in the queue adapter; no fake in the product.

use std::collections::{BTreeMap, BTreeSet};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Layer {
    Domain,
    Adapter,
    Plumbing,
    Service,
    /// A face over the services (the web console): it calls them, nothing calls it but the
    /// binary.
    Frontend,
    Binary,
    TestSupport,
    Bench,
    EndToEnd,
}

fn layer(name: &str) -> Option<Layer> {
    Some(match name {
        "so-domain" => Layer::Domain,
        "so-shopify" | "so-queue" | "so-ometria" | "so-store" | "so-shopify-admin" => {
            Layer::Adapter
        }
        "so-platform" => Layer::Plumbing,
        "so-ingress" | "so-worker" | "so-ops" | "so-sync" => Layer::Service,
        "so-console" => Layer::Frontend,
        "shopify-ometria" => Layer::Binary,
        "so-testkit" | "so-fake-ometria" | "so-fake-shopify" | "so-fake-server" => {
            Layer::TestSupport
        }
        "so-bench" => Layer::Bench,
        "so-e2e" => Layer::EndToEnd,
        _ => return None,
    })
}

/// Normal (non-dev, non-build) dependencies of every workspace member, and
/// every member that names lapin in any kind of dependency.
struct Graph {
    normal: BTreeMap<String, BTreeSet<String>>,
    uses_lapin: BTreeSet<String>,
}

fn graph() -> Graph {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_owned());
    let out = std::process::Command::new(cargo)
        .args([
            "metadata",
            "--format-version",
            "1",
            "--no-deps",
            "--offline",
        ])
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .expect("cargo metadata runs");
    assert!(
        out.status.success(),
        "cargo metadata: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let meta: serde_json::Value = serde_json::from_slice(&out.stdout).expect("metadata JSON");
    let mut graph = Graph {
        normal: BTreeMap::new(),
        uses_lapin: BTreeSet::new(),
    };
    for package in meta["packages"].as_array().expect("packages") {
        let name = package["name"].as_str().expect("name").to_owned();
        let mut normal = BTreeSet::new();
        for dep in package["dependencies"].as_array().expect("dependencies") {
            let dep_name = dep["name"].as_str().expect("dependency name");
            if dep_name == "lapin" {
                graph.uses_lapin.insert(name.clone());
            }
            if dep["kind"].is_null() {
                normal.insert(dep_name.to_owned());
            }
        }
        graph.normal.insert(name, normal);
    }
    graph
}

/// Why `from -> to` (both workspace members) breaks the direction, if it does.
fn forbidden(from: &str, from_layer: Layer, to: &str, to_layer: Layer) -> Option<String> {
    use Layer::*;
    let why = match (from_layer, to_layer) {
        (Domain, _) => "the domain imports no other crate of ours",
        (Adapter, Adapter) => "adapters never import each other",
        (Adapter, l) if l != Domain => "an adapter imports only the domain",
        (Plumbing, l) if !matches!(l, Domain | Adapter) => {
            "so-platform imports only the domain and adapters"
        }
        (Service, Service) => "services never import each other",
        (Service, l) if !matches!(l, Domain | Adapter | Plumbing) => {
            "a service imports only the domain, adapters and so-platform"
        }
        (Frontend, l) if !matches!(l, Domain | Adapter | Plumbing | Service) => {
            "a front end imports only the domain, adapters, so-platform and services"
        }
        (Binary, TestSupport) => "the product binary links no fake or test support",
        (Binary, Bench | EndToEnd | Binary) => "the binary imports no binary",
        _ => return None,
    };
    Some(format!("{from} -> {to}: {why}"))
}

#[test]
fn every_crate_edge_points_inward() {
    let graph = graph();
    let members: BTreeSet<&str> = graph.normal.keys().map(String::as_str).collect();
    let unknown: Vec<&str> = members
        .iter()
        .copied()
        .filter(|m| layer(m).is_none())
        .collect();
    assert!(
        unknown.is_empty(),
        "workspace members without a layer (add them to crate_edges.rs): {unknown:?}"
    );
    for expected in ["so-domain", "so-queue", "so-worker", "shopify-ometria"] {
        assert!(
            members.contains(expected),
            "{expected} is not in the metadata"
        );
    }
    let mut broken = Vec::new();
    let mut edges = 0;
    for (from, deps) in &graph.normal {
        let from_layer = layer(from).expect("classified above");
        for to in deps.iter().filter(|d| members.contains(d.as_str())) {
            edges += 1;
            let to_layer = layer(to).expect("classified above");
            broken.extend(forbidden(from, from_layer, to, to_layer));
        }
    }
    assert!(
        edges > 20,
        "only {edges} internal edges: the metadata was not read"
    );
    assert!(
        broken.is_empty(),
        "forbidden crate edges:\n{}",
        broken.join("\n")
    );
}

#[test]
fn only_the_queue_adapter_names_lapin() {
    let graph = graph();
    assert!(
        graph.uses_lapin.contains("so-queue"),
        "so-queue does not depend on lapin: the metadata was not read"
    );
    let others: Vec<&String> = graph
        .uses_lapin
        .iter()
        .filter(|c| c.as_str() != "so-queue")
        .collect();
    assert!(
        others.is_empty(),
        "crates naming lapin besides so-queue: {others:?}"
    );
}

#[test]
fn the_rules_catch_what_they_forbid() {
    use Layer::*;
    assert!(forbidden("so-domain", Domain, "so-queue", Adapter).is_some());
    assert!(forbidden("so-queue", Adapter, "so-store", Adapter).is_some());
    assert!(forbidden("so-worker", Service, "so-ops", Service).is_some());
    assert!(forbidden("shopify-ometria", Binary, "so-fake-ometria", TestSupport).is_some());
    assert!(forbidden("so-worker", Service, "so-queue", Adapter).is_none());
    assert!(forbidden("shopify-ometria", Binary, "so-worker", Service).is_none());
    assert!(forbidden("so-console", Frontend, "so-ops", Service).is_none());
    assert!(forbidden("so-ops", Service, "so-console", Frontend).is_some());
    assert!(forbidden("so-console", Frontend, "so-testkit", TestSupport).is_some());
}
