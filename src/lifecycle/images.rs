//! Images and `berth.lock`: `lock` records the image each container
//! service runs now, `verify` compares the machine with the lock, and `up`
//! runs what the lock pins (see [`crate::image_lock`] for the file).

use std::collections::BTreeMap;

use serde::Serialize;

use super::inspect;
use crate::config::model::StackConfig;
use crate::error::{Error, Result};
use crate::events::{Phase, Reporter};
use crate::image_lock::{self, ImageLock, LockedImage, Verdict};
use crate::runtime::contract::Runtime;
use crate::runtime::registry::Runtimes;
use crate::stack::resolved::Pins;
use crate::stack::service::Service;
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
    let runtimes = Runtimes::new(&config.name, &dir);
    let stack = inspect::open(config, dir)?;
    let mut lock = ImageLock {
        version: 1,
        services: BTreeMap::new(),
    };
    for (svc, config) in stack.services.iter().zip(&stack.config.services) {
        let Some(image) = config.image() else {
            continue;
        };
        let runtime = runtimes.of(&svc.plan)?;
        fetch(runtime.as_ref(), svc, reporter)?;
        let id = runtime
            .images()
            .map(|i| i.image_id(&svc.name, &image))
            .transpose()?
            .flatten()
            .ok_or_else(|| Error::Service {
                service: svc.name.clone(),
                message: format!("image `{image}` vanished while it was being locked"),
                hint: Some("run `berth lock` again".into()),
                source: None,
            })?;
        lock.services
            .insert(svc.name.clone(), LockedImage::from(id));
    }
    image_lock::save(&stack.config.root, &lock)?;
    Ok(lock)
}

/// Download what `svc` lacks (its image), reporting the bytes as they come.
pub fn fetch(runtime: &dyn Runtime, svc: &Service, reporter: &dyn Reporter) -> Result<()> {
    let Some(images) = runtime.images() else {
        return Ok(());
    };
    images.fetch(&svc.plan, &|image, done, total| {
        reporter.phase(
            &svc.name,
            Phase::Pulling {
                image: image.to_string(),
                done,
                total,
            },
        )
    })
}

/// `berth verify`: each container service's image against `berth.lock`.
/// Downloads nothing; an image this machine lacks is reported as such.
/// The caller turns drift into an error with [`drift_error`] after showing
/// the verdicts.
pub fn verify(config: StackConfig, dir: StateDir) -> Result<Vec<ServiceVerdict>> {
    let runtimes = Runtimes::new(&config.name, &dir);
    let lock = image_lock::load(&config.root)?.ok_or_else(|| no_lock(&config))?;
    verdicts(&config, &runtimes, &lock)
}

fn verdicts(
    config: &StackConfig,
    runtimes: &Runtimes,
    lock: &ImageLock,
) -> Result<Vec<ServiceVerdict>> {
    let mut out = Vec::new();
    for svc in &config.services {
        let Some(image) = svc.image() else {
            continue;
        };
        let runtime = runtimes.get(svc.runtime)?;
        let current = match runtime.images() {
            Some(images) => images.image_id(&svc.name, &image)?,
            None => None,
        };
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
        message: format!("there is no `{}`", image_lock::path(&config.root).display()),
        problems: Vec::new(),
        hint: Some(format!(
            "`berth lock` writes it; commit it beside `{}`",
            config.file_name()
        )),
    }
}

/// For `up`: the image id each container service should run, by service,
/// from `berth.lock`. A tag that moved since locking keeps running the
/// locked image (with a warning); with `locked`, any drift, or no lock at
/// all, is an error instead. An image this machine lacks is pinned too:
/// fetching it checks the id it arrives with.
pub fn pins(
    config: &StackConfig,
    runtimes: &Runtimes,
    locked: bool,
    reporter: &dyn Reporter,
) -> Result<Pins> {
    let mut pins = Pins::new();
    if config.services.iter().all(|s| s.image().is_none()) {
        return Ok(pins);
    }
    let Some(lock) = image_lock::load(&config.root)? else {
        if locked {
            return Err(no_lock(config));
        }
        return Ok(pins);
    };
    let verdicts = verdicts(config, runtimes, &lock)?;
    if locked {
        let drifted: Vec<ServiceVerdict> = verdicts
            .iter()
            .filter(|v| v.drift && !matches!(v.verdict, Verdict::Missing { .. }))
            .cloned()
            .collect();
        if let Some(e) = drift_error(&drifted) {
            return Err(e);
        }
    }
    for v in &verdicts {
        match &v.verdict {
            Verdict::Locked { .. } | Verdict::Missing { .. } => {
                if let Some(locked) = lock.services.get(&v.service) {
                    pins.insert(v.service.clone(), locked.id.clone());
                }
            }
            Verdict::Moved { locked, .. } => {
                reporter.warning(format!(
                    "`{}`: {}; running the locked image (`berth lock` accepts the new one)",
                    v.service,
                    v.verdict.describe()
                ));
                pins.insert(v.service.clone(), locked.clone());
            }
            Verdict::Renamed { .. } | Verdict::NotLocked { .. } => {
                reporter.warning(format!(
                    "`{}`: {}; running it unpinned (`berth lock` pins it)",
                    v.service,
                    v.verdict.describe()
                ));
            }
        }
    }
    Ok(pins)
}
