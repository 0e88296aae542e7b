//! Issue 33: a team's own init scripts (`init = "DIR"`) run as the
//! official image runs `/docker-entrypoint-initdb.d`, on both runtimes:
//! CleanMateX's (seed 003) with its `ALTER SYSTEM`, a `.sh` that calls
//! `psql` with the image's variables, a `.sql.gz`; once per data; again
//! after `reset`; and after a failing script the next `up` starts over.

use super::*;

/// CleanMateX's init script, as its document gives it (the example's).
const CLEANMATEX_INIT: &str =
    include_str!("../../examples/cleanmatex/infra/postgres/initdb/001-init.sql");

/// A `.sh` as teams write them for the image: `psql` with its variables.
const SHELL_INIT: &str = r#"#!/bin/bash
set -e
psql -v ON_ERROR_STOP=1 --username "$POSTGRES_USER" --dbname "$POSTGRES_DB" <<-EOSQL
	CREATE TABLE runs (who text, at timestamptz DEFAULT now());
	INSERT INTO runs (who) VALUES ('$POSTGRES_USER');
EOSQL
"#;

fn project(name: &str, containers: bool) -> Sandbox {
    let runtime = match containers {
        true => format!(
            "runtime = \"container\"\nimage = \"{}\"\n",
            super::containers::PG_IMAGE
        ),
        false => String::new(),
    };
    let s = Sandbox::new(&format!(
        "name = \"{name}\"\n\n[services.postgres]\n{runtime}user = \"cmx_user\"\ndatabase = \"cmx_db\"\ninit = \"infra/postgres/initdb\"\n\n[env.vars]\nDATABASE_URL = \"${{postgres.url}}\"\n"
    ));
    let dir = s.path().join("infra/postgres/initdb");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("001-init.sql"), CLEANMATEX_INIT).unwrap();
    std::fs::write(dir.join("002-runs.sh"), SHELL_INIT).unwrap();
    let gz = std::process::Command::new("sh")
        .args(["-c", "printf 'CREATE TABLE packed (v int); INSERT INTO packed VALUES (42);\\n' | gzip > 003-packed.sql.gz"])
        .current_dir(&dir)
        .status()
        .unwrap();
    assert!(gz.success());
    std::fs::write(dir.join("README.md"), "not a script\n").unwrap();
    s
}

fn one(url: &str, sql: &str) -> String {
    let row = pg(url).simple_query(sql).unwrap();
    row.iter()
        .find_map(|m| match m {
            postgres::SimpleQueryMessage::Row(r) => r.get(0).map(String::from),
            _ => None,
        })
        .unwrap_or_default()
}

fn check_ran_once(s: &Sandbox) {
    let url = s.env(".env")["DATABASE_URL"].clone();
    assert_eq!(
        one(&url, "SHOW shared_buffers"),
        "256MB",
        "ALTER SYSTEM took effect"
    );
    assert_eq!(one(&url, "SHOW random_page_cost"), "1.1");
    assert_eq!(
        one(
            &url,
            "SELECT count(*) FROM pg_extension WHERE extname IN ('uuid-ossp', 'pgcrypto')"
        ),
        "2"
    );
    assert_eq!(
        one(
            &url,
            "SELECT count(*) FROM pg_roles WHERE rolname = 'cmx_readonly'"
        ),
        "1"
    );
    assert_eq!(
        one(&url, "SELECT string_agg(who, ',') FROM runs"),
        "cmx_user"
    );
    assert_eq!(one(&url, "SELECT v FROM packed"), "42");
}

#[test]
fn issue_33_cleanmatex_init_scripts_run_once_natively_and_in_a_container() {
    for containers in [false, true] {
        if containers && !super::containers::engine() {
            continue;
        }
        let s = project("cmx-once", containers);
        s.ok(&["up"]);
        check_ran_once(&s);
        // Once per data: a restart and another `up` run nothing again.
        s.ok(&["down"]);
        s.ok(&["up"]);
        check_ran_once(&s);
        // `reset` makes new data, and they run on it.
        s.ok(&["reset", "--yes", "--no-snapshot"]);
        s.ok(&["up"]);
        check_ran_once(&s);
    }
}

#[test]
fn issue_33_a_failing_init_script_stops_up_and_the_next_up_starts_over() {
    for containers in [false, true] {
        if containers && !super::containers::engine() {
            continue;
        }
        let s = project("cmx-fail", containers);
        let bad = s.path().join("infra/postgres/initdb/002-runs.sh");
        std::fs::write(&bad, "#!/bin/bash\nset -e\npsql -v ON_ERROR_STOP=1 -c 'CREATE TABLE runs (who text)'\npsql -v ON_ERROR_STOP=1 -c 'SELECT nonsense FROM nowhere'\n").unwrap();
        let out = s.run(&["up"]);
        assert!(!out.status.success(), "{}", describe(&out));
        let err = stderr(&out);
        assert!(
            err.contains("the init script `infra/postgres/initdb/002-runs.sh` failed")
                && err.contains("relation \"nowhere\" does not exist"),
            "{err}"
        );
        assert!(
            err.contains("the next `berth up` makes the data again"),
            "{err}"
        );
        // Fixed, the next `up` makes the data again: the first script's
        // `CREATE ROLE` would fail on the old data, and the table the
        // broken one made is gone.
        std::fs::write(&bad, SHELL_INIT).unwrap();
        let out = s.ok(&["up"]);
        assert!(
            stderr(&out).contains("were cut short last time: its data is made again"),
            "{}",
            describe(&out)
        );
        check_ran_once(&s);
    }
}
