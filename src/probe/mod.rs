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

/// The plainest probe: a TCP connection is accepted.
pub fn tcp(endpoint: &Endpoint) -> Result<(), String> {
    tcp_connect(endpoint, Duration::from_secs(2))
        .map(drop)
        .map_err(|e| e.to_string())
}
