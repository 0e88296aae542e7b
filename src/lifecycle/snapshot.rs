//! `berth snapshot save` and `restore`: every persistent service's data at
//! one moment, and back.
//!
//! - **Consistent**: a running stack is stopped for the copy (dependents
//!   first, as `down` does) and brought up again after it, so every
//!   server's files are at rest and all services are at the same moment.
//!   The copy shares the data's blocks where the file system can (a
//!   reflink), so the pause is short there; elsewhere it is a plain copy.
//! - **Atomic restore**: the snapshot's data is made into the next data
//!   generation of each service beside the current one, and saving the
//!   state with the new generations is the single step that switches to
//!   it. Cut short before that step, the stack keeps its data; after it,
//!   it has the snapshot's; the leftovers are removed by the next command.
//! - **Checked**: a restore verifies every file against the snapshot's
//!   digests (without reading data whose file-system fingerprint shows it
//!   untouched since it was last checked) and refuses a snapshot of another
//!   stack, runtime or server major version, before it changes anything.
//! - **A safety net**: `reset` and `restore` first take a snapshot of the
//!   data they replace (unless told not to), keeping the last few.

use std::collections::BTreeMap;
use std::os::unix::fs::MetadataExt;
use std::path::Path;
use std::time::{Duration, Instant};

use super::inspect;
use super::locking;
use super::stopping::{stop_all, Stop};
use super::up::{up_with, UpOptions};
use crate::config::model::StackConfig;
use crate::error::{Error, IoContext, Result};
use crate::events::{Phase, Reporter, Stored};
use crate::fsutil;
use crate::interrupt::Interrupt;
use crate::kill_point;
use crate::runtime::contract::Runtime;
use crate::runtime::registry::Runtimes;
use crate::snapshot::store::{self, check_name, Manifest, ServiceData, Store, FORMAT};
use crate::stack::resolved::{Pins, Stack};
use crate::stack::service::Service;
use crate::state::StateDir;
use crate::tree_copy::{self, Copied};

/// What `snapshot save` did.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Saved {
    pub manifest: Manifest,
    /// How long the services were stopped for the copy (none if the stack
    /// was not running).
    #[serde(serialize_with = "crate::time::serialize_ms")]
    pub paused: Duration,
}

/// Take snapshot `name` (default: the time) of the stack's data.
pub fn save(
    config: StackConfig,
    dir: StateDir,
    name: Option<String>,
    interrupt: &Interrupt,
    reporter: &dyn Reporter,
) -> Result<Saved> {
    let runtimes = Runtimes::new(&config.name, &dir);
    save_with(config, dir, &runtimes, name, interrupt, reporter)
}

pub fn save_with(
    config: StackConfig,
    dir: StateDir,
    runtimes: &Runtimes,
    name: Option<String>,
    interrupt: &Interrupt,
    reporter: &dyn Reporter,
) -> Result<Saved> {
    let name = name.unwrap_or_else(|| store::name_for_now(None));
    check_name(&name)?;
    let store = Store::of(&dir);
    store.check_ours()?;
    if store.exists(&name) {
        return Err(Error::usage(
            format!("there is a snapshot `{name}` already"),
            Some(format!(
                "choose another name, or remove it first with `berth snapshot rm {name}`"
            )),
        ));
    }
    let stack_name = config.name.clone();
    let (taken, was_running, paused_at) = {
        let _lock = locking::lock(&config, &dir, "snapshot save", interrupt, reporter)?;
        let stack = inspect::open(config.clone(), dir.clone())?;
        let heads = migration_heads(&stack, runtimes);
        let was_running = stop_all(&stack, runtimes, reporter, Stop::Cleanly)?;
        let paused_at = Instant::now();
        kill_point::reached(|| "snapshot:stopped".into());
        let taking = Taking {
            name: &name,
            automatic: None,
            heads: &heads,
            hold: Hold::Copy(Checksum::Now),
        };
        let taken = capture(&stack, runtimes, &store, taking, reporter);
        (taken, was_running, paused_at)
    };
    // Up again as it was, whether or not the copy worked.
    if !was_running.is_empty() {
        restart(config, dir, runtimes, interrupt, reporter)?;
    }
    let manifest = taken?.ok_or_else(|| {
        Error::usage(
            format!("stack `{stack_name}` has no data to snapshot yet"),
            Some("`berth up` makes it; services with `persist = false` keep none".into()),
        )
    })?;
    Ok(Saved {
        manifest,
        paused: if was_running.is_empty() {
            Duration::ZERO
        } else {
            paused_at.elapsed()
        },
    })
}

