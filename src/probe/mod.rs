//! Readiness probes over each service's real protocol, run from the host
//! against the published endpoint — never "the process started" and never a
//! check inside the server's own environment, which can be fooled (the
//! official Postgres image's socket-only init server answers `pg_isready`).

pub mod http;
pub mod postgres;
pub mod redis;

use std::net::{SocketAddr, TcpStream, ToSocketAddrs};
use std::time::Duration;

use crate::kind::Endpoint;

/// Connect with a timeout, trying each address the host resolves to.
pub fn tcp_connect(endpoint: &Endpoint, timeout: Duration) -> std::io::Result<TcpStream> {
    let addrs: Vec<SocketAddr> = (endpoint.host.as_str(), endpoint.port)
        .to_socket_addrs()?
        .collect();
    let mut last = std::io::Error::new(std::io::ErrorKind::NotFound, "no address");
    for addr in addrs {
        match TcpStream::connect_timeout(&addr, timeout) {
            Ok(s) => return Ok(s),
            Err(e) => last = e,
        }
    }
    Err(last)
}

/// The plainest probe: a TCP connection is accepted and stays open.
///
/// Accepting is not enough: a container engine's port proxy accepts on the
/// published port before anything listens inside, then closes the
/// connection when it cannot reach the container. So the probe waits a
/// moment for that close: a server that is there either keeps the
/// connection open (waiting for a request) or greets.
pub fn tcp(endpoint: &Endpoint) -> Result<(), String> {
    use std::io::{ErrorKind, Read};
    let mut stream = tcp_connect(endpoint, Duration::from_secs(2)).map_err(|e| e.to_string())?;
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
