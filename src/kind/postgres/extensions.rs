//! Which extensions a PostgreSQL install has, and where a missing one
//! comes from.
//!
//! An install's extensions are the `*.control` files of its share
//! directory, read without running anything (the native runtime asks on
//! every `up` of a stack that names extensions). The share directory is
//! where the install's layout puts it beside its programs, as PostgreSQL
//! itself finds it from its binary: Debian's `/usr/lib/postgresql/<major>/bin`
//! keeps it in `/usr/share/postgresql/<major>`; a relocatable install (the
//! PGDG `/usr/pgsql-<major>`, Homebrew's, a wheel's) in
//! `../share/postgresql`, `../share/postgresql@<major>` or `../share`.

use std::collections::BTreeSet;
use std::path::{Component, Path, PathBuf};
use std::process::Command;

use semver::Version;

/// PostgreSQL's contrib modules: built with the server, and packaged with
/// it by Debian and Ubuntu (`postgresql-<major>`), though not by every
/// build (the PyPI wheels leave them out).
const CONTRIB: &[&str] = &[
    "adminpack",
    "amcheck",
    "autoinc",
    "bloom",
    "btree_gin",
    "btree_gist",
    "citext",
    "cube",
    "dblink",
    "dict_int",
    "dict_xsyn",
    "earthdistance",
    "file_fdw",
    "fuzzystrmatch",
    "hstore",
    "insert_username",
    "intagg",
    "intarray",
    "isn",
    "lo",
    "ltree",
    "moddatetime",
    "old_snapshot",
    "pageinspect",
    "pg_buffercache",
    "pg_freespacemap",
    "pg_prewarm",
    "pg_stat_statements",
    "pg_surgery",
    "pg_trgm",
    "pg_visibility",
    "pg_walinspect",
    "pgcrypto",
    "pgrowlocks",
    "pgstattuple",
    "postgres_fdw",
    "refint",
    "seg",
    "sslinfo",
    "tablefunc",
    "tcn",
    "tsm_system_rows",
    "tsm_system_time",
    "unaccent",
    "uuid-ossp",
    "xml2",
];

/// The extensions of the install whose programs are in `bin_dir`.
pub fn installed(bin_dir: &Path, _version: &Version) -> BTreeSet<String> {
    // Through a link (`/usr/local/bin/postgres`) to the install's own
    // directory, which its share directory is beside.
    let bin = bin_dir
        .join("postgres")
        .canonicalize()
        .ok()
        .and_then(|p| p.parent().map(Path::to_path_buf))
        .unwrap_or_else(|| bin_dir.to_path_buf());
    for dir in extension_dirs(&bin) {
        let Ok(entries) = std::fs::read_dir(&dir) else {
            continue;
        };
        return entries
            .flatten()
            .filter_map(|e| {
                let name = e.file_name().to_string_lossy().into_owned();
                name.strip_suffix(".control").map(str::to_string)
            })
            .collect();
    }
    BTreeSet::new()
}

/// Where an install with its programs in `bin` may keep its extensions,
/// most specific first.
fn extension_dirs(bin: &Path) -> Vec<PathBuf> {
    let mut dirs = Vec::new();
    let parts: Vec<Component> = bin.components().collect();
    if let [.., Component::Normal(lib), Component::Normal(pg), Component::Normal(major), Component::Normal(b)] =
        parts.as_slice()
    {
        if *lib == "lib" && *pg == "postgresql" && *b == "bin" {
            let prefix = bin.ancestors().nth(4).unwrap_or(Path::new("/"));
            dirs.push(
                prefix
                    .join("share/postgresql")
                    .join(major)
                    .join("extension"),
            );
        }
    }
    if let Some(prefix) = bin.parent() {
        let share = prefix.join("share");
        dirs.push(share.join("postgresql/extension"));
        if let Ok(entries) = std::fs::read_dir(&share) {
            let mut named: Vec<PathBuf> = entries
                .flatten()
                .filter(|e| e.file_name().to_string_lossy().starts_with("postgresql@"))
                .map(|e| e.path().join("extension"))
                .collect();
            named.sort();
            dirs.extend(named);
        }
        dirs.push(share.join("extension"));
    }
    dirs
}

/// How to get extension `name` for an install of `version`: its package
/// where the machine's package sources have one, or what is known of it.
pub fn package(name: &str, version: &Version) -> Option<String> {
    let major = version.major;
    if CONTRIB.contains(&name) {
        return Some(format!(
            "`{name}` is one of PostgreSQL's contrib modules: Debian's and Ubuntu's `postgresql-{major}` has it, and a build without them (such as the PyPI wheels) does not"
        ));
    }
    let debian = match name {
        "vector" => "pgvector".to_string(),
        "postgis" | "postgis_raster" | "postgis_topology" | "postgis_tiger_geocoder" => {
            "postgis-3".to_string()
        }
        "pg_cron" => "cron".to_string(),
        other => other.replace('_', "-"),
    };
    let package = format!("postgresql-{major}-{debian}");
    apt_has(&package)
        .then(|| format!("`apt-get install {package}` (in this machine's package sources)"))
}

/// Whether the machine's apt sources offer `package` (false without apt).
fn apt_has(package: &str) -> bool {
    Command::new("apt-cache")
        .args(["show", "--no-all-versions", package])
        .output()
        .is_ok_and(|o| o.status.success() && !o.stdout.is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debian_keeps_extensions_under_usr_share() {
        let dirs = extension_dirs(Path::new("/usr/lib/postgresql/15/bin"));
        assert_eq!(
            dirs[0],
            Path::new("/usr/share/postgresql/15/extension"),
            "{dirs:?}"
        );
        let dirs = extension_dirs(Path::new("/usr/pgsql-16/bin"));
        assert_eq!(
            dirs[0],
            Path::new("/usr/pgsql-16/share/postgresql/extension")
        );
        assert!(dirs.contains(&PathBuf::from("/usr/pgsql-16/share/extension")));
    }

    #[test]
    fn contrib_modules_are_named_as_such() {
        let v = Version::new(16, 4, 0);
        assert!(package("uuid-ossp", &v).unwrap().contains("contrib"));
    }
}
