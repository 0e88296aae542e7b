//! `berth backup` and `berth restore FILE`: portable backups of a running
//! stack, one archive to keep or carry to another machine (and another
//! server version), unlike a snapshot, which is this stack's own data.
//!
//! The archive is a tar: `berth-backup.json` (the stack, each service's
//! server, each file's SHA-256 and size) and `<service>/<file>` — a
//! `pg_dump` per database, a Redis RDB. Each kind makes and loads its own
//! files with its server's own tools, run where the server runs.
//!
//! A restore checks the whole archive first (every file against its
//! checksum, the stack and its services), then loads it so that nothing
//! is replaced before all of it loaded: PostgreSQL swaps restored
//! databases in at once; Redis starts on a new data generation.

use std::io::{Read, Write};
use std::path::{Component, Path, PathBuf};

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use super::inspect;
use super::locking;
use super::tools::RuntimeTools;
use super::up::{up_with, UpOptions};
use crate::config::model::StackConfig;
use crate::error::{Error, Result};
use crate::events::{Phase, Reporter, Stored};
use crate::fsutil;
use crate::interrupt::Interrupt;
use crate::kill_point;
use crate::kind::contract::{BackupFile, Restore};
use crate::runtime::contract::{RunState, Server};
use crate::runtime::registry::Runtimes;
use crate::stack::resolved::{Pins, Stack};
use crate::stack::service::Service;
use crate::state::StateDir;

const MANIFEST: &str = "berth-backup.json";
const FORMAT: u32 = 1;

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct BackupManifest {
    pub format: u32,
    pub stack: String,
    /// RFC 3339.
    pub created: String,
    pub services: Vec<BackedUp>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct BackedUp {
    pub service: String,
    pub kind: String,
    pub server: Server,
    pub files: Vec<ArchivedFile>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ArchivedFile {
    #[serde(flatten)]
    pub file: BackupFile,
    pub sha256: String,
    pub bytes: u64,
}

impl BackupManifest {
    pub fn bytes(&self) -> u64 {
        self.services
            .iter()
            .flat_map(|s| &s.files)
            .map(|f| f.bytes)
            .sum()
    }
}

/// The running services a backup covers: all that back up, or `only`.
fn chosen<'s>(
    stack: &'s Stack,
    runtimes: &Runtimes,
    only: Option<&str>,
) -> Result<Vec<&'s Service>> {
    let takers: Vec<&Service> = stack
        .services
        .iter()
        .filter(|s| s.settings.backs_up())
        .collect();
    let picked: Vec<&Service> = match only {
        None => takers.clone(),
        Some(name) => match takers.iter().find(|s| s.name == name) {
            Some(s) => vec![*s],
            None => {
                let names: Vec<&str> = takers.iter().map(|s| s.name.as_str()).collect();
                return Err(Error::usage(
                    match stack.service(name) {
                        Some(s) => format!(
                            "service `{name}` is a {} service, which has no portable backup",
                            s.kind()
                        ),
                        None => format!("no service `{name}` in stack `{}`", stack.name()),
                    },
                    Some(format!(
                        "the services it backs up are: {}",
                        crate::suggest::list(&names)
                    )),
                ));
            }
        },
    };
    if picked.is_empty() {
        return Err(Error::usage(
            format!("stack `{}` has no service with a portable backup", stack.name()),
            Some("postgres and redis services have one; `berth snapshot save` keeps any service's data".into()),
        ));
    }
    for svc in &picked {
        if !matches!(
            runtimes.of(&svc.plan)?.state(&svc.plan)?,
            RunState::Running { .. }
        ) {
            return Err(Error::usage(
                format!("service `{}` is not running", svc.name),
                Some(
                    "start the stack with `berth up`: its own tools make and load the backup"
                        .into(),
                ),
            ));
        }
    }
    Ok(picked)
}

/// What `berth backup` did.
#[derive(Debug, Clone, Serialize)]
pub struct BackupReport {
    pub file: PathBuf,
    pub manifest: BackupManifest,
}

