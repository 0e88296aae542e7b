//! up → use → down → up → data kept → reset → data gone.

use super::*;

#[test]
fn data_survives_down_and_up_and_reset_wipes_it() {
    let s = Sandbox::new(&pg_redis_stack("life", true));
    s.ok(&["up"]);
    let env = s.env(".env");
    let mut db = pg(&env["DATABASE_URL"]);
    db.batch_execute("CREATE TABLE notes (body text); INSERT INTO notes VALUES ('kept')")
        .unwrap();
    drop(db);
    assert_eq!(redis_cli(&env, &["SET", "greeting", "hello"]), "OK");

    let down = s.ok(&["down"]);
    assert!(
        stderr(&down).contains("data is kept"),
        "{}",
        describe(&down)
    );
    let status = stdout(&s.ok(&["status"]));
    assert!(status.contains("stopped"), "{status}");

    s.ok(&["up"]);
    assert_eq!(
        s.env(".env"),
        env,
        "ports and passwords are stable across restarts"
    );
    let rows = pg(&env["DATABASE_URL"])
        .query("SELECT body FROM notes", &[])
        .unwrap();
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0].get::<_, String>(0), "kept");
    assert_eq!(redis_cli(&env, &["GET", "greeting"]), "hello");

    s.ok(&["reset", "--yes"]);
    assert!(
        !s.state_dir("life").exists(),
        "reset deletes the state directory"
    );
    assert!(
        !s.path().join(".env").exists(),
        "reset deletes the env file"
    );
    assert!(
        s.path().join("berth.toml").exists(),
        "reset never touches the stack file"
    );

    s.ok(&["up"]);
    let env = s.env(".env");
    let tables = pg(&env["DATABASE_URL"])
        .query(
            "SELECT 1 FROM information_schema.tables WHERE table_name = 'notes'",
            &[],
        )
        .unwrap();
    assert!(tables.is_empty(), "the table is gone after reset");
    assert_eq!(redis_cli(&env, &["EXISTS", "greeting"]), "0");
}

#[test]
fn ephemeral_redis_forgets_keys_on_down() {
    let s = Sandbox::new(&pg_redis_stack("ephemeral", false));
    s.ok(&["up"]);
    let env = s.env(".env");
    redis_cli(&env, &["SET", "k", "v"]);
    s.ok(&["down"]);
    s.ok(&["up"]);
    assert_eq!(redis_cli(&env, &["EXISTS", "k"]), "0");
}

#[test]
fn up_on_a_running_stack_is_a_no_op_that_rechecks() {
    let s = Sandbox::new(&pg_redis_stack("again", false));
    s.ok(&["up"]);
    let pids = |s: &Sandbox| -> serde_json::Value {
        let status: serde_json::Value =
            serde_json::from_slice(&s.ok(&["status", "--json"]).stdout).unwrap();
        status["services"]
            .as_array()
            .unwrap()
            .iter()
            .map(|svc| svc["pid"].clone())
            .collect()
    };
    let before = pids(&s);
    let out = s.ok(&["up", "--json"]);
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert!(
        report
            .as_array()
            .unwrap()
            .iter()
            .all(|r| r["action"] == "already-running"),
        "{report}"
    );
    assert_eq!(pids(&s), before, "nothing was restarted");
}

#[test]
fn postgres_uses_scram_and_the_generated_password() {
    let s = Sandbox::new(&pg_redis_stack("auth", false));
    s.ok(&["up"]);
    let env = s.env(".env");
    let url = &env["DATABASE_URL"];
    let mut db = pg(url);
    let method: String = db
        .query_one("SHOW password_encryption", &[])
        .unwrap()
        .get(0);
    assert_eq!(method, "scram-sha-256");
    let listen: String = db.query_one("SHOW listen_addresses", &[]).unwrap().get(0);
    assert_eq!(listen, "127.0.0.1");
    // A wrong password is refused: no trust authentication anywhere.
    let wrong = url.replacen("@", "x@", 1);
    assert!(postgres::Client::connect(&wrong, postgres::NoTls).is_err());
    let mode = std::fs::metadata(s.path().join(".env"))
        .unwrap()
        .permissions()
        .mode()
        & 0o777;
    assert_eq!(mode, 0o600, "the env file holds secrets");
    let env_out = stdout(&s.ok(&["env"]));
    assert!(
        !env_out.contains(&env["REDIS_PASSWORD"]),
        "secrets are masked: {env_out}"
    );
    let shown = stdout(&s.ok(&["env", "--show"]));
    assert!(shown.contains(&env["REDIS_PASSWORD"]));
}

