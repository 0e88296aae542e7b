//! The example stacks of `examples/`, each brought up as its team would
//! (from a copy, on ports chosen free through the team's own variables) and
//! probed with real clients through the env file the app reads.

use super::compose::copy_dir;
use super::object_store::boto3_ok;
use super::pooler::query_through;
use super::*;

/// A sandbox holding a copy of `examples/<name>`.
fn example(name: &str) -> Sandbox {
    let s = Sandbox::new("");
    copy_dir(
        &Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("examples")
            .join(name),
        s.path(),
    );
    s
}

/// `redis-cli -u URL`, the env file's URL as it is, as a team's smoke
/// test runs it.
fn redis_url_cli(url: &str, args: &[&str]) -> String {
    let out = Command::new("redis-cli")
        .args(["--no-auth-warning", "-u", url])
        .args(args)
        .output()
        .expect("redis-cli runs");
    assert!(
        out.status.success(),
        "redis-cli {args:?}: {}",
        describe(&out)
    );
    stdout(&out).trim().to_string()
}

#[test]
fn cleanmatex_comes_up_with_its_pooler_object_store_and_append_only_redis() {
    let s = example("cleanmatex");
    // The committed template is what berth writes for this stack file.
    let committed = std::fs::read_to_string(s.path().join(".env.example")).unwrap();
    s.ok(&["env", "--example"]);
    assert_eq!(
        std::fs::read_to_string(s.path().join(".env.example")).unwrap(),
        committed,
        "examples/cleanmatex/.env.example is out of date: run `berth env --example` there"
    );

    let mut up = s.cmd(&["up"]);
    for var in [
        "CMX_PG_PORT",
        "CMX_POOL_PORT",
        "CMX_REDIS_PORT",
        "CMX_S3_PORT",
    ] {
        up.env(var, free_port().to_string());
    }
    let out = up.output().unwrap();
    assert!(out.status.success(), "{}", describe(&out));
    let env = s.env(".env");
    let variables: Vec<&String> = env.keys().collect();
    let example_variables: Vec<String> = parse_env(&committed).into_keys().collect();
    assert_eq!(
        variables,
        example_variables.iter().collect::<Vec<_>>(),
        "the same variables"
    );

    // Migrated, seeded, with the extensions: through the pooler, as the app.
    assert_eq!(
        query_through(
            &env["DATABASE_URL"],
            "SELECT customer || ' ' || status FROM orders"
        ),
        ["Ada received"]
    );
    assert_eq!(
        query_through(&env["DATABASE_URL"], "SELECT photo_key FROM order_items"),
        ["samples/shirt.txt"]
    );
    // Its init script ran once on the new data, `ALTER SYSTEM` in effect.
    assert_eq!(
        query_through(
            &env["DATABASE_URL"],
            "SELECT current_setting('random_page_cost')"
        ),
        ["1.1"]
    );
    assert_eq!(
        query_through(
            &env["DATABASE_URL"],
            "SELECT rolname::text FROM pg_roles WHERE rolname = 'cmx_readonly'"
        ),
        ["cmx_readonly"]
    );
    // The seeded photo is in the bucket the env file names.
    assert!(boto3_ok(&env, &["get", "samples/shirt.txt"]).contains("photo of a shirt"));
    assert_eq!(
        redis_url_cli(&env["REDIS_URL"], &["CONFIG", "GET", "appendonly"]),
        "appendonly\nyes"
    );
    assert_eq!(redis_url_cli(&env["REDIS_URL"], &["SET", "k", "v"]), "OK");

    // The team's own smoke test (seed 003), reading the env file; MinIO's
    // `localhost:9000` is the endpoint the file names (a free port here).
    let smoke = r#"set -euo pipefail
set -a; . ./.env; set +a
psql "$DATABASE_URL" -c "SELECT 1" > /dev/null
echo "PostgreSQL OK"
redis-cli -u "$REDIS_URL" PING | grep PONG > /dev/null
echo "Redis OK"
curl -f "$S3_ENDPOINT/minio/health/live" > /dev/null
echo "MinIO OK"
"#;
    let out = Command::new("bash")
        .args(["-c", smoke])
        .current_dir(s.path())
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", describe(&out));
    assert_eq!(stdout(&out), "PostgreSQL OK\nRedis OK\nMinIO OK\n");
}

