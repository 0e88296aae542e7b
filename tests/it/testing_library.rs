//! The testing library and `berth db`: a database per test cloned from a
//! migrated template, no cross-talk, nothing left behind (issue 5).

use std::sync::{Arc, Barrier};

use berth::testing::{TestDatabase, TestStack};

use super::*;

const STACK: &str = r#"name = "lib"

[services.db]
kind = "postgres"
port = {PG}

[services.cache]
kind = "redis"
port = {REDIS}

[profiles.test.services.db]
settings = { fsync = "off", synchronous_commit = "off" }
"#;

/// A project with fixed ports for the developer's stack, one migration and
/// one seed row.
fn project() -> Sandbox {
    let s = Sandbox::new(
        &STACK
            .replace("{PG}", &free_port().to_string())
            .replace("{REDIS}", &free_port().to_string()),
    );
    write(
        &s,
        "migrations/db/001_items.sql",
        "CREATE TABLE items (owner text NOT NULL, n int NOT NULL);\n",
    );
    write(
        &s,
        "seeds/db/01_items.sql",
        "INSERT INTO items VALUES ('seed', 0);\n",
    );
    s
}

fn write(s: &Sandbox, relative: &str, text: &str) {
    let path = s.path().join(relative);
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(path, text).unwrap();
}

/// Test databases and templates on the server `client` is connected to.
fn databases(client: &mut postgres::Client, like: &str) -> Vec<String> {
    client
        .query(
            "SELECT datname FROM pg_database WHERE datname LIKE $1 ORDER BY 1",
            &[&like],
        )
        .unwrap()
        .iter()
        .map(|r| r.get(0))
        .collect()
}

fn server(db_url: &str) -> postgres::Client {
    let (base, _) = db_url.rsplit_once('/').unwrap();
    pg(&format!("{base}/postgres"))
}

#[test]
fn fifty_parallel_tests_each_get_their_own_migrated_database_and_leave_nothing() {
    let s = project();
    let stack = Arc::new(TestStack::start(s.path().join("berth.toml")).unwrap());
    assert_eq!(stack.name(), "lib-test-tests");
    let all_inserted = Arc::new(Barrier::new(50));
    let threads: Vec<_> = (0..50)
        .map(|i| {
            let stack = Arc::clone(&stack);
            let all_inserted = Arc::clone(&all_inserted);
            std::thread::spawn(move || {
                let owner = format!("test-{i}");
                // Set up, then wait for every other test, even after a
                // failure: a thread that never reaches the barrier would
                // leave the others waiting for ever.
                let ready = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                    let db = stack.database().unwrap();
                    let mut client = pg(db.url());
                    let seeded: i64 = client
                        .query_one("SELECT count(*) FROM items WHERE owner = 'seed'", &[])
                        .unwrap()
                        .get(0);
                    assert_eq!(seeded, 1, "the seed row is there");
                    for n in 0..20 {
                        client
                            .execute("INSERT INTO items VALUES ($1, $2)", &[&owner, &n])
                            .unwrap();
                    }
                    (db, client, stack.redis().unwrap())
                }));
                // Every test has written before any reads back.
                all_inserted.wait();
                let (db, mut client, redis) =
                    ready.unwrap_or_else(|panic| std::panic::resume_unwind(panic));
                let rows: Vec<(String, i64)> = client
                    .query(
                        "SELECT owner, count(*) FROM items GROUP BY 1 ORDER BY 1",
                        &[],
                    )
                    .unwrap()
                    .iter()
                    .map(|r| (r.get(0), r.get(1)))
                    .collect();
                assert_eq!(
                    rows,
                    [("seed".to_string(), 1), (owner.clone(), 20)],
                    "only this test's rows"
                );
                (
                    db.name().to_string(),
                    db.url().to_string(),
                    redis.prefix().to_string(),
                )
            })
        })
        .collect();
    let results: Vec<(String, String, String)> =
        threads.into_iter().map(|t| t.join().unwrap()).collect();
    let mut names: Vec<&String> = results.iter().map(|r| &r.0).collect();
    names.sort();
    names.dedup();
    assert_eq!(names.len(), 50, "fifty different databases");

    // Every handle is dropped, and the stack (which held the next
    // database, claimed ahead): nothing is left on the server.
    drop(Arc::into_inner(stack).expect("every test thread has ended"));
    let mut admin = server(&results[0].1);
    assert_eq!(databases(&mut admin, "bt\\_%"), Vec::<String>::new());
    assert_eq!(
        databases(&mut admin, "berth\\_tpl\\_%").len(),
        1,
        "one template"
    );

    // The test stack is its own instance: the developer's stack is not up,
    // and no env file was written.
    let dev = stdout(&s.ok(&["status"]));
    assert!(!dev.contains("ready"), "{dev}");
    assert!(!s.path().join(".env").exists());
    let test_status = stdout(&s.ok(&["-p", "test", "--name", "lib-test-tests", "status"]));
    assert_eq!(test_status.matches("ready").count(), 2, "{test_status}");
}

