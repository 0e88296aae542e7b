//! `berth doctor`: the preflight report on its own.

use serde::Serialize;

use crate::diagnostic::Tone;
use crate::error::{Error, Result};
use crate::lifecycle::inspect;
use crate::preflight::{ports, resources};
use crate::runtime::contract::RunState;
use crate::suggest::list;
use crate::units::fmt_bytes;

use crate::cli::context::Context;
use crate::cli::output::{self, paint, table};

#[derive(clap::Args)]
pub struct Args {
    /// Print JSON on stdout
    #[arg(long)]
    json: bool,
}

#[derive(Serialize)]
struct ServiceReport {
    service: String,
    kind: String,
    runtime: String,
    /// What the runtime found (binary and version), or why it cannot run.
    found: Option<String>,
    problem: Option<String>,
    port: Option<u16>,
    port_state: String,
}

/// One install of a native service's server program, with the parts it
/// has (a PostgreSQL install's extensions).
#[derive(Serialize)]
struct InstallReport {
    service: String,
    program: String,
    version: String,
    dir: String,
    /// Whether `up` would choose it for the service.
    chosen: bool,
    /// What it has of what the kind asks installs for (extensions).
    has: Vec<String>,
    /// What of the service's asks it lacks.
    lacks: Vec<String>,
}

#[derive(Serialize)]
struct EngineReport {
    runtime: String,
    /// Which engine answered, its version and address, e.g.
    /// `Docker Engine 28.2.2 (API 1.50) at unix:///var/run/docker.sock`.
    engine: Option<String>,
    problem: Option<String>,
}

#[derive(Serialize)]
struct Report {
    stack: String,
    state_dir: String,
    resources: resources::Resources,
    engines: Vec<EngineReport>,
    /// The native runtime's cache of initialized data.
    cache: Option<super::cache::CacheReport>,
    warnings: Vec<String>,
    problems: Vec<String>,
    services: Vec<ServiceReport>,
    installs: Vec<InstallReport>,
}

