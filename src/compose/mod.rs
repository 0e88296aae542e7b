//! Compose files in and out. `berth import compose` reads one into a
//! `berth.toml`: `yaml.rs` parses it with positions, `file.rs` reads its
//! services (interpolated by `crate::variables`), and `import.rs` makes
//! them berth's, with what an image is (`images.rs`), what a value says
//! (`values.rs`) and the buckets a file makes by hand (`buckets.rs`). The
//! exports write the stack for Compose (`export_compose.rs`) and
//! Kubernetes (`export_kubernetes.rs`), keeping secrets out of the files
//! they write (`secrets.rs`), through a small YAML writer (`emit.rs`).
//! What an import writes must load (`loads.rs`). `stack_toml.rs` writes stack files, and `relocate.rs` keeps their paths
//! right when one is written away from its project. The corpus test is
//! `corpus.rs`.

pub mod buckets;
pub mod emit;
pub mod export_compose;
pub mod export_kubernetes;
pub mod file;
pub mod images;
pub mod import;
pub mod loads;
pub mod relocate;
pub mod secrets;
pub mod stack_toml;
pub mod values;
pub mod yaml;

#[cfg(test)]
mod corpus;
#[cfg(test)]
mod tests;
