//! The runtimes of one stack, each made once, when first needed: a stack
//! that only runs natively never connects to a container engine.

use std::sync::{Arc, Mutex};

use super::contract::Runtime;
use crate::error::Result;
use crate::plan::runtime_kind::RuntimeKind;
use crate::plan::service_plan::ServicePlan;
use crate::state::StateDir;

type Factory = dyn Fn(RuntimeKind) -> Result<Arc<dyn Runtime>> + Send + Sync;

pub struct Runtimes {
    made: Mutex<Vec<(RuntimeKind, Arc<dyn Runtime>)>>,
    factory: Box<Factory>,
}

impl Runtimes {
    /// The real runtimes, for stack `stack` with its state in `dir`.
    pub fn new(stack: &str, dir: &StateDir) -> Runtimes {
        let (stack, dir) = (stack.to_string(), dir.clone());
        Runtimes::from_factory(move |kind| make(kind, &stack, &dir))
    }

    /// Runtimes made by `factory` (tests hand in recording fakes).
    pub fn from_factory(
        factory: impl Fn(RuntimeKind) -> Result<Arc<dyn Runtime>> + Send + Sync + 'static,
    ) -> Runtimes {
        Runtimes {
            made: Mutex::new(Vec::new()),
            factory: Box::new(factory),
        }
    }

    pub fn get(&self, kind: RuntimeKind) -> Result<Arc<dyn Runtime>> {
        let mut made = self.made.lock().unwrap_or_else(|p| p.into_inner());
        if let Some((_, r)) = made.iter().find(|(k, _)| *k == kind) {
            return Ok(Arc::clone(r));
        }
        let runtime = (self.factory)(kind)?;
        made.push((kind, Arc::clone(&runtime)));
        Ok(runtime)
    }

    /// The runtime that executes `plan`.
    pub fn of(&self, plan: &ServicePlan) -> Result<Arc<dyn Runtime>> {
        self.get(plan.runtime())
    }
}

fn make(kind: RuntimeKind, stack: &str, dir: &StateDir) -> Result<Arc<dyn Runtime>> {
    match kind {
        RuntimeKind::Native => Ok(Arc::new(super::native::runtime::NativeRuntime::new(
            dir.clone(),
        )?)),
        #[cfg(feature = "container")]
        RuntimeKind::Container => Ok(Arc::new(super::container::runtime::ContainerRuntime::new(
            stack,
            dir.clone(),
        )?)),
        #[cfg(not(feature = "container"))]
        RuntimeKind::Container => {
            let _ = stack;
            Err(crate::error::Error::Config {
                message: "this berth was built without the container runtime".into(),
                location: None,
                hint: Some("build berth with its `container` feature (on by default)".into()),
            })
        }
    }
}
