//! Names that say who owns a test database or Redis prefix, so leftovers
//! of killed test runs can be told from live ones without any registry:
//! `bt_<pid>_<start time>_<sequence>` (with `-` for `_` in bucket names,
//! which S3 allows no `_` in). The owner is a process identified by
//! pid and start time ([`ProcessRecord`]), so a recycled pid never keeps a
//! dead run's databases alive.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::OnceLock;

use crate::process::ProcessRecord;

/// Prefix of every test database and Redis key prefix berth hands out.
pub const PREFIX: &str = "bt_";

/// Starts at a random number: several berth processes run by one owner
/// (a test runner calling `berth db create` repeatedly) must not collide.
static SEQUENCE: OnceLock<AtomicU64> = OnceLock::new();

/// The next name owned by `owner`.
pub fn next_name(owner: ProcessRecord) -> String {
    let sequence = SEQUENCE.get_or_init(|| {
        let mut seed = [0u8; 4];
        let _ = getrandom::getrandom(&mut seed);
        AtomicU64::new(u64::from(u32::from_le_bytes(seed)))
    });
    let n = sequence.fetch_add(1, Ordering::Relaxed);
    format!("{PREFIX}{}_{}_{n}", owner.pid, owner.start_time)
}

/// The next bucket name owned by `owner` (`bt-<pid>-<start>-<n>`).
pub fn next_bucket_name(owner: ProcessRecord) -> String {
    next_name(owner).replace('_', "-")
}

/// The owner encoded in a name berth handed out (a database's, a prefix's
/// or a bucket's); `None` for other names.
pub fn owner_of(name: &str) -> Option<ProcessRecord> {
    let name = match name.strip_prefix("bt-") {
        Some(_) if !name.contains('_') => name.replace('-', "_"),
        _ => name.to_string(),
    };
    let rest = name.strip_prefix(PREFIX)?;
    let mut parts = rest.split('_');
    let pid = parts.next()?.parse().ok()?;
    let start_time = parts.next()?.parse().ok()?;
    parts.next()?.parse::<u64>().ok()?;
    if parts.next().is_some() {
        return None;
    }
    Some(ProcessRecord { pid, start_time })
}

/// Whether `name` is a test database (or prefix) whose owner is gone.
pub fn is_abandoned(name: &str) -> bool {
    owner_of(name).is_some_and(|owner| !owner.is_alive())
}

/// This process, as an owner.
pub fn this_process() -> crate::error::Result<ProcessRecord> {
    ProcessRecord::of(std::process::id() as i32).ok_or_else(|| crate::error::Error::Internal {
        message: "this process's start time is not readable in `/proc`".into(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_carry_their_owner() {
        let me = this_process().unwrap();
        let name = next_name(me);
        assert_eq!(owner_of(&name), Some(me));
        assert!(!is_abandoned(&name));
        assert!(name.len() <= 63, "a PostgreSQL identifier");
        let bucket = next_bucket_name(me);
        assert_eq!(owner_of(&bucket), Some(me));
        assert!(
            crate::client::s3::check_bucket_name(&bucket).is_ok(),
            "{bucket}"
        );
        for other in [
            "app",
            "bt_x_1_2",
            "bt_1_2",
            "bt_1_2_3_4",
            "berth_tpl_abc",
            "bt-1-2_3",
            "bt-1-2",
        ] {
            assert_eq!(owner_of(other), None, "{other}");
        }
        let dead = ProcessRecord {
            pid: me.pid,
            start_time: me.start_time + 1,
        };
        assert!(is_abandoned(&next_name(dead)));
    }
}
