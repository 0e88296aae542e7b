//! berth as root in a project the servers' user cannot enter (a project
//! under `/root`, as in most dev containers): the default works, the
//! servers' data kept where that user can reach it, and said once.

use std::os::unix::fs::PermissionsExt;

use super::*;

/// Whether the case exists: only root switches to another user for
/// servers; as anyone else the project is the servers' user's own. Said
/// loudly when it does not.
fn root_case() -> bool {
    let root = unsafe { libc::geteuid() == 0 };
    if !root {
        eprintln!("*** not root: berth runs servers as this user; nothing to test ***");
    }
    root
}

#[test]
fn a_project_closed_to_the_servers_user_comes_up_with_its_data_kept_outside() {
    if !root_case() {
        return;
    }
    let s = Sandbox::new(&pg_redis_stack("closed", true));
    // Like `/root`: no one else may enter.
    std::fs::set_permissions(s.path(), std::fs::Permissions::from_mode(0o700)).unwrap();
    let out = s.ok(&["up"]);
    let err = stderr(&out);
    assert!(
        err.contains("who cannot enter")
            && err.contains("the servers' data is kept in `/var/lib/berth/stacks/closed-"),
        "{err}"
    );
    let link = s.state_dir("closed").join("services");
    let real = std::fs::read_link(&link).expect("services/ is a link");
    assert!(
        real.starts_with("/var/lib/berth/stacks"),
        "{}",
        real.display()
    );
    let env = s.env(".env");
    let mut db = pg(&env["DATABASE_URL"]);
    db.batch_execute("CREATE TABLE kept (v int); INSERT INTO kept VALUES (7)")
        .unwrap();
    redis_cli(&env, &["SET", "k", "v"]);

    // Said once: a later `up` of the same data is quiet about it.
    s.ok(&["down"]);
    // An `up` killed after making a service's directory and before handing
    // it to the servers' user leaves it root's: the next `up` hands it over.
    let redis_dir = real.join("cache");
    std::os::unix::fs::chown(&redis_dir, Some(0), Some(0)).unwrap();
    std::fs::set_permissions(&redis_dir, std::fs::Permissions::from_mode(0o700)).unwrap();
    let again = stderr(&s.ok(&["up"]));
    assert!(!again.contains("the servers' data is kept in"), "{again}");
    let env = s.env(".env");
    let n: i32 = pg(&env["DATABASE_URL"])
        .query_one("SELECT v FROM kept", &[])
        .unwrap()
        .get(0);
    assert_eq!(n, 7);
    assert_eq!(redis_cli(&env, &["GET", "k"]), "v");

    // Snapshots work on it, and `reset` leaves nothing outside the project.
    s.ok(&["snapshot", "save", "before"]);
    pg(&env["DATABASE_URL"])
        .batch_execute("DELETE FROM kept")
        .unwrap();
    s.ok(&["snapshot", "restore", "before", "--no-snapshot"]);
    let n: i64 = pg(&s.env(".env")["DATABASE_URL"])
        .query_one("SELECT count(*) FROM kept", &[])
        .unwrap()
        .get(0);
    assert_eq!(n, 1);
    let home = real.parent().unwrap().to_path_buf();
    s.ok(&["reset", "--yes", "--no-snapshot"]);
    assert!(!home.exists(), "`{}` left after reset", home.display());
    assert!(!link.exists() && !link.is_symlink());
}

#[test]
fn an_explicit_state_dir_closed_to_the_servers_user_is_still_refused_with_the_ways_out() {
    if !root_case() {
        return;
    }
    let s = Sandbox::new(&pg_redis_stack("explicit", false));
    let closed = s.path().join("closed");
    std::fs::create_dir(&closed).unwrap();
    std::fs::set_permissions(&closed, std::fs::Permissions::from_mode(0o700)).unwrap();
    let state = closed.join("state");
    let out = s.run(&["--state-dir", state.to_str().unwrap(), "up"]);
    assert_eq!(out.status.code(), Some(3), "{}", describe(&out));
    let err = stderr(&out);
    assert!(
        err.contains("who cannot enter") && err.contains("--state-dir"),
        "{err}"
    );
    assert_no_panic(&out);
}

/// The testing library's stacks live in memory, reached through a link in
/// the project: from a closed project, servers get the real path too.
#[test]
fn the_testing_library_starts_its_stack_from_a_closed_project() {
    if !root_case() {
        return;
    }
    let s = Sandbox::new(&pg_redis_stack("closedlib", false));
    std::fs::set_permissions(s.path(), std::fs::Permissions::from_mode(0o700)).unwrap();
    let stack = berth::testing::TestStack::start(s.path().join("berth.toml"))
        .unwrap_or_else(|e| panic!("the test stack starts: {e}"));
    let db = stack.database().unwrap();
    let one: i32 = pg(db.url()).query_one("SELECT 1", &[]).unwrap().get(0);
    assert_eq!(one, 1);
    drop(db);
    drop(stack);
    // The sandbox resets `closedlib-tests` with the rest.
}
