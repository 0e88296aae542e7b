//! `${service.key}` references — in `[env.vars]` and in services' settings
//! (a generic service's `command` and `env`) — name services and connection
//! values that exist, and services the referring one can reach.

use super::env_section::Located;
use super::model::ServiceConfig;
use super::origin::Origins;
use crate::error::{Error, Result};
use crate::suggest::{did_you_mean, list};

pub fn check(origins: &Origins, services: &[ServiceConfig], env_vars: &[Located]) -> Result<()> {
    for var in env_vars {
        for (service, key, offset, len) in var.template.references() {
            let at = var.text_start + offset;
            if let Err((message, hint)) = check_one(services, service, key) {
                return Err(origins.error(&(at..at + len), message, hint));
            }
        }
    }
    for svc in services {
        for (key, span, template) in svc.settings.templates() {
            for (other, value, _, _) in template.references() {
                if let Err((message, hint)) = check_one(services, other, value) {
                    return Err(origins.error(&span, message, hint));
                }
                reachable(svc, services, other, value, key)?;
            }
        }
    }
    Ok(())
}

fn check_one(
    services: &[ServiceConfig],
    service: &str,
    key: &str,
) -> std::result::Result<(), (String, Option<String>)> {
    let names: Vec<&str> = services.iter().map(|s| s.name.as_str()).collect();
    let Some(target) = services.iter().find(|s| s.name == service) else {
        let hint = did_you_mean(service, names.iter().copied())
            .unwrap_or_else(|| format!("the services are: {}", list(&names)));
        return Err((
            format!("`${{{service}.{key}}}` names unknown service `{service}`"),
            Some(hint),
        ));
    };
    let keys = target.settings.connection_keys();
    if !keys.contains(&key) {
        let hint = did_you_mean(key, keys.iter().copied())
            .unwrap_or_else(|| format!("a {} service exports: {}", target.kind(), list(keys)));
        return Err((
            format!("service `{service}` has no connection value `{key}`"),
            Some(hint),
        ));
    }
    Ok(())
}

/// A service that does not share the host's network (a container) cannot
/// reach one that listens only on the host's loopback (a native server).
fn reachable(
    from: &ServiceConfig,
    services: &[ServiceConfig],
    other: &str,
    value: &str,
    key: &str,
) -> Result<()> {
    let Some(target) = services.iter().find(|s| s.name == other) else {
        return Ok(());
    };
    if from.runtime.shares_host_network() || target.runtime.reaches_by_name() {
        return Ok(());
    }
    Err(Error::Config {
        message: format!(
            "`{}` runs {} and cannot reach `{other}`, which runs {} on the host's 127.0.0.1 (`${{{other}.{value}}}` in its `{key}`)",
            from.name,
            from.runtime.place(),
            target.runtime.place(),
        ),
        location: None,
        hint: Some(format!(
            "run both in containers or both natively: `runtime = \"{}\"` in `[services.{other}]`, or `--runtime {}`",
            from.runtime, from.runtime
        )),
    })
}
