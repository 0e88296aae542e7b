//! Isolated Redis for one test: a key prefix of its own on the stack's
//! server (`bt_<pid>_<start>_<n>:`), deleted when the test ends.
//!
//! A prefix rather than a logical database (`SELECT n`): Redis has 16 of
//! those by default, far fewer than the tests a suite runs in parallel, and
//! cluster-style clients do not support them at all.

use std::time::Duration;

use super::owner;
use crate::client::endpoint::Endpoint;
use crate::client::redis::{Connection, Reply};
use crate::error::{Error, Result};

pub struct RedisServer {
    pub service: String,
    pub endpoint: Endpoint,
    pub password: Option<String>,
}

impl RedisServer {
    fn connect(&self) -> Result<Connection> {
        let fail = |message: String| Error::Service {
            service: self.service.clone(),
            message,
            hint: Some("start the stack with `berth up`".into()),
            source: None,
        };
        let mut c = Connection::open(&self.endpoint, Duration::from_secs(5))
            .map_err(|e| fail(format!("{} did not answer: {e}", self.endpoint)))?;
        if let Some(p) = &self.password {
            match c.command(&["AUTH", p]) {
                Ok(Reply::Simple(_)) => {}
                Ok(other) => return Err(fail(format!("AUTH was refused: {other:?}"))),
                Err(e) => return Err(fail(e.to_string())),
            }
        }
        Ok(c)
    }

    /// Delete every key under `prefix`. Returns how many were deleted.
    pub fn clear(&self, prefix: &str) -> Result<usize> {
        let mut c = self.connect()?;
        let keys = scan(&mut c, &format!("{}*", escape_glob(prefix)), &self.service)?;
        for chunk in keys.chunks(500) {
            let mut args = vec!["UNLINK"];
            args.extend(chunk.iter().map(String::as_str));
            c.command(&args).map_err(|e| self.error(e))?;
        }
        Ok(keys.len())
    }

    /// Delete the keys of prefixes whose owner process is gone. Returns the
    /// prefixes cleared.
    pub fn gc(&self) -> Result<Vec<String>> {
        let mut c = self.connect()?;
        let keys = scan(&mut c, &format!("{}*", owner::PREFIX), &self.service)?;
        let mut prefixes: Vec<String> = keys
            .iter()
            .filter_map(|k| k.split_once(':').map(|(p, _)| p.to_string()))
            .filter(|p| owner::is_abandoned(p))
            .collect();
        prefixes.sort();
        prefixes.dedup();
        for p in &prefixes {
            self.clear(&format!("{p}:"))?;
        }
        Ok(prefixes)
    }

    fn error(&self, e: std::io::Error) -> Error {
        Error::Service {
            service: self.service.clone(),
            message: e.to_string(),
            hint: None,
            source: None,
        }
    }
}

/// Every key matching `pattern`, by SCAN (never KEYS, which blocks the server).
fn scan(c: &mut Connection, pattern: &str, service: &str) -> Result<Vec<String>> {
    let mut cursor = "0".to_string();
    let mut keys = Vec::new();
    loop {
        let reply = c
            .command(&["SCAN", &cursor, "MATCH", pattern, "COUNT", "1000"])
            .map_err(|e| Error::Service {
                service: service.to_string(),
                message: e.to_string(),
                hint: None,
                source: None,
            })?;
        let Reply::Array(parts) = reply else {
            return Err(Error::Service {
                service: service.to_string(),
                message: format!("unexpected SCAN reply {reply:?}"),
                hint: None,
                source: None,
            });
        };
        let mut parts = parts.into_iter();
        if let Some(Reply::Bulk(Some(next))) = parts.next() {
            cursor = String::from_utf8_lossy(&next).into_owned();
        }
        if let Some(Reply::Array(found)) = parts.next() {
            keys.extend(found.into_iter().filter_map(|k| match k {
                Reply::Bulk(Some(k)) => Some(String::from_utf8_lossy(&k).into_owned()),
                _ => None,
            }));
        }
        if cursor == "0" {
            return Ok(keys);
        }
    }
}

fn escape_glob(text: &str) -> String {
    let mut out = String::new();
    for c in text.chars() {
        if matches!(c, '*' | '?' | '[' | ']' | '\\') {
            out.push('\\');
        }
        out.push(c);
    }
    out
}
