//! Images and `berth.lock`: `lock` records the image each container
//! service runs now, `verify` compares the machine with the lock, and `up`
//! runs what the lock pins (see [`crate::image_lock`] for the file).

use std::collections::BTreeMap;

use serde::Serialize;

use super::{Event, Phase, Reporter, Runtimes};
use crate::config::StackConfig;
use crate::error::{Error, Result};
use crate::image_lock::{self, ImageLock, LockedImage, Verdict};
use crate::runtime::Runtime;
use crate::stack::{ServiceSpec, Stack};
use crate::state::StateDir;

/// One service's image against the lock.
#[derive(Debug, Clone, Serialize)]
pub struct ServiceVerdict {
    pub service: String,
    pub drift: bool,
    #[serde(flatten)]
    pub verdict: Verdict,
}

/// `berth lock`: fetch each container service's image if this machine
/// lacks it, and write its content digest to `berth.lock`. Entries of
/// services no longer in the stack (or no longer in a container) go.
pub fn lock(config: StackConfig, dir: StateDir, reporter: &dyn Reporter) -> Result<ImageLock> {
    let stack = super::open(config, dir)?;
    let runtimes = Runtimes::for_stack(&stack)?;
    let mut lock = ImageLock {
        version: 1,
        services: BTreeMap::new(),
    };
    for svc in &stack.services {
        let runtime = runtimes.of(svc);
        let Some(image) = runtime.image(svc) else {
            continue;
        };
        fetch(runtime, svc, reporter)?;
        let id = runtime.image_id(svc)?.ok_or_else(|| Error::Service {
            service: svc.name.clone(),
            message: format!("image `{image}` vanished while it was being locked"),
            hint: Some("run `berth lock` again".into()),
        })?;
        lock.services
            .insert(svc.name.clone(), LockedImage::from(id));
    }
    image_lock::save(&stack.config, &lock)?;
    Ok(lock)
}

/// Download what `svc` lacks (its image), reporting the bytes as they come.
pub(crate) fn fetch(
    runtime: &dyn Runtime,
    svc: &ServiceSpec,
    reporter: &dyn Reporter,
) -> Result<()> {
    runtime.fetch(svc, &|image, done, total| {
        reporter.event(Event::Phase {
            service: &svc.name,
            phase: Phase::Pulling {
                image: image.to_string(),
                done,
                total,
            },
        })
    })
}

/// `berth verify`: each container service's image against `berth.lock`.
/// Downloads nothing; an image this machine lacks is reported as such.
/// The caller turns drift into an error with [`drift_error`] after showing
/// the verdicts.
pub fn verify(config: StackConfig, dir: StateDir) -> Result<Vec<ServiceVerdict>> {
    let stack = super::open(config, dir)?;
    let runtimes = Runtimes::for_stack(&stack)?;
    let lock = image_lock::load(&stack.config)?.ok_or_else(|| no_lock(&stack.config))?;
    verdicts(&stack, &runtimes, &lock)
}

fn verdicts(stack: &Stack, runtimes: &Runtimes, lock: &ImageLock) -> Result<Vec<ServiceVerdict>> {
    let mut out = Vec::new();
    for svc in &stack.services {
        let runtime = runtimes.of(svc);
        let Some(image) = runtime.image(svc) else {
            continue;
        };
        let current = runtime.image_id(svc)?;
        let verdict = image_lock::compare(&image, current.as_ref(), lock.services.get(&svc.name));
        out.push(ServiceVerdict {
            service: svc.name.clone(),
            drift: verdict.is_drift(),
            verdict,
        });
    }
    Ok(out)
}

/// The error for the verdicts that drift, if any.
pub fn drift_error(verdicts: &[ServiceVerdict]) -> Option<Error> {
    let problems: Vec<String> = verdicts
        .iter()
        .filter(|v| v.drift)
        .map(|v| format!("{}: {}", v.service, v.verdict.describe()))
        .collect();
    if problems.is_empty() {
        return None;
    }
    Some(Error::ImageDrift {
        message: format!(
            "{} service(s) do not run the image `{}` pins",
            problems.len(),
            image_lock::FILE_NAME
        ),
        problems,
        hint: Some(format!(
            "`berth lock` accepts the images as they are now; or restore the locked images (`docker tag <id> <image>`) and verify again; commit `{}`",
            image_lock::FILE_NAME
        )),
    })
}

fn no_lock(config: &StackConfig) -> Error {
    Error::ImageDrift {
        message: format!("there is no `{}`", image_lock::path(config).display()),
        problems: Vec::new(),
        hint: Some(format!(
            "`berth lock` writes it; commit it beside `{}`",
            config
                .file
                .file_name()
                .unwrap_or_default()
                .to_string_lossy()
        )),
    }
}

/// For `up`: the image id each container service should run, by service,
/// from `berth.lock`. A tag that moved since locking keeps running the
/// locked image (with a warning); with `locked`, any drift, or no lock at
/// all, is an error instead. An image this machine lacks is pinned too:
/// fetching it checks the id it arrives with.
pub(crate) fn pins(
    stack: &Stack,
    runtimes: &Runtimes,
    locked: bool,
    reporter: &dyn Reporter,
) -> Result<BTreeMap<String, String>> {
    let mut pins = BTreeMap::new();
    let uses_images = stack
        .services
        .iter()
        .any(|s| runtimes.of(s).image(s).is_some());
    if !uses_images {
        return Ok(pins);
    }
    let Some(lock) = image_lock::load(&stack.config)? else {
        if locked {
            return Err(no_lock(&stack.config));
        }
        return Ok(pins);
    };
    let verdicts = verdicts(stack, runtimes, &lock)?;
    let drifted: Vec<ServiceVerdict> = verdicts
        .iter()
        .filter(|v| v.drift && !matches!(v.verdict, Verdict::Missing { .. }))
        .cloned()
        .collect();
    if locked {
        if let Some(e) = drift_error(&drifted) {
            return Err(e);
        }
    }
    for v in &verdicts {
        match &v.verdict {
            Verdict::Locked { .. } | Verdict::Missing { .. } => {
                pins.insert(v.service.clone(), lock.services[&v.service].id.clone());
            }
            Verdict::Moved { locked, .. } => {
                reporter.event(Event::Warning {
                    message: format!(
                        "`{}`: {}; running the locked image (`berth lock` accepts the new one)",
                        v.service,
                        v.verdict.describe()
                    ),
                });
                pins.insert(v.service.clone(), locked.clone());
            }
            Verdict::Renamed { .. } | Verdict::NotLocked { .. } => {
                reporter.event(Event::Warning {
                    message: format!(
                        "`{}`: {}; running it unpinned (`berth lock` pins it)",
                        v.service,
                        v.verdict.describe()
                    ),
                });
            }
        }
    }
    Ok(pins)
}

/// Set each service's pinned image from [`pins`].
pub(crate) fn apply_pins(stack: &mut Stack, pins: &BTreeMap<String, String>) {
    for svc in &mut stack.services {
        svc.pinned_image = pins.get(&svc.name).cloned();
    }
}
