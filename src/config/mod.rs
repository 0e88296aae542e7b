//! `berth.toml`: the stack file, from text to a typed [`model::StackConfig`].
//!
//! [`document`] parses the TOML keeping every value's span; [`layers`] puts
//! the selected profile and environment variables over the file's values;
//! [`service`] reads each service into the keys every service has and its
//! kind's own settings (the kind reads those, see [`crate::kind`]);
//! [`env_section`], [`references`] and [`graph`] check the rest; [`load`]
//! runs it all, and [`schema`] describes it for editors. [`origin`] turns any problem into an error at the file,
//! line and column, or naming the environment variable that set the value.

pub mod document;
pub mod env_section;
pub mod graph;
pub mod layers;
pub mod links;
pub mod load;
pub mod model;
pub mod names;
pub mod origin;
pub mod references;
#[cfg(feature = "schema")]
pub mod schema;
pub mod service;
#[cfg(test)]
mod tests;