#[test]
fn provisions_databases_roles_and_extensions() {
    let s = Sandbox::new(
        r#"
[services.db]
kind = "postgres"
database = "main"
databases = ["analytics", "audit"]
extensions = ["pgcrypto"]
roles = [{ name = "reader", password = "r3ader", login = true }]

[env.vars]
URL = "${db.url}"
HOST = "${db.host}"
PORT = "${db.port}"
"#,
    );
    s.ok(&["up"]);
    let env = s.env(".env");
    let mut db = pg(&env["URL"]);
    let dbs: Vec<String> = db
        .query("SELECT datname FROM pg_database WHERE datname IN ('main','analytics','audit') ORDER BY 1", &[])
        .unwrap()
        .iter()
        .map(|r| r.get(0))
        .collect();
    assert_eq!(dbs, ["analytics", "audit", "main"]);
    let ext = db
        .query("SELECT 1 FROM pg_extension WHERE extname = 'pgcrypto'", &[])
        .unwrap();
    assert_eq!(ext.len(), 1);
    let reader = format!(
        "postgres://reader:r3ader@{}:{}/analytics",
        env["HOST"], env["PORT"]
    );
    pg(&reader).query_one("SELECT 1", &[]).unwrap();
}

#[test]
fn env_example_leaves_secrets_out_and_reads_the_same_before_and_after_up() {
    let port = free_port();
    let s = Sandbox::new(&pg_redis_stack("example", false).replace(
        "database = \"app\"",
        &format!("database = \"app\"\nport = {port}"),
    ));
    s.ok(&["env", "--example"]);
    let before = std::fs::read_to_string(s.path().join(".env.example")).unwrap();
    s.ok(&["up"]);
    s.ok(&["env", "--example"]);
    let example = std::fs::read_to_string(s.path().join(".env.example")).unwrap();
    let vars = parse_env(&example);
    assert_eq!(vars["REDIS_PASSWORD"], "", "a secret alone is left empty");
    assert_eq!(
        vars["DATABASE_URL"],
        format!("postgresql://app:****@127.0.0.1:{port}/app"),
        "a URL keeps its shape"
    );
    assert!(!vars["REDIS_HOST"].is_empty());
    let password = s.env(".env")["DATABASE_URL"]
        .split([':', '@'])
        .nth(2)
        .unwrap()
        .to_string();
    assert!(!example.contains(&password), "{example}");
    // Only the auto port differs: chosen by the first up.
    let ignoring_port = |text: &str| {
        text.lines()
            .filter(|l| !l.starts_with("REDIS_PORT="))
            .collect::<Vec<_>>()
            .join("\n")
    };
    assert_eq!(ignoring_port(&before), ignoring_port(&example));
}

#[test]
fn init_writes_a_stack_that_comes_up() {
    let s = Sandbox::new("");
    std::fs::remove_file(s.path().join("berth.toml")).unwrap();
    s.ok(&["init"]);
    let again = s.run(&["init"]);
    assert_eq!(
        again.status.code(),
        Some(2),
        "init refuses to overwrite: {}",
        describe(&again)
    );
    let ignore = std::fs::read_to_string(s.path().join(".gitignore")).unwrap();
    assert!(
        ignore.contains(".berth/") && ignore.contains(".env"),
        "{ignore}"
    );
    s.ok(&["up"]);
    let env = s.env(".env");
    pg(&env["DATABASE_URL"]).query_one("SELECT 1", &[]).unwrap();
    assert!(env["REDIS_URL"].starts_with("redis://"));
}