/// Back up the running stack (or service `only`) into the archive `output`.
pub fn backup(
    config: StackConfig,
    dir: StateDir,
    only: Option<&str>,
    output: &Path,
    interrupt: &Interrupt,
    reporter: &dyn Reporter,
) -> Result<BackupReport> {
    let runtimes = Runtimes::new(&config.name, &dir);
    let _lock = locking::lock(&config, &dir, "backup", interrupt, reporter)?;
    let stack = inspect::open(config, dir)?;
    let services = chosen(&stack, &runtimes, only)?;
    let scratch = scratch_dir(&stack.dir, "backup")?;
    let made = (|| -> Result<BackupManifest> {
        let mut manifest = BackupManifest {
            format: FORMAT,
            stack: stack.name().to_string(),
            created: jiff::Timestamp::now().to_string(),
            services: Vec::new(),
        };
        for svc in &services {
            let runtime = runtimes.of(&svc.plan)?;
            reporter.phase(&svc.name, Phase::Saving);
            let dest = scratch.join(&svc.name);
            fsutil::create_dir(&dest, 0o700)?;
            let tools = RuntimeTools::new(runtime.as_ref(), &svc.plan)?;
            let files =
                svc.with_context(|ctx| svc.settings.backup(ctx, &svc.endpoint(), &tools, &dest))?;
            let mut archived = Vec::new();
            for file in files {
                let (sha256, bytes) = hash(&dest.join(&file.file))?;
                archived.push(ArchivedFile {
                    file,
                    sha256,
                    bytes,
                });
            }
            reporter.phase(
                &svc.name,
                Phase::Saved {
                    bytes: archived.iter().map(|f| f.bytes).sum(),
                    how: Stored::Copied,
                },
            );
            manifest.services.push(BackedUp {
                service: svc.name.clone(),
                kind: svc.kind().to_string(),
                server: runtime.server(&svc.plan)?,
                files: archived,
            });
        }
        kill_point::reached(|| "backup:archive".into());
        write_archive(output, &manifest, &scratch)?;
        Ok(manifest)
    })();
    let _ = fsutil::remove_dir_atomically(&scratch);
    Ok(BackupReport {
        file: output.to_path_buf(),
        manifest: made?,
    })
}

/// The archive, written beside `output` and renamed into place when whole.
fn write_archive(output: &Path, manifest: &BackupManifest, from: &Path) -> Result<()> {
    let name = output
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let partial = output.with_file_name(format!(".{name}.partial-{}", std::process::id()));
    let written = (|| -> std::io::Result<()> {
        let file = std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&partial)?;
        let mut tar = tar::Builder::new(std::io::BufWriter::new(file));
        let json = serde_json::to_vec_pretty(manifest).map_err(std::io::Error::other)?;
        let mut header = tar::Header::new_gnu();
        header.set_size(json.len() as u64);
        header.set_mode(0o600);
        header.set_cksum();
        tar.append_data(&mut header, MANIFEST, json.as_slice())?;
        for svc in &manifest.services {
            for f in &svc.files {
                tar.append_path_with_name(
                    from.join(&svc.service).join(&f.file.file),
                    format!("{}/{}", svc.service, f.file.file),
                )?;
            }
        }
        let file = tar.into_inner()?.into_inner().map_err(|e| e.into_error())?;
        file.sync_all()
    })();
    if let Err(e) = written {
        let _ = std::fs::remove_file(&partial);
        let message = if e.kind() == std::io::ErrorKind::StorageFull {
            format!("no space left to write `{}`", output.display())
        } else {
            format!("could not write `{}`", output.display())
        };
        return Err(Error::io(message, e));
    }
    std::fs::rename(&partial, output)
        .map_err(|e| Error::io(format!("could not write `{}`", output.display()), e))
}

/// What `berth restore` did.
#[derive(Debug, Clone, Serialize)]
pub struct RestoreReport {
    pub file: PathBuf,
    pub services: Vec<String>,
    pub created: String,
}

