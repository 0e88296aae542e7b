//! Snapshots and backups on the native runtime, with real PostgreSQL and
//! Redis (the container runtime's are in `containers.rs`): the data comes
//! back, nothing is lost by a `reset`, and whatever is damaged, foreign or
//! of another server version is refused with the stack untouched. The
//! kill-point sweeps of these commands are in `crash.rs`.

use std::os::unix::process::ExitStatusExt;

use super::*;

/// Postgres and a Redis that keeps its keys, with a table to change.
pub fn stack(name: &str) -> Sandbox {
    stack_on(name, false)
}

/// [`stack`], natively or in containers.
pub fn stack_on(name: &str, containers: bool) -> Sandbox {
    let s = Sandbox::new(&if containers {
        super::containers::stack(name)
    } else {
        pg_redis_stack(name, true)
    });
    std::fs::create_dir_all(s.path().join("migrations/db")).unwrap();
    std::fs::write(
        s.path().join("migrations/db/001_notes.sql"),
        "CREATE TABLE notes (body text NOT NULL);\n",
    )
    .unwrap();
    s
}

pub fn notes(env: &BTreeMap<String, String>) -> Vec<String> {
    pg(&env["DATABASE_URL"])
        .query("SELECT body FROM notes ORDER BY body", &[])
        .unwrap()
        .iter()
        .map(|r| r.get(0))
        .collect()
}

pub fn note(env: &BTreeMap<String, String>, body: &str) {
    pg(&env["DATABASE_URL"])
        .execute("INSERT INTO notes VALUES ($1)", &[&body])
        .unwrap();
}

fn snapshots(s: &Sandbox) -> Vec<serde_json::Value> {
    let out = s.ok(&["snapshot", "list", "--json"]);
    serde_json::from_slice::<Vec<serde_json::Value>>(&out.stdout).unwrap()
}

#[test]
fn a_snapshot_brings_rows_and_keys_back_and_keeps_what_it_replaced() {
    let s = stack("snap-life");
    s.ok(&["up"]);
    let env = s.env(".env");
    note(&env, "kept");
    redis_cli(&env, &["SET", "k", "before"]);
    let saved = s.ok(&["snapshot", "save", "before-change", "--json"]);
    let saved: serde_json::Value = serde_json::from_slice(&saved.stdout).unwrap();
    let services: Vec<&str> = saved["manifest"]["services"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["service"].as_str().unwrap())
        .collect();
    assert_eq!(services, ["db", "cache"]);
    assert!(
        saved["manifest"]["services"][0]["migration"].as_i64() == Some(1),
        "{saved}"
    );
    // The stack runs again after the copy.
    assert_eq!(notes(&s.env(".env")), ["kept"]);

    note(&env, "later");
    redis_cli(&env, &["SET", "k", "after"]);
    let restored = s.ok(&["snapshot", "restore", "before-change"]);
    assert!(
        stderr(&restored).contains("the stack is up again"),
        "{}",
        describe(&restored)
    );
    assert_eq!(s.env(".env"), env, "same ports and passwords");
    assert_eq!(notes(&env), ["kept"]);
    assert_eq!(redis_cli(&env, &["GET", "k"]), "before");

    // What it replaced is a snapshot too, and comes back the same way.
    let list = snapshots(&s);
    let safety = list
        .iter()
        .find(|m| m["automatic"] == "before restoring `before-change`")
        .expect("the replaced data");
    let safety = safety["name"].as_str().unwrap().to_string();
    s.ok(&["snapshot", "restore", &safety, "--no-snapshot"]);
    assert_eq!(notes(&env), ["kept", "later"]);
    assert_eq!(redis_cli(&env, &["GET", "k"]), "after");

    // A stopped stack is saved and restored without starting it.
    s.ok(&["down"]);
    s.ok(&["snapshot", "save", "stopped"]);
    let status = stdout(&s.ok(&["status"]));
    assert!(!status.contains("ready"), "still down: {status}");
    s.ok(&["snapshot", "restore", "before-change", "--no-snapshot"]);
    s.ok(&["up"]);
    assert_eq!(notes(&env), ["kept"]);
    s.ok(&["snapshot", "rm", "stopped"]);
    assert!(!snapshots(&s).iter().any(|m| m["name"] == "stopped"));
}

