//! Crash anywhere, recover everywhere (issue 12): berth is killed at every
//! named point of a command (see `src/kill_point.rs`), with SIGKILL and
//! with SIGINT, and the next `up` must bring the stack back complete:
//! every database, role and extension; each migration and the seeds
//! applied exactly once; the env file current; nothing stray running.
//!
//! Each sweep prints its table (`cargo test crash -- --nocapture`).

use std::collections::BTreeSet;
use std::os::unix::process::ExitStatusExt;

use super::containers::{engine, objects, PG_IMAGE, REDIS_IMAGE};
use super::*;

#[derive(Clone, Copy, PartialEq, Eq)]
enum Signal {
    Kill,
    Int,
}

impl Signal {
    fn name(self) -> &'static str {
        match self {
            Signal::Kill => "KILL",
            Signal::Int => "INT",
        }
    }
}

/// A stack with everything a first `up` sets up: extra databases, an
/// extension, a role, two migrations (one inserting a row) and two seed
/// files (both must land, or neither).
fn project(name: &str, containers: bool) -> Sandbox {
    let (pg_image, redis_image, runtime) = if containers {
        (
            format!("image = \"{PG_IMAGE}\"\n"),
            format!("image = \"{REDIS_IMAGE}\"\n"),
            "runtime = \"container\"\n",
        )
    } else {
        (String::new(), String::new(), "")
    };
    let s = Sandbox::new(&format!(
        r#"name = "{name}"
{runtime}
[services.db]
kind = "postgres"
{pg_image}user = "app"
database = "app"
databases = ["x1", "x2"]
extensions = ["pgcrypto"]
roles = [{{ name = "reader", password = "r" }}]
settings = {{ fsync = "off" }}

[services.cache]
kind = "redis"
{redis_image}depends_on = ["db"]

[env.vars]
DATABASE_URL = "${{db.url}}"
PG_HOST = "${{db.host}}"
PG_PORT = "${{db.port}}"
PG_PASSWORD = "${{db.password}}"
REDIS_HOST = "${{cache.host}}"
REDIS_PORT = "${{cache.port}}"
REDIS_PASSWORD = "${{cache.password}}"
"#
    ));
    let write = |path: &str, text: &str| {
        let path = s.path().join(path);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, text).unwrap();
    };
    write(
        "migrations/db/001_tables.sql",
        "CREATE TABLE a (id int); CREATE TABLE c (id int);\n",
    );
    write(
        "migrations/db/002_counted.sql",
        "CREATE TABLE b (id int); INSERT INTO b VALUES (1);\n",
    );
    write("seeds/db/01_a.sql", "INSERT INTO a VALUES (1);\n");
    write("seeds/db/02_c.sql", "INSERT INTO c VALUES (1);\n");
    s
}

/// The named points a command passes, in order.
fn points(s: &Sandbox, args: &[&str]) -> Vec<String> {
    let log = s.path().join(".steps");
    let _ = std::fs::remove_file(&log);
    let out = s.cmd(args).env("BERTH_TEST_STEPS", &log).output().unwrap();
    assert!(out.status.success(), "berth {args:?}: {}", describe(&out));
    let text = std::fs::read_to_string(&log).unwrap_or_default();
    let _ = std::fs::remove_file(&log);
    // The cluster cache's and the volume templates' points come only
    // while they are missing (the first cold `up` of a machine or an
    // image): swept on their own below.
    text.lines()
        .filter(|p| !p.starts_with("skeleton:") && !p.starts_with("template:"))
        .map(str::to_string)
        .collect()
}

/// Run `args`, signalled at `point`; returns how it ended.
fn interrupted(s: &Sandbox, args: &[&str], point: &str, signal: Signal) -> Output {
    s.cmd(args)
        .env("BERTH_TEST_KILL_AT", point)
        .env("BERTH_TEST_KILL_SIGNAL", signal.name())
        .output()
        .unwrap()
}

/// Kill `args` at each of its points in turn (after `prepare`), recover
/// with `up`, and check the stack is whole. Returns the table rows.
fn sweep(
    s: &Sandbox,
    label: &str,
    args: &[&str],
    prepare: &dyn Fn(&Sandbox),
    check: &dyn Fn(&Sandbox, &str),
    signal: Signal,
) -> Vec<String> {
    sweep_some(s, label, args, prepare, check, signal, &|_| true)
}