#[test]
fn redis_prefixes_are_isolated_and_cleared() {
    let s = project();
    let stack = TestStack::start(s.path().join("berth.toml")).unwrap();
    let a = stack.redis().unwrap();
    let b = stack.redis().unwrap();
    assert_ne!(a.prefix(), b.prefix());
    let url = a.url().to_string();
    let (host_port, password) = {
        let rest = url.strip_prefix("redis://default:").unwrap();
        let (password, host_port) = rest.split_once('@').unwrap();
        (host_port.to_string(), password.to_string())
    };
    let (host, port) = host_port.split_once(':').unwrap();
    let env: BTreeMap<String, String> = [
        ("REDIS_HOST", host),
        ("REDIS_PORT", port),
        ("REDIS_PASSWORD", password.as_str()),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v.to_string()))
    .collect();
    redis_cli(&env, &["SET", &a.key("greeting"), "a"]);
    redis_cli(&env, &["SET", &b.key("greeting"), "b"]);
    assert_eq!(redis_cli(&env, &["GET", &a.key("greeting")]), "a");
    drop(a);
    assert_eq!(redis_cli(&env, &["DBSIZE"]), "1", "only b's key is left");
    drop(b);
    assert_eq!(redis_cli(&env, &["DBSIZE"]), "0");
}

#[test]
fn a_changed_migration_rebuilds_the_template_on_the_next_run() {
    let s = project();
    let file = s.path().join("berth.toml");
    let first = TestStack::start(&file).unwrap();
    let db = first.database().unwrap();
    let mut admin = server(db.url());
    let before = databases(&mut admin, "berth\\_tpl\\_%");
    let has_tags = |url: &str| -> bool {
        pg(url)
            .query_one("SELECT to_regclass('tags') IS NOT NULL", &[])
            .unwrap()
            .get(0)
    };
    assert!(!has_tags(db.url()));
    drop(db);
    drop(first);

    write(
        &s,
        "migrations/db/002_tags.sql",
        "CREATE TABLE tags (name text);\n",
    );
    let second = TestStack::start(&file).unwrap();
    let db = second.database().unwrap();
    assert!(
        has_tags(db.url()),
        "the new migration is in the new template"
    );
    let seeded: i64 = pg(db.url())
        .query_one("SELECT count(*) FROM items", &[])
        .unwrap()
        .get(0);
    assert_eq!(seeded, 1);
    let after = databases(&mut admin, "berth\\_tpl\\_%");
    assert_eq!(after.len(), 1, "the old template was dropped: {after:?}");
    assert_ne!(before, after);
}