#[test]
fn reset_takes_a_snapshot_first_and_keeps_the_last_few() {
    let s = stack("snap-reset");
    s.write_stack(&format!(
        "{}\n[snapshots]\nkeep = 2\n",
        std::fs::read_to_string(s.path().join("berth.toml")).unwrap()
    ));
    s.ok(&["up"]);
    note(&s.env(".env"), "precious");
    let reset = s.ok(&["reset", "--yes"]);
    let err = stderr(&reset);
    assert!(err.contains("its data is in snapshot `"), "{err}");
    let name = snapshots(&s)[0]["name"].as_str().unwrap().to_string();
    assert!(name.ends_with("-reset"), "{name}");
    s.ok(&["up"]);
    assert!(notes(&s.env(".env")).is_empty(), "reset wiped it");
    s.ok(&["snapshot", "restore", &name]);
    assert_eq!(
        notes(&s.env(".env")),
        ["precious"],
        "and the safety net brought it back"
    );

    for _ in 0..2 {
        s.ok(&["reset", "--yes"]);
        s.ok(&["up"]);
    }
    let automatic: Vec<serde_json::Value> = snapshots(&s)
        .into_iter()
        .filter(|m| m["automatic"].is_string())
        .collect();
    assert_eq!(automatic.len(), 2, "`keep = 2`: {automatic:?}");
    let before = snapshots(&s).len();
    s.ok(&["reset", "--yes", "--no-snapshot"]);
    assert_eq!(snapshots(&s).len(), before, "`--no-snapshot` takes none");
}

#[test]
fn damaged_foreign_and_other_version_snapshots_are_refused_and_change_nothing() {
    let s = stack("snap-bad");
    s.ok(&["up"]);
    let env = s.env(".env");
    note(&env, "live");
    s.ok(&["snapshot", "save", "good"]);
    let store = s.path().join(".berth/snap-bad.snapshots");

    let unknown = s.run(&["snapshot", "restore", "god"]);
    assert_eq!(unknown.status.code(), Some(1), "{}", describe(&unknown));
    assert!(
        stderr(&unknown).contains("there is no snapshot `god`"),
        "{}",
        describe(&unknown)
    );
    assert!(
        stderr(&unknown).contains("did you mean `good`?"),
        "{}",
        describe(&unknown)
    );

    // A changed file, then a missing one.
    let copy = |name: &str| {
        let _ = std::fs::remove_dir_all(store.join(name));
        copy_tree(&store.join("good"), &store.join(name));
        let manifest = std::fs::read_to_string(store.join(name).join("manifest.json")).unwrap();
        std::fs::write(
            store.join(name).join("manifest.json"),
            manifest.replace("\"name\": \"good\"", &format!("\"name\": \"{name}\"")),
        )
        .unwrap();
    };
    copy("changed");
    std::fs::write(store.join("changed/db/PG_VERSION"), "99\n").unwrap();
    copy("missing");
    std::fs::remove_file(store.join("missing/db/postgresql.conf")).unwrap();
    for name in ["changed", "missing"] {
        let out = s.run(&["snapshot", "restore", name]);
        assert_eq!(out.status.code(), Some(1), "{}", describe(&out));
        assert!(
            stderr(&out).contains(&format!("snapshot `{name}` is damaged: the data of service `db` does not match its checksum")),
            "{}",
            describe(&out)
        );
    }
    copy("garbled");
    std::fs::write(store.join("garbled/manifest.json"), "{ not json").unwrap();
    let out = s.run(&["snapshot", "restore", "garbled"]);
    assert!(
        stderr(&out).contains("snapshot `garbled` is damaged: its manifest does not read"),
        "{}",
        describe(&out)
    );

    // Another stack's snapshot.
    copy("foreign");
    let manifest = std::fs::read_to_string(store.join("foreign/manifest.json")).unwrap();
    std::fs::write(
        store.join("foreign/manifest.json"),
        manifest.replace("\"stack\": \"snap-bad\"", "\"stack\": \"elsewhere\""),
    )
    .unwrap();
    let out = s.run(&["snapshot", "restore", "foreign"]);
    assert!(
        stderr(&out).contains("snapshot `foreign` is of stack `elsewhere`, not of `snap-bad`"),
        "{}",
        describe(&out)
    );

    // Another server major version: PostgreSQL 16 (scripts/setup installs
    // it beside Debian's 15) cannot read 15's data.
    s.write_stack(
        &std::fs::read_to_string(s.path().join("berth.toml"))
            .unwrap()
            .replace(
                "kind = \"postgres\"",
                "kind = \"postgres\"\nversion = \"16\"",
            ),
    );
    let out = s.run(&["snapshot", "restore", "good"]);
    assert_eq!(out.status.code(), Some(1), "{}", describe(&out));
    assert!(
        stderr(&out).contains("holds data of postgres 15."),
        "{}",
        describe(&out)
    );
    assert!(stderr(&out).contains("runs 16."), "{}", describe(&out));

    // Through all of it the stack ran on, untouched.
    assert_eq!(notes(&env), ["live"]);
    let state: serde_json::Value =
        serde_json::from_slice(&std::fs::read(s.state_dir("snap-bad").join("state.json")).unwrap())
            .unwrap();
    assert!(
        state.get("generations").is_none(),
        "no restore happened: {state}"
    );
}