/// [`sweep`], at the points `wanted` accepts.
fn sweep_some(
    s: &Sandbox,
    label: &str,
    args: &[&str],
    prepare: &dyn Fn(&Sandbox),
    check: &dyn Fn(&Sandbox, &str),
    signal: Signal,
    wanted: &dyn Fn(&str) -> bool,
) -> Vec<String> {
    prepare(s);
    let all: Vec<String> = points(s, args).into_iter().filter(|p| wanted(p)).collect();
    assert!(!all.is_empty(), "{label}: `berth {args:?}` passed no point");
    let mut rows = Vec::new();
    for point in &all {
        prepare(s);
        let out = interrupted(s, args, point, signal);
        let ended = match (signal, out.status.signal(), out.status.code()) {
            (Signal::Kill, Some(9), _) => "killed",
            (Signal::Int, _, Some(130)) => "stopped at a safe point (130)",
            (Signal::Int, _, Some(0)) => "finished its step and succeeded",
            _ => panic!(
                "{label} {}: `berth {args:?}` at `{point}` ended unexpectedly:\n{}",
                signal.name(),
                describe(&out)
            ),
        };
        let up = s.run(&["up"]);
        assert!(
            up.status.success(),
            "{label} {}: after `berth {args:?}` was stopped at `{point}` ({ended}), `berth up` failed:\n{}",
            signal.name(),
            describe(&up)
        );
        check(s, &format!("{label} {} at `{point}`", signal.name()));
        rows.push(format!(
            "| {label} | {} | `{point}` | {ended} | recovered |",
            signal.name()
        ));
    }
    println!(
        "\n| command, runtime | signal | point | berth | next `up` |\n|---|---|---|---|---|\n{}",
        rows.join("\n")
    );
    rows
}

/// The stack is whole: everything set up once, the env file current,
/// nothing stray.
fn assert_complete(s: &Sandbox, stack: &str, containers: bool, context: &str) {
    assert_whole(s, stack, containers, context, &[1]);
}

/// [`assert_complete`], with the seeds run any of `seeded` times (both
/// files each time: never one without the other).
fn assert_whole(s: &Sandbox, stack: &str, containers: bool, context: &str, seeded: &[i64]) {
    let env = s.env(".env");
    let mut db = pg(&env["DATABASE_URL"]);
    let count = |db: &mut postgres::Client, sql: &str| -> i64 {
        db.query_one(sql, &[])
            .unwrap_or_else(|e| panic!("{context}: `{sql}`: {e}"))
            .get(0)
    };
    let names: BTreeSet<String> = db
        .query("SELECT datname FROM pg_database", &[])
        .unwrap()
        .iter()
        .map(|r| r.get(0))
        .collect();
    for wanted in ["app", "x1", "x2"] {
        assert!(
            names.contains(wanted),
            "{context}: database `{wanted}` is missing: {names:?}"
        );
    }
    assert_eq!(
        count(
            &mut db,
            "SELECT count(*) FROM pg_extension WHERE extname = 'pgcrypto'"
        ),
        1,
        "{context}: the extension"
    );
    assert_eq!(
        count(
            &mut db,
            "SELECT count(*) FROM pg_roles WHERE rolname = 'reader' AND rolcanlogin"
        ),
        1,
        "{context}: the role"
    );
    assert_eq!(
        count(&mut db, "SELECT count(*) FROM berth.migrations"),
        2,
        "{context}: each migration recorded once"
    );
    assert_eq!(
        count(&mut db, "SELECT count(*) FROM b"),
        1,
        "{context}: the second migration ran once"
    );
    let (a, c) = (
        count(&mut db, "SELECT count(*) FROM a"),
        count(&mut db, "SELECT count(*) FROM c"),
    );
    assert!(
        a == c && seeded.contains(&a),
        "{context}: the seeds ran {a} and {c} times, expected both {seeded:?}"
    );
    drop(db);
    // The reader logs in with its password.
    let reader = format!(
        "postgres://reader:r@{}:{}/app",
        env["PG_HOST"], env["PG_PORT"]
    );
    pg(&reader).query_one("SELECT 1", &[]).unwrap();
    // The env file is what berth says now.
    let shown = stdout(&s.ok(&["env", "--show"]));
    let current = parse_env(&shown);
    assert_eq!(current, env, "{context}: the env file is current");
    assert_eq!(redis_cli(&env, &["PING"]), "PONG", "{context}");
    // Nothing stray: no half-removed directory is left, and exactly the
    // recorded servers run from the state directory, or exactly the
    // stack's two containers.
    for dir in [s.path().join(".berth"), s.state_dir(stack).join("services")] {
        let leftovers: Vec<String> = std::fs::read_dir(&dir)
            .map(|d| {
                d.flatten()
                    .map(|e| e.file_name().to_string_lossy().into_owned())
                    .filter(|n| n.contains(".removing-"))
                    .collect()
            })
            .unwrap_or_default();
        assert!(
            leftovers.is_empty(),
            "{context}: left in `{}`: {leftovers:?}",
            dir.display()
        );
    }
    if containers {
        let all = objects("container", stack);
        assert_eq!(all.len(), 2, "{context}: the stack's containers: {all:?}");
    } else {
        let state = s.state_dir(stack);
        let recorded: BTreeSet<i32> = ["db", "cache"]
            .iter()
            .map(|svc| {
                let text = std::fs::read_to_string(state.join(format!("run/{svc}.pid"))).unwrap();
                text.split_whitespace().next().unwrap().parse().unwrap()
            })
            .collect();
        let running = processes_under(&state);
        assert_eq!(
            running, recorded,
            "{context}: processes running from the state directory"
        );
    }
}

