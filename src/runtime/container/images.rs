//! Images on the engine: found by name or id, pulled with progress when
//! missing, identified for `berth.lock`.

use std::collections::HashMap;
use std::sync::Arc;

use bollard::query_parameters::CreateImageOptionsBuilder;
use futures_util::StreamExt;

use super::engine::{not_found, service_error, Engine};
use crate::error::{Error, Result};
use crate::image_lock::{self, ImageId};
use crate::plan::service_plan::ServicePlan;
use crate::runtime::contract::ImageStore;

pub struct Images {
    pub engine: Arc<Engine>,
}

impl Images {
    /// The image's id, when the engine has it.
    pub fn find(&self, service: &str, image: &str) -> Result<Option<String>> {
        let docker = self.engine.docker(Some(service))?;
        match self.engine.block_on(docker.inspect_image(image)) {
            Ok(found) => Ok(Some(found.id.unwrap_or_default())),
            Err(e) if not_found(&e) => Ok(None),
            Err(e) => Err(service_error(
                service,
                format!("could not inspect image `{image}`"),
                e,
            )),
        }
    }

    pub fn missing(&self, service: &str, image: &str, why: &str) -> Error {
        Error::Preflight {
            service: Some(service.to_string()),
            message: format!("image `{image}` is not on this machine{why}"),
            hint: Some(format!(
                "load or build it (`docker load`, `docker build -t {image} ...`), or name one this machine has with `image = \"...\"` in `[services.{service}]`"
            )),
        }
    }

    /// Pull `image`, reporting bytes done and total across its layers; the
    /// inner error is the engine's reason it could not.
    fn try_pull(
        &self,
        service: &str,
        image: &str,
        progress: &dyn Fn(u64, u64),
    ) -> Result<std::result::Result<(), String>> {
        let docker = self.engine.docker(Some(service))?;
        let options = CreateImageOptionsBuilder::default()
            .from_image(image)
            .build();
        Ok(self.engine.block_on(async {
            let mut stream = docker.create_image(Some(options), None, None);
            let mut layers: HashMap<String, (u64, u64)> = HashMap::new();
            while let Some(step) = stream.next().await {
                let info = step.map_err(|e| e.to_string())?;
                if let Some(e) = info.error_detail.and_then(|d| d.message) {
                    return Err(e);
                }
                if let (Some(id), Some(detail)) = (info.id, info.progress_detail) {
                    if let (Some(current), Some(total)) = (detail.current, detail.total) {
                        layers.insert(id, (current.max(0) as u64, total.max(0) as u64));
                        let (done, total) = layers
                            .values()
                            .fold((0, 0), |(d, t), (ld, lt)| (d + ld, t + lt));
                        progress(done, total);
                    }
                }
            }
            Ok(())
        }))
    }
}

impl ImageStore for Images {
    fn fetch(&self, plan: &ServicePlan, progress: &dyn Fn(&str, u64, u64)) -> Result<()> {
        let launch = plan.container()?;
        let service = plan.service.as_str();
        let to_run = launch.image_to_run();
        if self.find(service, to_run)?.is_some() {
            return Ok(());
        }
        let tag = &launch.image;
        if let Some(pinned) = &launch.pinned {
            // An image id cannot be pulled; the tag it was locked from can,
            // and must come back with the same id.
            let pulled = self.try_pull(service, tag, &|done, total| progress(tag, done, total))?;
            if pulled.is_ok() && self.find(service, pinned)?.is_some() {
                return Ok(());
            }
            let now = match self.find(service, tag)? {
                Some(id) => format!("`{tag}` here is {}", short_id(&id)),
                None => format!("`{tag}` is not here either"),
            };
            let pull = match pulled {
                Ok(()) => "pulling it gave another image".to_string(),
                Err(e) => format!("it could not be pulled ({e})"),
            };
            return Err(Error::Preflight {
                service: Some(service.to_string()),
                message: format!(
                    "{} pins `{tag}` to {}, which is not on this machine; {now}, and {pull}",
                    image_lock::FILE_NAME,
                    short_id(pinned)
                ),
                hint: Some(format!(
                    "`berth lock` accepts the image `{tag}` names now; or load the locked image and tag it `{tag}`"
                )),
            });
        }
        self.try_pull(service, tag, &|done, total| progress(tag, done, total))?
            .map_err(|e| self.missing(service, tag, &format!(" and could not be pulled: {e}")))
    }

    fn image_id(&self, service: &str, image: &str) -> Result<Option<ImageId>> {
        let docker = self.engine.docker(Some(service))?;
        match self.engine.block_on(docker.inspect_image(image)) {
            Ok(found) => Ok(Some(ImageId {
                image: image.to_string(),
                id: found.id.unwrap_or_default(),
                repo_digest: found.repo_digests.unwrap_or_default().into_iter().next(),
            })),
            Err(e) if not_found(&e) => Ok(None),
            Err(e) => Err(service_error(
                service,
                format!("could not inspect image `{image}`"),
                e,
            )),
        }
    }
}

/// `sha256:0123456789ab` from a full image id.
pub fn short_id(id: &str) -> &str {
    id.get(..19).unwrap_or(id)
}
