//! Ctrl-C as a flag that long waits check, so an interrupted command stops
//! at a point the next `up` or `down` can complete from. The CLI sets the
//! process's flag from its signal handler; the library only reads flags.
//!
//! Work takes an [`Interrupt`] rather than reading the process's flag
//! directly, so that one operation can be interrupted on its own (the
//! lifecycle's unit tests interrupt one `up` among many running at once).

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

static PROCESS: AtomicBool = AtomicBool::new(false);

#[derive(Debug, Clone, Default)]
pub struct Interrupt {
    /// `None`: the process's flag (Ctrl-C).
    own: Option<Arc<AtomicBool>>,
}

impl Interrupt {
    /// The process's flag, set by Ctrl-C.
    pub fn process() -> Interrupt {
        Interrupt { own: None }
    }

    /// A flag of its own, set only through [`Interrupt::request`].
    #[cfg_attr(not(test), allow(dead_code))]
    pub fn private() -> Interrupt {
        Interrupt {
            own: Some(Arc::new(AtomicBool::new(false))),
        }
    }

    pub fn request(&self) {
        self.flag().store(true, Ordering::SeqCst);
    }

    pub fn requested(&self) -> bool {
        self.flag().load(Ordering::SeqCst)
    }

    fn flag(&self) -> &AtomicBool {
        self.own.as_deref().unwrap_or(&PROCESS)
    }
}
