//! HTTP: `GET path` over plain TCP; any 2xx or 3xx status means ready.
//!
//! Written here rather than with an HTTP client crate: one request and one
//! status line is a dozen lines, and a client would add TLS and async
//! dependency trees to every build for nothing berth needs.

use std::io::{BufRead, BufReader, Read, Write};
use std::time::Duration;

use super::endpoint::Endpoint;

/// A status line longer than this is not HTTP (and must not make berth
/// read an endless line into memory).
const MAX_STATUS_LINE: u64 = 8 * 1024;

pub fn probe(endpoint: &Endpoint, path: &str) -> Result<(), String> {
    let timeout = Duration::from_secs(2);
    let mut stream = endpoint.connect(timeout).map_err(|e| e.to_string())?;
    stream
        .set_read_timeout(Some(timeout))
        .map_err(|e| e.to_string())?;
    stream
        .set_write_timeout(Some(timeout))
        .map_err(|e| e.to_string())?;
    let request = format!(
        "GET {path} HTTP/1.1\r\nHost: {endpoint}\r\nUser-Agent: berth\r\nConnection: close\r\n\r\n"
    );
    stream
        .write_all(request.as_bytes())
        .map_err(|e| e.to_string())?;
    let mut line = Vec::new();
    BufReader::new(stream.take(MAX_STATUS_LINE))
        .read_until(b'\n', &mut line)
        .map_err(|e| format!("no HTTP answer: {e}"))?;
    let code = status_code(&line)?;
    if (200..400).contains(&code) {
        Ok(())
    } else {
        Err(format!(
            "GET {path} answered {}",
            String::from_utf8_lossy(&line).trim_end()
        ))
    }
}

/// The status code of an HTTP status line (`HTTP/1.1 204 No Content`).
pub fn status_code(line: &[u8]) -> Result<u16, String> {
    let text = String::from_utf8_lossy(line);
    let text = text.trim_end();
    let mut words = text.split_whitespace();
    let version = words.next().unwrap_or("");
    let code = words
        .next()
        .filter(|c| c.len() == 3 && c.bytes().all(|b| b.is_ascii_digit()))
        .and_then(|c| c.parse::<u16>().ok());
    match code {
        Some(code) if version.starts_with("HTTP/") => Ok(code),
        _ => {
            let shown: String = text.chars().take(80).collect();
            Err(format!("not an HTTP answer: `{shown}`"))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::status_code;

    #[test]
    fn reads_status_lines_and_refuses_the_rest() {
        assert_eq!(status_code(b"HTTP/1.1 204 No Content\r\n"), Ok(204));
        assert_eq!(status_code(b"HTTP/1.0 302\n"), Ok(302));
        assert!(status_code(b"").is_err());
        assert!(status_code(b"SSH-2.0-OpenSSH\r\n").is_err());
        assert!(status_code(b"HTTP/1.1 99999 x").is_err());
        assert!(status_code(&[0xff, 0xfe, b' ', b'2']).is_err());
    }
}
