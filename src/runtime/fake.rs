//! A runtime that runs nothing and records what it was asked, for the
//! lifecycle's unit tests: ordering, parallelism, failures and interrupts
//! are shared code, tested here without a server in milliseconds.

use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use crate::client::endpoint::Endpoint;
use crate::error::{Error, Result};
use crate::plan::service_plan::ServicePlan;
use crate::runtime::contract::{Requirement, RunState, Runtime, Server, Started, Tool};
use crate::tree_copy::{Copied, Digest};

/// One call, in the order calls were made.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Call {
    pub what: &'static str,
    pub service: String,
}

type Hook = Box<dyn Fn(&str) + Send + Sync>;

#[derive(Default)]
pub struct FakeRuntime {
    calls: Mutex<Vec<Call>>,
    running: Mutex<HashSet<String>>,
    data: Mutex<HashSet<String>>,
    /// Services whose start fails.
    failing: HashSet<String>,
    /// How long a start takes.
    start_time: Duration,
    /// Called at each start, with the service.
    on_start: Option<Hook>,
    /// Starts under way now, and the most seen at once.
    in_flight: Mutex<(usize, usize)>,
}

impl FakeRuntime {
    pub fn new() -> FakeRuntime {
        FakeRuntime::default()
    }

    /// Starting `service` fails.
    pub fn failing(mut self, service: &str) -> FakeRuntime {
        self.failing.insert(service.to_string());
        self
    }

    /// Each start takes this long.
    pub fn start_time(mut self, time: Duration) -> FakeRuntime {
        self.start_time = time;
        self
    }

    /// Call `hook` with the service at each start.
    pub fn on_start(mut self, hook: impl Fn(&str) + Send + Sync + 'static) -> FakeRuntime {
        self.on_start = Some(Box::new(hook));
        self
    }

    pub fn calls(&self) -> Vec<Call> {
        self.calls.lock().unwrap().clone()
    }

    /// The services `what` was called for, in order.
    pub fn services(&self, what: &str) -> Vec<String> {
        self.calls()
            .into_iter()
            .filter(|c| c.what == what)
            .map(|c| c.service)
            .collect()
    }

    /// The most starts that were under way at one moment.
    pub fn most_at_once(&self) -> usize {
        self.in_flight.lock().unwrap().1
    }

    fn record(&self, what: &'static str, plan: &ServicePlan) {
        self.calls.lock().unwrap().push(Call {
            what,
            service: plan.service.clone(),
        });
    }

    fn is_running(&self, plan: &ServicePlan) -> bool {
        self.running.lock().unwrap().contains(&plan.service)
    }
}

impl Runtime for FakeRuntime {
    fn check(&self, plan: &ServicePlan) -> Result<Requirement> {
        self.record("check", plan);
        Ok(Requirement {
            found: "nothing (a fake)".into(),
        })
    }

    fn usage(&self, _: &ServicePlan) -> Option<crate::process::Usage> {
        None
    }

    fn state(&self, plan: &ServicePlan) -> Result<RunState> {
        Ok(if self.is_running(plan) {
            RunState::Running { pid: 1 }
        } else if self.data.lock().unwrap().contains(&plan.service) {
            RunState::Stopped
        } else {
            RunState::Absent
        })
    }

    fn clear_leftovers(&self, plan: &ServicePlan) -> Result<()> {
        self.record("clear", plan);
        Ok(())
    }

    fn start(&self, plan: &ServicePlan, _on_init: &dyn Fn()) -> Result<Started> {
        self.record("start", plan);
        if let Some(hook) = &self.on_start {
            hook(&plan.service);
        }
        if self.failing.contains(&plan.service) {
            return Err(Error::CommandFailed {
                service: plan.service.clone(),
                program: "fake".into(),
                status: "exit status: 1".into(),
                output_tail: Vec::new(),
            });
        }
        {
            let mut n = self.in_flight.lock().unwrap();
            n.0 += 1;
            n.1 = n.1.max(n.0);
        }
        // Long enough for an independent service's start to overlap.
        let until = Instant::now() + self.start_time;
        while Instant::now() < until {
            std::thread::sleep(Duration::from_millis(1));
        }
        self.in_flight.lock().unwrap().0 -= 1;
        self.running.lock().unwrap().insert(plan.service.clone());
        let new = self.data.lock().unwrap().insert(plan.service.clone());
        Ok(if new {
            Started::Initialized
        } else {
            Started::Restarted
        })
    }

