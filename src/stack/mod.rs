//! The resolved stack: the stack file's services with their ports and
//! passwords settled ([`settle`]: chosen once, kept in the state), how each
//! sees the others ([`views`]), and each one's plan — what its runtime
//! executes ([`service`], [`resolved`]).

pub mod resolved;
pub mod service;
pub mod settle;
pub mod views;
