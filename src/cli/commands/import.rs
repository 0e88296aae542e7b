//! `berth import compose`

use std::path::PathBuf;

use crate::compose::file::{self, CANDIDATES};
use crate::compose::import::{self, Options};
use crate::config::model::FILE_NAME;
use crate::error::{Error, Result};
use crate::fsutil;

use crate::cli::context::Context;
use crate::cli::output::{self, note, table, warning};

#[derive(clap::Args)]
pub struct Args {
    #[command(subcommand)]
    what: What,
}

#[derive(clap::Subcommand)]
enum What {
    /// Write a `berth.toml` from a compose file (`--runtime container` keeps every service in a container)
    Compose(ComposeArgs),
}

#[derive(clap::Args)]
struct ComposeArgs {
    /// The compose file [default: the one Compose would find here]
    file: Option<PathBuf>,
    /// Where to write the stack file [default: `berth.toml` beside the compose file]
    #[arg(short, long, value_name = "PATH")]
    output: Option<PathBuf>,
    /// Overwrite an existing stack file
    #[arg(long)]
    force: bool,
    /// Print the report as JSON on stdout
    #[arg(long)]
    json: bool,
}

pub fn run(ctx: &Context, args: Args) -> Result<()> {
    let What::Compose(args) = args.what;
    let here = std::env::current_dir()
        .map_err(|e| Error::io("could not read the current directory", e))?;
    let compose = match args.file {
        Some(f) => f,
        None => file::discover(&here).ok_or_else(|| {
            Error::usage(
                format!("no compose file in `{}`", here.display()),
                Some(format!(
                    "name one: `berth import compose FILE` (looked for {})",
                    crate::suggest::list(CANDIDATES)
                )),
            )
        })?,
    };
    if !compose.is_file() {
        return Err(Error::usage(
            format!("`{}` does not exist", compose.display()),
            None,
        ));
    }
    let containers = match ctx.options.runtime.as_deref() {
        None | Some("native") => false,
        Some("container") => true,
        Some(other) => {
            return Err(Error::usage(
                format!("unknown runtime `{other}`"),
                Some("the runtimes are: `native`, `container`".into()),
            ))
        }
    };
    let dir = compose
        .parent()
        .map(|p| p.to_path_buf())
        .unwrap_or_default();
    let target = args.output.unwrap_or_else(|| dir.join(FILE_NAME));
    if target.exists() && !args.force {
        return Err(Error::usage(
            format!("`{}` already exists", target.display()),
            Some("pass `--force` to overwrite it, or `-o PATH` to write elsewhere".into()),
        ));
    }
    let env = |k: &str| std::env::var(k).ok();
    let read = file::read(&compose, &env)?;
    // Paths the compose file names are relative to its directory; the
    // stack file may be written elsewhere (`-o`).
    let compose_dir = if dir.as_os_str().is_empty() {
        here.clone()
    } else {
        std::path::absolute(&dir).unwrap_or(dir.clone())
    };
    let target_dir = std::path::absolute(&target)
        .ok()
        .and_then(|t| t.parent().map(std::path::Path::to_path_buf))
        .unwrap_or(compose_dir.clone());
    let imported = import::import(
        &read,
        &Options {
            containers,
            stack_dir: Some(target_dir),
        },
    )?;

    // What berth writes must be a stack file berth reads: checked before
    // anything is written.
    let absolute = std::path::absolute(&target).unwrap_or(target.clone());
    let mut toml = imported.toml.clone();
    // An app's own `.env` beside the compose file (Compose reads it for
    // variables) must not become berth's env file.
    let dotenv = absolute.parent().map(|d| d.join(".env"));
    if dotenv.is_some_and(|p| p.exists()) && !toml.contains("\n[env]\n") {
        toml.push_str("\n[env]\n# `.env` here is the compose project's; berth writes its own file.\nfile = \".env.berth\"\n");
    }
    crate::compose::loads::check(&read, &imported, &toml, &absolute, &env)?;
    fsutil::write_output(&target, toml.as_bytes(), 0o644)?;

    if args.json {
        output::print_json(&serde_json::json!({
            "from": compose.display().to_string(),
            "written": target.display().to_string(),
            "services": imported.report.services,
            "not_carried": imported.report.not_carried,
            "references": imported.report.references,
            "variables": imported.report.variables,
        }));
        return Ok(());
    }
    let rows: Vec<Vec<String>> = imported
        .report
        .services
        .iter()
        .map(|s| {
            vec![
                s.compose.clone(),
                s.service.clone(),
                s.kind.clone(),
                s.runtime.clone(),
                s.profiles.join(", "),
            ]
        })
        .collect();
    print!(
        "{}",
        table(
            &["COMPOSE", "SERVICE", "KIND", "RUNTIME", "PROFILES"],
            &rows
        )
    );
    let shown = crate::diagnostic::shown_path(&compose);
    for item in &imported.report.references {
        note(&format!(
            "{shown}:{} `{}`: {}",
            item.line, item.key, item.note
        ));
    }
    for item in &imported.report.variables {
        note(&format!(
            "{shown}:{} `{}`: {}",
            item.line, item.key, item.note
        ));
    }
    for item in &imported.report.not_carried {
        warning(&format!(
            "{shown}:{} `{}`: {}",
            item.line, item.key, item.note
        ));
    }
    note(&format!(
        "wrote `{}` from `{shown}`: {} service(s); {} thing(s) not carried over, listed above",
        crate::diagnostic::shown_path(&target),
        imported.report.services.len(),
        imported.report.not_carried.len()
    ));
    Ok(())
}
