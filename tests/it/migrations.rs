//! Migrations and seeds against a real PostgreSQL: the ledger, integrity
//! checks before anything runs, error positions, no-transaction files,
//! concurrent runners, seeds on fresh databases (issue 3).

use super::*;

fn stack(name: &str) -> String {
    format!(
        r#"name = "{name}"

[services.db]
kind = "postgres"

[env]
file = ".env"
[env.vars]
DATABASE_URL = "${{db.url}}"
"#
    )
}

impl Sandbox {
    fn migration(&self, name: &str, text: &str) -> PathBuf {
        self.file(&format!("migrations/db/{name}"), text)
    }

    fn file(&self, relative: &str, text: &str) -> PathBuf {
        let path = self.path().join(relative);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(&path, text).unwrap();
        path
    }

    fn db(&self) -> postgres::Client {
        pg(&self.env(".env")["DATABASE_URL"])
    }
}

/// (version, name, checksum) of every ledger row.
fn ledger(db: &mut postgres::Client) -> Vec<(i64, String, String)> {
    db.query(
        "SELECT version, name, checksum FROM berth.migrations ORDER BY version",
        &[],
    )
    .unwrap()
    .iter()
    .map(|r| (r.get(0), r.get(1), r.get(2)))
    .collect()
}

fn table_exists(db: &mut postgres::Client, table: &str) -> bool {
    db.query_one("SELECT to_regclass($1) IS NOT NULL", &[&table])
        .unwrap()
        .get(0)
}

