//! Dependency cycles: refused when the stack file is read, pointing at the
//! `depends_on` entry that closes one.

use super::model::ServiceConfig;
use super::origin::Origins;
use crate::error::Result;

#[derive(Clone, Copy, PartialEq)]
enum Mark {
    New,
    Active,
    Done,
}

pub fn check_cycles(origins: &Origins, services: &[ServiceConfig]) -> Result<()> {
    let mut marks = vec![Mark::New; services.len()];
    let mut path = Vec::new();
    for i in 0..services.len() {
        if marks[i] == Mark::New {
            visit(i, origins, services, &mut marks, &mut path)?;
        }
    }
    Ok(())
}

fn visit(
    i: usize,
    origins: &Origins,
    services: &[ServiceConfig],
    marks: &mut [Mark],
    path: &mut Vec<usize>,
) -> Result<()> {
    marks[i] = Mark::Active;
    path.push(i);
    for (dep, span) in &services[i].depends_on {
        let Some(j) = services.iter().position(|s| &s.name == dep) else {
            continue;
        };
        match marks[j] {
            Mark::Done => {}
            Mark::New => visit(j, origins, services, marks, path)?,
            Mark::Active => {
                let start = path.iter().position(|&p| p == j).unwrap_or(0);
                let mut names: Vec<&str> = path[start..]
                    .iter()
                    .map(|&p| services[p].name.as_str())
                    .collect();
                names.push(&services[j].name);
                return Err(origins.error(
                    span,
                    format!("dependency cycle: {}", names.join(" -> ")),
                    Some("remove one of these `depends_on` entries".into()),
                ));
            }
        }
    }
    path.pop();
    marks[i] = Mark::Done;
    Ok(())
}
