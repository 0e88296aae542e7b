//! A runtime's tools for one service, as a kind uses them: `pg_dump` and
//! `psql` beside a native server, or inside its container.

use std::io::Write;
use std::path::Path;

use crate::client::endpoint::Endpoint;
use crate::error::Result;
use crate::kind::contract::Tools;
use crate::plan::service_plan::ServicePlan;
use crate::runtime::contract::{Runtime, Tool};

/// A runtime's tools for one service, as a kind uses them.
pub struct RuntimeTools<'a> {
    runtime: &'a dyn Runtime,
    plan: &'a ServicePlan,
    endpoint: Endpoint,
    data_dir: String,
}

impl<'a> RuntimeTools<'a> {
    pub fn new(runtime: &'a dyn Runtime, plan: &'a ServicePlan) -> Result<RuntimeTools<'a>> {
        Ok(RuntimeTools {
            runtime,
            plan,
            endpoint: runtime.tool_endpoint(plan)?,
            data_dir: runtime.tool_data_dir(plan).unwrap_or_default(),
        })
    }
}

impl Tools for RuntimeTools<'_> {
    fn run(
        &self,
        argv: &[String],
        env: &[(String, String)],
        input: Option<&Path>,
        out: &mut dyn Write,
    ) -> Result<()> {
        let tool = Tool {
            argv: argv.to_vec(),
            env: env.to_vec(),
            input,
        };
        self.runtime.run_tool(self.plan, &tool, out)
    }

    fn endpoint(&self) -> &Endpoint {
        &self.endpoint
    }

    fn data_dir(&self) -> &str {
        &self.data_dir
    }
}