#[test]
fn a_full_disk_while_saving_leaves_no_partial_snapshot_and_the_data_running() {
    let s = stack("snap-full");
    s.ok(&["up"]);
    let env = s.env(".env");
    note(&env, "live");
    let store = s.path().join(".berth/snap-full.snapshots");
    std::fs::create_dir_all(&store).unwrap();
    // A real full disk: a 4 MiB file system where the snapshots go, which
    // the database's 40 MiB do not fit. Mounting needs root; without it
    // the debug build's copy stops as if the disk were full.
    let mounted = unsafe { libc::geteuid() } == 0
        && Command::new("mount")
            .args(["-t", "tmpfs", "-o", "size=4m,mode=0700", "tmpfs"])
            .arg(&store)
            .status()
            .is_ok_and(|s| s.success());
    if !mounted {
        eprintln!("warning: *** not root: the full disk is simulated (BERTH_TEST_COPY_LIMIT_MB), not a real one ***");
    }
    let out = s
        .cmd(&["snapshot", "save", "big"])
        .env(
            "BERTH_TEST_COPY_LIMIT_MB",
            if mounted { "100000" } else { "1" },
        )
        .output()
        .unwrap();
    // The store's marker is its own, not something the save left.
    let left: Vec<String> = std::fs::read_dir(&store)
        .map(|d| {
            d.flatten()
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .filter(|n| n != "berth-snapshots")
                .collect()
        })
        .unwrap_or_default();
    if mounted {
        let _ = Command::new("umount").arg(&store).status();
    }
    assert_eq!(out.status.code(), Some(1), "{}", describe(&out));
    assert!(
        stderr(&out).contains("no space left on the device to "),
        "{}",
        describe(&out)
    );
    assert!(left.is_empty(), "nothing half-written is left: {left:?}");
    assert_eq!(notes(&env), ["live"], "running again, data untouched");
    // With room again, the same save works.
    s.ok(&["snapshot", "save", "big"]);
}

fn copy_tree(from: &Path, to: &Path) {
    let status = Command::new("cp")
        .arg("-a")
        .arg(from)
        .arg(to)
        .status()
        .unwrap();
    assert!(status.success());
}

