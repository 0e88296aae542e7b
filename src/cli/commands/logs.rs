//! `berth logs [SERVICE...] [-f]`

use std::io::{Read, Seek, SeekFrom, Write};
use std::path::PathBuf;
use std::time::Duration;

use crate::error::Result;
use crate::interrupt::Interrupt;
use crate::lifecycle::inspect::{self, Logs};
use crate::stack::service::Service;

use crate::cli::context::Context;

#[derive(clap::Args)]
pub struct Args {
    /// Services to show [default: all]
    services: Vec<String>,
    /// Keep printing new lines as they come (Ctrl-C to stop)
    #[arg(short, long)]
    follow: bool,
    /// Show only the last N lines of each log
    #[arg(short = 'n', long, value_name = "N")]
    tail: Option<usize>,
}

pub fn run(ctx: &Context, args: Args) -> Result<()> {
    let (config, dir) = ctx.load()?;
    let stack = inspect::open(config, dir)?;
    let services = stack.select(&args.services)?;
    let logs = Logs::new(&stack);
    let files = logs.files(&services)?;
    let mut follower = Follower::new(&files, vec![0; files.len()]);
    let mut out = std::io::stdout().lock();
    follower.print_from_start(&files, args.tail, &mut out);
    if args.follow {
        follower.follow(&logs, &services, &Interrupt::process(), &mut || {})?;
    }
    Ok(())
}

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

    fn prefix(&self, name: &str) -> String {
        if self.prefixed {
            format!("{name:<width$} | ", width = self.width)
        } else {
            String::new()
        }
    }

    /// Print each log whole (or its last `tail` lines).
    fn print_from_start(
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
                let _ = writeln!(out, "{}{line}", self.prefix(name));
            }
            self.offsets[i] = text.len() as u64;
        }
        let _ = out.flush();
    }

    /// Print what the logs gain until `interrupt`, polling; `tick` runs
    /// between polls. A log that shrank was made anew (a reset, a new
    /// container): it is read from its start.
    pub fn follow(
        &mut self,
        logs: &Logs,
        services: &[&Service],
        interrupt: &Interrupt,
        tick: &mut dyn FnMut(),
    ) -> Result<()> {
        let mut out = std::io::stdout().lock();
        while !interrupt.requested() {
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
                    let line: String = self.partial[i].drain(..=end).collect();
                    let _ = write!(out, "{}{line}", self.prefix(name));
                }
            }
            let _ = out.flush();
            tick();
            std::thread::sleep(Duration::from_millis(150));
        }
        Ok(())
    }
}
