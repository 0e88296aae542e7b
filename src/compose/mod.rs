//! Compose files in and out: `berth import compose` reads one into a
//! `berth.toml` (`file.rs` over `yaml.rs`;
//! `import.rs`; variables by `crate::variables`), and the exports write the stack for Compose
//! (`export_compose.rs`) and Kubernetes (`export_kubernetes.rs`), keeping
//! secrets out of the files they write (`secrets.rs`), through a small
//! YAML writer (`emit.rs`). `stack_toml.rs` writes stack files.

pub mod buckets;
pub mod emit;
pub mod export_compose;
pub mod export_kubernetes;
pub mod file;
pub mod import;
pub mod relocate;
pub mod secrets;
pub mod stack_toml;
pub mod yaml;

#[cfg(test)]
mod corpus;
#[cfg(test)]
mod tests;
