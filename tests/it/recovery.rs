//! Crashes at any moment leave a state the next `up` recovers from.

use super::*;

fn pid_of(s: &Sandbox, stack: &str, service: &str) -> i32 {
    let text = std::fs::read_to_string(
        s.state_dir(stack)
            .join("run")
            .join(format!("{service}.pid")),
    )
    .unwrap();
    text.split_whitespace().next().unwrap().parse().unwrap()
}

#[test]
fn a_killed_postgres_is_recovered_by_up_with_data_intact() {
    let s = Sandbox::new(&pg_redis_stack("killed", false));
    s.ok(&["up"]);
    let env = s.env(".env");
    pg(&env["DATABASE_URL"])
        .batch_execute("CREATE TABLE t (v int); INSERT INTO t VALUES (42)")
        .unwrap();

    let pid = pid_of(&s, "killed", "db");
    unsafe { libc::kill(pid, libc::SIGKILL) };
    wait_until("postgres to die", Duration::from_secs(10), || {
        std::fs::read_to_string(format!("/proc/{pid}/stat")).map_or(true, |t| t.contains(") Z "))
    });
    let status = stdout(&s.ok(&["status"]));
    assert!(
        status.contains("stopped"),
        "a dead pid is not taken for a running server: {status}"
    );

    s.ok(&["up"]);
    assert_ne!(pid_of(&s, "killed", "db"), pid);
    let v: i32 = pg(&env["DATABASE_URL"])
        .query_one("SELECT v FROM t", &[])
        .unwrap()
        .get(0);
    assert_eq!(v, 42);
}

#[test]
fn a_recycled_pid_is_not_mistaken_for_our_server() {
    let s = Sandbox::new("name = \"recycled\"\n[services.cache]\nkind = \"redis\"\n");
    s.ok(&["up"]);
    s.ok(&["down"]);
    // Point the record at a live process that is not ours (this test).
    std::fs::create_dir_all(s.state_dir("recycled").join("run")).unwrap();
    std::fs::write(
        s.state_dir("recycled").join("run/cache.pid"),
        format!("{} 1\n", std::process::id()),
    )
    .unwrap();
    let status = stdout(&s.ok(&["status"]));
    assert!(!status.contains("ready"), "{status}");
    s.ok(&["up"]);
    s.ok(&["down"]);
    // Still alive: berth never signalled a process it could not prove was its own.
}

#[test]
fn berth_killed_while_initializing_is_completed_by_the_next_up() {
    let s = Sandbox::new(&pg_redis_stack("interrupted", false));
    let mut child = s
        .cmd(&["up"])
        .stderr(Stdio::null())
        .stdout(Stdio::null())
        .spawn()
        .unwrap();
    let service_dir = s.state_dir("interrupted").join("services/db");
    wait_until("initialization to start", Duration::from_secs(30), || {
        std::fs::read_dir(&service_dir)
            .map(|d| {
                d.flatten()
                    .any(|e| e.file_name().to_string_lossy().starts_with("data.init-"))
            })
            .unwrap_or(false)
    });
    child.kill().unwrap(); // SIGKILL
    child.wait().unwrap();
    assert!(
        !service_dir.join("data").exists(),
        "a half-initialized data directory never takes the real name"
    );

    s.ok(&["up"]);
    let env = s.env(".env");
    pg(&env["DATABASE_URL"]).query_one("SELECT 1", &[]).unwrap();
    let leftovers: Vec<_> = std::fs::read_dir(&service_dir)
        .unwrap()
        .flatten()
        .filter(|e| e.file_name().to_string_lossy().starts_with("data.init-"))
        .collect();
    assert!(
        leftovers.is_empty(),
        "the interrupted initialization was cleaned up"
    );
}

#[test]
fn a_server_started_by_a_killed_berth_is_adopted_or_replaced() {
    let s = Sandbox::new("name = \"orphan\"\n[services.cache]\nkind = \"redis\"\n");
    s.ok(&["up"]);
    // Lose the run record, as if berth died right after spawning.
    let pid = pid_of(&s, "orphan", "cache");
    std::fs::remove_file(s.state_dir("orphan").join("run/cache.pid")).unwrap();
    s.ok(&["up"]);
    wait_until("the orphan to be stopped", Duration::from_secs(10), || {
        std::fs::read_to_string(format!("/proc/{pid}/stat")).map_or(true, |t| t.contains(") Z "))
    });
    let status = stdout(&s.ok(&["status"]));
    assert!(status.contains("ready"), "{status}");
}