    fn ensure_alive(&self, plan: &ServicePlan) -> Result<()> {
        if self.is_running(plan) {
            return Ok(());
        }
        Err(Error::ServiceExited {
            service: plan.service.clone(),
            status: "not running".into(),
            log: PathBuf::from("/dev/null"),
            log_tail: Vec::new(),
        })
    }

    fn exec(
        &self,
        plan: &ServicePlan,
        _command: &[String],
    ) -> Result<std::result::Result<(), String>> {
        self.record("probe", plan);
        Ok(if self.is_running(plan) {
            Ok(())
        } else {
            Err("not running".into())
        })
    }

    fn stop(&self, plan: &ServicePlan) -> Result<()> {
        self.record("stop", plan);
        self.running.lock().unwrap().remove(&plan.service);
        Ok(())
    }

    fn wipe(&self, plan: &ServicePlan) -> Result<()> {
        self.record("wipe", plan);
        self.data.lock().unwrap().remove(&plan.service);
        Ok(())
    }

    fn server(&self, plan: &ServicePlan) -> Result<Server> {
        self.record("server", plan);
        Ok(Server {
            version: Some("1.0.0".into()),
            ..Server::default()
        })
    }

    fn has_data(&self, plan: &ServicePlan) -> Result<bool> {
        Ok(self.data.lock().unwrap().contains(&plan.service))
    }

    /// A file naming the service stands for its data.
    fn save_data(
        &self,
        plan: &ServicePlan,
        dest: &Path,
        digest: bool,
    ) -> Result<(Copied, Option<Digest>)> {
        self.record("save_data", plan);
        std::fs::create_dir(dest).map_err(|e| Error::io("fake save", e))?;
        std::fs::write(dest.join("data"), &plan.service).map_err(|e| Error::io("fake save", e))?;
        let copied = Copied {
            files: 1,
            bytes: plan.service.len() as u64,
            cloned: false,
        };
        let digest = if digest {
            Some(crate::tree_copy::digest(dest)?)
        } else {
            None
        };
        Ok((copied, digest))
    }

    fn run_tool(
        &self,
        plan: &ServicePlan,
        tool: &Tool,
        out: &mut dyn std::io::Write,
    ) -> Result<()> {
        self.record("run_tool", plan);
        out.write_all(tool.argv.join(" ").as_bytes())
            .map_err(|e| Error::io("fake tool", e))
    }

    fn tool_endpoint(&self, plan: &ServicePlan) -> Result<Endpoint> {
        Ok(Endpoint::new("127.0.0.1", plan.port))
    }

    fn tool_data_dir(&self, _plan: &ServicePlan) -> Result<String> {
        Ok("/data".into())
    }

    fn load_files(
        &self,
        plan: &ServicePlan,
        _files: &[(String, PathBuf)],
        _generation: u32,
    ) -> Result<()> {
        self.record("load_files", plan);
        Ok(())
    }

    fn load_data(&self, plan: &ServicePlan, from: &Path, _generation: u32) -> Result<()> {
        self.record("load_data", plan);
        let saved =
            std::fs::read_to_string(from.join("data")).map_err(|e| Error::io("fake load", e))?;
        assert_eq!(saved, plan.service, "a service loads its own data");
        self.data.lock().unwrap().insert(plan.service.clone());
        Ok(())
    }

    fn log_file(&self, _service: &str) -> PathBuf {
        PathBuf::from("/dev/null")
    }

    fn stop_unlisted(&self, _listed: &[&str]) -> Result<Vec<String>> {
        Ok(Vec::new())
    }
}
