//! Redis: a minimal RESP client — `AUTH` and `PING` for the probe, `SCAN`
//! and `UNLINK` for test key prefixes.
//!
//! Written here rather than with the `redis` crate: berth sends a few
//! commands and reads simple replies, which is a few dozen lines, while the
//! crate would add a large dependency tree to every build. The reader is
//! bounded everywhere a server (or anything else listening on the port)
//! could make it read or allocate without end: line length, bulk length,
//! array length and nesting depth.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::time::Duration;

use super::endpoint::Endpoint;

/// Longest reply line (`+OK`, `-ERR ...`, `$5`) berth accepts.
const MAX_LINE: u64 = 64 * 1024;
/// Largest bulk string berth accepts (its replies are keys and short values).
const MAX_BULK: i64 = 64 * 1024 * 1024;
/// Most elements in one array reply (a `SCAN` page is far smaller).
const MAX_ARRAY: i64 = 1024 * 1024;
/// Deepest nesting of arrays (berth's replies nest at most twice).
const MAX_DEPTH: usize = 8;

pub struct Connection {
    reader: BufReader<TcpStream>,
}

#[derive(Debug, PartialEq, Eq)]
pub enum Reply {
    Simple(String),
    Error(String),
    Integer(i64),
    Bulk(Option<Vec<u8>>),
    Array(Vec<Reply>),
}

impl Connection {
    pub fn open(endpoint: &Endpoint, timeout: Duration) -> std::io::Result<Connection> {
        let stream = endpoint.connect(timeout)?;
        stream.set_read_timeout(Some(timeout))?;
        stream.set_write_timeout(Some(timeout))?;
        Ok(Connection {
            reader: BufReader::new(stream),
        })
    }

    pub fn command(&mut self, args: &[&str]) -> std::io::Result<Reply> {
        let mut out = format!("*{}\r\n", args.len()).into_bytes();
        for a in args {
            out.extend_from_slice(format!("${}\r\n", a.len()).as_bytes());
            out.extend_from_slice(a.as_bytes());
            out.extend_from_slice(b"\r\n");
        }
        self.reader.get_mut().write_all(&out)?;
        read_reply(&mut self.reader)
    }
}

/// Read one reply.
pub fn read_reply(reader: &mut impl BufRead) -> std::io::Result<Reply> {
    read_nested(reader, 0)
}

fn invalid(message: String) -> std::io::Error {
    std::io::Error::new(std::io::ErrorKind::InvalidData, message)
}

fn read_nested(reader: &mut impl BufRead, depth: usize) -> std::io::Result<Reply> {
    let mut raw = Vec::new();
    if reader.by_ref().take(MAX_LINE).read_until(b'\n', &mut raw)? == 0 {
        return Err(std::io::Error::new(
            std::io::ErrorKind::UnexpectedEof,
            "connection closed",
        ));
    }
    if raw.last() != Some(&b'\n') {
        return Err(invalid(format!(
            "a reply line longer than {MAX_LINE} bytes, or cut short"
        )));
    }
    let text = String::from_utf8_lossy(&raw);
    let line = text.trim_end_matches(['\r', '\n']);
    let shown = || line.chars().take(80).collect::<String>();
    let mut chars = line.chars();
    let tag = chars.next();
    let body = chars.as_str();
    let number = || {
        body.parse::<i64>()
            .map_err(|_| invalid(format!("bad reply `{}`", shown())))
    };
    Ok(match tag {
        Some('+') => Reply::Simple(body.to_string()),
        Some('-') => Reply::Error(body.to_string()),
        Some(':') => Reply::Integer(number()?),
        Some('$') => match number()? {
            n if n < 0 => Reply::Bulk(None),
            n if n > MAX_BULK => {
                return Err(invalid(format!(
                    "a bulk reply of {n} bytes (berth reads at most {MAX_BULK})"
                )))
            }
            n => {
                // Read what arrives rather than allocating what is claimed.
                let mut buf = Vec::new();
                reader.by_ref().take(n as u64 + 2).read_to_end(&mut buf)?;
                if buf.len() != n as usize + 2 || !buf.ends_with(b"\r\n") {
                    return Err(std::io::Error::new(
                        std::io::ErrorKind::UnexpectedEof,
                        "a bulk reply was cut short",
                    ));
                }
                buf.truncate(n as usize);
                Reply::Bulk(Some(buf))
            }
        },
        Some('*') => match number()? {
            n if n < 0 => Reply::Array(Vec::new()),
            n if n > MAX_ARRAY => {
                return Err(invalid(format!(
                    "an array reply of {n} elements (berth reads at most {MAX_ARRAY})"
                )))
            }
            _ if depth >= MAX_DEPTH => {
                return Err(invalid(format!(
                    "array replies nested deeper than {MAX_DEPTH}"
                )))
            }
            n => {
                let mut items = Vec::new();
                for _ in 0..n {
                    items.push(read_nested(reader, depth + 1)?);
                }
                Reply::Array(items)
            }
        },
        _ => return Err(invalid(format!("unexpected reply `{}`", shown()))),
    })
}

pub fn probe(endpoint: &Endpoint, password: Option<&str>) -> Result<(), String> {
    let mut conn = Connection::open(endpoint, Duration::from_secs(2)).map_err(|e| e.to_string())?;
    if let Some(p) = password {
        match conn.command(&["AUTH", p]).map_err(|e| e.to_string())? {
            Reply::Simple(_) => {}
            // WRONGPASS (Redis 6 and later), or "invalid password".
            Reply::Error(e) if e.starts_with("WRONGPASS") || e.contains("invalid password") => {
                return Err(format!("{}: AUTH: {e}", super::CREDENTIALS_REFUSED))
            }
            Reply::Error(e) => return Err(format!("AUTH: {e}")),
            other => return Err(format!("AUTH: unexpected reply {other:?}")),
        }
    }
    match conn.command(&["PING"]).map_err(|e| e.to_string())? {
        Reply::Simple(s) if s == "PONG" => Ok(()),
        Reply::Error(e) => Err(format!("PING: {e}")),
        other => Err(format!("PING: unexpected reply {other:?}")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read(bytes: &[u8]) -> std::io::Result<Reply> {
        read_reply(&mut std::io::Cursor::new(bytes))
    }

    #[test]
    fn reads_replies() {
        assert_eq!(read(b"+PONG\r\n").unwrap(), Reply::Simple("PONG".into()));
        assert_eq!(read(b":-3\r\n").unwrap(), Reply::Integer(-3));
        assert_eq!(read(b"$-1\r\n").unwrap(), Reply::Bulk(None));
        assert_eq!(
            read(b"*2\r\n$1\r\n0\r\n*1\r\n$3\r\nkey\r\n").unwrap(),
            Reply::Array(vec![
                Reply::Bulk(Some(b"0".to_vec())),
                Reply::Array(vec![Reply::Bulk(Some(b"key".to_vec()))])
            ])
        );
    }

    #[test]
    fn claims_of_huge_or_endless_replies_are_refused_without_allocating_them() {
        assert!(read(b"$9223372036854775807\r\n").is_err());
        assert!(read(b"$1000\r\nshort\r\n").is_err());
        assert!(read(b"*9223372036854775807\r\n").is_err());
        assert!(read(b"*1000000\r\n:1\r\n").is_err(), "cut short");
        assert!(read(&b"*1\r\n".repeat(100)).is_err(), "nested too deep");
        assert!(read(&vec![b'+'; 200_000]).is_err(), "a line without end");
        assert!(read(b"?\r\n").is_err());
        assert!(read(b"").is_err());
    }
}