/// SHA-256 in hex, computed here (not with berth's own code) to check
/// what berth records.
fn sha256(text: &str) -> String {
    use sha2::Digest;
    sha2::Sha256::digest(text.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

const USERS: &str = "CREATE TABLE users (id serial PRIMARY KEY, name text NOT NULL);\n";
const POSTS: &str =
    "CREATE TABLE posts (id serial PRIMARY KEY, user_id int REFERENCES users (id));\n";

#[test]
fn up_applies_migrations_and_a_rerun_is_a_no_op() {
    let s = Sandbox::new(&stack("mig-apply"));
    s.migration("001_users.sql", USERS);
    s.migration("002_posts.sql", POSTS);
    let up = s.ok(&["up"]);
    assert!(
        stderr(&up).contains("db: applied 2 migrations"),
        "{}",
        describe(&up)
    );
    let mut db = s.db();
    assert!(table_exists(&mut db, "users") && table_exists(&mut db, "posts"));
    let rows = ledger(&mut db);
    assert_eq!(
        rows,
        [
            (1, "001_users.sql".to_string(), sha256(USERS)),
            (2, "002_posts.sql".to_string(), sha256(POSTS)),
        ]
    );
    let applied_at: Vec<String> = db
        .query(
            "SELECT applied_at::text FROM berth.migrations ORDER BY 1",
            &[],
        )
        .unwrap()
        .iter()
        .map(|r| r.get(0))
        .collect();

    let again = s.ok(&["migrate"]);
    assert!(
        stderr(&again).contains("db: nothing to apply"),
        "{}",
        describe(&again)
    );
    s.ok(&["up"]);
    let after: Vec<String> = db
        .query(
            "SELECT applied_at::text FROM berth.migrations ORDER BY 1",
            &[],
        )
        .unwrap()
        .iter()
        .map(|r| r.get(0))
        .collect();
    assert_eq!(applied_at, after, "nothing was applied again");

    // A new file is picked up by the next `up` on the running stack...
    s.migration("003_tags.sql", "CREATE TABLE tags (name text);\n");
    s.ok(&["up"]);
    assert!(table_exists(&mut db, "tags"));
    // ...unless migrations are turned off.
    s.migration("004_likes.sql", "CREATE TABLE likes (n int);\n");
    s.ok(&["up", "--no-migrate"]);
    assert!(!table_exists(&mut db, "likes"));
    let status = stdout(&s.ok(&["migrate", "status"]));
    assert!(
        status
            .lines()
            .any(|l| l.contains("004_likes.sql") && l.contains("pending")),
        "{status}"
    );
}

#[test]
fn a_changed_applied_file_stops_everything_with_the_integrity_exit_code() {
    let s = Sandbox::new(&stack("mig-changed"));
    s.migration("001_users.sql", USERS);
    s.ok(&["up"]);
    s.migration(
        "001_users.sql",
        "CREATE TABLE users (id bigserial PRIMARY KEY);\n",
    );
    s.migration("002_posts.sql", POSTS);

    let out = s.run(&["migrate"]);
    assert_eq!(out.status.code(), Some(5), "{}", describe(&out));
    let err = stderr(&out);
    assert!(
        err.contains("`migrations/db/001_users.sql` changed after it was applied"),
        "{err}"
    );
    assert!(
        err.contains(&format!("recorded: {}", sha256(USERS))),
        "{err}"
    );
    assert!(
        err.contains(&format!(
            "now:      {}",
            sha256("CREATE TABLE users (id bigserial PRIMARY KEY);\n")
        )),
        "{err}"
    );
    assert!(err.contains("berth reset"), "the way out is named: {err}");
    let mut db = s.db();
    assert!(!table_exists(&mut db, "posts"), "nothing was applied");
    assert_eq!(ledger(&mut db).len(), 1);

    // `up` refuses the same way; `verify` reports it; status shows it.
    assert_eq!(s.run(&["up"]).status.code(), Some(5));
    assert_eq!(s.run(&["migrate", "verify"]).status.code(), Some(5));
    let status: serde_json::Value =
        serde_json::from_slice(&s.ok(&["migrate", "status", "--json"]).stdout).unwrap();
    let states: Vec<&str> = status[0]["migrations"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["state"].as_str().unwrap())
        .collect();
    assert_eq!(states, ["changed", "pending"]);
}

#[test]
fn a_crlf_or_bom_copy_of_an_applied_file_is_not_a_change() {
    let s = Sandbox::new(&stack("mig-crlf"));
    let text = "-- users\nCREATE TABLE users (\n  id serial PRIMARY KEY\n);\n";
    s.migration("001_users.sql", text);
    s.ok(&["up"]);
    s.migration(
        "001_users.sql",
        &format!("\u{feff}{}", text.replace('\n', "\r\n")),
    );
    let verify = s.ok(&["migrate", "verify"]);
    assert!(
        stderr(&verify).contains("1 migration verified against the ledger"),
        "{}",
        describe(&verify)
    );
    s.ok(&["migrate"]);
}

#[test]
fn a_missing_applied_file_is_an_error() {
    let s = Sandbox::new(&stack("mig-missing"));
    s.migration("001_users.sql", USERS);
    let posts = s.migration("002_posts.sql", POSTS);
    s.ok(&["up"]);
    std::fs::remove_file(posts).unwrap();
    s.migration("003_tags.sql", "CREATE TABLE tags (name text);\n");
    let out = s.run(&["migrate"]);
    assert_eq!(out.status.code(), Some(5), "{}", describe(&out));
    assert!(
        stderr(&out).contains("`002_posts.sql` (version 2) was applied but its file is gone"),
        "{}",
        describe(&out)
    );
    assert!(!table_exists(&mut s.db(), "tags"));
}

#[test]
fn a_new_file_below_the_last_applied_needs_permission() {
    let s = Sandbox::new(&stack("mig-order"));
    s.migration("001_users.sql", USERS);
    s.migration("005_posts.sql", POSTS);
    s.ok(&["up"]);
    s.migration("003_tags.sql", "CREATE TABLE tags (name text);\n");
    let out = s.run(&["migrate"]);
    assert_eq!(out.status.code(), Some(5), "{}", describe(&out));
    let err = stderr(&out);
    assert!(
        err.contains(
            "`migrations/db/003_tags.sql` is new but numbered below the last applied migration (5)"
        ),
        "{err}"
    );
    assert!(err.contains("--allow-out-of-order"), "{err}");
    assert!(!table_exists(&mut s.db(), "tags"));

    s.ok(&["migrate", "--allow-out-of-order"]);
    let versions: Vec<i64> = ledger(&mut s.db()).into_iter().map(|r| r.0).collect();
    assert_eq!(versions, [1, 3, 5]);
}

#[test]
fn duplicate_numbers_and_stray_files_are_named_before_the_database_is_touched() {
    let s = Sandbox::new(&stack("mig-names"));
    s.migration("001_users.sql", USERS);
    s.migration("001_accounts.sql", "CREATE TABLE accounts (id int);\n");
    s.migration("init.sql", "SELECT 1;\n");
    s.migration("README.md", "notes\n");
    s.migration(".gitkeep", "");

    // Files only: no database needed.
    let verify = s.run(&["migrate", "verify"]);
    assert_eq!(verify.status.code(), Some(5), "{}", describe(&verify));
    let err = stderr(&verify);
    assert!(err.contains("checked the files only"), "{err}");
    assert!(
        err.contains("`migrations/db/001_accounts.sql` and `001_users.sql` have the same number 1"),
        "{err}"
    );
    assert!(
        err.contains("`migrations/db/init.sql`: not a migration name"),
        "{err}"
    );
    assert!(
        err.contains("`migrations/db/README.md`: not a `.sql` file"),
        "{err}"
    );
    assert!(!err.contains(".gitkeep"), "dot files are ignored: {err}");

    s.ok(&["up", "--no-migrate"]);
    let up = s.run(&["up"]);
    assert_eq!(up.status.code(), Some(5), "{}", describe(&up));
    let mut db = s.db();
    assert!(
        !table_exists(&mut db, "berth.migrations"),
        "no ledger was made"
    );
    assert!(!table_exists(&mut db, "users"));
}

#[test]
fn a_failing_statement_is_shown_at_its_line_and_column_and_nothing_is_applied() {
    let s = Sandbox::new(&stack("mig-fail"));
    s.migration("001_users.sql", USERS);
    s.ok(&["up"]);
    // A syntax error: the server reports a position.
    s.migration(
        "002_bad.sql",
        "CREATE TABLE a (x int);\n\n-- then\nCREATE TABLE b (\n  y int,\n  z nonsense_type\n);\n",
    );
    let out = s.run(&["migrate"]);
    assert_eq!(out.status.code(), Some(1), "{}", describe(&out));
    let expected = "\
error: `migrations/db/002_bad.sql` failed on service `db`: type \"nonsense_type\" does not exist
 --> migrations/db/002_bad.sql:6:5
  |
6 |   z nonsense_type
  |     ^^^^^^^^^^^^^
  error code: 42704
hint: nothing from this file was applied; fix it and run `berth migrate` again
";
    let err = stderr(&out);
    assert!(err.ends_with(expected), "stderr:\n{err}");
    let mut db = s.db();
    assert!(
        table_exists(&mut db, "users"),
        "the good migration before it stays"
    );
    assert!(
        !table_exists(&mut db, "a"),
        "the failing file was rolled back"
    );
    assert_eq!(ledger(&mut db).len(), 1);

    // An error without a position (a constraint): the statement is found
    // by replaying the file in a rolled-back transaction.
    s.migration(
        "002_bad.sql",
        "CREATE TABLE a (x int);\nINSERT INTO users (name) VALUES ('ann');\n  INSERT INTO users (name) VALUES (NULL);\n",
    );
    let out = s.run(&["migrate"]);
    assert_eq!(out.status.code(), Some(1), "{}", describe(&out));
    let err = stderr(&out);
    assert!(err.contains("--> migrations/db/002_bad.sql:3:3"), "{err}");
    assert!(err.contains("violates not-null constraint"), "{err}");
    assert!(err.contains("detail: Failing row contains"), "{err}");
    let users: i64 = db
        .query_one("SELECT count(*) FROM users", &[])
        .unwrap()
        .get(0);
    assert_eq!(users, 0, "the replay was rolled back too");
    assert!(!table_exists(&mut db, "a"));
}

#[test]
fn a_no_transaction_file_runs_create_index_concurrently() {
    let s = Sandbox::new(&stack("mig-notx"));
    s.migration("001_users.sql", USERS);
    s.migration(
        "002_users_name.sql",
        "-- berth:no-transaction\n-- an index without locking writes\nCREATE INDEX CONCURRENTLY users_name ON users (name);\n",
    );
    s.ok(&["up"]);
    let mut db = s.db();
    let valid: bool = db
        .query_one(
            "SELECT indisvalid FROM pg_index WHERE indexrelid = 'users_name'::regclass",
            &[],
        )
        .unwrap()
        .get(0);
    assert!(valid);
    let no_tx: bool = db
        .query_one(
            "SELECT no_transaction FROM berth.migrations WHERE version = 2",
            &[],
        )
        .unwrap()
        .get(0);
    assert!(no_tx);

    // Without the directive the server refuses, and nothing is recorded.
    s.migration(
        "003_users_id.sql",
        "CREATE INDEX CONCURRENTLY users_id ON users (id);\n",
    );
    let out = s.run(&["migrate"]);
    assert_eq!(out.status.code(), Some(1), "{}", describe(&out));
    assert!(
        stderr(&out).contains("cannot run inside a transaction block"),
        "{}",
        describe(&out)
    );
    // The way out is named (issue 33).
    assert!(
        stderr(&out).contains("starts with `-- berth:no-transaction`")
            && stderr(&out).contains("init scripts (`init = \"DIR\"`"),
        "{}",
        describe(&out)
    );
    assert_eq!(ledger(&mut db).len(), 2);

    // A no-transaction file holds one statement.
    s.migration(
        "003_users_id.sql",
        "-- berth:no-transaction\nCREATE INDEX CONCURRENTLY a ON users (id);\nCREATE INDEX CONCURRENTLY b ON users (id);\n",
    );
    let out = s.run(&["migrate"]);
    assert_eq!(out.status.code(), Some(5), "{}", describe(&out));
    assert!(
        stderr(&out).contains("must hold one statement, found 2"),
        "{}",
        describe(&out)
    );
}

#[test]
fn two_runners_at_once_apply_each_migration_exactly_once() {
    let s = Sandbox::new(&stack("mig-race"));
    s.ok(&["up", "--no-migrate"]);
    s.migration(
        "001_runs.sql",
        "CREATE TABLE runs (version int, backend int);\nSELECT pg_sleep(0.3);\n",
    );
    for v in 2..=20 {
        s.migration(
            &format!("{v:03}_run.sql"),
            &format!("INSERT INTO runs VALUES ({v}, pg_backend_pid());\n"),
        );
    }
    let runners: Vec<std::process::Child> = (0..2)
        .map(|_| {
            s.cmd(&["migrate"])
                .stdout(Stdio::piped())
                .stderr(Stdio::piped())
                .spawn()
                .unwrap()
        })
        .collect();
    let outputs: Vec<Output> = runners
        .into_iter()
        .map(|c| c.wait_with_output().unwrap())
        .collect();
    for out in &outputs {
        assert!(out.status.success(), "{}", describe(out));
    }
    let mut db = s.db();
    let rows: Vec<(i32, i64)> = db
        .query(
            "SELECT version, count(*) FROM runs GROUP BY 1 ORDER BY 1",
            &[],
        )
        .unwrap()
        .iter()
        .map(|r| (r.get(0), r.get(1)))
        .collect();
    assert_eq!(rows, (2..=20).map(|v| (v, 1)).collect::<Vec<_>>());
    let backends: i64 = db
        .query_one("SELECT count(DISTINCT backend) FROM runs", &[])
        .unwrap()
        .get(0);
    assert_eq!(backends, 1, "one runner applied them all");
    assert_eq!(ledger(&mut db).len(), 20);
    let idle = outputs
        .iter()
        .filter(|o| stderr(o).contains("db: nothing to apply"))
        .count();
    assert_eq!(idle, 1, "the second runner found nothing to do");
}

#[test]
fn seeds_run_on_a_fresh_database_and_again_after_reset() {
    let s = Sandbox::new(&stack("mig-seed"));
    s.migration("001_users.sql", USERS);
    s.file(
        "seeds/db/01_users.sql",
        "INSERT INTO users (name) VALUES ('ann'), ('bob');\n",
    );
    let up = s.ok(&["up"]);
    assert!(
        stderr(&up).contains("db: seeded from 1 file"),
        "{}",
        describe(&up)
    );
    let count = |db: &mut postgres::Client| -> i64 {
        db.query_one("SELECT count(*) FROM users", &[])
            .unwrap()
            .get(0)
    };
    assert_eq!(count(&mut s.db()), 2);

    // Not again on a database that was seeded.
    s.ok(&["down"]);
    s.ok(&["up"]);
    assert_eq!(count(&mut s.db()), 2);

    // On demand.
    s.ok(&["seed"]);
    assert_eq!(count(&mut s.db()), 4);

    // And on the fresh database after a reset.
    s.ok(&["reset", "--yes"]);
    s.ok(&["up"]);
    assert_eq!(count(&mut s.db()), 2);

    // A failing seed rolls back all seeds, and is shown at its statement,
    // found by replaying the seeds before it too (a temporary table here).
    s.file(
        "seeds/db/02_names.sql",
        "CREATE TEMP TABLE names (name text);\nINSERT INTO names VALUES ('carl');\n",
    );
    s.file(
        "seeds/db/03_bad.sql",
        "INSERT INTO users (name) SELECT name FROM names;\nINSERT INTO users (name) VALUES (NULL);\n",
    );
    let out = s.run(&["seed"]);
    assert_eq!(out.status.code(), Some(1), "{}", describe(&out));
    let err = stderr(&out);
    assert!(err.contains("--> seeds/db/03_bad.sql:2:1"), "{err}");
    assert!(err.contains("run `berth seed` again"), "{err}");
    assert_eq!(count(&mut s.db()), 2);
}

#[test]
fn migrate_new_writes_the_next_numbered_file() {
    let s = Sandbox::new(&stack("mig-new"));
    s.migration("007_users.sql", USERS);
    let out = s.ok(&["migrate", "new", "Add", "post", "tags!"]);
    assert_eq!(stdout(&out).trim(), "migrations/db/008_add_post_tags.sql");
    let text =
        std::fs::read_to_string(s.path().join("migrations/db/008_add_post_tags.sql")).unwrap();
    assert!(
        text.starts_with("-- 008_add_post_tags.sql: Add post tags!"),
        "{text}"
    );

    let out = s.ok(&["migrate", "new", "--no-transaction", "index", "users"]);
    let path = stdout(&out).trim().to_string();
    let text = std::fs::read_to_string(s.path().join(&path)).unwrap();
    assert!(text.starts_with("-- berth:no-transaction\n"), "{text}");
    // The empty file is a valid migration.
    s.ok(&["up"]);
    assert_eq!(ledger(&mut s.db()).len(), 3);
}

#[test]
fn a_configured_migrations_directory_must_exist() {
    let s = Sandbox::new(&stack("mig-dir").replace(
        "kind = \"postgres\"",
        "kind = \"postgres\"\nmigrations = \"db/migrations\"",
    ));
    let out = s.run(&["migrate", "verify"]);
    assert_eq!(out.status.code(), Some(5), "{}", describe(&out));
    assert!(
        stderr(&out).contains("the directory `db/migrations` does not exist"),
        "{}",
        describe(&out)
    );
    s.file("db/migrations/001_users.sql", USERS);
    s.ok(&["up"]);
    assert!(table_exists(&mut s.db(), "users"));
}