/// The snapshot `reset` and `restore` take before they replace the data
/// (the stack stopped, its lock held): named for the time and `reason`,
/// marked automatic, and the oldest automatic ones beyond the stack's
/// `[snapshots] keep` removed. None when there is no data to keep.
pub fn safety_net(
    stack: &Stack,
    runtimes: &Runtimes,
    reason: &str,
    why: &str,
    hold: Hold,
    reporter: &dyn Reporter,
) -> Result<Option<Manifest>> {
    let store = Store::of(&stack.dir);
    let mut name = store::name_for_now(Some(reason));
    let mut n = 1;
    while store.exists(&name) {
        n += 1;
        name = format!("{}-{n}", store::name_for_now(Some(reason)));
    }
    let taking = Taking {
        name: &name,
        automatic: Some(why),
        heads: &[],
        hold,
    };
    let taken = capture(stack, runtimes, &store, taking, reporter)?;
    if taken.is_some() {
        store.prune_automatic(stack.config.snapshots_kept)?;
    }
    Ok(taken)
}

/// The snapshot [`capture`] takes.
struct Taking<'a> {
    name: &'a str,
    /// Why berth takes it by itself; none when asked for.
    automatic: Option<&'a str>,
    /// The last migration applied to each database.
    heads: &'a [(String, i64)],
    hold: Hold,
}

/// How a snapshot holds the data it keeps.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Hold {
    /// A copy, checksummed when [`Checksum`] says: the data stays.
    Copy(Checksum),
    /// The data itself, moved in and checksummed there, where the runtime
    /// keeps it in a directory on the same file system (a copy elsewhere):
    /// for `reset`, which deletes the data next, so nothing is written
    /// and nothing is left to delete.
    Move,
}

/// When a snapshot's checksums are computed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Checksum {
    /// While it is taken (from the stopped servers' files, in memory).
    Now,
    /// Later, by [`checksum_pending`], once the stack runs again: the
    /// pause stays as short as the copy.
    Later,
}