pub fn run(ctx: &Context, args: Args) -> Result<()> {
    let (config, dir) = ctx.load()?;
    let stack = inspect::open(config, dir)?;
    let res = resources::measure(&stack.dir.root);
    let mut warnings = Vec::new();
    let mut problems = Vec::new();
    for f in resources::assess(&res) {
        if f.fatal {
            problems.push(f.message)
        } else {
            warnings.push(f.message)
        }
    }
    let mut engines = Vec::new();
    for (runtime, found) in inspect::engines(&stack)? {
        let (engine, problem) = match found {
            Ok(e) => (Some(e), None),
            Err(e) => {
                problems.push(e.clone());
                (None, Some(e))
            }
        };
        engines.push(EngineReport {
            runtime: runtime.to_string(),
            engine,
            problem,
        });
    }
    let checks = inspect::check_services(&stack)?;
    // Without an engine, whether services run is unknown; the engine's
    // problem is reported above and each service's check says the same.
    let states = inspect::run_states(&stack).unwrap_or_default();
    let mut services = Vec::new();
    for (i, (svc, (_, check))) in stack.services.iter().zip(checks).enumerate() {
        let state = states.get(i).map_or(RunState::Absent, |(_, s)| s.clone());
        let (found, problem) = match check {
            Ok(req) => (Some(req.found), None),
            Err(e) => {
                let text = match e.hint() {
                    Some(h) => format!("{e} (hint: {h})"),
                    None => e.to_string(),
                };
                problems.push(text.clone());
                (None, Some(text))
            }
        };
        let (port, port_state) = if svc.port == 0 {
            (None, "chosen at the first `berth up`".to_string())
        } else if matches!(state, RunState::Running { .. }) {
            (Some(svc.port), "in use by this service".to_string())
        } else if ports::is_free(svc.port) {
            (Some(svc.port), "free".to_string())
        } else {
            let holder = ports::holder(svc.port).unwrap_or_else(|| "another process".into());
            problems.push(format!(
                "port {} of `{}` is in use by {holder}",
                svc.port, svc.name
            ));
            (Some(svc.port), format!("in use by {holder}"))
        };
        services.push(ServiceReport {
            service: svc.name.clone(),
            kind: svc.kind().into(),
            runtime: svc.runtime.to_string(),
            found,
            problem,
            port,
            port_state,
        });
    }
    let mut installs = Vec::new();
    for (service, program, found) in inspect::installs(&stack) {
        let chosen = services
            .iter()
            .find(|s| s.service == service)
            .and_then(|s| s.found.clone());
        for i in found {
            let at = format!("in `{}`", i.binary.dir.display());
            installs.push(InstallReport {
                service: service.clone(),
                program: program.clone(),
                version: i.binary.version.to_string(),
                dir: i.binary.dir.display().to_string(),
                chosen: chosen
                    .as_deref()
                    .is_some_and(|f| f.ends_with(&at) && f.contains(&i.binary.version.to_string())),
                has: i.has.into_iter().collect(),
                lacks: i.lacks,
            });
        }
    }
    let report = Report {
        stack: stack.name().to_string(),
        state_dir: stack.dir.root.display().to_string(),
        resources: res,
        engines,
        cache: super::cache::report(),
        warnings,
        problems,
        services,
        installs,
    };
    if args.json {
        output::print_json(&report);
    } else {
        let r = &report.resources;
        println!("stack      {}", report.stack);
        println!("state      {}", report.state_dir);
        println!(
            "resources  {} CPUs, {} MiB memory free, {} MiB disk free",
            r.cpus,
            r.free_memory_mb.map_or("?".into(), |m| m.to_string()),
            r.free_disk_mb.map_or("?".into(), |m| m.to_string())
        );
        for e in &report.engines {
            match (&e.engine, &e.problem) {
                (Some(engine), _) => println!("engine     {engine} (runtime {})", e.runtime),
                (None, Some(problem)) => println!(
                    "engine     {} (runtime {})",
                    paint(problem, Tone::Error, false),
                    e.runtime
                ),
                (None, None) => {}
            }
        }
        if let Some(cache) = &report.cache {
            let bytes: u64 = cache.entries.iter().map(|e| e.entry.bytes).sum();
            let damaged = cache.entries.iter().filter(|e| !e.sound).count();
            println!(
                "cache      `{}`: {} skeleton(s), {}{}",
                cache.dir,
                cache.entries.len(),
                fmt_bytes(bytes),
                if damaged > 0 {
                    paint(
                        &format!(", {damaged} damaged (rebuilt when next used)"),
                        Tone::Warning,
                        false,
                    )
                } else {
                    String::new()
                }
            );
            if !cache.volume_templates.is_empty() {
                println!(
                    "templates  {} volume template(s) in the container engine (`berth cache` lists them)",
                    cache.volume_templates.len()
                );
            }
        }
        println!();
        let rows: Vec<Vec<String>> = report
            .services
            .iter()
            .map(|s| {
                vec![
                    s.service.clone(),
                    s.runtime.clone(),
                    s.found
                        .clone()
                        .unwrap_or_else(|| paint("missing", Tone::Error, false)),
                    s.port.map_or("-".into(), |p| p.to_string()),
                    s.port_state.clone(),
                ]
            })
            .collect();
        print!(
            "{}",
            table(
                &["SERVICE", "RUNTIME", "FOUND", "PORT", "PORT STATE"],
                &rows
            )
        );
        print_installs(&report.installs);
        for w in &report.warnings {
            output::warning(w);
        }
    }
    if report.problems.is_empty() {
        if !args.json {
            output::note("no problems found");
        }
        Ok(())
    } else {
        Err(Error::Preflight {
            service: None,
            message: format!(
                "{} problem(s): {}",
                report.problems.len(),
                report.problems.join("; ")
            ),
            hint: None,
        })
    }
}

/// Each service's installs with their extensions: the one `up` chooses
/// marked, what the service asks for and an install lacks in red.
fn print_installs(installs: &[InstallReport]) {
    let mut services: Vec<&str> = installs.iter().map(|i| i.service.as_str()).collect();
    services.dedup();
    for service in services {
        println!();
        println!("installs of `{service}`'s server, with their extensions:");
        for i in installs.iter().filter(|i| i.service == service) {
            let mark = if i.chosen { "* " } else { "  " };
            println!("{mark}{} {} in `{}`", i.program, i.version, i.dir);
            if !i.lacks.is_empty() {
                println!(
                    "    {}",
                    paint(&format!("lacks {}", list(&i.lacks)), Tone::Error, false)
                );
            }
            let names = if i.has.is_empty() {
                "none found".to_string()
            } else {
                i.has.join(", ")
            };
            for line in wrap(&format!("{} extension(s): {names}", i.has.len()), 96) {
                println!("    {line}");
            }
        }
    }
}

/// `text` in lines of at most `width` characters, broken at spaces.
fn wrap(text: &str, width: usize) -> Vec<String> {
    let mut lines = vec![String::new()];
    for word in text.split(' ') {
        let line = lines.last_mut().expect("one line at least");
        if !line.is_empty() && line.len() + 1 + word.len() > width {
            lines.push(word.to_string());
        } else {
            if !line.is_empty() {
                line.push(' ');
            }
            line.push_str(word);
        }
    }
    lines
}