/// Live processes whose working directory is inside `dir` and whose
/// parent is not one of them (a server, not its workers).
fn processes_under(dir: &Path) -> BTreeSet<i32> {
    let dir = std::fs::canonicalize(dir).unwrap();
    let under: BTreeSet<(i32, i32)> = std::fs::read_dir("/proc")
        .unwrap()
        .flatten()
        .filter_map(|e| e.file_name().to_str()?.parse::<i32>().ok())
        .filter_map(|pid| {
            let cwd = std::fs::read_link(format!("/proc/{pid}/cwd")).ok()?;
            let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
            let after = &stat[stat.rfind(')')? + 2..];
            let mut fields = after.split_whitespace();
            let state = fields.next()?;
            let ppid: i32 = fields.next()?.parse().ok()?;
            (cwd.starts_with(&dir) && state != "Z").then_some((pid, ppid))
        })
        .collect();
    let pids: BTreeSet<i32> = under.iter().map(|(p, _)| *p).collect();
    under
        .into_iter()
        .filter(|(_, ppid)| !pids.contains(ppid))
        .map(|(pid, _)| pid)
        .collect()
}

// A sweep's preparing `reset` is not what it tests (the reset sweep is):
// it keeps no safety snapshot, which for containers would copy the data
// out through the engine at every point.
fn fresh(s: &Sandbox) {
    s.ok(&["reset", "--yes", "--no-snapshot"]);
}

fn up(s: &Sandbox) {
    s.ok(&["up"]);
}

fn fresh_up(s: &Sandbox) {
    fresh(s);
    s.ok(&["up"]);
}

fn up_sweep(name: &str, containers: bool, signal: Signal, wanted: &dyn Fn(&str) -> bool) {
    let s = project(name, containers);
    let label = if containers {
        "up, container"
    } else {
        "up, native"
    };
    let check = |s: &Sandbox, context: &str| assert_complete(s, name, containers, context);
    sweep_some(&s, label, &["up"], &fresh, &check, signal, wanted);
}

/// The points of provisioning and migrating: the same code on every
/// runtime (a client talking to the server from the host).
fn shared_code(point: &str) -> bool {
    [
        ":role ",
        ":database ",
        ":extension ",
        ":provisioned",
        ":migration",
        ":ledger",
        ":commit ",
    ]
    .iter()
    .any(|marker| point.contains(marker))
}

#[test]
fn up_killed_at_every_point_is_completed_by_the_next_up_native() {
    up_sweep("crash-up", false, Signal::Kill, &|_| true);
}

#[test]
fn up_interrupted_at_every_point_is_completed_by_the_next_up_native() {
    up_sweep("crash-int", false, Signal::Int, &|_| true);
}

// Each command's sweep is a test of its own (a stack of its own), so the
// test threads share them instead of one test running them in a row.

#[test]
fn down_stopped_at_every_point_leaves_a_stack_up_recovers_native() {
    down_sweep("crash-down", false);
}

#[test]
fn reset_killed_at_every_point_loses_nothing_and_up_recovers_native() {
    reset_sweep("crash-reset", false, Signal::Kill);
}

#[test]
fn reset_interrupted_at_every_point_loses_nothing_and_up_recovers_native() {
    reset_sweep("crash-reset-int", false, Signal::Int);
}

fn down_sweep(name: &str, containers: bool) {
    let s = project(name, containers);
    let label = if containers {
        "down, container"
    } else {
        "down, native"
    };
    let check = |s: &Sandbox, context: &str| assert_complete(s, name, containers, context);
    for signal in [Signal::Kill, Signal::Int] {
        sweep(&s, label, &["down"], &up, &check, signal);
    }
}

/// Stop `reset` at each of its points, and check, beside the stack being
/// whole after the next `up`, that nothing was lost: the row written
/// before the reset is in the live data (the reset did not get to delete
/// it, or its data moved into the snapshot was put back), or in the
/// snapshot the reset took (restored to look). The stack is one of its
/// own, named `name`.
fn reset_sweep(name: &str, containers: bool, signal: Signal) {
    let s = &project(name, containers);
    let label = if containers {
        "reset, container"
    } else {
        "reset, native"
    };
    let marker = std::cell::Cell::new(0);
    let marked_up = |s: &Sandbox| {
        s.ok(&["up"]);
        marker.set(marker.get() + 1);
        let mut db = pg(&s.env(".env")["DATABASE_URL"]);
        db.batch_execute(&format!(
            "CREATE TABLE IF NOT EXISTS kept (n int); INSERT INTO kept VALUES ({})",
            marker.get()
        ))
        .unwrap();
    };
    let kept = |s: &Sandbox| -> bool {
        let mut db = pg(&s.env(".env")["DATABASE_URL"]);
        let table: Option<String> = db
            .query_one("SELECT to_regclass('kept')::text", &[])
            .unwrap()
            .get(0);
        table.is_some()
            && db
                .query_one("SELECT count(*) FROM kept WHERE n = $1", &[&marker.get()])
                .unwrap()
                .get::<_, i64>(0)
                == 1
    };
    let check = |s: &Sandbox, context: &str| {
        assert_complete(s, name, containers, context);
        if kept(s) {
            return;
        }
        let listed = stdout(&s.ok(&["snapshot", "list", "--json"]));
        let snapshots: serde_json::Value = serde_json::from_str(&listed).unwrap();
        let newest = snapshots
            .as_array()
            .and_then(|all| all.last())
            .and_then(|m| m["name"].as_str())
            .unwrap_or_else(|| {
                panic!("{context}: the row is gone from the data, and there is no snapshot")
            })
            .to_string();
        s.ok(&["snapshot", "restore", &newest, "--no-snapshot"]);
        assert!(
            kept(s),
            "{context}: the row is neither in the data nor in snapshot `{newest}`"
        );
        assert_complete(s, name, containers, context);
        // The restore made the data a generation of its own: the next
        // run starts from the first again, so its points are the listed.
        s.ok(&["reset", "--yes", "--no-snapshot"]);
    };
    sweep(s, label, &["reset", "--yes"], &marked_up, &check, signal);
}

