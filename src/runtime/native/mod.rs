//! The native runtime: servers as supervised host processes, no container
//! engine needed. [`runtime`] runs a plan's server; [`init`] initializes
//! its data crash-safely, from the [`skeletons`] cache where a kind's
//! initialization allows; [`binaries`] finds the programs, whose versions
//! [`versions`] remembers; [`user`] picks the unprivileged user servers
//! run as when berth runs as root.

pub mod binaries;
pub mod init;
pub mod runtime;
pub mod skeletons;
pub mod user;
pub mod user_cache;
pub mod versions;