/// Copy every persistent service's data (all stopped) into snapshot
/// `name`. None when no service has data.
fn capture(
    stack: &Stack,
    runtimes: &Runtimes,
    store: &Store,
    taking: Taking,
    reporter: &dyn Reporter,
) -> Result<Option<Manifest>> {
    let Taking {
        name,
        automatic,
        heads,
        hold,
    } = taking;
    let checksum = match hold {
        Hold::Copy(checksum) => checksum,
        Hold::Move => Checksum::Now,
    };
    let mut with_data: Vec<&Service> = Vec::new();
    for svc in stack.services.iter().filter(|s| s.persist) {
        if runtimes.of(&svc.plan)?.has_data(&svc.plan)? {
            with_data.push(svc);
        }
    }
    if with_data.is_empty() {
        return Ok(None);
    }
    let state = stack.dir.load()?;
    let partial = store.begin(name)?;
    let copy = || -> Result<Vec<ServiceData>> {
        let mut services = Vec::new();
        for svc in &with_data {
            let runtime = runtimes.of(&svc.plan)?;
            reporter.phase(&svc.name, Phase::Saving);
            kill_point::reached(|| format!("{}:save", svc.name));
            let dest = partial.join(&svc.name);
            let (copied, digest, how) =
                if hold == Hold::Move && move_in(&partial, svc, &*runtime, &dest)? {
                    let digest = tree_copy::digest(&dest)?;
                    let copied = Copied {
                        files: digest.files,
                        bytes: digest.bytes,
                        cloned: false,
                    };
                    (copied, Some(digest), Stored::Moved)
                } else {
                    let (copied, digest) =
                        runtime.save_data(&svc.plan, &dest, checksum == Checksum::Now)?;
                    let how = Stored::copied(copied.cloned);
                    (copied, digest, how)
                };
            reporter.phase(
                &svc.name,
                Phase::Saved {
                    bytes: copied.bytes,
                    how,
                },
            );
            services.push(ServiceData {
                service: svc.name.clone(),
                kind: svc.kind().to_string(),
                runtime: svc.runtime.to_string(),
                server: runtime.server(&svc.plan)?,
                migration: heads.iter().find(|(s, _)| *s == svc.name).map(|(_, v)| *v),
                files: digest.as_ref().map_or(copied.files, |d| d.files),
                bytes: digest.as_ref().map_or(copied.bytes, |d| d.bytes),
                digest: digest.map(|d| d.digest),
                cloned: copied.cloned,
                secrets: state
                    .passwords
                    .iter()
                    .filter(|(key, _)| {
                        *key == &svc.name || key.strip_prefix(&format!("{}.", svc.name)).is_some()
                    })
                    .map(|(k, v)| (k.clone(), v.clone()))
                    .collect(),
            });
        }
        Ok(services)
    };
    // The copies' fingerprints, so the restore of a snapshot nobody
    // touched since need not read its data again.
    let fingerprinted = copy().and_then(|services| {
        let mut fingerprints = BTreeMap::new();
        for data in &services {
            let copy = partial.join(&data.service);
            fingerprints.insert(data.service.clone(), tree_copy::fingerprint(&copy)?);
        }
        Store::mark_checked(&partial, &fingerprints)?;
        Ok(services)
    });
    let services = match fingerprinted {
        Ok(s) => s,
        Err(e) => {
            // Nothing half-made is left: data moved in goes back.
            abandon(store, &partial, reporter);
            return Err(e);
        }
    };
    let manifest = Manifest {
        format: FORMAT,
        stack: stack.name().to_string(),
        name: name.to_string(),
        created: jiff::Timestamp::now().to_string(),
        automatic: automatic.map(str::to_string),
        services,
    };
    kill_point::reached(|| "snapshot:commit".into());
    if let Err(e) = store.commit(&partial, &manifest) {
        abandon(store, &partial, reporter);
        return Err(e);
    }
    kill_point::reached(|| "snapshot:committed".into());
    store.forget_moves(name);
    Ok(Some(manifest))
}

/// Move service `svc`'s data directory into `dest` in the snapshot being
/// written (`partial`), recording the move first so that a save cut short
/// puts it back. Whether it moved: not where the runtime keeps no such
/// directory, or keeps it on another file system (the servers' home as
/// root), where the caller copies instead.
fn move_in(partial: &Path, svc: &Service, runtime: &dyn Runtime, dest: &Path) -> Result<bool> {
    let Some(from) = runtime.data_directory(&svc.plan) else {
        return Ok(false);
    };
    let device = |p: &Path| std::fs::metadata(p).map(|m| m.dev()).ok();
    if device(&from).is_none() || device(&from) != device(partial) {
        return Ok(false);
    }
    Store::record_move(partial, &svc.name, &from)?;
    kill_point::reached(|| format!("{}:move", svc.name));
    match std::fs::rename(&from, dest) {
        Ok(()) => {}
        // One file system mounted twice: copied after all.
        Err(e) if e.raw_os_error() == Some(libc::EXDEV) => {
            Store::forget_move(partial, &svc.name)?;
            return Ok(false);
        }
        Err(e) => {
            return Err(Error::io(
                format!(
                    "could not move service `{}`'s data into the snapshot",
                    svc.name
                ),
                e,
            ))
        }
    }
    for dir in [from.parent(), Some(partial)].into_iter().flatten() {
        fsutil::sync_dir(dir).context(|| format!("could not sync `{}`", dir.display()))?;
    }
    kill_point::reached(|| format!("{}:moved", svc.name));
    Ok(true)
}

/// Give up on the snapshot being written, putting back the data moved
/// into it; what cannot go back is kept, and said.
fn abandon(store: &Store, partial: &Path, reporter: &dyn Reporter) {
    match store.abandon(partial) {
        Ok(kept) => kept.into_iter().for_each(|k| reporter.warning(k)),
        Err(e) => reporter.warning(format!("{e}")),
    }
}

