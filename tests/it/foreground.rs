//! Commands that run until Ctrl-C: `berth run` (the stack in the
//! foreground, logs streamed) and `berth status --watch` on a real
//! pseudo-terminal, stopped the way a person stops them.

use std::io::{Read, Write};
use std::os::fd::{FromRawFd, OwnedFd};
use std::os::unix::process::CommandExt;
use std::sync::{Arc, Mutex};

use super::*;

/// Collects what a child writes, from a thread.
#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl Captured {
    fn read_from(&self, mut from: impl Read + Send + 'static) {
        let into = self.0.clone();
        std::thread::spawn(move || {
            let mut buf = [0u8; 4096];
            while let Ok(n) = from.read(&mut buf) {
                if n == 0 {
                    break;
                }
                into.lock().unwrap().extend_from_slice(&buf[..n]);
            }
        });
    }

    fn text(&self) -> String {
        String::from_utf8_lossy(&self.0.lock().unwrap()).into_owned()
    }

    /// The text without colours (`ESC [ ... m`); cursor moves stay.
    fn plain(&self) -> String {
        let text = self.text();
        let mut out = String::new();
        let mut rest = text.as_str();
        while let Some(at) = rest.find("\x1b[") {
            out.push_str(&rest[..at]);
            let after = &rest[at + 2..];
            match after.find(|c: char| c.is_ascii_alphabetic()) {
                Some(end) if after.as_bytes()[end] == b'm' => rest = &after[end + 1..],
                _ => {
                    out.push_str("\x1b[");
                    rest = after;
                }
            }
        }
        out.push_str(rest);
        out
    }

    /// Wait until the text (without colours) satisfies `cond`; a timeout
    /// shows what came.
    fn wait_for(&self, what: &str, cond: impl Fn(&str) -> bool) {
        let began = std::time::Instant::now();
        while !cond(&self.plain()) {
            assert!(
                began.elapsed() < Duration::from_secs(60),
                "timed out waiting for {what}; got:\n{}",
                self.plain()
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

fn wait_for_exit(child: &mut std::process::Child) -> std::process::ExitStatus {
    let mut status = None;
    wait_until("the command to end", Duration::from_secs(30), || {
        status = child.try_wait().unwrap();
        status.is_some()
    });
    status.unwrap()
}

fn health(s: &Sandbox) -> Vec<(String, String)> {
    let out = s.ok(&["status", "--json"]);
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    v["services"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| {
            (
                s["service"].as_str().unwrap().to_string(),
                s["health"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

#[test]
fn run_streams_prefixed_logs_and_ctrl_c_stops_the_stack_keeping_data() {
    let s = Sandbox::new(&pg_redis_stack("fg", true));
    let mut child = s
        .cmd(&["run"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let out = Captured::default();
    out.read_from(child.stdout.take().unwrap());
    let err = Captured::default();
    err.read_from(child.stderr.take().unwrap());
    // Both servers' own lines, each prefixed with its service.
    out.wait_for("both servers' logs", |t| {
        t.contains("cache | ")
            && t.lines()
                .any(|l| l.starts_with("db    | ") && l.contains("ready to accept connections"))
    });
    // Written before the logs start, but read by another thread than
    // theirs: waited for, not taken as read already (CI caught the race).
    err.wait_for("the note on Ctrl-C", |t| {
        t.contains("Ctrl-C stops the stack")
    });
    let env = s.env(".env");
    redis_cli(&env, &["SET", "kept", "yes"]);
    let running = health(&s);
    assert!(running.iter().all(|(_, h)| h == "ready"), "{running:?}");
    // A line a server writes now is streamed too.
    pg(&env["DATABASE_URL"])
        .batch_execute("DO $$ BEGIN RAISE LOG 'berth-run-marker'; END $$")
        .unwrap();
    out.wait_for("a new log line", |t| {
        t.lines()
            .any(|l| l.starts_with("db    | ") && l.contains("berth-run-marker"))
    });

    unsafe { libc::kill(child.id() as i32, libc::SIGINT) };
    let status = wait_for_exit(&mut child);
    assert!(status.success(), "{status:?}\n{}", err.text());
    err.wait_for("the stack stopped", |t| {
        t.contains("is down; its data is kept")
    });
    let stopped = health(&s);
    assert!(stopped.iter().all(|(_, h)| h == "stopped"), "{stopped:?}");
    s.ok(&["up"]);
    assert_eq!(redis_cli(&s.env(".env"), &["GET", "kept"]), "yes");
}

/// A pseudo-terminal: the child gets the terminal side as its controlling
/// terminal, the test keeps the other.
fn pty() -> (OwnedFd, OwnedFd) {
    let (mut master, mut slave) = (0, 0);
    let size = libc::winsize {
        ws_row: 40,
        ws_col: 160,
        ws_xpixel: 0,
        ws_ypixel: 0,
    };
    let rc = unsafe {
        libc::openpty(
            &mut master,
            &mut slave,
            std::ptr::null_mut(),
            std::ptr::null(),
            &size,
        )
    };
    assert_eq!(rc, 0, "openpty: {}", std::io::Error::last_os_error());
    unsafe { (OwnedFd::from_raw_fd(master), OwnedFd::from_raw_fd(slave)) }
}

#[test]
fn status_watch_redraws_on_a_terminal_shows_a_stop_and_ends_on_ctrl_c() {
    let s = Sandbox::new(&pg_redis_stack("watch", false));
    s.ok(&["up"]);
    let (master, slave) = pty();
    let mut cmd = s.cmd(&["status", "--watch", "--interval", "0.3"]);
    let berth = &mut cmd.0;
    berth
        .stdin(Stdio::from(slave.try_clone().unwrap()))
        .stdout(Stdio::from(slave.try_clone().unwrap()))
        .stderr(Stdio::from(slave));
    unsafe {
        berth.pre_exec(|| {
            // A session of its own, with the terminal as its controlling
            // one: Ctrl-C typed there reaches it as SIGINT.
            if libc::setsid() < 0 || libc::ioctl(0, libc::TIOCSCTTY, 0) < 0 {
                return Err(std::io::Error::last_os_error());
            }
            Ok(())
        });
    }
    let mut child = berth.spawn().unwrap();
    let screen = Captured::default();
    let reader = std::fs::File::from(master.try_clone().unwrap());
    screen.read_from(reader);
    screen.wait_for("a frame with both services ready and their use", |t| {
        t.contains("\x1b[H")
            && t.contains("CPU")
            && t.contains("MEMORY")
            && t.lines()
                .filter(|l| l.contains(" ready ") && l.contains(" MB"))
                .count()
                >= 2
    });
    // A service stopped behind its back shows in a later frame.
    let before = screen.plain().len();
    s.ok(&["down"]);
    screen.wait_for("a frame showing the services stopped", |t| {
        let later = t.get(before..).unwrap_or("");
        later.matches("stopped").count() >= 2
    });
    let mut terminal = std::fs::File::from(master);
    terminal.write_all(&[0x03]).unwrap(); // Ctrl-C, typed
    let status = wait_for_exit(&mut child);
    assert!(status.success(), "{status:?}\n{}", screen.plain());
    assert!(!screen.text().contains("panicked"), "{}", screen.plain());
}