#[test]
fn a_backup_survives_a_reset_and_damaged_or_foreign_archives_are_refused() {
    let s = stack("backup-life");
    s.ok(&["up"]);
    let env = s.env(".env");
    note(&env, "backed up");
    redis_cli(&env, &["SET", "k", "backed up"]);
    let out = s.ok(&["backup", "-o", "b.tar", "--json"]);
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let files: Vec<&str> = report["manifest"]["services"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|s| {
            s["files"]
                .as_array()
                .unwrap()
                .iter()
                .map(|f| f["file"].as_str().unwrap())
        })
        .collect();
    assert_eq!(files, ["app.dump", "dump.rdb"]);
    let again = s.run(&["backup", "-o", "b.tar"]);
    assert_eq!(
        again.status.code(),
        Some(2),
        "an archive is never overwritten: {}",
        describe(&again)
    );

    s.ok(&["reset", "--yes", "--no-snapshot"]);
    s.ok(&["up"]);
    let env = s.env(".env");
    assert!(notes(&env).is_empty());
    let no_tty = s.run(&["restore", "b.tar"]);
    assert_eq!(
        no_tty.status.code(),
        Some(2),
        "asks, and without a terminal refuses: {}",
        describe(&no_tty)
    );
    note(&env, "new");
    s.ok(&["restore", "b.tar", "--yes"]);
    assert_eq!(notes(&env), ["backed up"]);
    assert_eq!(redis_cli(&env, &["GET", "k"]), "backed up");

    // Damaged, truncated, not a backup, another stack's: refused, and the
    // data stays.
    let archive = std::fs::read(s.path().join("b.tar")).unwrap();
    let at = archive
        .windows(5)
        .position(|w| w == b"PGDMP")
        .expect("the dump is in the archive")
        + 64;
    let mut flipped = archive.clone();
    flipped[at] ^= 0xff;
    std::fs::write(s.path().join("flipped.tar"), &flipped).unwrap();
    std::fs::write(s.path().join("short.tar"), &archive[..at]).unwrap();
    std::fs::write(s.path().join("notes.txt"), "not an archive at all\n").unwrap();
    let foreign = Command::new("tar")
        .args(["cf", "foreign.tar", "berth.toml"])
        .current_dir(s.path())
        .status()
        .unwrap();
    assert!(foreign.success());
    for (file, expected) in [
        (
            "flipped.tar",
            "`flipped.tar` is damaged or incomplete: `db/app.dump` does not match its checksum",
        ),
        ("short.tar", "`short.tar` is damaged or incomplete"),
        ("notes.txt", "`notes.txt` is not a berth backup"),
        (
            "foreign.tar",
            "`foreign.tar` is not a berth backup: it holds no `berth-backup.json`",
        ),
    ] {
        let out = s.run(&["restore", file, "--yes"]);
        assert_eq!(out.status.code(), Some(1), "{file}: {}", describe(&out));
        assert!(
            stderr(&out).contains(expected),
            "{file}: {}",
            describe(&out)
        );
    }
    let other = stack("backup-other");
    other.ok(&["up"]);
    std::fs::copy(s.path().join("b.tar"), other.path().join("b.tar")).unwrap();
    let out = other.run(&["restore", "b.tar", "--yes"]);
    assert!(
        stderr(&out).contains("`b.tar` is a backup of stack `backup-life`, not of `backup-other`"),
        "{}",
        describe(&out)
    );
    assert_eq!(notes(&env), ["backed up"], "untouched");
}

#[test]
fn a_safety_snapshot_whose_checksums_a_kill_cut_off_still_restores_unless_touched() {
    let s = stack("snap-pending");
    s.ok(&["up"]);
    let env = s.env(".env");
    note(&env, "first");
    s.ok(&["snapshot", "save", "first"]);
    note(&env, "second");
    // Killed after the switch, before the replaced data's checksums were
    // recorded (they are computed once the stack runs again).
    let out = s
        .cmd(&["snapshot", "restore", "first"])
        .env("BERTH_TEST_KILL_AT", "snapshot:checksummed")
        .output()
        .unwrap();
    assert_eq!(out.status.signal(), Some(9), "{}", describe(&out));
    s.ok(&["up"]);
    assert_eq!(notes(&env), ["first"]);
    let safety = snapshots(&s)
        .into_iter()
        .find(|m| m["automatic"].is_string())
        .expect("the replaced data was kept");
    assert!(safety["services"][0]["digest"].is_null(), "{safety}");
    let name = safety["name"].as_str().unwrap().to_string();

    // Untouched, what berth copied restores.
    s.ok(&["snapshot", "restore", &name, "--no-snapshot"]);
    assert_eq!(notes(&env), ["first", "second"]);

    // Touched, it cannot be vouched for.
    let pg_version = s.path().join(format!(
        ".berth/snap-pending.snapshots/{name}/db/PG_VERSION"
    ));
    let text = std::fs::read(&pg_version).unwrap();
    std::fs::write(&pg_version, text).unwrap();
    let out = s.run(&["snapshot", "restore", &name]);
    assert_eq!(out.status.code(), Some(1), "{}", describe(&out));
    assert!(
        stderr(&out).contains("has no checksum for service `db`"),
        "{}",
        describe(&out)
    );
    assert_eq!(notes(&env), ["first", "second"], "untouched");
}