/// Load the archive `file` into the running stack.
pub fn restore(
    config: StackConfig,
    dir: StateDir,
    file: &Path,
    interrupt: &Interrupt,
    reporter: &dyn Reporter,
) -> Result<RestoreReport> {
    let runtimes = Runtimes::new(&config.name, &dir);
    dir.ensure()?;
    let scratch = scratch_dir(&dir, "restore")?;
    let result = (|| -> Result<(RestoreReport, bool)> {
        let manifest = unpack(file, &scratch)?;
        let _lock = locking::lock(&config, &dir, "restore", interrupt, reporter)?;
        let mut state = dir.load()?;
        let stack = Stack::resolve(config.clone(), dir.clone(), &state, &Pins::new());
        check(&stack, &manifest, file)?;
        let only: Vec<&str> = manifest
            .services
            .iter()
            .map(|s| s.service.as_str())
            .collect();
        for name in &only {
            chosen(&stack, &runtimes, Some(name))?;
        }
        let mut restart = false;
        for backed in &manifest.services {
            let Some(svc) = stack.service(&backed.service) else {
                continue;
            };
            let runtime = runtimes.of(&svc.plan)?;
            reporter.phase(&svc.name, Phase::Restoring);
            let files: Vec<(BackupFile, PathBuf)> = backed
                .files
                .iter()
                .map(|f| (f.file.clone(), scratch.join(&svc.name).join(&f.file.file)))
                .collect();
            let own_scratch = scratch.join(format!(".{}", svc.name));
            fsutil::create_dir(&own_scratch, 0o700)?;
            let tools = RuntimeTools::new(runtime.as_ref(), &svc.plan)?;
            let how = svc.with_context(|ctx| {
                svc.settings
                    .restore(ctx, &svc.endpoint(), &tools, &files, &own_scratch)
            })?;
            if let Restore::NewData(data) = how {
                // A new data generation, switched to by saving the state.
                kill_point::reached(|| format!("{}:stop", svc.name));
                runtime.stop(&svc.plan)?;
                let generation = svc.plan.generation + 1;
                runtime.load_files(&svc.plan, &data, generation)?;
                state.generations.insert(svc.name.clone(), generation);
                state.provisioned.remove(&svc.name);
                kill_point::reached(|| format!("{}:commit", svc.name));
                dir.save(&state)?;
                let next = Stack::resolve(config.clone(), dir.clone(), &state, &Pins::new());
                if let Some(now) = next.service(&svc.name) {
                    runtime.clear_leftovers(&now.plan)?;
                }
                restart = true;
            }
            reporter.phase(&svc.name, Phase::Restored);
        }
        Ok((
            RestoreReport {
                file: file.to_path_buf(),
                services: only.iter().map(|s| s.to_string()).collect(),
                created: manifest.created.clone(),
            },
            restart,
        ))
    })();
    let _ = fsutil::remove_dir_atomically(&scratch);
    let (report, restart) = result?;
    if restart {
        up_with(
            config,
            dir,
            &runtimes,
            &UpOptions {
                interrupt: interrupt.clone(),
                ..UpOptions::default()
            },
            reporter,
        )?;
    }
    Ok(report)
}

/// Unpack the archive into `into`, checking every file against the
/// manifest. Returns the manifest.
fn unpack(file: &Path, into: &Path) -> Result<BackupManifest> {
    let damaged = |why: String| Error::Snapshot {
        message: format!("`{}` is damaged or incomplete: {why}", file.display()),
        hint: Some("nothing was changed; use another copy of the backup".into()),
    };
    let reader = std::fs::File::open(file)
        .map_err(|e| Error::io(format!("could not read `{}`", file.display()), e))?;
    let mut archive = tar::Archive::new(std::io::BufReader::new(reader));
    let mut manifest: Option<BackupManifest> = None;
    let mut found: Vec<(String, String, u64)> = Vec::new();
    let foreign = |why: String| Error::Snapshot {
        message: format!("`{}` is not a berth backup: {why}", file.display()),
        hint: Some("`berth backup` writes one; nothing was changed".into()),
    };
    let entries = archive
        .entries()
        .map_err(|e| foreign(format!("not a tar archive ({e})")))?;
    let mut first = true;
    for entry in entries {
        let mut entry = match entry {
            Ok(e) => e,
            // Nothing read yet: this is no archive at all.
            Err(e) if first => return Err(foreign(format!("not a tar archive ({e})"))),
            Err(e) => return Err(damaged(e.to_string())),
        };
        first = false;
        let path = entry
            .path()
            .map_err(|e| damaged(e.to_string()))?
            .into_owned();
        if path
            .components()
            .any(|c| !matches!(c, Component::Normal(_)))
        {
            return Err(damaged(format!(
                "it holds the path `{}`, outside the archive",
                path.display()
            )));
        }
        let name = path.display().to_string();
        if name == MANIFEST {
            let mut text = Vec::new();
            entry
                .read_to_end(&mut text)
                .map_err(|e| damaged(e.to_string()))?;
            manifest = Some(
                serde_json::from_slice(&text)
                    .map_err(|e| damaged(format!("its manifest does not read ({e})")))?,
            );
            continue;
        }
        let target = into.join(&path);
        if let Some(parent) = target.parent() {
            std::fs::create_dir_all(parent)
                .map_err(|e| Error::io(format!("could not create `{}`", parent.display()), e))?;
        }
        let mut out = std::fs::File::create(&target)
            .map_err(|e| Error::io(format!("could not create `{}`", target.display()), e))?;
        let mut digest = Sha256::new();
        let mut buf = vec![0u8; 1 << 20];
        let mut bytes = 0u64;
        loop {
            let n = entry.read(&mut buf).map_err(|e| damaged(e.to_string()))?;
            if n == 0 {
                break;
            }
            digest.update(&buf[..n]);
            out.write_all(&buf[..n])
                .map_err(|e| Error::io(format!("could not write `{}`", target.display()), e))?;
            bytes += n as u64;
        }
        found.push((name, hex(&digest.finalize()), bytes));
    }
    let manifest = manifest.ok_or_else(|| foreign(format!("it holds no `{MANIFEST}`")))?;
    if manifest.format != FORMAT {
        return Err(damaged(format!(
            "it is in format {}, which this berth does not read",
            manifest.format
        )));
    }
    for svc in &manifest.services {
        for f in &svc.files {
            let name = format!("{}/{}", svc.service, f.file.file);
            match found.iter().find(|(n, _, _)| *n == name) {
                None => return Err(damaged(format!("`{name}` is missing"))),
                Some((_, sha, bytes)) if *sha != f.sha256 || *bytes != f.bytes => {
                    return Err(damaged(format!("`{name}` does not match its checksum")))
                }
                Some(_) => {}
            }
        }
    }
    Ok(manifest)
}

