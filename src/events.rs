//! Progress as it happens, for whoever shows it. The library reports each
//! step through a [`Reporter`]; the CLI draws spinners or prints lines, the
//! testing library ignores them ([`Silent`]).

use std::time::Duration;

/// What happens to a service, as it happens.
#[derive(Debug, Clone, PartialEq)]
pub enum Phase {
    /// Downloading `image`: bytes done of total so far (layers still being
    /// discovered add to the total).
    Pulling {
        image: String,
        done: u64,
        total: u64,
    },
    Initializing,
    Starting,
    /// Probing; `last` is what the latest probe saw.
    Waiting {
        last: String,
        elapsed: Duration,
    },
    Provisioning,
    /// Running the team's init script `file`, the `done + 1`th of `total`.
    InitScript {
        file: String,
        done: usize,
        total: usize,
    },
    /// Applying migration `file`, the `done + 1`th of `total`.
    Migrating {
        file: String,
        done: usize,
        total: usize,
    },
    Seeding,
    Ready {
        elapsed: Duration,
    },
    AlreadyRunning,
    Stopping,
    Stopped,
    Wiped,
    /// Copying its data into a snapshot.
    Saving,
    /// Its data is in a snapshot: how much, and how it got there.
    Saved {
        bytes: u64,
        how: Stored,
    },
    /// Reading its data in a snapshot to check it against its checksum.
    Checksumming,
    /// Making its data from a snapshot.
    Restoring,
    Restored,
    Failed {
        message: String,
    },
    Skipped {
        because: String,
    },
}

/// How a service's data went into a snapshot.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stored {
    /// Every block written anew.
    Copied,
    /// Its blocks shared with the data (a reflink): nothing written.
    Cloned,
    /// The data directory itself moved in (`reset`, which deletes the
    /// data next): nothing written, nothing left to delete.
    Moved,
}

impl Stored {
    pub fn copied(cloned: bool) -> Stored {
        if cloned {
            Stored::Cloned
        } else {
            Stored::Copied
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub enum Event<'a> {
    /// Another berth command holds the stack lock.
    LockWait {
        holder: &'a str,
    },
    /// Another session holds a database's migration lock.
    MigrationLockWait {
        service: &'a str,
        /// Its server process id.
        holder: Option<i32>,
    },
    Warning {
        message: String,
    },
    Phase {
        service: &'a str,
        phase: Phase,
    },
}

pub trait Reporter: Sync {
    fn event(&self, event: Event);

    /// Report a phase of one service.
    fn phase(&self, service: &str, phase: Phase) {
        self.event(Event::Phase { service, phase });
    }

    fn warning(&self, message: String) {
        self.event(Event::Warning { message });
    }
}

/// A reporter that discards everything (for library users who do not care).
pub struct Silent;

impl Reporter for Silent {
    fn event(&self, _: Event) {}
}
