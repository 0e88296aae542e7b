//! `berth cache` and `berth cache clean`: the native runtime's cache of
//! initialized data (a pristine PostgreSQL cluster per server version and
//! superuser), which makes a cold `up` copy instead of running `initdb`,
//! and the container engine's volume templates, which do the same for
//! containers. `clean` also forgets the server programs' remembered
//! versions.

use serde::Serialize;

use crate::diagnostic::Tone;
use crate::error::{Error, Result};
use crate::runtime::native::skeletons::{Entry, Skeletons};
use crate::runtime::native::versions::Versions;
use crate::units::fmt_bytes;

use crate::cli::output::{self, note, paint, table};

#[derive(clap::Args)]
pub struct Args {
    #[command(subcommand)]
    what: Option<What>,
    /// Print the cache as JSON on stdout
    #[arg(long)]
    json: bool,
}

#[derive(clap::Subcommand)]
enum What {
    /// Remove everything in the cache (the next cold `up` rebuilds what it needs)
    Clean,
}

#[derive(Serialize)]
pub struct CacheReport {
    pub dir: String,
    pub entries: Vec<CachedEntry>,
    /// The container engine's volume templates (none listed when no
    /// engine answers).
    pub volume_templates: Vec<CachedTemplate>,
}

#[derive(Serialize)]
pub struct CachedTemplate {
    pub volume: String,
    pub image: String,
    /// What it was initialized with, the secret left out.
    pub env: String,
    /// False for the marker of an image that cannot have one (it runs
    /// init scripts of its own).
    pub usable: bool,
}

#[derive(Serialize)]
pub struct CachedEntry {
    #[serde(flatten)]
    pub entry: Entry,
    /// Whether its files match its checksum (a damaged entry is rebuilt
    /// by the next `up` that needs it).
    pub sound: bool,
}

/// The cache as `berth cache` and `berth doctor` show it.
pub fn report() -> Option<CacheReport> {
    let cache = Skeletons::locate()?;
    Some(CacheReport {
        dir: cache.root().display().to_string(),
        entries: cache
            .list()
            .into_iter()
            .map(|(entry, sound)| CachedEntry { entry, sound })
            .collect(),
        volume_templates: volume_templates().unwrap_or_default(),
    })
}

/// The engine's volume templates; `None` when no engine answers.
fn volume_templates() -> Option<Vec<CachedTemplate>> {
    #[cfg(feature = "container")]
    {
        use crate::runtime::container::{engine::Engine, runtime::volume_template};
        let engine = Engine::new().ok()?;
        let listed = volume_template::list(&engine).ok()?;
        Some(
            listed
                .into_iter()
                .map(|t| CachedTemplate {
                    volume: t.volume,
                    image: t.image,
                    env: t.env,
                    usable: t.usable,
                })
                .collect(),
        )
    }
    #[cfg(not(feature = "container"))]
    None
}

/// Remove the engine's volume templates, when an engine answers.
fn clean_volume_templates() -> Result<()> {
    #[cfg(feature = "container")]
    {
        use crate::runtime::container::{engine::Engine, runtime::volume_template};
        let engine = Engine::new()?;
        if engine.docker(None).is_err() {
            return Ok(());
        }
        let (removed, in_use) = volume_template::remove_all(&engine)?;
        if !removed.is_empty() {
            note(&format!(
                "removed {} volume template(s) from the container engine",
                removed.len()
            ));
        }
        if !in_use.is_empty() {
            output::warning(&format!(
                "kept {} volume template(s) a copy is reading now ({}); run `berth cache clean` again when it is done",
                in_use.len(),
                in_use.join(", ")
            ));
        }
    }
    Ok(())
}

pub fn run(args: Args) -> Result<()> {
    let Some(cache) = Skeletons::locate() else {
        return Err(Error::usage(
            "there is no cache: neither `BERTH_CACHE_DIR`, `XDG_CACHE_HOME` nor `HOME` is set",
            Some("set `BERTH_CACHE_DIR` to a directory for berth's cache".into()),
        ));
    };
    match args.what {
        Some(What::Clean) => {
            let freed = cache.clean()?;
            Versions::locate().clean()?;
            note(&format!(
                "removed the cache in `{}` ({} freed)",
                cache.root().display(),
                fmt_bytes(freed)
            ));
            clean_volume_templates()?;
        }
        None => {
            let Some(report) = report() else {
                return Ok(());
            };
            if args.json {
                output::print_json(&report);
                return Ok(());
            }
            if !report.volume_templates.is_empty() {
                let rows: Vec<Vec<String>> = report
                    .volume_templates
                    .iter()
                    .map(|t| {
                        vec![
                            t.volume.clone(),
                            t.image.clone(),
                            t.env.clone(),
                            if t.usable {
                                "ready".into()
                            } else {
                                "not usable: the image runs init scripts".into()
                            },
                        ]
                    })
                    .collect();
                print!(
                    "{}",
                    table(
                        &["VOLUME TEMPLATE", "IMAGE", "INITIALIZED WITH", "STATE"],
                        &rows
                    )
                );
            }
            if report.entries.is_empty() {
                note(&format!(
                    "the cache in `{}` is empty; the next cold `berth up` fills it",
                    report.dir
                ));
                return Ok(());
            }
            let rows: Vec<Vec<String>> = report
                .entries
                .iter()
                .map(|e| {
                    vec![
                        e.entry.describes.clone(),
                        format!("{} {}", e.entry.program, e.entry.version),
                        fmt_bytes(e.entry.bytes),
                        e.entry.created.clone(),
                        if e.sound {
                            "sound".into()
                        } else {
                            paint("damaged: rebuilt when next used", Tone::Warning, false)
                        },
                    ]
                })
                .collect();
            print!(
                "{}",
                table(&["MAKES", "SERVER", "SIZE", "CREATED", "STATE"], &rows)
            );
            note(&format!(
                "in `{}`; `berth cache clean` removes it",
                report.dir
            ));
        }
    }
    Ok(())
}