/// The data a stopped `reset` moved into its snapshot goes back, even
/// when the command putting it back is killed as it does.
#[test]
fn data_a_stopped_reset_moved_goes_back_even_if_the_put_back_is_killed() {
    let name = "crash-putback";
    let s = project(name, false);
    s.ok(&["up"]);
    let mut db = pg(&s.env(".env")["DATABASE_URL"]);
    db.batch_execute("CREATE TABLE kept (n int); INSERT INTO kept VALUES (7)")
        .unwrap();
    drop(db);
    let killed = |args: &[&str], point: &str| {
        let out = interrupted(&s, args, point, Signal::Kill);
        assert_eq!(out.status.signal(), Some(9), "{}", describe(&out));
    };
    killed(&["reset", "--yes"], "db:moved");
    killed(&["up"], "db:put back");
    s.ok(&["up"]);
    assert_complete(&s, name, false, "after the put-back was killed");
    let mut db = pg(&s.env(".env")["DATABASE_URL"]);
    let n: i32 = db.query_one("SELECT n FROM kept", &[]).unwrap().get(0);
    assert_eq!(n, 7);
    // The stopped reset took no snapshot, and left nothing behind.
    assert_eq!(stdout(&s.ok(&["snapshot", "list", "--json"])).trim(), "[]");
    let store = s.path().join(format!(".berth/{name}.snapshots"));
    // Nothing but the store's own marker.
    let left: Vec<_> = std::fs::read_dir(&store)
        .map(|d| {
            d.flatten()
                .map(|e| e.file_name())
                .filter(|n| n != "berth-snapshots")
                .collect()
        })
        .unwrap_or_default();
    assert!(left.is_empty(), "left in the snapshot store: {left:?}");
}

#[test]
fn migrate_and_seed_stopped_at_every_point_resume_from_the_ledger() {
    let name = "crash-migrate";
    let s = project(name, false);
    let unmigrated = |s: &Sandbox| {
        s.ok(&["reset", "--yes"]);
        s.ok(&["up", "--no-migrate"]);
    };
    let complete = |s: &Sandbox, context: &str| assert_complete(s, name, false, context);
    // `berth seed` runs the seeds again by design: once more, or not at all.
    let seeded = |s: &Sandbox, context: &str| assert_whole(s, name, false, context, &[1, 2]);
    for signal in [Signal::Kill, Signal::Int] {
        sweep(
            &s,
            "migrate, native",
            &["migrate"],
            &unmigrated,
            &complete,
            signal,
        );
        sweep(&s, "seed, native", &["seed"], &fresh_up, &seeded, signal);
    }
}

