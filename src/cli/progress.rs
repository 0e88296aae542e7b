//! Live progress for long waits. On a terminal: one spinner line per
//! service, updated in place. Otherwise (CI, pipes): plain lines on stderr,
//! one per step, with a waiting line at most every five seconds.

use std::collections::HashMap;
use std::io::IsTerminal;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use indicatif::{MultiProgress, ProgressBar, ProgressDrawTarget, ProgressStyle};

use super::output::{paint, warning};
use crate::diagnostic::Tone;
use crate::events::{Event, Phase, Reporter, Stored};
use crate::time::fmt_duration;
use crate::units::fmt_bytes;

pub struct Progress {
    live: Option<MultiProgress>,
    bars: Mutex<HashMap<String, ProgressBar>>,
    last_wait_line: Mutex<HashMap<String, Instant>>,
}

impl Progress {
    pub fn new() -> Progress {
        let live = (std::io::stderr().is_terminal() && std::env::var_os("CI").is_none())
            .then(|| MultiProgress::with_draw_target(ProgressDrawTarget::stderr()));
        Progress {
            live,
            bars: Mutex::new(HashMap::new()),
            last_wait_line: Mutex::new(HashMap::new()),
        }
    }

    fn bar(&self, live: &MultiProgress, service: &str) -> ProgressBar {
        self.bars
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .entry(service.to_string())
            .or_insert_with(|| {
                let bar = live.add(ProgressBar::new_spinner());
                bar.set_style(
                    ProgressStyle::with_template("{spinner} {prefix:.bold} {msg}")
                        .expect("valid template"),
                );
                bar.set_prefix(service.to_string());
                bar.enable_steady_tick(Duration::from_millis(80));
                bar
            })
            .clone()
    }

    fn describe(phase: &Phase) -> Option<String> {
        Some(match phase {
            Phase::Pulling { image, done, total } => format!(
                "pulling image `{image}`: {} of {}",
                fmt_bytes(*done),
                fmt_bytes(*total)
            ),
            Phase::Initializing => "initializing data".into(),
            Phase::Starting => "starting".into(),
            Phase::Waiting { last, elapsed } => {
                format!("waiting ({}): {last}", fmt_duration(*elapsed))
            }
            Phase::Provisioning => "setting up".into(),
            Phase::InitScript { file, done, total } => {
                format!("init script {}/{total}: {file}", done + 1)
            }
            Phase::Migrating { file, done, total } => {
                format!("migrating {}/{total}: {file}", done + 1)
            }
            Phase::Seeding => "seeding".into(),
            Phase::Ready { elapsed } => format!("ready in {}", fmt_duration(*elapsed)),
            Phase::AlreadyRunning => "already running, checking".into(),
            Phase::Stopping => "stopping".into(),
            Phase::Stopped => "stopped".into(),
            Phase::Wiped => "data deleted".into(),
            Phase::Saving => "saving its data".into(),
            Phase::Checksumming => "checking the snapshot's checksum".into(),
            Phase::Saved { bytes, how } => format!(
                "saved {}{}",
                fmt_bytes(*bytes),
                match how {
                    Stored::Copied => "",
                    Stored::Cloned => " (cloned)",
                    Stored::Moved => " (moved into the snapshot, not copied)",
                }
            ),
            Phase::Restoring => "restoring its data".into(),
            Phase::Restored => "data restored".into(),
            Phase::Failed { message } => format!("failed: {message}"),
            Phase::Skipped { because } => format!("not started: `{because}` failed"),
        })
    }

    fn is_final(phase: &Phase) -> bool {
        matches!(
            phase,
            Phase::Ready { .. }
                | Phase::Stopped
                | Phase::Wiped
                | Phase::Saved { .. }
                | Phase::Restored
                | Phase::Failed { .. }
                | Phase::Skipped { .. }
        )
    }
}

impl Reporter for Progress {
    fn event(&self, event: Event) {
        match event {
            Event::LockWait { holder } => {
                let text = format!("waiting for {holder}, which is working on this stack");
                match &self.live {
                    Some(live) => {
                        let _ = live.println(text);
                    }
                    None => eprintln!("{text}"),
                }
            }
            Event::MigrationLockWait { service, holder } => {
                let text = format!(
                    "{service}: waiting for another migration runner{}",
                    holder
                        .map(|p| format!(" (server pid {p})"))
                        .unwrap_or_default()
                );
                match &self.live {
                    Some(live) => {
                        let _ = live.println(text);
                    }
                    None => eprintln!("{text}"),
                }
            }
            Event::Warning { message } => match &self.live {
                Some(live) => {
                    let _ = live.println(format!(
                        "{} {message}",
                        paint("warning:", Tone::Warning, true)
                    ));
                }
                None => warning(&message),
            },
            Event::Phase { service, phase } => {
                let Some(text) = Self::describe(&phase) else {
                    return;
                };
                match &self.live {
                    Some(live) => {
                        let bar = self.bar(live, service);
                        if Self::is_final(&phase) {
                            let mark = match phase {
                                Phase::Failed { .. } | Phase::Skipped { .. } => {
                                    paint("✗", Tone::Error, true)
                                }
                                _ => paint("✓", Tone::Good, true),
                            };
                            bar.set_style(
                                ProgressStyle::with_template("{prefix:.bold} {msg}")
                                    .expect("valid template"),
                            );
                            bar.finish_with_message(format!("{mark} {text}"));
                        } else {
                            bar.set_message(text);
                        }
                    }
                    None => {
                        if let Phase::Waiting { .. }
                        | Phase::Migrating { .. }
                        | Phase::Pulling { .. } = phase
                        {
                            let mut last = self
                                .last_wait_line
                                .lock()
                                .unwrap_or_else(|p| p.into_inner());
                            let due = last
                                .get(service)
                                .is_none_or(|t| t.elapsed() >= Duration::from_secs(5));
                            if !due {
                                return;
                            }
                            last.insert(service.to_string(), Instant::now());
                        }
                        eprintln!("{service}: {text}");
                    }
                }
            }
        }
    }
}

impl Drop for Progress {
    fn drop(&mut self) {
        for bar in self.bars.lock().unwrap_or_else(|p| p.into_inner()).values() {
            if !bar.is_finished() {
                bar.abandon();
            }
        }
    }
}
