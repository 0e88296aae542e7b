//! The runtimes a service can run on, and what each can do. Shared code asks
//! these capabilities instead of comparing names, so a third runtime is a
//! compile error everywhere a decision depends on it.

use serde::Serialize;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum RuntimeKind {
    /// Supervised host processes; no container engine needed.
    Native,
    /// Containers through the Docker Engine API (Docker, or Podman's
    /// compatible socket).
    Container,
}

impl RuntimeKind {
    pub const ALL: [RuntimeKind; 2] = [RuntimeKind::Native, RuntimeKind::Container];

    pub fn name(self) -> &'static str {
        match self {
            RuntimeKind::Native => "native",
            RuntimeKind::Container => "container",
        }
    }

    pub fn parse(name: &str) -> Option<RuntimeKind> {
        RuntimeKind::ALL.into_iter().find(|r| r.name() == name)
    }

    /// How a sentence says a service runs here: `natively`, `in a container`.
    pub fn place(self) -> &'static str {
        match self {
            RuntimeKind::Native => "natively",
            RuntimeKind::Container => "in a container",
        }
    }

    pub fn names() -> impl Iterator<Item = &'static str> {
        RuntimeKind::ALL.into_iter().map(RuntimeKind::name)
    }

    /// Services on this runtime reach each other by service name, on a
    /// network of the stack's own (`db:5432`), rather than at the host's
    /// loopback and the published port.
    pub fn reaches_by_name(self) -> bool {
        match self {
            RuntimeKind::Native => false,
            RuntimeKind::Container => true,
        }
    }

    /// Services on this runtime share the host's network, so they reach
    /// whatever listens on the host's loopback. A container does not: its
    /// 127.0.0.1 is itself.
    pub fn shares_host_network(self) -> bool {
        match self {
            RuntimeKind::Native => true,
            RuntimeKind::Container => false,
        }
    }

    /// Services on this runtime run from images (pulled, pinned in
    /// `berth.lock`, verified).
    pub fn uses_images(self) -> bool {
        match self {
            RuntimeKind::Native => false,
            RuntimeKind::Container => true,
        }
    }

    /// Whether this build of berth includes the runtime (the container
    /// runtime is the `container` feature).
    pub fn is_built_in(self) -> bool {
        match self {
            RuntimeKind::Native => true,
            RuntimeKind::Container => cfg!(feature = "container"),
        }
    }
}

impl std::fmt::Display for RuntimeKind {
    fn fmt(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.write_str(self.name())
    }
}
