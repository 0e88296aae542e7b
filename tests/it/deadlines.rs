//! Issue 35: nothing hangs. A server that accepts connections and never
//! answers (stopped with SIGSTOP, or a silent listener) is given up on
//! within the probe's deadline, so `status` answers and `up` fails within
//! `ready_timeout`. Each test bounds its own wait on berth with a watchdog
//! far beyond those deadlines: a command still running then has hung.

use std::process::{Child, Stdio};
use std::time::{Duration, Instant};

use super::*;

/// Run `berth ARGS` in `s`, killing it if it has not ended after
/// `watchdog`: returns its output and whether it ended by itself.
fn run_bounded(s: &Sandbox, args: &[&str], watchdog: Duration) -> (Output, bool) {
    let mut child: Child = s
        .cmd(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let started = Instant::now();
    let mut ended = true;
    while child.try_wait().unwrap().is_none() {
        if started.elapsed() > watchdog {
            let _ = child.kill();
            ended = false;
            break;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    (child.wait_with_output().unwrap(), ended)
}

/// Servers stopped with SIGSTOP, continued again when the test ends,
/// passed or not, so that the sandbox can stop them.
struct Frozen(Vec<i32>);

impl Drop for Frozen {
    fn drop(&mut self) {
        for &pid in &self.0 {
            unsafe { libc::kill(pid, libc::SIGCONT) };
        }
    }
}

fn recorded_pid(s: &Sandbox, stack: &str, service: &str) -> i32 {
    let text =
        std::fs::read_to_string(s.state_dir(stack).join(format!("run/{service}.pid"))).unwrap();
    text.split_whitespace().next().unwrap().parse().unwrap()
}

#[test]
fn issue_35_status_answers_with_a_frozen_postgres_redis_pooler_and_object_store() {
    let s = Sandbox::new(
        r#"name = "frozen"

[services.db]
kind = "postgres"

[services.cache]
kind = "redis"

[services.pool]
kind = "pgbouncer"

[services.files]
kind = "s3"
"#,
    );
    s.ok(&["up"]);
    let frozen = Frozen(
        ["db", "cache", "pool", "files"]
            .iter()
            .map(|svc| recorded_pid(&s, "frozen", svc))
            .collect(),
    );
    for &pid in &frozen.0 {
        assert_eq!(unsafe { libc::kill(pid, libc::SIGSTOP) }, 0);
    }
    let (out, ended) = run_bounded(&s, &["status", "--json"], Duration::from_secs(60));
    assert!(ended, "status hung on frozen servers: {}", describe(&out));
    let services: serde_json::Value =
        serde_json::from_slice(&out.stdout).unwrap_or_else(|e| panic!("{e}: {}", describe(&out)));
    for svc in services["services"].as_array().unwrap() {
        assert_eq!(svc["health"], "unhealthy", "{svc}");
        let problem = svc["problem"].as_str().unwrap_or_default();
        assert!(!problem.is_empty(), "{svc}");
    }
    drop(frozen);
    let (out, ended) = run_bounded(&s, &["status", "--json"], Duration::from_secs(60));
    assert!(ended && out.status.success(), "{}", describe(&out));
    let services: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    for svc in services["services"].as_array().unwrap() {
        assert_eq!(
            svc["health"], "ready",
            "answers again once continued: {svc}"
        );
    }
}

/// A listener that accepts every connection and never says a word.
const SILENT: &str = r#"import os, socket
s = socket.socket()
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("127.0.0.1", int(os.environ["PORT"])))
s.listen(64)
held = []
while True:
    c, _ = s.accept()
    held.append(c)
"#;

#[test]
fn issue_35_up_gives_up_on_a_silent_listener_within_ready_timeout_for_every_probe_form() {
    for ready in ["\"postgres\"", "\"redis\"", "{ http = \"/\" }"] {
        let s = Sandbox::new(&format!(
            "name = \"silent\"\n\n[services.quiet]\ncommand = [\"python3\", \"-c\", {SILENT:?}]\nready = {ready}\nready_timeout = \"3s\"\nenv = {{ POSTGRES_USER = \"u\", POSTGRES_PASSWORD = \"p\", REDIS_PASSWORD = \"p\" }}\n"
        ));
        let (out, ended) = run_bounded(&s, &["up"], Duration::from_secs(60));
        assert!(
            ended,
            "{ready}: up hung on a silent listener: {}",
            describe(&out)
        );
        assert!(!out.status.success(), "{ready}: {}", describe(&out));
        assert!(
            stderr(&out).contains("did not become ready within"),
            "{ready}: {}",
            describe(&out)
        );
    }
}

#[test]
fn issue_35_two_services_on_one_port_are_refused_before_anything_starts() {
    let port = free_port();
    let s = Sandbox::new(&format!(
        "name = \"same-port\"\n\n[services.db]\nkind = \"postgres\"\nport = {port}\n\n[services.cache]\nkind = \"redis\"\nport = {port}\n"
    ));
    let out = s.run(&["up"]);
    assert_eq!(out.status.code(), Some(2), "{}", describe(&out));
    let err = stderr(&out);
    assert!(
        err.contains(&format!("services `db` and `cache` both use port {port}")),
        "{err}"
    );
    assert!(!s.path().join(".berth").exists(), "nothing was made");
    assert!(!s.path().join(".env").exists());
    assert!(
        std::net::TcpListener::bind(("127.0.0.1", port)).is_ok(),
        "nothing listens on {port}"
    );
}

/// Containers paused by the engine (the cgroup freezer: every process of
/// each stopped, its published port still accepting), continued again
/// when the test ends.
struct Paused(Vec<String>);

impl Drop for Paused {
    fn drop(&mut self) {
        for id in &self.0 {
            let _ = std::process::Command::new("docker")
                .args(["unpause", id])
                .output();
        }
    }
}

#[test]
fn issue_35_status_answers_with_frozen_containers() {
    if !super::containers::engine() {
        return;
    }
    let s = Sandbox::new(&super::containers::every_kind_stack("frozen-ct"));
    s.ok(&["up"]);
    let paused = Paused(super::containers::stack_containers("frozen-ct"));
    assert_eq!(paused.0.len(), 4);
    for id in &paused.0 {
        let out = std::process::Command::new("docker")
            .args(["pause", id])
            .output()
            .unwrap();
        assert!(out.status.success(), "{}", describe(&out));
    }
    let (out, ended) = run_bounded(&s, &["status", "--json"], Duration::from_secs(60));
    assert!(
        ended,
        "status hung on frozen containers: {}",
        describe(&out)
    );
    let services: serde_json::Value =
        serde_json::from_slice(&out.stdout).unwrap_or_else(|e| panic!("{e}: {}", describe(&out)));
    for svc in services["services"].as_array().unwrap() {
        assert_ne!(svc["health"], "ready", "{svc}");
    }
    drop(paused);
    let (out, ended) = run_bounded(&s, &["status", "--json"], Duration::from_secs(60));
    assert!(ended && out.status.success(), "{}", describe(&out));
}
