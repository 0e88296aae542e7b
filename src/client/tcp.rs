//! The plainest probe: a TCP connection is accepted and stays open.

use std::io::{ErrorKind, Read};
use std::time::Duration;

use super::endpoint::Endpoint;

/// Accepting is not enough: a container engine's port proxy accepts on the
/// published port before anything listens inside, then closes the
/// connection when it cannot reach the container. So the probe waits a
/// moment for that close: a server that is there either keeps the
/// connection open (waiting for a request) or greets.
pub fn probe(endpoint: &Endpoint) -> Result<(), String> {
    let mut stream = endpoint
        .connect(Duration::from_secs(2))
        .map_err(|e| e.to_string())?;
    stream
        .set_read_timeout(Some(Duration::from_millis(100)))
        .map_err(|e| e.to_string())?;
    match stream.read(&mut [0u8; 1]) {
        Ok(0) => {
            Err("the connection was closed at once (nothing listens behind the port yet)".into())
        }
        Ok(_) => Ok(()),
        Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => Ok(()),
        Err(e) => Err(e.to_string()),
    }
}
