//! What the dashboard shows, read afresh for each update: every service's
//! state and use, the connection values (masked), the snapshots, and each
//! database's migrations. Read only, like `berth status`.

use serde_json::{json, Value};

use crate::envfile::{self, Secrets};
use crate::error::Result;
use crate::lifecycle::inspect;
use crate::lifecycle::status::{self, CpuRates};
use crate::migrate::plan::State;
use crate::migrate::runner;
use crate::snapshot::store::Store;

use crate::cli::context::Context;

/// The stack now: services, connection values, snapshots.
pub fn overview(ctx: &Context, cpu: &mut CpuRates) -> Result<Value> {
    let (config, dir) = ctx.load()?;
    let name = config.name.clone();
    let started = dir.state_file().exists();
    let statuses = status::status(config.clone(), dir.clone())?;
    let rates = cpu.sample(&statuses);
    let services: Vec<Value> = statuses
        .iter()
        .map(|s| {
            json!({
                "service": s.service,
                "kind": s.kind,
                "runtime": s.runtime,
                "endpoint": s.endpoint,
                "health": s.health,
                "pid": s.pid,
                "problem": s.problem,
                "persist": s.persist,
                "ready_in_ms": s.last_ready_in.map(|d| d.as_millis() as u64),
                "cpu_percent": rates.get(&s.service),
                "memory_bytes": s.usage.map(|u| u.memory_bytes),
            })
        })
        .collect();
    let stack = inspect::open(config, dir.clone())?;
    let connection: Vec<Value> = if started {
        envfile::variables(&stack, Secrets::Mask)
            .into_iter()
            .map(|v| json!({ "name": v.name, "value": v.value, "secret": v.secret }))
            .collect()
    } else {
        Vec::new()
    };
    let snapshots: Vec<Value> = Store::of(&dir)
        .list()
        .unwrap_or_default()
        .into_iter()
        .map(|m| {
            json!({
                "name": m.name,
                "created": m.created,
                "automatic": m.automatic,
                "services": m.services.iter().map(|s| s.service.clone()).collect::<Vec<_>>(),
            })
        })
        .collect();
    Ok(json!({
        "stack": name,
        "services": services,
        "connection": connection,
        "snapshots": snapshots,
    }))
}

/// Each database's migrations: applied, pending, and what stops a run.
/// A database whose server is down shows its files only.
pub fn migrations(ctx: &Context) -> Result<Value> {
    let mut all = Vec::new();
    for (target, running) in ctx.migration_targets(None)? {
        let found = runner::status(&target, running, false);
        let entry = match found {
            Ok(s) => {
                let count = |st: State| s.migrations.iter().filter(|e| e.state == st).count();
                json!({
                    "service": s.service,
                    "database": s.database,
                    "checked": s.ledger_checked,
                    "applied": count(State::Applied),
                    "pending": count(State::Pending),
                    "files": s.migrations.len(),
                    "problems": s.problems,
                })
            }
            Err(e) => json!({
                "service": target.service,
                "database": target.database,
                "checked": false,
                "problems": [e.to_string()],
            }),
        };
        all.push(entry);
    }
    Ok(Value::Array(all))
}

/// One connection value, unmasked (the page's reveal button).
pub fn reveal(ctx: &Context, name: &str) -> Result<Option<String>> {
    let (config, dir) = ctx.load()?;
    let stack = inspect::open(config, dir)?;
    Ok(envfile::variables(&stack, Secrets::Show)
        .into_iter()
        .find(|v| v.name == name)
        .map(|v| v.value))
}