#[test]
fn what_killed_runs_left_is_dropped_by_gc_or_the_next_start() {
    let s = project();
    s.ok(&["up"]);
    let url = s.ok(&["db", "create"]);
    let url = stdout(&url).trim().to_string();
    assert!(url.contains("/bt_"), "{url}");
    let mut admin = server(&url);
    // Made by this test process, which is alive: gc keeps it.
    s.ok(&["db", "gc"]);
    assert_eq!(databases(&mut admin, "bt\\_%").len(), 1);
    let name = url.rsplit('/').next().unwrap().to_string();
    s.ok(&["db", "drop", &name]);
    assert!(databases(&mut admin, "bt\\_%").is_empty());
    let refused = s.run(&["db", "drop", "lib"]);
    assert_eq!(refused.status.code(), Some(2), "{}", describe(&refused));

    // A "test runner" that makes databases and is killed before dropping them.
    let berth = env!("CARGO_BIN_EXE_berth");
    let mut runner = Command::new("sh")
        .arg("-c")
        .arg(format!(
            "{berth} db create && {berth} db create --empty --json && exec sleep 60"
        ))
        .current_dir(s.path())
        .stdout(Stdio::null())
        .spawn()
        .unwrap();
    wait_until("the runner's databases", Duration::from_secs(20), || {
        databases(&mut admin, "bt\\_%").len() == 2
    });
    s.ok(&["db", "gc"]);
    assert_eq!(
        databases(&mut admin, "bt\\_%").len(),
        2,
        "the runner still runs"
    );
    runner.kill().unwrap();
    runner.wait().unwrap();
    let gc = s.ok(&["db", "gc", "--json"]);
    let dropped: Vec<String> = serde_json::from_slice(&gc.stdout).unwrap();
    assert_eq!(dropped.len(), 2, "{}", describe(&gc));
    assert!(databases(&mut admin, "bt\\_%").is_empty());

    // The library cleans up at start: a killed runner's leftovers are gone
    // once the next test run starts on the same server.
    let mut runner = Command::new("sh")
        .arg("-c")
        .arg(format!("{berth} db create && exec sleep 60"))
        .current_dir(s.path())
        .stdout(Stdio::null())
        .spawn()
        .unwrap();
    wait_until("the runner's databases", Duration::from_secs(20), || {
        databases(&mut admin, "bt\\_%").len() == 1
    });
    runner.kill().unwrap();
    runner.wait().unwrap();
    let stack = TestStack::builder(s.path().join("berth.toml"))
        .profile(None)
        .name("lib")
        .start()
        .unwrap();
    assert_eq!(stack.name(), "lib", "attached to the running stack");
    assert!(databases(&mut admin, "bt\\_%").is_empty());
}

#[test]
fn db_create_json_hands_out_every_value() {
    let s = project();
    s.ok(&["up"]);
    let out = s.ok(&["db", "create", "--json"]);
    let info: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    for key in ["name", "host", "port", "user", "password", "url"] {
        assert!(!info[key].is_null(), "{key} in {info}");
    }
    let url = info["url"].as_str().unwrap();
    let seeded: i64 = pg(url)
        .query_one("SELECT count(*) FROM items", &[])
        .unwrap()
        .get(0);
    assert_eq!(seeded, 1, "cloned from the migrated, seeded template");
    let empty = stdout(&s.ok(&["db", "create", "--empty"]))
        .trim()
        .to_string();
    let tables: i64 = pg(&empty)
        .query_one(
            "SELECT count(*) FROM pg_tables WHERE tablename = 'items'",
            &[],
        )
        .unwrap()
        .get(0);
    assert_eq!(tables, 0);
    for url in [url.to_string(), empty] {
        let name = url.rsplit('/').next().unwrap().to_string();
        s.ok(&["db", "drop", &name]);
    }
}

