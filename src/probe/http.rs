//! HTTP: `GET path` over plain TCP; any 2xx or 3xx status means ready.
//!
//! Written here rather than with an HTTP client crate: one request and one
//! status line is a dozen lines, and a client would add TLS and async
//! dependency trees to every build for nothing berth needs.

use std::io::{BufRead, BufReader, Write};
use std::time::Duration;

use super::tcp_connect;
use crate::kind::Endpoint;

pub fn probe(endpoint: &Endpoint, path: &str) -> Result<(), String> {
    let timeout = Duration::from_secs(2);
    let mut stream = tcp_connect(endpoint, timeout).map_err(|e| e.to_string())?;
    stream
        .set_read_timeout(Some(timeout))
        .map_err(|e| e.to_string())?;
    stream
        .set_write_timeout(Some(timeout))
        .map_err(|e| e.to_string())?;
    let request = format!(
        "GET {path} HTTP/1.1\r\nHost: {}:{}\r\nUser-Agent: berth\r\nConnection: close\r\n\r\n",
        endpoint.host, endpoint.port
    );
    stream
        .write_all(request.as_bytes())
        .map_err(|e| e.to_string())?;
    let mut status_line = String::new();
    BufReader::new(stream)
        .read_line(&mut status_line)
        .map_err(|e| format!("no HTTP answer: {e}"))?;
    let status_line = status_line.trim_end();
    let code = status_line
        .split_whitespace()
        .nth(1)
        .and_then(|c| c.parse::<u16>().ok())
        .ok_or_else(|| format!("not an HTTP answer: `{status_line}`"))?;
    if (200..400).contains(&code) {
        Ok(())
    } else {
        Err(format!("GET {path} answered {status_line}"))
    }
}
