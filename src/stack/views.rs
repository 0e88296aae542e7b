//! How services see each other's connection values: from the host (and
//! from native services) at 127.0.0.1 and the published port; from one
//! container to another by service name and the port inside the container,
//! on the stack's network. (A container naming a native service is refused
//! when the stack file is read.)

use std::collections::BTreeMap;

use crate::kind::connection::ConnectionValue;
use crate::plan::runtime_kind::RuntimeKind;

/// Every service's connection values, both ways.
#[derive(Debug, Default)]
pub struct Views {
    pub(super) services: Vec<ServiceView>,
    /// The `${NAME}` variables the stack uses, with their values (or the
    /// exports' markers in their place).
    pub(super) variables: BTreeMap<String, String>,
}

#[derive(Debug)]
pub(super) struct ServiceView {
    pub name: String,
    pub runtime: RuntimeKind,
    pub from_host: Vec<ConnectionValue>,
    pub from_network: Vec<ConnectionValue>,
}

impl Views {
    pub fn variable(&self, name: &str) -> Option<String> {
        self.variables.get(name).cloned()
    }

    /// `service`'s value `key`, as a service on `from` reaches it.
    pub fn lookup(&self, from: RuntimeKind, service: &str, key: &str) -> Option<String> {
        let target = self.services.iter().find(|s| s.name == service)?;
        let values = if from.reaches_by_name() && target.runtime.reaches_by_name() {
            &target.from_network
        } else {
            &target.from_host
        };
        values
            .iter()
            .find(|v| v.key == key)
            .map(|v| v.value.clone())
    }
}