/// The last migration applied to each running database, for the manifest.
fn migration_heads(stack: &Stack, runtimes: &Runtimes) -> Vec<(String, i64)> {
    let mut heads = Vec::new();
    for svc in &stack.services {
        let running = runtimes
            .of(&svc.plan)
            .and_then(|r| r.state(&svc.plan))
            .is_ok_and(|s| matches!(s, crate::runtime::contract::RunState::Running { .. }));
        let Some(target) = svc.migration_target().filter(|_| running) else {
            continue;
        };
        if let Ok(status) = crate::migrate::runner::status(&target, true, true) {
            if let Some(last) = status
                .migrations
                .iter()
                .filter(|m| m.applied.is_some())
                .map(|m| m.version)
                .max()
            {
                heads.push((svc.name.clone(), last));
            }
        }
    }
    heads
}

/// What `snapshot restore` did.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Restored {
    pub name: String,
    pub services: Vec<String>,
    /// The snapshot of the data it replaced.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub safety: Option<String>,
    /// Whether the stack was running, and so was brought up again.
    pub restarted: bool,
    /// How long it was stopped, from the first service stopping to the
    /// last one ready again (zero if it was not running).
    #[serde(serialize_with = "crate::time::serialize_ms")]
    pub paused: Duration,
}

/// How `snapshot restore` goes about it.
#[derive(Debug, Clone)]
pub struct RestoreOptions {
    /// Snapshot the data it replaces first.
    pub safety_snapshot: bool,
    /// Read every file of the snapshot to check its checksum, even where
    /// nothing touched it since it was last checked.
    pub verify: bool,
    pub interrupt: Interrupt,
    /// Take the snapshot from another stack of the same file (the testing
    /// library starts its instance from the developer stack's snapshots):
    /// that stack's state directory.
    pub from: Option<StateDir>,
}

impl RestoreOptions {
    pub fn new(interrupt: Interrupt) -> RestoreOptions {
        RestoreOptions {
            safety_snapshot: true,
            verify: false,
            interrupt,
            from: None,
        }
    }
}

/// The identity of a snapshot the data came from (`State::restored_from`).
pub fn identity(manifest: &Manifest) -> String {
    format!("{}@{}", manifest.name, manifest.created)
}

/// Replace the stack's data with snapshot `name`'s.
pub fn restore(
    config: StackConfig,
    dir: StateDir,
    name: &str,
    options: &RestoreOptions,
    reporter: &dyn Reporter,
) -> Result<Restored> {
    let runtimes = Runtimes::new(&config.name, &dir);
    restore_with(config, dir, &runtimes, name, options, reporter)
}

