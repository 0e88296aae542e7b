//! Names and labels of what berth creates on the engine, and the rule for
//! what is the stack's own.
//!
//! Everything is named `berth-<stack>-...` and labelled with the stack, the
//! service and the state directory of the checkout that made it. Only
//! objects carrying this stack's label are ever stopped or removed: another
//! project's containers and volumes, or ones made by hand, are never
//! touched.

use std::collections::HashMap;

use crate::state::StateDir;

pub const LABEL_STACK: &str = "berth.stack";
pub const LABEL_SERVICE: &str = "berth.service";
pub const LABEL_VERSION: &str = "berth.version";
/// The state directory of the stack that made a container: two checkouts
/// may use one stack name on one engine.
pub const LABEL_STATE_DIR: &str = "berth.state-dir";

pub struct Naming {
    pub stack: String,
    pub state_dir: String,
}

impl Naming {
    pub fn new(stack: &str, dir: &StateDir) -> Naming {
        Naming {
            stack: stack.to_string(),
            state_dir: dir.root.display().to_string(),
        }
    }

    pub fn container(&self, service: &str) -> String {
        format!("berth-{}-{service}", self.stack)
    }

    /// A named volume of a service's `volumes` (`data`: its data volume):
    /// `berth-<stack>-<service>-<name>`, with `-gN` for a later generation.
    pub fn volume(&self, service: &str, name: &str, generation: u32) -> String {
        match generation {
            0 => format!("berth-{}-{service}-{name}", self.stack),
            n => format!("berth-{}-{service}-{name}-g{n}", self.stack),
        }
    }

    /// Whether `volume` is `base` in another generation than `generation`.
    pub fn is_other_generation(volume: &str, base: &str, generation: u32) -> bool {
        let of_base = volume == base
            || volume
                .strip_prefix(base)
                .and_then(|rest| rest.strip_prefix("-g"))
                .is_some_and(|n| !n.is_empty() && n.chars().all(|c| c.is_ascii_digit()));
        let current = match generation {
            0 => base.to_string(),
            n => format!("{base}-g{n}"),
        };
        of_base && volume != current
    }

    pub fn network(&self) -> String {
        format!("berth-{}", self.stack)
    }

    /// The labels of an object of the stack (of `service`, when given).
    pub fn labels(&self, service: Option<&str>) -> HashMap<String, String> {
        let mut labels = HashMap::from([
            (LABEL_STACK.to_string(), self.stack.clone()),
            (
                LABEL_VERSION.to_string(),
                env!("CARGO_PKG_VERSION").to_string(),
            ),
        ]);
        if let Some(s) = service {
            labels.insert(LABEL_SERVICE.to_string(), s.to_string());
            labels.insert(LABEL_STATE_DIR.to_string(), self.state_dir.clone());
        }
        labels
    }

    /// Whether labels mark an object as this stack's (and `service`'s).
    /// Checked on every object a filtered listing returns, because engines
    /// differ on filters: Podman 4 ORs two `label` filters where Docker ANDs
    /// them, which would hand over another stack's volumes.
    pub fn is_ours(&self, labels: Option<&HashMap<String, String>>, service: Option<&str>) -> bool {
        let Some(labels) = labels else {
            return false;
        };
        labels.get(LABEL_STACK) == Some(&self.stack)
            && service.is_none_or(|s| labels.get(LABEL_SERVICE).map(String::as_str) == Some(s))
    }

    /// The state directory of another checkout that made an object of this
    /// stack's name, if another one did.
    pub fn other_checkout<'a>(
        &self,
        labels: Option<&'a HashMap<String, String>>,
    ) -> Option<&'a String> {
        labels?
            .get(LABEL_STATE_DIR)
            .filter(|d| **d != self.state_dir)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn other_generations_of_a_volume() {
        let base = "berth-s-db-data";
        assert!(Naming::is_other_generation("berth-s-db-data-g2", base, 0));
        assert!(Naming::is_other_generation(base, base, 1));
        assert!(!Naming::is_other_generation("berth-s-db-data-g1", base, 1));
        assert!(!Naming::is_other_generation(base, base, 0));
        assert!(!Naming::is_other_generation("berth-s-db-data-gx", base, 0));
        assert!(
            !Naming::is_other_generation("berth-s-db-database", base, 0),
            "another volume"
        );
    }
}