#[test]
fn agentlab_comes_up_with_pgvector_persistent_redis_and_nginx_in_each_environment() {
    let s = example("agentlab");
    let mut up = s.cmd(&["up"]);
    for var in [
        "AGENTLAB_PG_PORT",
        "AGENTLAB_REDIS_PORT",
        "AGENTLAB_HTTP_PORT",
    ] {
        up.env(var, free_port().to_string());
    }
    let out = up.output().unwrap();
    assert!(out.status.success(), "{}", describe(&out));
    let env = s.env(".env");

    // pgvector: the nearest memory to a query embedding.
    let nearest = pg(&env["DATABASE_URL"])
        .query_one(
            "SELECT body FROM memories ORDER BY embedding <-> '[0.9, 0.1, 0]' LIMIT 1",
            &[],
        )
        .unwrap()
        .get::<_, String>(0);
    assert_eq!(nearest, "books are on the second floor");
    let info = redis_url_cli(&env["REDIS_URL"], &["CONFIG", "GET", "maxmemory-policy"]);
    assert_eq!(info, "maxmemory-policy\nallkeys-lru");
    assert_eq!(
        redis_url_cli(&env["REDIS_URL"], &["CONFIG", "GET", "appendonly"]),
        "appendonly\nyes"
    );
    let port: u16 = env["PUBLIC_URL"]
        .rsplit(':')
        .next()
        .unwrap()
        .parse()
        .unwrap();
    let (status, page) = super::generic::http_get(port, "/").expect("nginx answers");
    assert_eq!(status, 200);
    assert!(page.contains("served by nginx, started by berth"), "{page}");

    // The test environment beside it: its own stack, data and env file.
    s.ok(&["-p", "test", "up"]);
    let test_env = s.env(".env.test");
    assert_ne!(test_env["DATABASE_URL"], env["DATABASE_URL"]);
    let count = pg(&test_env["DATABASE_URL"])
        .query_one("SELECT count(*) FROM memories", &[])
        .unwrap()
        .get::<_, i64>(0);
    assert_eq!(count, 2, "migrated and seeded too");
    assert_eq!(
        redis_url_cli(&test_env["REDIS_URL"], &["CONFIG", "GET", "appendonly"]),
        "appendonly\nno"
    );

    // The prod-like environment: containers, the pinned images' contracts
    // played by the test images (no registry here), nginx given its site by
    // a bind mount.
    if !super::containers::engine() {
        return;
    }
    let mut prod = s.cmd(&["-p", "prod", "up"]);
    for (var, value) in [
        ("BERTH_POSTGRES_IMAGE", PGVECTOR_IMAGE),
        ("BERTH_POSTGRES_VERSION", "16"),
        ("BERTH_REDIS_IMAGE", super::containers::REDIS_IMAGE),
        ("BERTH_NGINX_IMAGE", NGINX_IMAGE),
    ] {
        prod.env(var, value);
    }
    for var in [
        "AGENTLAB_PG_PORT",
        "AGENTLAB_REDIS_PORT",
        "AGENTLAB_HTTP_PORT",
    ] {
        prod.env(var, free_port().to_string());
    }
    let out = prod.output().unwrap();
    assert!(out.status.success(), "{}", describe(&out));
    assert!(stdout(&out).contains("container"), "{}", describe(&out));
    let prod_env = s.env(".env.prod");
    let nearest = pg(&prod_env["DATABASE_URL"])
        .query_one(
            "SELECT body FROM memories ORDER BY embedding <-> '[0, 1, 0.1]' LIMIT 1",
            &[],
        )
        .unwrap()
        .get::<_, String>(0);
    assert_eq!(nearest, "the cafe opens at nine");
    assert_eq!(
        redis_url_cli(&prod_env["REDIS_URL"], &["CONFIG", "GET", "maxmemory"]),
        "maxmemory\n536870912"
    );
    let port: u16 = prod_env["PUBLIC_URL"]
        .rsplit(':')
        .next()
        .unwrap()
        .parse()
        .unwrap();
    let (status, health) = super::generic::http_get(port, "/healthz").expect("nginx answers");
    assert_eq!(
        (status, health.as_str()),
        (200, "ok\n"),
        "the site from prod.conf"
    );
}