#[test]
fn processes_starting_at_once_build_the_template_once() {
    let s = project();
    s.ok(&["up"]);
    // Six test processes ask for a database at the same moment, before any
    // template exists.
    let children: Vec<_> = (0..6)
        .map(|_| {
            s.cmd(&["db", "create"])
                .stdout(Stdio::piped())
                .stderr(Stdio::piped())
                .spawn()
                .unwrap()
        })
        .collect();
    let urls: Vec<String> = children
        .into_iter()
        .map(|c| {
            let out = c.wait_with_output().unwrap();
            assert!(out.status.success(), "{}", describe(&out));
            stdout(&out).trim().to_string()
        })
        .collect();
    let mut admin = server(&urls[0]);
    assert_eq!(databases(&mut admin, "bt\\_%").len(), 6);
    assert_eq!(databases(&mut admin, "berth\\_tpl\\_%").len(), 1);
    for url in &urls {
        let seeded: i64 = pg(url)
            .query_one("SELECT count(*) FROM items", &[])
            .unwrap()
            .get(0);
        assert_eq!(seeded, 1, "{url}");
        s.ok(&["db", "drop", url.rsplit('/').next().unwrap()]);
    }
}

#[tokio::test(flavor = "current_thread")]
async fn usable_from_an_async_test() {
    let s = project();
    let stack = TestStack::start(s.path().join("berth.toml")).unwrap();
    let db = stack.database().unwrap();
    let (client, connection) = tokio_postgres::connect(db.url(), tokio_postgres::NoTls)
        .await
        .unwrap();
    tokio::spawn(connection);
    let row = client
        .query_one("SELECT count(*) FROM items", &[])
        .await
        .unwrap();
    assert_eq!(row.get::<_, i64>(0), 1);
    drop(client);
    drop(db);
}

