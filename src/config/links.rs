//! Links between services: a kind that works with another service (a
//! pooler and its database) names it by a key, or takes the stack's only
//! service of the kind it needs. Each link must reach an existing service
//! of that kind, and the linked service starts first.

use super::model::ServiceConfig;
use super::origin::Origins;
use crate::error::Result;
use crate::suggest::{did_you_mean, list};

/// Resolve every service's links, checking them, and add each linked
/// service to the service's `depends_on`.
pub fn resolve(origins: &Origins, services: &mut [ServiceConfig]) -> Result<()> {
    let kinds: Vec<(String, &'static str)> = services
        .iter()
        .map(|s| (s.name.clone(), s.kind()))
        .collect();
    for svc in services.iter_mut() {
        for link in svc.settings.links() {
            let (target, span) = match &link.named {
                Some((name, span)) => {
                    let Some((_, kind)) = kinds.iter().find(|(n, _)| n == name) else {
                        let names = kinds.iter().map(|(n, _)| n.as_str());
                        let hint = did_you_mean(name, names.clone()).unwrap_or_else(|| {
                            format!("the services are: {}", list(&names.collect::<Vec<_>>()))
                        });
                        return Err(origins.error(
                            span,
                            format!(
                                "`{}` of service `{}` names unknown service `{name}`",
                                link.key, svc.name
                            ),
                            Some(hint),
                        ));
                    };
                    if *kind != link.kind || name == &svc.name {
                        return Err(origins.error(
                            span,
                            format!(
                                "`{}` of service `{}` must be a {} service, and `{name}` is a {kind} service",
                                link.key, svc.name, link.kind
                            ),
                            Some(candidates_hint(&kinds, &svc.name, link.kind, link.key)),
                        ));
                    }
                    (name.clone(), span.clone())
                }
                None => {
                    let candidates: Vec<&str> = kinds
                        .iter()
                        .filter(|(n, k)| *k == link.kind && n != &svc.name)
                        .map(|(n, _)| n.as_str())
                        .collect();
                    match candidates.as_slice() {
                        [one] => (one.to_string(), svc.span.clone()),
                        [] => {
                            return Err(origins.error(
                                &svc.span,
                                format!(
                                    "service `{}` needs a {} service (its `{}`), and the stack has none",
                                    svc.name, link.kind, link.key
                                ),
                                Some(format!("add a {} service to the stack", link.kind)),
                            ))
                        }
                        many => {
                            return Err(origins.error(
                                &svc.span,
                                format!(
                                    "service `{}` needs a {} service, and the stack has several: {}",
                                    svc.name,
                                    link.kind,
                                    list(many)
                                ),
                                Some(format!(
                                    "say which with `{} = \"...\"` in `[services.{}]`",
                                    link.key, svc.name
                                )),
                            ))
                        }
                    }
                }
            };
            if !svc.depends_on.iter().any(|(d, _)| d == &target) {
                svc.depends_on.push((target.clone(), span));
            }
            svc.links.insert(link.key, target);
        }
    }
    Ok(())
}

fn candidates_hint(
    kinds: &[(String, &'static str)],
    itself: &str,
    kind: &str,
    key: &str,
) -> String {
    let names: Vec<&str> = kinds
        .iter()
        .filter(|(n, k)| *k == kind && n != itself)
        .map(|(n, _)| n.as_str())
        .collect();
    if names.is_empty() {
        format!("the stack has no {kind} service; add one")
    } else {
        format!("set `{key}` to one of: {}", list(&names))
    }
}