#[test]
fn logs_prefix_lines_by_service() {
    let s = Sandbox::new(&pg_redis_stack("logs", false));
    s.ok(&["up"]);
    let all = stdout(&s.ok(&["logs"]));
    assert!(all.lines().any(|l| l.starts_with("db    | ")), "{all}");
    assert!(all.lines().any(|l| l.starts_with("cache | ")), "{all}");
    let one = stdout(&s.ok(&["logs", "db", "-n", "3"]));
    assert_eq!(one.lines().count(), 3, "{one}");
    assert!(!one.contains(" | "));
    let bad = s.run(&["logs", "dbb"]);
    assert_eq!(bad.status.code(), Some(2));
    assert!(
        stderr(&bad).contains("did you mean `db`?"),
        "{}",
        describe(&bad)
    );
}

#[test]
fn redis_memory_settings_reach_the_server() {
    let s = Sandbox::new(
        "name = \"mem\"\n[services.cache]\nkind = \"redis\"\nmaxmemory = \"64mb\"\nmaxmemory_policy = \"allkeys-lru\"\n[env.vars]\nREDIS_HOST = \"${cache.host}\"\nREDIS_PORT = \"${cache.port}\"\nREDIS_PASSWORD = \"${cache.password}\"\n",
    );
    s.ok(&["up"]);
    let env = s.env(".env");
    assert_eq!(
        redis_cli(&env, &["CONFIG", "GET", "maxmemory-policy"]),
        "maxmemory-policy\nallkeys-lru"
    );
    // The same key from the environment wins over the file.
    s.ok(&["down"]);
    let out = s
        .cmd(&["up"])
        .env("BERTH_CACHE_MAXMEMORY_POLICY", "volatile-ttl")
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", describe(&out));
    assert_eq!(
        redis_cli(&env, &["CONFIG", "GET", "maxmemory-policy"]),
        "maxmemory-policy\nvolatile-ttl"
    );
}

#[test]
fn restart_starts_only_the_named_services_again_with_their_data() {
    let s = Sandbox::new(&pg_redis_stack("rst", true));
    let never = s.run(&["restart", "cache"]);
    assert_eq!(never.status.code(), Some(2), "{}", describe(&never));
    assert!(
        stderr(&never).contains("has never been up"),
        "{}",
        describe(&never)
    );
    s.ok(&["up"]);
    let pids = |s: &Sandbox| -> BTreeMap<String, i64> {
        let v: serde_json::Value =
            serde_json::from_slice(&s.ok(&["status", "--json"]).stdout).unwrap();
        v["services"]
            .as_array()
            .unwrap()
            .iter()
            .map(|x| {
                (
                    x["service"].as_str().unwrap().to_string(),
                    x["pid"].as_i64().unwrap(),
                )
            })
            .collect()
    };
    let before = pids(&s);
    redis_cli(&s.env(".env"), &["SET", "k", "kept"]);
    let out = s.ok(&["restart", "cache"]);
    let table = stdout(&out);
    assert!(
        table
            .lines()
            .any(|l| l.starts_with("cache") && l.contains("started")),
        "{table}"
    );
    assert!(
        table
            .lines()
            .any(|l| l.starts_with("db") && l.contains("was running")),
        "{table}"
    );
    let after = pids(&s);
    assert_eq!(after["db"], before["db"]);
    assert_ne!(after["cache"], before["cache"]);
    assert_eq!(redis_cli(&s.env(".env"), &["GET", "k"]), "kept");
    let unknown = s.run(&["restart", "cahce"]);
    assert_eq!(unknown.status.code(), Some(2), "{}", describe(&unknown));
    assert!(stderr(&unknown).contains("cache"), "{}", describe(&unknown));
}
