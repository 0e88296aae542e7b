//! `berth export compose`, `berth export kubernetes`

use std::path::{Path, PathBuf};

use crate::compose::export_compose::{self, Output, SECRETS_HEADER};
use crate::compose::export_kubernetes;
use crate::config::load;
use crate::config::model::LoadOptions;
use crate::error::{Error, Result};
use crate::lifecycle::inspect;
use crate::stack::settle::settle;
use crate::{fsutil, image_lock};

use crate::cli::context::Context;
use crate::cli::output::note;

#[derive(clap::Args)]
pub struct Args {
    #[command(subcommand)]
    what: What,
}

#[derive(clap::Subcommand)]
enum What {
    /// Write a compose file (and its `.env` of secrets) that runs the stack
    Compose(ComposeArgs),
    /// Write Kubernetes manifests for a namespace (and a kustomization)
    Kubernetes(KubernetesArgs),
}

#[derive(clap::Args)]
struct ComposeArgs {
    /// The compose file to write; its `.env` and mounted files go beside it
    #[arg(
        short,
        long,
        value_name = "FILE",
        default_value = "compose/compose.yaml"
    )]
    output: PathBuf,
}

#[derive(clap::Args)]
struct KubernetesArgs {
    /// The directory to write the manifests into
    #[arg(short, long, value_name = "DIR", default_value = "kubernetes")]
    output: PathBuf,
}

pub fn run(ctx: &Context, args: Args) -> Result<()> {
    // Every service as a container, whatever the file says.
    let options = LoadOptions {
        runtime: Some("container".into()),
        ..ctx.options.clone()
    };
    let file = ctx.stack_file()?;
    let env = |k: &str| std::env::var(k).ok();
    let config = load::load(&file, &options, &env)?;
    let as_written = load::load(&file, &ctx.options, &env)?;
    let dir = inspect::state_dir(&config, ctx.state_dir.as_deref())?;
    // Ports and secrets the stack has chosen, and any it has not yet,
    // chosen now for the export only (the state is not written).
    let mut state = dir.load()?;
    settle(&config, &mut state)?;
    let lock = image_lock::load(&config.root)?;
    let here = std::env::current_dir()
        .map_err(|e| Error::io("could not read the current directory", e))?;
    match args.what {
        What::Compose(args) => {
            let path = here.join(&args.output);
            let out_dir = path.parent().map(Path::to_path_buf).unwrap_or(here.clone());
            let name = path
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_else(|| "compose.yaml".into());
            let outputs = export_compose::export(
                &config,
                &as_written,
                &dir,
                &state,
                lock.as_ref(),
                &out_dir,
                &name,
            )?;
            // Compose's `.env` beside the file may be someone else's.
            let env_file = out_dir.join(".env");
            if let Ok(text) = std::fs::read_to_string(&env_file) {
                if !text.trim().is_empty() && !text.starts_with(SECRETS_HEADER) {
                    return Err(Error::usage(
                        format!("`{}` exists and was not written by `berth export compose`", crate::diagnostic::shown_path(&env_file)),
                        Some("export into a directory of its own: `berth export compose -o DIR/compose.yaml`".into()),
                    ));
                }
            }
            write_all(&out_dir, &outputs)?;
            note(&format!(
                "wrote `{}` and its secrets in `{}`: `docker compose -f {} up -d` runs the stack",
                crate::diagnostic::shown_path(&path),
                crate::diagnostic::shown_path(&env_file),
                crate::diagnostic::shown_path(&path),
            ));
        }
        What::Kubernetes(args) => {
            let out_dir = here.join(&args.output);
            let outputs = export_kubernetes::export(&config, &dir, &state, lock.as_ref())?;
            write_all(&out_dir, &outputs)?;
            note(&format!(
                "wrote {} manifests to `{}` (secrets in `secret.yaml`): `kubectl apply -k {}` runs the stack in namespace `{}`",
                outputs.len(),
                crate::diagnostic::shown_path(&out_dir),
                crate::diagnostic::shown_path(&out_dir),
                config.name
            ));
        }
    }
    Ok(())
}

fn write_all(dir: &Path, outputs: &[Output]) -> Result<()> {
    for out in outputs {
        let path = dir.join(&out.path);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent)
                .map_err(|e| Error::io(format!("could not create `{}`", parent.display()), e))?;
        }
        fsutil::write_output(&path, out.text.as_bytes(), out.mode)?;
    }
    Ok(())
}
