//! `berth schema`: the JSON Schema of `berth.toml`, for editors.

use std::path::{Path, PathBuf};

use crate::cli::output::{emit, note};
use crate::config::schema;
use crate::error::Result;
use crate::fsutil;

/// Where `berth init` puts the schema, and the directive that points the
/// stack file at it (taplo / Even Better TOML read `#:schema`).
pub const LOCAL_FILE: &str = ".berth/schema.json";
pub const DIRECTIVE: &str = "#:schema ./.berth/schema.json";

#[derive(clap::Args)]
#[command(
    after_help = "Editors: a stack file whose first line is `#:schema ./.berth/schema.json` \
(what `berth init` writes) is completed and checked by taplo / Even Better TOML; \
`berth up` keeps that file current."
)]
pub struct Args {
    /// Write it to this file instead of standard output
    #[arg(long, short, value_name = "PATH")]
    output: Option<PathBuf>,
}

pub fn run(args: Args) -> Result<()> {
    let text = text();
    match args.output {
        None => emit(text.as_bytes())?,
        Some(path) => {
            fsutil::write_output(&path, text.as_bytes(), 0o644)?;
            note(&format!("wrote `{}`", path.display()));
        }
    }
    Ok(())
}

/// The schema as the file holds it.
pub fn text() -> String {
    let mut text = serde_json::to_string_pretty(&schema::stack_file()).unwrap_or_default();
    text.push('\n');
    text
}

/// Keep `.berth/schema.json` beside a stack file that points at it current
/// (a teammate's clone has none yet; a newer berth knows more keys).
/// Quiet, and never an error: the schema only helps editors.
pub fn refresh_beside(stack_file: &Path) {
    let Ok(head) = std::fs::read_to_string(stack_file) else {
        return;
    };
    if !head.lines().take(3).any(|l| l.trim() == DIRECTIVE) {
        return;
    }
    let Some(dir) = stack_file.parent() else {
        return;
    };
    let path = dir.join(LOCAL_FILE);
    let text = text();
    if std::fs::read_to_string(&path).ok().as_deref() == Some(text.as_str()) {
        return;
    }
    if let Some(parent) = path.parent() {
        let _ = std::fs::create_dir_all(parent);
    }
    let _ = fsutil::write_output(&path, text.as_bytes(), 0o644);
}
