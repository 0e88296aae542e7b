//! Redis: `AUTH` when a password is set, then `PING`.
//!
//! A minimal RESP client written here rather than the `redis` crate: berth
//! sends two commands and reads simple replies, which is a few dozen lines,
//! while the crate would add a large dependency tree to every build.

use std::io::{BufRead, BufReader, Write};
use std::net::TcpStream;
use std::time::Duration;

use super::tcp_connect;
use crate::kind::Endpoint;

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
        let stream = tcp_connect(endpoint, timeout)?;
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
        self.read_reply()
    }

    fn read_reply(&mut self) -> std::io::Result<Reply> {
        let mut line = String::new();
        if self.reader.read_line(&mut line)? == 0 {
            return Err(std::io::Error::new(
                std::io::ErrorKind::UnexpectedEof,
                "connection closed",
            ));
        }
        let line = line.trim_end_matches(['\r', '\n']);
        let (tag, body) = line.split_at(line.len().min(1));
        let number = || {
            body.parse::<i64>().map_err(|_| {
                std::io::Error::new(
                    std::io::ErrorKind::InvalidData,
                    format!("bad reply `{line}`"),
                )
            })
        };
        Ok(match tag {
            "+" => Reply::Simple(body.to_string()),
            "-" => Reply::Error(body.to_string()),
            ":" => Reply::Integer(number()?),
            "$" => match number()? {
                n if n < 0 => Reply::Bulk(None),
                n => {
                    let mut buf = vec![0u8; n as usize + 2];
                    std::io::Read::read_exact(&mut self.reader, &mut buf)?;
                    buf.truncate(n as usize);
                    Reply::Bulk(Some(buf))
                }
            },
            "*" => match number()? {
                n if n < 0 => Reply::Array(Vec::new()),
                n => (0..n)
                    .map(|_| self.read_reply())
                    .collect::<Result<_, _>>()
                    .map(Reply::Array)?,
            },
            _ => {
                return Err(std::io::Error::new(
                    std::io::ErrorKind::InvalidData,
                    format!("unexpected reply `{line}`"),
                ))
            }
        })
    }
}

pub fn probe(endpoint: &Endpoint, password: Option<&str>) -> Result<(), String> {
    let mut conn = Connection::open(endpoint, Duration::from_secs(2)).map_err(|e| e.to_string())?;
    if let Some(p) = password {
        match conn.command(&["AUTH", p]).map_err(|e| e.to_string())? {
            Reply::Simple(_) => {}
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
