//! End-to-end tests against the real RabbitMQ (and, for the worker, the fake
//! Ometria). Each test isolates itself with a unique queue prefix.

mod abandonment_lag;
mod backfill;
mod cluster;
mod consent_flows;
mod console;
mod contact_properties;
mod crate_edges;
mod dashboard_metrics;
mod dead_letters;
mod fault_suite;
mod identity;
mod ingress_accepts;
mod ingress_broker_faults;
mod ingress_keeps;
mod ingress_rejects;
mod ingress_silence;
mod letter_index;
mod mapping_flows;
mod merchant;
mod ometria_budget;
mod ometria_rejections;
mod payloads;
mod privacy;
mod profile_sends;
mod reconcile_ometria;
mod retry_tiers;
mod scheduler_live;
mod shop_access;
mod shop_secrets;
mod shop_status;
mod shops_live;
mod worker_faults;
mod worker_flows;
mod worker_scaling;
mod worker_window;