/// PostgreSQL 16 with pgvector (see images/pgvector).
const PGVECTOR_IMAGE: &str = "berth-test/pgvector:16";
const NGINX_IMAGE: &str = "berth-test/nginx:1";

/// TileMUD (seed 000) as its team runs it: ports through its own
/// variables, the env file `.env.local.infra` with the names its scripts
/// read, its migrations (one without a transaction) and seed data under
/// `infrastructure/`, checked with psql and redis-cli given those
/// variables; the test profile beside it with its own file and data.
#[test]
fn tilemud_comes_up_with_its_own_variables_env_file_and_migrations() {
    let s = example("tilemud");
    let up = |profile: &[&str]| {
        let (pg_port, redis_port) = (free_port(), free_port());
        let mut up = s.cmd(&[profile, &["up"]].concat());
        up.env("TILEMUD_PG_PORT", pg_port.to_string())
            .env("TILEMUD_REDIS_PORT", redis_port.to_string());
        let out = up.output().unwrap();
        assert!(out.status.success(), "{}", describe(&out));
        (pg_port, redis_port)
    };
    let (pg_port, redis_port) = up(&[]);
    let env = s.env(".env.local.infra");
    for name in [
        "TILEMUD_PG_HOST",
        "TILEMUD_PG_PORT",
        "TILEMUD_PG_USER",
        "TILEMUD_PG_PASSWORD",
        "TILEMUD_PG_DB",
        "TILEMUD_REDIS_HOST",
        "TILEMUD_REDIS_PORT",
    ] {
        assert!(env.contains_key(name), "{name} missing: {env:?}");
    }
    assert_eq!(env["TILEMUD_PG_PORT"], pg_port.to_string());
    assert_eq!(env["TILEMUD_REDIS_PORT"], redis_port.to_string());
    assert_eq!(env["TILEMUD_PG_USER"], "tilemud");
    assert_eq!(env["TILEMUD_PG_DB"], "tilemud");

    // psql as the team's migrate.sh calls it, from the variables alone.
    let psql = |env: &BTreeMap<String, String>, sql: &str| -> String {
        let out = Command::new("psql")
            .args([
                "-h",
                &env["TILEMUD_PG_HOST"],
                "-p",
                &env["TILEMUD_PG_PORT"],
                "-U",
                &env["TILEMUD_PG_USER"],
                "-d",
                &env["TILEMUD_PG_DB"],
                "-tAc",
                sql,
            ])
            .env("PGPASSWORD", &env["TILEMUD_PG_PASSWORD"])
            .output()
            .unwrap();
        assert!(out.status.success(), "psql {sql}: {}", describe(&out));
        stdout(&out).trim().to_string()
    };
    assert_eq!(
        psql(&env, "SELECT p.name || ' in ' || r.description FROM players p JOIN rooms r ON r.id = p.room_id"),
        "wanderer in The town square"
    );
    assert_eq!(psql(&env, "SELECT count(*) FROM berth.migrations"), "3");
    assert_eq!(
        psql(
            &env,
            "SELECT indisvalid FROM pg_index WHERE indexrelid = 'players_room'::regclass"
        ),
        "t",
        "the index built concurrently, outside a transaction"
    );
    let redis = Command::new("redis-cli")
        .args([
            "--no-auth-warning",
            "-h",
            &env["TILEMUD_REDIS_HOST"],
            "-p",
            &env["TILEMUD_REDIS_PORT"],
            "-a",
            &env["TILEMUD_REDIS_PASSWORD"],
            "PING",
        ])
        .output()
        .unwrap();
    assert_eq!(stdout(&redis).trim(), "PONG", "{}", describe(&redis));
    assert_eq!(redis_url_cli(&env["REDIS_URL"], &["PING"]), "PONG");

    // The test profile: its own stack, env file and data.
    psql(&env, "INSERT INTO players (name) VALUES ('only-in-dev')");
    up(&["-p", "test"]);
    let test_env = s.env(".env.test.infra");
    assert_ne!(test_env["TILEMUD_PG_PORT"], env["TILEMUD_PG_PORT"]);
    assert_eq!(
        psql(
            &test_env,
            "SELECT string_agg(name, ',' ORDER BY name) FROM players"
        ),
        "wanderer"
    );
    assert_eq!(
        psql(
            &env,
            "SELECT count(*) FROM players WHERE name = 'only-in-dev'"
        ),
        "1"
    );
}