#[test]
fn test_databases_stopped_at_every_point_leave_no_half_template() {
    let name = "crash-db";
    let s = project(name, false);
    // Cloned on request (the pool's path, a rename, is swept below), with
    // no refill running in the background between the runs.
    s.set_env("BERTH_DB_POOL", "0");
    // Each run builds the template anew.
    let no_template = |s: &Sandbox| {
        s.ok(&["up"]);
        let mut admin = server(&s.env(".env")["DATABASE_URL"]);
        for t in names_like(&mut admin, "berth\\_tpl\\_%") {
            admin
                .batch_execute(&format!("ALTER DATABASE \"{t}\" WITH IS_TEMPLATE false"))
                .unwrap();
            admin
                .batch_execute(&format!("DROP DATABASE \"{t}\" WITH (FORCE)"))
                .unwrap();
        }
    };
    let check = |s: &Sandbox, context: &str| {
        assert_complete(s, name, false, context);
        let info: serde_json::Value =
            serde_json::from_slice(&s.ok(&["db", "create", "--json"]).stdout).unwrap();
        let mut clone = pg(info["url"].as_str().unwrap());
        let rows: i64 = clone
            .query_one(
                "SELECT (SELECT count(*) FROM a) + (SELECT count(*) FROM b)",
                &[],
            )
            .unwrap()
            .get(0);
        assert_eq!(rows, 2, "{context}: the clone is migrated and seeded");
        let mut admin = server(&s.env(".env")["DATABASE_URL"]);
        assert_eq!(
            names_like(&mut admin, "berth\\_tpl\\_%").len(),
            1,
            "{context}: one template"
        );
        assert!(
            names_like(&mut admin, "%\\_build").is_empty(),
            "{context}: no half-built template"
        );
    };
    for signal in [Signal::Kill, Signal::Int] {
        sweep(
            &s,
            "db create, native",
            &["db", "create"],
            &no_template,
            &check,
            signal,
        );
    }
    // Dropping: stopped anywhere, the next drop finishes it.
    let made = std::cell::RefCell::new(String::new());
    let one = |s: &Sandbox| {
        s.ok(&["up"]);
        let info: serde_json::Value =
            serde_json::from_slice(&s.ok(&["db", "create", "--json"]).stdout).unwrap();
        *made.borrow_mut() = info["name"].as_str().unwrap().to_string();
    };
    one(&s);
    let dropped_points = points(&s, &["db", "drop", &made.borrow().clone()]);
    for point in dropped_points {
        one(&s);
        let target = made.borrow().clone();
        let out = interrupted(&s, &["db", "drop", &target], &point, Signal::Kill);
        assert_eq!(out.status.signal(), Some(9), "{}", describe(&out));
        s.ok(&["db", "drop", &target]);
        let mut admin = server(&s.env(".env")["DATABASE_URL"]);
        assert!(
            names_like(&mut admin, &target).is_empty(),
            "dropped after `{point}`"
        );
    }
}

fn server(db_url: &str) -> postgres::Client {
    let (base, _) = db_url.rsplit_once('/').unwrap();
    pg(&format!("{base}/postgres"))
}

fn names_like(client: &mut postgres::Client, like: &str) -> Vec<String> {
    client
        .query(
            "SELECT datname FROM pg_database WHERE datname LIKE $1",
            &[&like],
        )
        .unwrap()
        .iter()
        .map(|r| r.get(0))
        .collect()
}

/// The failure found by hand: killed while `CREATE DATABASE` was still
/// committing in a server backend, the next `up` failed for good with
/// "duplicate key value violates unique constraint". The kill lands a few
/// milliseconds into the statement.
#[test]
fn killed_while_a_database_is_being_created_the_next_up_finishes_it() {
    let name = "crash-createdb";
    let s = project(name, false);
    for delay in ["5", "20", "60"] {
        s.ok(&["reset", "--yes"]);
        let out = s
            .cmd(&["up"])
            .env("BERTH_TEST_KILL_AT", "db:database x1")
            .env("BERTH_TEST_KILL_DELAY_MS", delay)
            .output()
            .unwrap();
        assert_eq!(out.status.signal(), Some(9), "{}", describe(&out));
        let up = s.run(&["up"]);
        assert!(
            up.status.success(),
            "killed {delay} ms into CREATE DATABASE:\n{}",
            describe(&up)
        );
        assert_complete(
            &s,
            name,
            false,
            &format!("killed {delay} ms into CREATE DATABASE"),
        );
    }
}

/// The other failure found by hand: `up` on a running, healthy stack was
/// refused by the free-disk preflight although nothing had to start.
#[test]
fn a_running_stack_is_not_refused_for_a_full_disk_and_a_stopped_one_is() {
    let s = Sandbox::new(&pg_redis_stack("full-disk", false));
    s.ok(&["up"]);
    let full = |args: &[&str]| {
        s.cmd(args)
            .env("BERTH_TEST_FREE_DISK_MB", "60")
            .output()
            .unwrap()
    };
    let out = full(&["up"]);
    assert!(out.status.success(), "nothing to start: {}", describe(&out));
    s.ok(&["down"]);
    let out = full(&["up"]);
    assert_eq!(out.status.code(), Some(3), "{}", describe(&out));
    assert!(
        stderr(&out)
            .contains("only 60 MiB of disk free where the data lives; servers cannot start"),
        "{}",
        describe(&out)
    );
}

#[test]
fn up_killed_at_every_point_is_completed_by_the_next_up_containers() {
    if !engine() {
        return;
    }
    up_sweep("crash-ctr-kill", true, Signal::Kill, &|_| true);
}

/// SIGINT where the container runtime acts; provisioning and migrating are
/// the same code as natively, interrupted at every point there. (With
/// `BERTH_TEST_FULL_SWEEP=1`, every point here too.)
#[test]
fn up_interrupted_at_every_container_point_is_completed_by_the_next_up_containers() {
    if !engine() {
        return;
    }
    let full = std::env::var_os("BERTH_TEST_FULL_SWEEP").is_some();
    up_sweep("crash-ctr-int", true, Signal::Int, &|p| {
        full || !shared_code(p)
    });
}

#[test]
fn down_stopped_at_every_point_leaves_a_stack_up_recovers_containers() {
    if !engine() {
        return;
    }
    down_sweep("crash-ctr-down", true);
}

