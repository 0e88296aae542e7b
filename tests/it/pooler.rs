//! The `pgbouncer` kind on the native runtime: Debian's PgBouncer in front
//! of a real PostgreSQL, queried through the pooler's `url` with a real
//! client.

use super::*;

/// Postgres behind PgBouncer; apps get the pooler's URL.
pub fn pooled_stack(name: &str) -> String {
    format!(
        r#"name = "{name}"

[services.db]
kind = "postgres"
user = "app"
database = "app"

[services.pool]
kind = "pgbouncer"
pool_size = 5

[env]
file = ".env"
[env.vars]
DATABASE_URL = "${{pool.url}}"
DIRECT_URL = "${{db.url}}"
POOL_PORT = "${{pool.port}}"
DB_PORT = "${{db.port}}"
"#
    )
}

/// A query through the pooler (the simple protocol: a transaction-mode
/// pooler hands each transaction any server connection, so named prepared
/// statements are not for it).
pub fn query_through(url: &str, sql: &str) -> Vec<String> {
    pg(url)
        .simple_query(sql)
        .unwrap_or_else(|e| panic!("{sql} through {url}: {e}"))
        .into_iter()
        .filter_map(|m| match m {
            postgres::SimpleQueryMessage::Row(row) => row.get(0).map(str::to_string),
            _ => None,
        })
        .collect()
}

#[test]
fn apps_query_through_the_pooler_with_the_databases_login() {
    let s = Sandbox::new(&pooled_stack("pool-life"));
    s.ok(&["up"]);
    let env = s.env(".env");
    assert!(
        env["DATABASE_URL"].contains(&format!(":{}/app", env["POOL_PORT"])),
        "the pooler's port: {env:?}"
    );
    assert_ne!(env["POOL_PORT"], env["DB_PORT"]);

    // Through the pooler, a table made directly is there: one database.
    pg(&env["DIRECT_URL"])
        .batch_execute("CREATE TABLE t (v text); INSERT INTO t VALUES ('direct')")
        .unwrap();
    assert_eq!(
        query_through(&env["DATABASE_URL"], "SELECT v FROM t"),
        ["direct"]
    );
    // The pooler keeps its server connection after the client leaves.
    let backend = query_through(&env["DATABASE_URL"], "SELECT pg_backend_pid()");
    let held = query_through(
        &env["DIRECT_URL"],
        &format!(
            "SELECT count(*) FROM pg_stat_activity WHERE pid = {}",
            backend[0]
        ),
    );
    assert_eq!(
        held,
        ["1"],
        "the pooler holds server connection {}",
        backend[0]
    );

    // A wrong password is refused by the pooler.
    let wrong = env["DATABASE_URL"].replacen("app:", "app:wrong", 1);
    let refused = postgres::Client::connect(&wrong, postgres::NoTls)
        .err()
        .expect("refused");
    let message = refused
        .as_db_error()
        .map(|e| e.message().to_string())
        .unwrap_or_default();
    assert_eq!(message, "SASL authentication failed", "{refused:?}");

    // No password in plain text where the pooler runs: its auth file holds
    // the SCRAM verifier berth set on the server, and is the service's own.
    let password = url::Url::parse(&env["DIRECT_URL"])
        .unwrap()
        .password()
        .unwrap()
        .to_string();
    let service_dir = s.state_dir("pool-life").join("services/pool");
    for file in ["userlist.txt", "pgbouncer.ini"] {
        let path = service_dir.join(file);
        let text = std::fs::read_to_string(&path).unwrap();
        assert!(!text.contains(&password), "{file} holds the password");
        let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600, "{file}");
    }
    let userlist = std::fs::read_to_string(service_dir.join("userlist.txt")).unwrap();
    assert!(
        userlist.starts_with("\"app\" \"SCRAM-SHA-256$4096:"),
        "{userlist}"
    );

    // Down and up: the same pooler answers again.
    s.ok(&["down"]);
    s.ok(&["up"]);
    assert_eq!(
        query_through(&s.env(".env")["DATABASE_URL"], "SELECT v FROM t"),
        ["direct"]
    );
}
