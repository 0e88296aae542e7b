//! Two berth commands on one stack never interleave.

use super::*;

#[test]
fn two_simultaneous_ups_both_succeed_with_one_stack() {
    let s = Sandbox::new(&pg_redis_stack("twice", false));
    let a = s
        .cmd(&["up"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let b = s
        .cmd(&["up"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let (a, b) = (a.wait_with_output().unwrap(), b.wait_with_output().unwrap());
    assert!(a.status.success(), "{}", describe(&a));
    assert!(b.status.success(), "{}", describe(&b));
    let waited = stderr(&a) + &stderr(&b);
    assert!(
        waited.contains("waiting for `berth up` (pid"),
        "the second says who it waits for: {waited}"
    );

    let status: serde_json::Value =
        serde_json::from_slice(&s.ok(&["status", "--json"]).stdout).unwrap();
    for svc in status["services"].as_array().unwrap() {
        assert_eq!(svc["health"], "ready", "{status}");
    }
    // Exactly one postgres server runs for this stack's data directory.
    let data = s.state_dir("twice").join("services/db/data");
    let postmasters = std::fs::read_dir("/proc")
        .unwrap()
        .flatten()
        .filter(|e| {
            std::fs::read(e.path().join("cmdline"))
                .map(|c| String::from_utf8_lossy(&c).contains(&*data.to_string_lossy()))
                .unwrap_or(false)
        })
        .count();
    assert_eq!(postmasters, 1);
}

#[test]
fn a_busy_stack_times_out_with_a_clear_error() {
    let s = Sandbox::new("name = \"busy\"\n[services.cache]\nkind = \"redis\"\n");
    s.ok(&["up"]);
    // Hold the stack lock from this process.
    let lock = std::fs::OpenOptions::new()
        .write(true)
        .open(s.state_dir("busy").join("lock"))
        .unwrap();
    use std::os::fd::AsRawFd;
    assert_eq!(unsafe { libc::flock(lock.as_raw_fd(), libc::LOCK_EX) }, 0);
    std::fs::write(
        s.state_dir("busy").join("lock.owner"),
        "`berth test` (pid 1)",
    )
    .unwrap();
    let out = s
        .cmd(&["down"])
        .env("BERTH_LOCK_TIMEOUT", "0.3")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(7), "{}", describe(&out));
    assert!(
        stderr(&out).contains("stack `busy` is busy: `berth test` (pid 1) has held its lock"),
        "{}",
        describe(&out)
    );
    drop(lock);
}