#[test]
fn reset_killed_at_every_point_loses_nothing_and_up_recovers_containers() {
    if !engine() {
        return;
    }
    reset_sweep("crash-ctr-reset", true, Signal::Kill);
}

#[test]
fn reset_interrupted_at_every_point_loses_nothing_and_up_recovers_containers() {
    if !engine() {
        return;
    }
    reset_sweep("crash-ctr-reset-int", true, Signal::Int);
}

/// `berth.lock` is written whole or not at all.
#[test]
fn lock_stopped_at_every_point_writes_it_whole_or_not_at_all_containers() {
    if !engine() {
        return;
    }
    let name = "crash-ctr-lock";
    let s = project(name, true);
    let unlocked = |s: &Sandbox| {
        let _ = std::fs::remove_file(s.path().join("berth.lock"));
        s.ok(&["up"]);
    };
    let locked = |s: &Sandbox, context: &str| {
        s.ok(&["lock"]);
        let verify = s.run(&["verify"]);
        assert!(verify.status.success(), "{context}: {}", describe(&verify));
        assert_complete(s, name, true, context);
    };
    for signal in [Signal::Kill, Signal::Int] {
        sweep(&s, "lock, container", &["lock"], &unlocked, &locked, signal);
    }
}

/// The object store and the pooler: `up` killed at each of its points
/// (buckets made, seeds put, the pooler's files written), then `up` again:
/// every bucket there, its seed files loaded (the marker last), the
/// pooler answering with the database's login.
#[test]
fn up_of_an_object_store_and_a_pooler_killed_at_every_point_is_completed_native() {
    use super::object_store::{boto3_ok, S3_ENV};
    use super::pooler::query_through;
    let s = Sandbox::new(&format!(
        r#"name = "crash-kinds"
[services.db]
kind = "postgres"
user = "app"
database = "app"
settings = {{ fsync = "off" }}

[services.pool]
kind = "pgbouncer"

[services.storage]
kind = "s3"
buckets = ["one", "two"]
{S3_ENV}POOL_URL = "${{pool.url}}"
"#
    ));
    for (path, text) in [("one/a.txt", "a"), ("one/b.txt", "b"), ("two/c.txt", "c")] {
        let file = s.path().join("seeds/storage").join(path);
        std::fs::create_dir_all(file.parent().unwrap()).unwrap();
        std::fs::write(file, text).unwrap();
    }
    let check = |s: &Sandbox, context: &str| {
        let env = s.env(".env");
        assert_eq!(
            query_through(&env["POOL_URL"], "SELECT 1"),
            ["1"],
            "{context}"
        );
        let mut listed = Vec::new();
        for bucket in ["one", "two"] {
            let mut env = env.clone();
            env.insert("S3_BUCKET".into(), bucket.into());
            listed.push(boto3_ok(&env, &["keys"]));
        }
        assert_eq!(
            listed,
            [".berth-seeded\na.txt\nb.txt", ".berth-seeded\nc.txt"],
            "{context}: every bucket seeded"
        );
    };
    let rows = sweep(&s, "up, native", &["up"], &fresh, &check, Signal::Kill);
    assert!(
        rows.iter().any(|r| r.contains(":seeded one"))
            && rows.iter().any(|r| r.contains(":bucket two")),
        "the sweep passes the object store's own points: {rows:?}"
    );
}

/// `db create` from the pool killed where it takes a database: what it
/// took is a whole test database (a rename is all it does), and the next
/// `db create` works.
#[test]
fn db_create_from_the_pool_killed_where_it_takes_one_hands_out_whole_databases() {
    let name = "crash-pool";
    let s = project(name, false);
    s.set_env("BERTH_DB_POOL", "2");
    let filled = |s: &Sandbox| {
        s.ok(&["up"]);
        s.ok(&["db", "refill"]);
    };
    let check = |s: &Sandbox, context: &str| {
        assert_complete(s, name, false, context);
        let info: serde_json::Value =
            serde_json::from_slice(&s.ok(&["db", "create", "--json"]).stdout).unwrap();
        let rows: i64 = pg(info["url"].as_str().unwrap())
            .query_one(
                "SELECT (SELECT count(*) FROM a) + (SELECT count(*) FROM b)",
                &[],
            )
            .unwrap()
            .get(0);
        assert_eq!(rows, 2, "{context}: migrated and seeded");
    };
    let rows = sweep_some(
        &s,
        "db create from the pool, native",
        &["db", "create"],
        &filled,
        &check,
        Signal::Kill,
        &|p| p.ends_with(":db claimed"),
    );
    assert_eq!(rows.len(), 1, "{rows:?}");
}

/// A stack with snapshot `old` (a row `a`, key `a`), backup `old.tar` of
/// the same, and snapshot `new` (rows `a` and `b`, key `b`), as it is now.
fn snapshot_project(name: &str, containers: bool) -> Sandbox {
    use super::snapshots::{note, stack_on};
    let s = stack_on(name, containers);
    s.ok(&["up"]);
    let env = s.env(".env");
    note(&env, "a");
    redis_cli(&env, &["SET", "k", "a"]);
    s.ok(&["snapshot", "save", "old"]);
    s.ok(&["backup", "-o", "old.tar"]);
    note(&env, "b");
    redis_cli(&env, &["SET", "k", "b"]);
    s.ok(&["snapshot", "save", "new"]);
    s
}

