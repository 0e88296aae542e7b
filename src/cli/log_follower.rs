//! Following logs as they grow: `berth logs -f`, `berth run` and the
//! dashboard's log view read the same files the same way.

use std::io::{Read, Seek, SeekFrom, Write};
use std::path::PathBuf;
use std::time::Duration;

use crate::error::Result;
use crate::interrupt::Interrupt;
use crate::lifecycle::inspect::Logs;
use crate::stack::service::Service;

/// Prints the lines added to a set of logs, each prefixed with its service
/// when there are several: `berth logs -f`, and `berth run`.
pub struct Follower {
    prefixed: bool,
    width: usize,
    /// How far each log has been printed, in bytes.
    offsets: Vec<u64>,
    /// A last line not yet ended, per log.
    partial: Vec<String>,
}

impl Follower {
    /// Follow `files` from `offsets` (one per file).
    pub fn new(files: &[(String, PathBuf)], offsets: Vec<u64>) -> Follower {
        Follower {
            prefixed: files.len() > 1,
            width: files.iter().map(|(n, _)| n.len()).max().unwrap_or(0),
            partial: vec![String::new(); files.len()],
            offsets,
        }
    }

    fn prefix_for(&self, name: &str) -> String {
        prefix(self.prefixed, self.width, name)
    }

    /// Print each log whole (or its last `tail` lines).
    pub fn print_from_start(
        &mut self,
        files: &[(String, PathBuf)],
        tail: Option<usize>,
        out: &mut dyn Write,
    ) {
        for (i, (name, path)) in files.iter().enumerate() {
            let text = std::fs::read(path).unwrap_or_default();
            let text = String::from_utf8_lossy(&text);
            let lines: Vec<&str> = text.lines().collect();
            let from = tail.map_or(0, |n| lines.len().saturating_sub(n));
            for line in &lines[from..] {
                let _ = writeln!(out, "{}{line}", self.prefix_for(name));
            }
            self.offsets[i] = text.len() as u64;
        }
        let _ = out.flush();
    }

    /// Print what the logs gain until `interrupt`, polling; `tick` runs
    /// between polls.
    pub fn follow(
        &mut self,
        logs: &Logs,
        services: &[&Service],
        interrupt: &Interrupt,
        tick: &mut dyn FnMut(),
    ) -> Result<()> {
        let mut out = std::io::stdout().lock();
        let (prefixed, width) = (self.prefixed, self.width);
        while !interrupt.requested() {
            self.poll(logs, services, &mut |name, line| {
                let _ = writeln!(out, "{}{line}", prefix(prefixed, width, name));
            })?;
            let _ = out.flush();
            tick();
            std::thread::sleep(Duration::from_millis(150));
        }
        Ok(())
    }

    /// Hand each whole line the logs gained since the last poll to `line`
    /// (service, text without its newline). A log that shrank was made
    /// anew (a reset, a new container): it is read from its start.
    pub fn poll(
        &mut self,
        logs: &Logs,
        services: &[&Service],
        line: &mut dyn FnMut(&str, &str),
    ) -> Result<()> {
        let files = logs.files(services)?;
        for (i, (name, path)) in files.iter().enumerate() {
            let Ok(mut f) = std::fs::File::open(path) else {
                continue;
            };
            let len = f.metadata().map(|m| m.len()).unwrap_or(0);
            if len < self.offsets[i] {
                self.offsets[i] = 0;
            }
            if len == self.offsets[i] || f.seek(SeekFrom::Start(self.offsets[i])).is_err() {
                continue;
            }
            let mut buf = Vec::new();
            let _ = f.read_to_end(&mut buf);
            self.offsets[i] += buf.len() as u64;
            self.partial[i].push_str(&String::from_utf8_lossy(&buf));
            while let Some(end) = self.partial[i].find('\n') {
                let whole: String = self.partial[i].drain(..=end).collect();
                line(name, whole.trim_end_matches(['\n', '\r']));
            }
        }
        Ok(())
    }
}

/// `name | ` padded to `width` when several logs are shown together.
fn prefix(prefixed: bool, width: usize, name: &str) -> String {
    if prefixed {
        format!("{name:<width$} | ")
    } else {
        String::new()
    }
}