pub fn restore_with(
    config: StackConfig,
    dir: StateDir,
    runtimes: &Runtimes,
    name: &str,
    options: &RestoreOptions,
    reporter: &dyn Reporter,
) -> Result<Restored> {
    let store = Store::of(options.from.as_ref().unwrap_or(&dir));
    let manifest = store.manifest(name)?;
    // A snapshot of the file's own stack may start another instance of it.
    let own_stack = options.from.as_ref().map(|_| manifest.stack.clone());
    let (restored, was_running, safety, stopping) = {
        let _lock = locking::lock(
            &config,
            &dir,
            "snapshot restore",
            &options.interrupt,
            reporter,
        )?;
        let mut state = dir.load()?;
        let stack = Stack::resolve(config.clone(), dir.clone(), &state, &Pins::new());
        // Everything is checked before anything changes.
        check(&stack, runtimes, &manifest, own_stack.as_deref())?;
        verify(&store, &manifest, options.verify, reporter)?;
        let stopping = Instant::now();
        let was_running = stop_all(&stack, runtimes, reporter, Stop::Cleanly)?;
        kill_point::reached(|| "restore:stopped".into());
        let safety = if options.safety_snapshot {
            safety_net(
                &stack,
                runtimes,
                "restore",
                &format!("before restoring `{name}`"),
                Hold::Copy(Checksum::Later),
                reporter,
            )?
        } else {
            None
        };
        // The next generation of each service's data, beside the current.
        let mut next = state.clone();
        for data in &manifest.services {
            let Some(svc) = stack.service(&data.service) else {
                continue;
            };
            let generation = svc.plan.generation + 1;
            reporter.phase(&svc.name, Phase::Restoring);
            kill_point::reached(|| format!("{}:restore", svc.name));
            runtimes.of(&svc.plan)?.load_data(
                &svc.plan,
                &store.path(name).join(&svc.name),
                generation,
            )?;
            next.generations.insert(svc.name.clone(), generation);
            // The data's own password, not one generated since.
            next.passwords.extend(data.secrets.clone());
            // The restored data was provisioned for the stack file of its
            // time: the next `up` provisions again.
            next.provisioned.remove(&svc.name);
        }
        next.restored_from = Some(identity(&manifest));
        // The one step that switches to the snapshot's data.
        kill_point::reached(|| "restore:commit".into());
        dir.save(&next)?;
        state = next;
        kill_point::reached(|| "restore:committed".into());
        let stack = Stack::resolve(config.clone(), dir.clone(), &state, &Pins::new());
        for data in &manifest.services {
            if let Some(svc) = stack.service(&data.service) {
                // Removes the generations now unused.
                runtimes.of(&svc.plan)?.clear_leftovers(&svc.plan)?;
                reporter.phase(&svc.name, Phase::Restored);
            }
        }
        let restored = Restored {
            name: name.to_string(),
            services: manifest
                .services
                .iter()
                .map(|s| s.service.clone())
                .collect(),
            safety: safety.as_ref().map(|m| m.name.clone()),
            restarted: !was_running.is_empty(),
            paused: Duration::ZERO,
        };
        (restored, was_running, safety, stopping)
    };
    let mut restored = restored;
    let store = Store::of(&dir);
    if !was_running.is_empty() {
        restart(config, dir, runtimes, &options.interrupt, reporter)?;
        restored.paused = stopping.elapsed();
    }
    if let Some(safety) = safety {
        if let Err(e) = checksum_pending(&store, safety, reporter) {
            reporter.warning(format!(
                "snapshot `{}` keeps the data it replaced, but its checksums could not be recorded: {e}",
                restored.safety.as_deref().unwrap_or_default()
            ));
        }
    }
    Ok(restored)
}

/// Compute the checksums a snapshot taken with [`Checksum::Later`] lacks,
/// from its copy, and record them. Data that no longer has the fingerprint
/// it had when copied is left without one (it cannot be vouched for).
pub fn checksum_pending(
    store: &Store,
    mut manifest: Manifest,
    reporter: &dyn Reporter,
) -> Result<()> {
    let checked = store.checked(&manifest.name);
    let mut changed = false;
    for data in manifest.services.iter_mut().filter(|d| d.digest.is_none()) {
        let dir = store.path(&manifest.name).join(&data.service);
        if checked.get(&data.service) != Some(&tree_copy::fingerprint(&dir)?) {
            continue;
        }
        reporter.phase(&data.service, Phase::Checksumming);
        let found = tree_copy::digest(&dir)?;
        data.files = found.files;
        data.bytes = found.bytes;
        data.digest = Some(found.digest);
        changed = true;
    }
    if changed {
        kill_point::reached(|| "snapshot:checksummed".into());
        store.update(&manifest)?;
    }
    Ok(())
}

/// Check every service's data in snapshot `manifest` against its
/// checksum. Data whose fingerprint is the one it had when its checksum
/// last held is not read again, unless `always`.
fn verify(store: &Store, manifest: &Manifest, always: bool, reporter: &dyn Reporter) -> Result<()> {
    let name = manifest.name.as_str();
    let mut checked = store.checked(name);
    let mut read = false;
    for data in &manifest.services {
        let dir = store.path(name).join(&data.service);
        let fingerprint = tree_copy::fingerprint(&dir)?;
        let untouched = checked.get(&data.service) == Some(&fingerprint);
        let Some(digest) = &data.digest else {
            // Taken by a restore that was stopped before it recorded the
            // checksums: what berth copied is all it can vouch for.
            if untouched {
                continue;
            }
            return Err(Error::Snapshot {
                message: format!(
                    "snapshot `{name}` has no checksum for service `{}` (berth was stopped before it recorded one), and its files changed since berth copied them",
                    data.service
                ),
                hint: Some(format!(
                    "it cannot be checked; remove it with `berth snapshot rm {name}`"
                )),
            });
        };
        if !always && untouched {
            continue;
        }
        reporter.phase(&data.service, Phase::Checksumming);
        let found = tree_copy::digest(&dir)?;
        if found.digest != *digest {
            return Err(Error::Snapshot {
                message: format!(
                    "snapshot `{name}` is damaged: the data of service `{}` does not match its checksum ({} file(s), {} byte(s) found; {} and {} recorded)",
                    data.service, found.files, found.bytes, data.files, data.bytes
                ),
                hint: Some(format!(
                    "it cannot be restored; remove it with `berth snapshot rm {name}`"
                )),
            });
        }
        checked.insert(data.service.clone(), fingerprint);
        read = true;
    }
    if read {
        // Only saves time next time; a snapshot it cannot write to is
        // checked in full again.
        let _ = Store::mark_checked(&store.path(name), &checked);
    }
    Ok(())
}