/// Issue 35: a stack without a `database` key keeps its tables in the
/// default database `postgres`, the one a restore used to connect to and
/// so could not rename: its backup now restores, natively and in a
/// container.
#[test]
fn issue_35_a_backup_of_the_default_postgres_database_restores() {
    for containers in [false, true] {
        if containers && !super::containers::engine() {
            continue;
        }
        let image = match containers {
            true => format!(
                "runtime = \"container\"\nimage = \"{}\"\n",
                super::containers::PG_IMAGE
            ),
            false => String::new(),
        };
        let s = Sandbox::new(&format!(
            "name = \"default-db\"\n\n[services.postgres]\n{image}\n[env.vars]\nDATABASE_URL = \"${{postgres.url}}\"\n"
        ));
        std::fs::create_dir_all(s.path().join("migrations/postgres")).unwrap();
        std::fs::write(
            s.path().join("migrations/postgres/001_notes.sql"),
            "CREATE TABLE notes (body text NOT NULL);\n",
        )
        .unwrap();
        s.ok(&["up"]);
        let env = s.env(".env");
        assert!(
            env["DATABASE_URL"].ends_with("/postgres"),
            "the default database: {}",
            env["DATABASE_URL"]
        );
        note(&env, "backed up");
        s.ok(&["backup", "-o", "b.tar"]);
        note(&env, "after the backup");
        s.ok(&["restore", "b.tar", "--yes"]);
        assert_eq!(notes(&env), ["backed up"], "containers: {containers}");
        // Applied once, and known as applied: nothing runs again.
        let out = s.ok(&["migrate", "status", "--json"]);
        assert!(stdout(&out).contains("001_notes"), "{}", describe(&out));
        s.ok(&["up"]);
        assert_eq!(notes(&env), ["backed up"]);
    }
}

/// Issue 35: database names of every shape back up and restore: the
/// default `postgres`, names that need quoting, that hold a path's `/`
/// and `..`, that are not ASCII, and that are as long as PostgreSQL takes.
#[test]
fn issue_35_databases_named_anything_back_up_and_restore() {
    let long = "l".repeat(63);
    let names = [
        "My App",
        "quo\"te",
        "../up/and/away",
        "日本語",
        long.as_str(),
        "template_x",
    ];
    let list = names
        .iter()
        .map(|n| format!("{:?}", n))
        .collect::<Vec<_>>()
        .join(", ");
    // With a pooler in front, holding connections to the databases the
    // restore swaps.
    let s = Sandbox::new(&format!(
        "name = \"names\"\n\n[services.postgres]\ndatabases = [{list}]\n\n[services.pool]\nkind = \"pgbouncer\"\n\n[env.vars]\nDATABASE_URL = \"${{postgres.url}}\"\nPOOL_URL = \"${{pool.url}}\"\n"
    ));
    s.ok(&["up"]);
    let url = s.env(".env")["DATABASE_URL"].clone();
    let pool_url = s.env(".env")["POOL_URL"].clone();
    let mut pooled = pg(&pool_url);
    let in_db = |db: &str| {
        let mut config: postgres::Config = url.parse().unwrap();
        config.dbname(db);
        config.connect(postgres::NoTls).unwrap()
    };
    for db in names.iter().copied().chain(["postgres"]) {
        in_db(db)
            .batch_execute("CREATE TABLE kept (v text); INSERT INTO kept VALUES ('backed up')")
            .unwrap();
    }
    assert_eq!(
        pooled.query("SELECT v FROM kept", &[]).unwrap().len(),
        1,
        "through the pooler"
    );
    s.ok(&["backup", "-o", "names.tar"]);
    for db in names.iter().copied().chain(["postgres"]) {
        in_db(db)
            .batch_execute("INSERT INTO kept VALUES ('after')")
            .unwrap();
    }
    s.ok(&["restore", "names.tar", "--yes"]);
    for db in names.iter().copied().chain(["postgres"]) {
        let rows: Vec<String> = in_db(db)
            .query("SELECT v FROM kept", &[])
            .unwrap()
            .iter()
            .map(|r| r.get(0))
            .collect();
        assert_eq!(rows, ["backed up"], "{db}");
    }
    // The pooler reaches the restored database: a new client at once, and
    // the one it held before once it has noticed its server went.
    let rows: Vec<String> = pg(&pool_url)
        .query("SELECT v FROM kept", &[])
        .unwrap()
        .iter()
        .map(|r| r.get(0))
        .collect();
    assert_eq!(rows, ["backed up"], "a new client through the pooler");
    let again = pooled.query("SELECT v FROM kept", &[]);
    if again.is_err() {
        pooled = pg(&pool_url);
    }
    assert_eq!(pooled.query("SELECT v FROM kept", &[]).unwrap().len(), 1);
    // Nothing was written outside the archive's own place.
    assert!(!s.path().join("up").exists());
}