#[test]
fn buckets_are_isolated_and_removed_with_their_handle_and_after_a_killed_run() {
    use super::object_store::{boto3, boto3_ok};
    let s = Sandbox::new(&format!(
        "name = \"lib-s3\"\n[services.storage]\nkind = \"s3\"\nport = {}\n",
        free_port()
    ));
    let file = s.path().join("berth.toml");
    let stack = TestStack::start(&file).unwrap();
    let a = stack.bucket().unwrap();
    let b = stack.bucket().unwrap();
    assert_ne!(a.name(), b.name());
    assert!(a.name().starts_with("bt-"), "{}", a.name());
    let env_of = |bucket: &str| -> BTreeMap<String, String> {
        [
            ("S3_ENDPOINT", b.endpoint()),
            ("S3_ACCESS_KEY", b.access_key()),
            ("S3_SECRET_KEY", b.secret_key()),
            ("S3_REGION", b.region()),
            ("S3_BUCKET", bucket),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
    };
    let (env_a, env_b) = (env_of(a.name()), env_of(b.name()));
    boto3_ok(&env_a, &["put", "report.txt", "from a"]);
    assert_eq!(boto3_ok(&env_b, &["keys"]), "", "b sees nothing of a's");
    drop(a);
    let gone = boto3(&env_a, &["keys"]);
    assert!(
        stderr(&gone).contains("NoSuchBucket"),
        "{}",
        describe(&gone)
    );

    // A killed test run's bucket (its owner process is gone) is removed,
    // objects and all, when the next run starts.
    let dead = env_of("bt-1-1-7");
    boto3_ok(&dead, &["create"]);
    boto3_ok(&dead, &["put", "left.txt", "behind"]);
    drop(b);
    drop(stack);
    let _again = TestStack::start(&file).unwrap();
    let left = boto3(&dead, &["keys"]);
    assert!(
        stderr(&left).contains("NoSuchBucket"),
        "{}",
        describe(&left)
    );
}

#[test]
fn a_test_stack_starts_from_a_snapshot_of_the_development_stack() {
    let s = project();
    let file = s.path().join("berth.toml");
    s.ok(&["up"]);
    let dev = s.env(".env")["DB_URL"].clone();
    pg(&dev)
        .batch_execute("INSERT INTO items VALUES ('fixture', 42)")
        .unwrap();
    s.ok(&["snapshot", "save", "fixture"]);
    // What the developer does after the snapshot is not the fixture.
    pg(&dev)
        .batch_execute("INSERT INTO items VALUES ('later', 1)")
        .unwrap();

    let stack = TestStack::builder(&file)
        .snapshot("fixture")
        .start()
        .unwrap();
    let a = stack.database().unwrap();
    let b = stack.database().unwrap();
    assert_eq!(
        owners(a.url()),
        ["fixture", "seed"],
        "the fixture's rows, seeded once"
    );
    pg(a.url())
        .batch_execute("INSERT INTO items VALUES ('mine', 7)")
        .unwrap();
    assert_eq!(
        owners(b.url()),
        ["fixture", "seed"],
        "each test its own copy"
    );
    drop((a, b));
    drop(stack);
    assert_eq!(
        owners(&dev),
        ["fixture", "later", "seed"],
        "the development stack is untouched"
    );

    // Started again, the instance keeps what it restored.
    let again = TestStack::builder(&file)
        .snapshot("fixture")
        .start()
        .unwrap();
    assert_eq!(owners(again.database().unwrap().url()), ["fixture", "seed"]);
    drop(again);

    let missing = TestStack::builder(&file)
        .snapshot("fixtrue")
        .start()
        .err()
        .expect("no such snapshot");
    let message = missing.to_string();
    assert!(
        message.contains("there is no snapshot `fixtrue`"),
        "{message}"
    );
}

#[test]
fn databases_come_from_a_pool_cloned_ahead_that_follows_the_migrations() {
    let s = project();
    let file = s.path().join("berth.toml");
    let stack = TestStack::builder(&file).pool(3).start().unwrap();
    let first = stack.database().unwrap();
    let mut admin = server(first.url());
    wait_until("the pool holds 3", Duration::from_secs(20), || {
        databases(&mut admin, "bp\\_%").len() == 3
    });
    let ready = databases(&mut admin, "bp\\_%");

    let a = stack.database().unwrap();
    let b = stack.database().unwrap();
    let now = databases(&mut admin, "bp\\_%");
    assert!(
        ready.iter().filter(|n| !now.contains(n)).count() >= 2,
        "both came from the pool: {ready:?} then {now:?}"
    );
    assert_eq!(owners(a.url()), ["seed"], "migrated and seeded");
    pg(a.url())
        .batch_execute("INSERT INTO items VALUES ('a', 1)")
        .unwrap();
    assert_eq!(owners(b.url()), ["seed"], "isolated");
    let names = (a.name().to_string(), b.name().to_string());
    drop((a, b));
    let left = databases(&mut admin, "bt\\_%");
    assert!(
        !left.contains(&names.0) && !left.contains(&names.1),
        "dropped after use: {left:?}"
    );
    wait_until("topped up again", Duration::from_secs(20), || {
        databases(&mut admin, "bp\\_%").len() == 3
    });
    drop(first);
    drop(stack);

    // New migrations: a new template, and a pool of its own in place of
    // the old one.
    write(
        &s,
        "migrations/db/002_tags.sql",
        "CREATE TABLE tags (name text);\n",
    );
    let stack = TestStack::builder(&file).pool(3).start().unwrap();
    let db = stack.database().unwrap();
    let has_tags: bool = pg(db.url())
        .query_one("SELECT to_regclass('tags') IS NOT NULL", &[])
        .unwrap()
        .get(0);
    assert!(has_tags);
    wait_until(
        "the new pool holds 3, the old one is gone",
        Duration::from_secs(20),
        || {
            let pool = databases(&mut admin, "bp\\_%");
            pool.len() == 3 && pool.iter().all(|n| !ready.contains(n))
        },
    );
}

/// A process that asks again has its next database claimed ahead, so its
/// request touches no server; one it never asked for goes back to the
/// pool when the stack is dropped.
#[test]
fn a_process_asking_again_has_its_next_database_claimed_ahead() {
    let s = project();
    let file = s.path().join("berth.toml");
    let stack = TestStack::builder(&file).pool(2).start().unwrap();
    let first = stack.database().unwrap();
    let mut admin = server(first.url());
    let mine = format!("bt\\_{}\\_%", std::process::id());
    wait_until("the pool holds 2", Duration::from_secs(20), || {
        databases(&mut admin, "bp\\_%").len() == 2
    });
    assert_eq!(
        databases(&mut admin, &mine),
        [first.name()],
        "after one request nothing is claimed ahead: a process may ask only once"
    );
    let second = stack.database().unwrap();
    // This process's databases other than those handed out.
    let ahead = |admin: &mut postgres::Client, handed: &[&TestDatabase]| -> Vec<String> {
        databases(admin, &mine)
            .into_iter()
            .filter(|n| handed.iter().all(|h| h.name() != n))
            .collect()
    };
    wait_until("the next is claimed ahead", Duration::from_secs(20), || {
        ahead(&mut admin, &[&first, &second]).len() == 1
    });
    let claimed = ahead(&mut admin, &[&first, &second]);
    let third = stack.database().unwrap();
    assert_eq!(claimed, [third.name()], "handed out the one claimed ahead");
    assert_eq!(owners(third.url()), ["seed"], "migrated and seeded");
    wait_until("and the one after it", Duration::from_secs(20), || {
        ahead(&mut admin, &[&first, &second, &third]).len() == 1
    });
    let unused = ahead(&mut admin, &[&first, &second, &third]).remove(0);
    let oid: u32 = admin
        .query_one("SELECT oid FROM pg_database WHERE datname = $1", &[&unused])
        .unwrap()
        .get(0);
    drop((first, second, third));
    drop(stack);
    assert!(databases(&mut admin, "bt\\_%").is_empty(), "none left");
    let back: String = admin
        .query_one(
            "SELECT datname::text FROM pg_database WHERE oid = $1",
            &[&oid],
        )
        .unwrap()
        .get(0);
    assert!(
        back.starts_with("bp_"),
        "back in the pool, not dropped: {back}"
    );
}

#[test]
fn db_create_takes_from_the_pool_and_refills_it_in_the_background() {
    let s = project();
    s.ok(&["up"]);
    let create = || {
        let out = s
            .cmd(&["db", "create"])
            .env("BERTH_DB_POOL", "2")
            .output()
            .unwrap();
        assert!(out.status.success(), "{}", describe(&out));
        stdout(&out).trim().to_string()
    };
    let first = create();
    let mut admin = server(&first);
    wait_until(
        "the detached refill made 2",
        Duration::from_secs(60),
        || databases(&mut admin, "bp\\_%").len() == 2,
    );
    let ready = databases(&mut admin, "bp\\_%");
    let second = create();
    // It was one of them, renamed: the name it had is gone (the refill
    // makes new names, never old ones).
    let now = databases(&mut admin, "bp\\_%");
    assert!(
        ready.iter().any(|n| !now.contains(n)),
        "one was taken: {ready:?} then {now:?}"
    );
    let seeded: i64 = pg(&second)
        .query_one("SELECT count(*) FROM items", &[])
        .unwrap()
        .get(0);
    assert_eq!(seeded, 1);
    wait_until("refilled", Duration::from_secs(60), || {
        databases(&mut admin, "bp\\_%").len() == 2
    });
    // A clone a killed filler was making ready (`bw_`, never handed out)
    // is dropped by the next fill; ready clones were logged into once.
    let digest = now[0].trim_start_matches("bp_").split('_').next().unwrap();
    admin
        .batch_execute(&format!("CREATE DATABASE bw_{digest}_dead"))
        .unwrap();
    let refill = s
        .cmd(&["db", "refill"])
        .env("BERTH_DB_POOL", "2")
        .output()
        .unwrap();
    assert!(refill.status.success(), "{}", describe(&refill));
    assert!(databases(&mut admin, "bw\\_%").is_empty());
    assert_eq!(databases(&mut admin, "bp\\_%").len(), 2);
    wait_until(
        "each ready clone has had its first login",
        Duration::from_secs(10),
        || {
            let never: i64 = admin
                .query_one(
                    "SELECT count(*) FROM pg_database d LEFT JOIN pg_stat_database s ON s.datid = d.oid \
                     WHERE d.datname LIKE 'bp\\_%' AND coalesce(s.sessions, 0) = 0",
                    &[],
                )
                .unwrap()
                .get(0);
            never == 0
        },
    );
    for url in [first, second] {
        s.ok(&["db", "drop", url.rsplit('/').next().unwrap()]);
    }
}

/// A test stack's server also listens on a Unix socket in memory, where
/// the account that started it logs in by peer authentication, with no
/// password; the servers' own account, which reaches the socket too, is
/// refused, and TCP still asks for the password.
#[test]
fn test_databases_are_reached_over_a_unix_socket_by_peer_authentication() {
    use std::os::unix::fs::MetadataExt;
    let s = project();
    let stack = TestStack::start(s.path().join("berth.toml")).unwrap();
    let db = stack.database().unwrap();
    let info = db.info().clone();
    let password = info.password.clone().expect("the stack has a password");
    let (_, host) = info.url.split_once('@').expect("a user in the URL");
    assert!(host.starts_with("%2Fdev%2Fshm%2F"), "{}", info.url);
    assert!(!info.url.contains(&password), "{}", info.url);
    assert_eq!(owners(db.url()), ["seed"], "rust-postgres over the socket");
    assert_eq!(owners(&info.tcp_url), ["seed"], "and over TCP");

    // The socket's directory is the servers' account's alone.
    let dir = host.split(':').next().unwrap().replace("%2F", "/");
    let meta = std::fs::metadata(&dir).unwrap();
    assert_eq!(meta.mode() & 0o777, 0o700, "{dir}");
    assert!(
        Path::new(&dir)
            .join(format!(".s.PGSQL.{}", info.port))
            .exists(),
        "{dir}"
    );

    // libpq reads the same URL.
    let psql = |url: &str| {
        Command::new("psql")
            .args([url, "-XAtc", "SELECT count(*) FROM items"])
            .env_remove("PGPASSWORD")
            .output()
            .unwrap()
    };
    let out = psql(db.url());
    assert!(out.status.success(), "{}", describe(&out));
    assert_eq!(stdout(&out).trim(), "1");

    // Without the password, TCP lets nobody in.
    let no_password = info.tcp_url.replace(&format!(":{password}@"), "@");
    assert_ne!(no_password, info.tcp_url);
    let out = Command::new("psql")
        .args([&no_password, "-XAtc", "SELECT 1", "-w"])
        .env_remove("PGPASSWORD")
        .output()
        .unwrap();
    assert!(!out.status.success(), "{}", describe(&out));

    // Under root the servers run as another account (`nobody`), which can
    // reach the socket's directory but is not mapped to any role. Not as
    // root, the servers' account is this test's own, which is mapped.
    if unsafe { libc::geteuid() } == 0 {
        let servers = meta.uid();
        assert_ne!(servers, 0, "servers do not run as root");
        let out = Command::new("setpriv")
            .args([
                &format!("--reuid={servers}"),
                &format!("--regid={}", meta.gid()),
                "--clear-groups",
                "psql",
                db.url(),
                "-XAtc",
                "SELECT 1",
                "-w",
            ])
            .output()
            .unwrap();
        assert!(!out.status.success(), "{}", describe(&out));
        assert!(
            stderr(&out).contains("Peer authentication failed"),
            "{}",
            describe(&out)
        );
    }
}

/// The `owner` column of `items`, sorted: whose rows a database holds.
fn owners(url: &str) -> Vec<String> {
    pg(url)
        .query("SELECT owner FROM items ORDER BY owner", &[])
        .unwrap()
        .iter()
        .map(|r| r.get(0))
        .collect()
}