/// Each service's data as the old snapshot has it (true) or as now.
fn old_or_new(s: &Sandbox, context: &str) -> (bool, bool) {
    let env = s.env(".env");
    let rows = super::snapshots::notes(&env);
    let key = redis_cli(&env, &["GET", "k"]);
    let db_old = match rows.as_slice() {
        [a] if a == "a" => true,
        [a, b] if a == "a" && b == "b" => false,
        other => panic!("{context}: the table holds {other:?}"),
    };
    let cache_old = match key.as_str() {
        "a" => true,
        "b" => false,
        other => panic!("{context}: the key holds {other:?}"),
    };
    (db_old, cache_old)
}

/// The command's own points, not those of the `up` that brings the stack
/// back after it (swept with `up` itself).
fn own_points(point: &str) -> bool {
    let restart = point.starts_with("up:")
        || [
            ":start",
            ":spawned",
            ":started",
            " created",
            ":volumes",
            ":ready",
            ":provisioned",
            ":verifier",
            ":migration lock",
            ":ledger",
        ]
        .iter()
        .any(|end| point.ends_with(end))
        || point.contains(":database ")
        || point.contains(":init");
    !restart
}

fn back_to_new(s: &Sandbox) {
    s.ok(&["snapshot", "restore", "new", "--no-snapshot"]);
}

/// `snapshot save` and `snapshot restore` killed at each of their points: a
/// snapshot is whole or absent, and a restore leaves the stack as it was
/// or as the snapshot, every service from the same moment.
fn sweep_snapshots(s: &Sandbox, runtime: &str) {
    let check_save = |s: &Sandbox, context: &str| {
        assert_eq!(
            old_or_new(s, context),
            (false, false),
            "{context}: saving changed no data"
        );
        let list: Vec<serde_json::Value> =
            serde_json::from_str(&stdout(&s.ok(&["snapshot", "list", "--json"]))).unwrap();
        if list.iter().any(|m| m["name"] == "x") {
            let out = s.ok(&["snapshot", "restore", "x", "--no-snapshot"]);
            assert!(
                out.status.success(),
                "{context}: a listed snapshot restores"
            );
        }
    };
    let prepare_save = |s: &Sandbox| {
        let _ = s.run(&["snapshot", "rm", "x"]);
        back_to_new(s);
    };
    sweep_some(
        s,
        &format!("snapshot save, {runtime}"),
        &["snapshot", "save", "x"],
        &prepare_save,
        &check_save,
        Signal::Kill,
        &own_points,
    );
    let check_restore = |s: &Sandbox, context: &str| {
        let (db, cache) = old_or_new(s, context);
        assert_eq!(db, cache, "{context}: both services from one moment");
    };
    sweep_some(
        s,
        &format!("snapshot restore, {runtime}"),
        &["snapshot", "restore", "old", "--no-snapshot"],
        &back_to_new,
        &check_restore,
        Signal::Kill,
        &own_points,
    );
}

/// `backup` and `restore FILE` killed at each of their points: an archive
/// is whole (it restores) or absent, and each service's data is as it was
/// or as the archive has it.
fn sweep_backups(s: &Sandbox, runtime: &str) {
    let prepare_backup = |s: &Sandbox| {
        let _ = std::fs::remove_file(s.path().join("x.tar"));
        back_to_new(s);
    };
    let check_backup = |s: &Sandbox, context: &str| {
        assert_eq!(
            old_or_new(s, context),
            (false, false),
            "{context}: a backup changes no data"
        );
        if s.path().join("x.tar").exists() {
            s.ok(&["restore", "x.tar", "--yes"]);
        }
    };
    sweep_some(
        s,
        &format!("backup, {runtime}"),
        &["backup", "-o", "x.tar"],
        &prepare_backup,
        &check_backup,
        Signal::Kill,
        &own_points,
    );
    // Each service is as it was or as the archive has it (`old_or_new`
    // panics on anything else); a restore does one service after another.
    let check_file = |s: &Sandbox, context: &str| {
        let _ = old_or_new(s, context);
    };
    sweep_some(
        s,
        &format!("restore FILE, {runtime}"),
        &["restore", "old.tar", "--yes"],
        &back_to_new,
        &check_file,
        Signal::Kill,
        &own_points,
    );
}

#[test]
fn snapshot_save_and_restore_killed_at_every_point_leave_old_or_new_data_native() {
    sweep_snapshots(&snapshot_project("crash-snap", false), "native");
}

#[test]
fn backup_and_restore_killed_at_every_point_leave_old_or_new_data_native() {
    sweep_backups(&snapshot_project("crash-backup", false), "native");
}

#[test]
fn snapshot_save_and_restore_killed_at_every_point_leave_old_or_new_data_containers() {
    if !engine() {
        return;
    }
    sweep_snapshots(&snapshot_project("crash-snap-ct", true), "container");
}

