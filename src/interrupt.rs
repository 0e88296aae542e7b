//! Ctrl-C as a flag that long waits check, so an interrupted `up` stops at a
//! point the next `up` or `down` can complete from. The CLI installs the
//! handler; the library only reads the flag.

use std::sync::atomic::{AtomicBool, Ordering};

static REQUESTED: AtomicBool = AtomicBool::new(false);

pub fn request() {
    REQUESTED.store(true, Ordering::SeqCst);
}

pub fn requested() -> bool {
    REQUESTED.load(Ordering::SeqCst)
}
