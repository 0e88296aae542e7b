//! Checks before anything starts: ports free (and who holds a taken one),
//! binaries present, resources enough. `berth doctor` shows the same
//! report on its own.

pub mod ports;
pub mod resources;
