//! `berth init`: a commented starter stack, and `.gitignore` entries for
//! what berth generates.

use std::path::Path;

use crate::config::model::FILE_NAME;
use crate::error::{Error, Result};
use crate::fsutil;

use crate::cli::context::Context;
use crate::cli::output::note;

#[derive(clap::Args)]
pub struct Args {
    /// Overwrite an existing stack file
    #[arg(long)]
    force: bool,
}

const STARTER: &str = r#"#:schema ./.berth/schema.json
# berth.toml: this project's local data infrastructure.
# `berth up` starts it, `berth down` stops it (keeping data), `berth reset` wipes it.
# The first line points editors (taplo / Even Better TOML) at the keys' schema.
# Every value can be overridden by an environment variable BERTH_<SERVICE>_<KEY>,
# e.g. BERTH_POSTGRES_PORT=5440, and by a profile: `berth --profile test up`.

name = "{name}"

[services.postgres]
# version = "15"            # a constraint on the server version
port = "auto"               # or a number; "auto" is chosen once and kept
# user = "postgres"
# password = "..."          # default: generated, kept in .berth/ (mode 0600)
# database = "{db}"
# databases = ["analytics"] # extra databases
# extensions = ["pgcrypto"]
# settings = { max_connections = 200 }
# migrations = "migrations/postgres"  # NNN_description.sql, applied by `berth up` and `berth migrate`
# seeds = "seeds/postgres"            # *.sql, run once on a new database and by `berth seed`

[services.redis]
port = "auto"
# persist = true            # keep keys across restarts (append-only file)
# maxmemory = "128mb"
# depends_on = ["postgres"]

# When the app needs them: S3-compatible object storage, and a connection pooler.
# [services.storage]
# kind = "s3"
# buckets = ["uploads"]     # files under seeds/storage/uploads/ are put into it
#
# [services.pool]
# kind = "pgbouncer"        # in front of the postgres service: use ${pool.url}

[env]
file = ".env"               # written atomically, mode 0600, on every `berth up`
[env.vars]
DATABASE_URL = "${postgres.url}"
REDIS_URL = "${redis.url}"

# Explicit variable names that override single values:
# [overrides]
# MYAPP_PG_PORT = "postgres.port"

[profiles.test.services.postgres]
settings = { fsync = "off", synchronous_commit = "off" }
"#;

pub fn run(ctx: &Context, args: Args) -> Result<()> {
    let path = match &ctx.file {
        Some(f) => f.clone(),
        None => std::env::current_dir()
            .map_err(|e| Error::io("could not read the current directory", e))?
            .join(FILE_NAME),
    };
    if path.exists() && !args.force {
        return Err(Error::usage(
            format!("`{}` already exists", path.display()),
            Some("pass `--force` to overwrite it".to_string()),
        ));
    }
    let dir = path.parent().unwrap_or(Path::new("."));
    let name: String = dir
        .file_name()
        .and_then(|n| n.to_str())
        .unwrap_or("app")
        .to_ascii_lowercase()
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' {
                c
            } else {
                '-'
            }
        })
        .collect::<String>()
        .trim_matches('-')
        .to_string();
    let name = if name.is_empty() {
        "app".to_string()
    } else {
        name
    };
    let text = STARTER
        .replace("{name}", &name)
        .replace("{db}", &name.replace('-', "_"));
    fsutil::write_output(&path, text.as_bytes(), 0o644)?;
    note(&format!("wrote `{}`", path.display()));
    super::schema::refresh_beside(&path);
    let added = ignore(dir, &[".berth/", ".env"])?;
    if !added.is_empty() {
        note(&format!("added {} to `.gitignore`", added.join(", ")));
    }
    Ok(())
}

/// Append the entries `.gitignore` lacks; returns those added.
fn ignore(dir: &Path, entries: &[&str]) -> Result<Vec<String>> {
    let path = dir.join(".gitignore");
    let existing = std::fs::read_to_string(&path).unwrap_or_default();
    let missing: Vec<&str> = entries
        .iter()
        .copied()
        .filter(|e| {
            !existing
                .lines()
                .any(|l| l.trim() == *e || l.trim() == e.trim_end_matches('/'))
        })
        .collect();
    if missing.is_empty() {
        return Ok(Vec::new());
    }
    let mut text = existing.clone();
    if !text.is_empty() && !text.ends_with('\n') {
        text.push('\n');
    }
    text.push_str("# berth: local state and the generated env file\n");
    for e in &missing {
        text.push_str(e);
        text.push('\n');
    }
    fsutil::write_output(&path, text.as_bytes(), 0o644)?;
    Ok(missing.iter().map(|e| format!("`{e}`")).collect())
}

#[cfg(test)]
mod tests {
    /// The starter's first line is the one `berth up` looks for.
    #[test]
    fn the_starter_points_editors_at_the_schema() {
        assert_eq!(
            super::STARTER.lines().next(),
            Some(crate::cli::commands::schema::DIRECTIVE)
        );
    }
}