/// Whether snapshot `manifest` can be restored into `stack`: the same
/// stack, and each service of it there, of the same kind, on the same
/// runtime, with the same server (major version natively, image in a
/// container).
fn check(
    stack: &Stack,
    runtimes: &Runtimes,
    manifest: &Manifest,
    also: Option<&str>,
) -> Result<()> {
    let refuse = |message: String, hint: String| Error::Snapshot {
        message,
        hint: Some(hint),
    };
    if manifest.stack != stack.name() && Some(manifest.stack.as_str()) != also {
        return Err(refuse(
            format!(
                "snapshot `{}` is of stack `{}`, not of `{}`",
                manifest.name,
                manifest.stack,
                stack.name()
            ),
            format!(
                "restore it into that stack (`--name {}`), or take one of this stack",
                manifest.stack
            ),
        ));
    }
    for data in &manifest.services {
        let Some(svc) = stack.service(&data.service) else {
            return Err(refuse(
                format!(
                    "snapshot `{}` holds service `{}`, which the stack file no longer has",
                    manifest.name, data.service
                ),
                format!("add `[services.{}]` back to restore it", data.service),
            ));
        };
        if svc.kind() != data.kind {
            return Err(refuse(
                format!(
                    "service `{}` is a {} service now, and the snapshot holds {} data",
                    svc.name,
                    svc.kind(),
                    data.kind
                ),
                "a snapshot restores into the kind it was taken of".into(),
            ));
        }
        if svc.runtime.to_string() != data.runtime {
            return Err(refuse(
                format!(
                    "snapshot `{}` was taken with service `{}` on the {} runtime, and it runs on the {} runtime now",
                    manifest.name, svc.name, data.runtime, svc.runtime
                ),
                format!("restore it with `--runtime {}`", data.runtime),
            ));
        }
        let now = runtimes.of(&svc.plan)?.server(&svc.plan)?;
        let major = |v: &Option<String>| {
            v.as_deref()
                .and_then(|v| v.split('.').next())
                .map(str::to_string)
        };
        if major(&now.version) != major(&data.server.version) {
            return Err(refuse(
                format!(
                    "snapshot `{}` holds data of {} {}, and service `{}` runs {} now",
                    manifest.name,
                    data.kind,
                    data.server.version.as_deref().unwrap_or("?"),
                    svc.name,
                    now.version.as_deref().unwrap_or("?")
                ),
                "a server reads the data of its own major version only: restore with that version (`version = \"...\"`), or use `berth backup`, which moves data between versions".into(),
            ));
        }
        if now.image != data.server.image {
            return Err(refuse(
                format!(
                    "snapshot `{}` holds data of image `{}`, and service `{}` runs `{}` now",
                    manifest.name,
                    data.server.image.as_deref().unwrap_or("?"),
                    svc.name,
                    now.image.as_deref().unwrap_or("?")
                ),
                "restore it with the image it was taken with (`image = \"...\"`)".into(),
            ));
        }
    }
    Ok(())
}

/// Bring the stack back up after its data was copied or replaced.
fn restart(
    config: StackConfig,
    dir: StateDir,
    runtimes: &Runtimes,
    interrupt: &Interrupt,
    reporter: &dyn Reporter,
) -> Result<()> {
    up_with(
        config,
        dir,
        runtimes,
        &UpOptions {
            interrupt: interrupt.clone(),
            ..UpOptions::default()
        },
        reporter,
    )
    .map(drop)
}
