//! Blocking database work, safe to call from async tests.

/// Run `f` on a fresh thread, where no async runtime is current: the
/// synchronous `postgres` client blocks on a runtime of its own, which
/// panics on a thread that drives async tasks. A panic in `f` is passed on.
pub fn off_runtime<T: Send>(f: impl FnOnce() -> T + Send) -> T {
    std::thread::scope(|s| match s.spawn(f).join() {
        Ok(value) => value,
        Err(panic) => std::panic::resume_unwind(panic),
    })
}