/// The archive must be of this stack, its services of the same kinds.
fn check(stack: &Stack, manifest: &BackupManifest, file: &Path) -> Result<()> {
    let refuse = |message: String, hint: &str| Error::Snapshot {
        message,
        hint: Some(hint.to_string()),
    };
    if manifest.stack != stack.name() {
        return Err(refuse(
            format!("`{}` is a backup of stack `{}`, not of `{}`", file.display(), manifest.stack, stack.name()),
            "restore it into that stack (`--name`), or into a stack file with its services; nothing was changed",
        ));
    }
    for backed in &manifest.services {
        match stack.service(&backed.service) {
            None => {
                return Err(refuse(
                    format!(
                        "`{}` holds service `{}`, which the stack file does not have",
                        file.display(),
                        backed.service
                    ),
                    "add it back to the stack file to restore it; nothing was changed",
                ))
            }
            Some(svc) if svc.kind() != backed.kind => {
                return Err(refuse(
                    format!(
                        "`{}` holds {} data for service `{}`, which is a {} service now",
                        file.display(),
                        backed.kind,
                        svc.name,
                        svc.kind()
                    ),
                    "nothing was changed",
                ))
            }
            Some(_) => {}
        }
    }
    Ok(())
}

/// A scratch directory in the state directory (same disk as the data),
/// after removing what an earlier run cut short left.
fn scratch_dir(dir: &StateDir, what: &str) -> Result<PathBuf> {
    dir.ensure()?;
    if let Ok(entries) = std::fs::read_dir(&dir.root) {
        for entry in entries.flatten() {
            if entry
                .file_name()
                .to_string_lossy()
                .starts_with(&format!(".{what}-"))
            {
                let _ = fsutil::remove_dir_atomically(&entry.path());
            }
        }
    }
    let scratch = dir.root.join(format!(".{what}-{}", std::process::id()));
    fsutil::create_dir(&scratch, 0o700)?;
    Ok(scratch)
}

fn hash(path: &Path) -> Result<(String, u64)> {
    let mut file = std::fs::File::open(path)
        .map_err(|e| Error::io(format!("could not read `{}`", path.display()), e))?;
    let mut digest = Sha256::new();
    let mut buf = vec![0u8; 1 << 20];
    let mut bytes = 0;
    loop {
        let n = file
            .read(&mut buf)
            .map_err(|e| Error::io(format!("could not read `{}`", path.display()), e))?;
        if n == 0 {
            break;
        }
        digest.update(&buf[..n]);
        bytes += n as u64;
    }
    Ok((hex(&digest.finalize()), bytes))
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}