#[test]
fn a_service_removed_from_the_stack_file_is_stopped_by_down_and_reset() {
    let s = Sandbox::new(&pg_redis_stack("removed", false));
    s.ok(&["up"]);
    let gone = |pid: i32| {
        std::fs::read_to_string(format!("/proc/{pid}/stat")).map_or(true, |t| t.contains(") Z "))
    };
    // Drop the cache from the file while it runs.
    let without_cache = |s: &Sandbox| {
        s.write_stack(
            "name = \"removed\"\n[services.db]\nkind = \"postgres\"\nuser = \"app\"\ndatabase = \"app\"\n",
        )
    };
    let cache = pid_of(&s, "removed", "cache");
    without_cache(&s);
    let down = s.ok(&["down"]);
    assert!(
        stderr(&down)
            .contains("stopped `cache`, which `berth.toml` no longer lists; its data is kept"),
        "{}",
        describe(&down)
    );
    wait_until("the cache to stop", Duration::from_secs(10), || gone(cache));

    // The same for reset, which then deletes its data too.
    s.write_stack(&pg_redis_stack("removed", false));
    s.ok(&["up"]);
    let db = pid_of(&s, "removed", "db");
    let cache = pid_of(&s, "removed", "cache");
    without_cache(&s);
    let reset = s.ok(&["reset", "--yes"]);
    assert!(
        stderr(&reset).contains("stopped `cache`"),
        "{}",
        describe(&reset)
    );
    wait_until("both to stop", Duration::from_secs(10), || {
        gone(db) && gone(cache)
    });
    assert!(!s.state_dir("removed").exists());
}

/// Issue 35: a state file emptied while the stack runs does not keep its
/// servers running (`down` stops them, and says what is wrong), and the
/// stack comes back with its data: `up` sets the damaged file aside and
/// takes the generated passwords from berth's copy of them. With the copy
/// lost too, a server that refuses berth's password is reported as what
/// it is, at once, not as a server that never became ready.
#[test]
fn issue_35_a_damaged_or_emptied_state_is_stopped_by_down_and_comes_back_with_its_data() {
    let s = Sandbox::new(&pg_redis_stack("damaged", true));
    s.ok(&["up"]);
    let env = s.env(".env");
    pg(&env["DATABASE_URL"])
        .batch_execute("CREATE TABLE kept (v text); INSERT INTO kept VALUES ('here')")
        .unwrap();
    let dir = s.state_dir("damaged");
    let state = dir.join("state.json");
    let (db, cache) = (pid_of(&s, "damaged", "db"), pid_of(&s, "damaged", "cache"));
    std::fs::write(&state, "").unwrap();
    let out = s.run(&["status"]);
    assert_eq!(out.status.code(), Some(3), "{}", describe(&out));
    assert!(
        stderr(&out).contains("is damaged") && stderr(&out).contains("`berth down` still stops"),
        "{}",
        describe(&out)
    );
    let out = s.ok(&["down"]);
    assert!(
        stderr(&out).contains("stopping the servers all the same"),
        "{}",
        describe(&out)
    );
    for pid in [db, cache] {
        wait_until("the server stops", Duration::from_secs(10), || unsafe {
            libc::kill(pid, 0) != 0
        });
    }

    // Back with its data: the damaged file set aside, not lost.
    let out = s.ok(&["up"]);
    assert!(
        stderr(&out).contains("it is set aside as"),
        "{}",
        describe(&out)
    );
    assert!(dir.join("state.json.damaged").is_file());
    let env = s.env(".env");
    let rows = pg(&env["DATABASE_URL"])
        .query("SELECT v FROM kept", &[])
        .unwrap();
    assert_eq!(rows.len(), 1, "the data is all there");

    // A state replaced by `{}`: the same.
    s.ok(&["down"]);
    std::fs::write(&state, "{}").unwrap();
    s.ok(&["up"]);
    let env = s.env(".env");
    assert_eq!(
        pg(&env["DATABASE_URL"])
            .query("SELECT v FROM kept", &[])
            .unwrap()
            .len(),
        1
    );

    // The passwords' copy lost as well: the server answers, and refuses.
    s.ok(&["down"]);
    let kept = std::fs::read(&state).unwrap();
    std::fs::write(&state, "{}").unwrap();
    std::fs::remove_file(dir.join("secrets.json")).unwrap();
    let out = s.run(&["up"]);
    assert!(!out.status.success(), "{}", describe(&out));
    let err = stderr(&out);
    assert!(
        err.contains("refused berth's password") && err.contains("snapshot restore"),
        "{err}"
    );
    assert!(!err.contains("did not become ready"), "{err}");
    let _ = s.run(&["down"]);
    std::fs::write(&state, kept).unwrap();
    s.ok(&["up"]);
}
