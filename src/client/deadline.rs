//! A deadline on a blocking client call that has no timeout of its own.
//!
//! The PostgreSQL client bounds only its TCP connect: a server that is
//! frozen (stopped with SIGSTOP, swapped out) or a listener that accepts
//! and never answers takes the connection into the kernel's backlog and
//! then says nothing, and the login waits forever. The call runs on a
//! thread of its own; past the deadline the caller goes on with an error
//! and the thread is left to end when the server answers or the process
//! does (it holds one socket and touches nothing of the caller's).

use std::sync::mpsc;
use std::time::Duration;

/// `call`'s result, or "no answer within ..." once `limit` has passed.
pub fn within<T: Send + 'static>(
    limit: Duration,
    call: impl FnOnce() -> Result<T, String> + Send + 'static,
) -> Result<T, String> {
    let (tx, rx) = mpsc::channel();
    let spawned = std::thread::Builder::new()
        .name("berth-deadline".into())
        .spawn(move || {
            let _ = tx.send(call());
        });
    if let Err(e) = spawned {
        return Err(format!("could not start a client thread: {e}"));
    }
    match rx.recv_timeout(limit) {
        Ok(result) => result,
        Err(mpsc::RecvTimeoutError::Timeout) => Err(format!(
            "no answer within {:.1}s (the server accepts connections but does not answer: stopped or overloaded?)",
            limit.as_secs_f64()
        )),
        Err(mpsc::RecvTimeoutError::Disconnected) => Err("the client thread ended without an answer".into()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_call_past_its_deadline_is_given_up_and_one_within_is_answered() {
        let started = std::time::Instant::now();
        let late = within(Duration::from_millis(100), || {
            std::thread::sleep(Duration::from_secs(5));
            Ok(1)
        });
        assert!(late.unwrap_err().starts_with("no answer within 0.1s"));
        assert!(started.elapsed() < Duration::from_secs(2));
        assert_eq!(within(Duration::from_secs(5), || Ok(2)), Ok(2));
        assert_eq!(
            within::<()>(Duration::from_secs(5), || Err("refused".into())),
            Err("refused".into())
        );
    }
}
