//! berth's per-user cache directory: `$BERTH_CACHE_DIR`, else
//! `$XDG_CACHE_HOME/berth`, else `~/.cache/berth`. It holds the
//! [`super::skeletons`] and the [`super::versions`] remembered.

use std::path::PathBuf;

/// Where the environment puts the cache; none without a home.
pub fn root() -> Option<PathBuf> {
    Some(
        match std::env::var_os("BERTH_CACHE_DIR").filter(|d| !d.is_empty()) {
            Some(dir) => PathBuf::from(dir),
            None => match std::env::var_os("XDG_CACHE_HOME").filter(|d| !d.is_empty()) {
                Some(dir) => PathBuf::from(dir).join("berth"),
                None => PathBuf::from(std::env::var_os("HOME")?).join(".cache/berth"),
            },
        },
    )
}
