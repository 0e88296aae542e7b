//! Snapshots of a stack's data: where they live and what one holds
//! ([`store`]). Taking and restoring them is the lifecycle's
//! (`lifecycle/snapshot.rs`): it stops and starts services.

pub mod store;