#[test]
fn backup_and_restore_killed_at_every_point_leave_old_or_new_data_containers() {
    if !engine() {
        return;
    }
    sweep_backups(&snapshot_project("crash-backup-ct", true), "container");
}

/// A cold `up` filling an empty cluster cache, killed at each of its
/// points: the cache then holds the skeleton whole or not at all, and the
/// next `up` (which fills it, or copies it) brings a stack that works.
#[test]
fn up_filling_the_cluster_cache_killed_at_every_point_leaves_it_whole_or_empty() {
    let s = project("crash-cache", false);
    let cache = tempfile::tempdir().unwrap();
    let with_cache = |args: &[&str]| {
        let mut cmd = s.cmd(args);
        cmd.env("BERTH_CACHE_DIR", cache.path());
        // No engine: `cache clean` must not remove the volume templates
        // the container tests share.
        cmd.env("DOCKER_HOST", "unix:///nonexistent/berth-test.sock");
        cmd
    };
    let empty = || {
        let out = with_cache(&["reset", "--yes", "--no-snapshot"])
            .output()
            .unwrap();
        assert!(out.status.success(), "{}", describe(&out));
        let out = with_cache(&["cache", "clean"]).output().unwrap();
        assert!(out.status.success(), "{}", describe(&out));
    };
    empty();
    let log = s.path().join(".steps");
    let out = with_cache(&["up"])
        .env("BERTH_TEST_STEPS", &log)
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", describe(&out));
    let text = std::fs::read_to_string(&log).unwrap();
    let points: Vec<&str> = text
        .lines()
        .filter(|p| p.starts_with("skeleton:") || p.starts_with("db:init"))
        .collect();
    assert!(points.contains(&"skeleton:built"), "{points:?}");
    let mut rows = Vec::new();
    for point in &points {
        empty();
        let out = with_cache(&["up"])
            .env("BERTH_TEST_KILL_AT", point)
            .output()
            .unwrap();
        assert_eq!(
            out.status.signal(),
            Some(9),
            "at `{point}`: {}",
            describe(&out)
        );
        let listed = with_cache(&["cache", "--json"]).output().unwrap();
        let report: serde_json::Value = serde_json::from_slice(&listed.stdout).unwrap();
        for entry in report["entries"].as_array().unwrap() {
            assert_eq!(
                entry["sound"], true,
                "at `{point}`: a damaged entry {entry}"
            );
        }
        let up = with_cache(&["up"]).output().unwrap();
        assert!(
            up.status.success(),
            "after a kill at `{point}`: {}",
            describe(&up)
        );
        assert_complete(
            &s,
            "crash-cache",
            false,
            &format!("cache KILL at `{point}`"),
        );
        rows.push(format!(
            "| up, empty cluster cache | KILL | `{point}` | killed | recovered |"
        ));
    }
    println!("\n{}", rows.join("\n"));
}

/// Issue 33: `up` killed at each point of a service's init scripts (and
/// the ones just before and after them): the next `up` makes the data
/// again where the scripts did not finish, so every script has run
/// exactly once on the data, and what `ALTER SYSTEM` set holds.
#[test]
fn up_killed_in_its_init_scripts_leaves_them_run_once_on_the_data() {
    let s = Sandbox::new(
        "name = \"crash-init\"\n\n[services.db]\nkind = \"postgres\"\ninit = \"initdb\"\n\n[env.vars]\nDATABASE_URL = \"${db.url}\"\n",
    );
    let dir = s.path().join("initdb");
    std::fs::create_dir(&dir).unwrap();
    std::fs::write(
        dir.join("01-table.sql"),
        "CREATE TABLE init_runs (script text);\nINSERT INTO init_runs VALUES ('01');\n",
    )
    .unwrap();
    std::fs::write(
        dir.join("02-settings.sh"),
        "#!/bin/bash\nset -e\npsql -v ON_ERROR_STOP=1 -c \"INSERT INTO init_runs VALUES ('02')\" -c \"ALTER SYSTEM SET random_page_cost = 1.1\"\n",
    )
    .unwrap();
    let check = |s: &Sandbox, context: &str| {
        let mut db = pg(&s.env(".env")["DATABASE_URL"]);
        let runs: Vec<String> = db
            .query("SELECT script FROM init_runs ORDER BY script", &[])
            .unwrap_or_else(|e| panic!("{context}: {e}"))
            .iter()
            .map(|r| r.get(0))
            .collect();
        assert_eq!(runs, ["01", "02"], "{context}: each script once");
        let cost: String = db.query_one("SHOW random_page_cost", &[]).unwrap().get(0);
        assert_eq!(cost, "1.1", "{context}");
    };
    let wanted =
        |p: &str| p.contains("init script") || p.ends_with(":provisioned") || p.ends_with(":ready");
    sweep_some(
        &s,
        "up with init scripts, native",
        &["up"],
        &fresh,
        &check,
        Signal::Kill,
        &wanted,
    );
}
