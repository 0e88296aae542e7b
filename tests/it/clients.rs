//! Issue 33: the connection values berth writes work unchanged with the
//! clients applications use, as the apps use them: the URL or variables
//! from the env file handed to the driver or CLI as they are. The matrix
//! is in the README (Connection values and clients).

use std::process::Command;

use super::*;

/// Each client with the env file's values, printing `ok NAME` per client.
const MATRIX: &str = r#"
import asyncio, os, sys
import asyncpg, boto3, psycopg, psycopg2, redis, sqlalchemy

env = os.environ
def ok(name):
    print("ok", name, flush=True)

for var in ("DATABASE_URL", "POOL_URL"):
    url = env[var]
    with psycopg.connect(url) as c:
        assert c.execute("SELECT 1").fetchone()[0] == 1
    ok("psycopg3 " + var)
    c = psycopg2.connect(url)
    cur = c.cursor(); cur.execute("SELECT 1"); assert cur.fetchone()[0] == 1; c.close()
    ok("psycopg2 " + var)
    engine = sqlalchemy.create_engine(url)
    with engine.connect() as c:
        assert c.execute(sqlalchemy.text("SELECT 1")).scalar() == 1
    engine.dispose()
    ok("sqlalchemy " + var)

async def with_asyncpg():
    c = await asyncpg.connect(env["DATABASE_URL"])
    assert await c.fetchval("SELECT 1") == 1
    await c.close()
asyncio.run(with_asyncpg())
ok("asyncpg DATABASE_URL")

r = redis.Redis.from_url(env["REDIS_URL"])
assert r.ping()
r.set("matrix", "1"); assert r.get("matrix") == b"1"
ok("redis-py REDIS_URL")

s3 = boto3.client(
    "s3",
    endpoint_url=env["FILES_ENDPOINT"],
    aws_access_key_id=env["FILES_ACCESS_KEY"],
    aws_secret_access_key=env["FILES_SECRET_KEY"],
    region_name=env["FILES_REGION"],
)
s3.create_bucket(Bucket="matrix")
s3.put_object(Bucket="matrix", Key="k", Body=b"v")
assert s3.get_object(Bucket="matrix", Key="k")["Body"].read() == b"v"
ok("boto3 FILES_*")
"#;

#[test]
fn issue_33_the_values_berth_writes_work_with_the_clients_apps_use() {
    let s = Sandbox::new(
        r#"name = "clients"

[services.db]
kind = "postgres"
user = "app"
database = "app"

[services.pool]
kind = "pgbouncer"

[services.cache]
kind = "redis"

[services.files]
kind = "s3"

[env.vars]
DATABASE_URL = "${db.url}"
POOL_URL = "${pool.url}"
REDIS_URL = "${cache.url}"
FILES_ENDPOINT = "${files.endpoint}"
FILES_ACCESS_KEY = "${files.access_key}"
FILES_SECRET_KEY = "${files.secret_key}"
FILES_REGION = "${files.region}"
"#,
    );
    s.ok(&["up"]);
    let env = s.env(".env");
    assert!(
        env["DATABASE_URL"].starts_with("postgresql://app:"),
        "{env:?}"
    );
    assert!(env["REDIS_URL"].starts_with("redis://default:"), "{env:?}");

    // Debian's Python and its packages (`scripts/setup --all`), whatever
    // `python3` comes first on PATH.
    let out = Command::new("/usr/bin/python3")
        .args(["-c", MATRIX])
        .envs(&env)
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", describe(&out));
    let said = stdout(&out);
    for client in [
        "psycopg3 DATABASE_URL",
        "psycopg2 DATABASE_URL",
        "sqlalchemy DATABASE_URL",
        "psycopg3 POOL_URL",
        "psycopg2 POOL_URL",
        "sqlalchemy POOL_URL",
        "asyncpg DATABASE_URL",
        "redis-py REDIS_URL",
        "boto3 FILES_*",
    ] {
        assert!(said.contains(&format!("ok {client}\n")), "{client}: {said}");
    }

    // The CLIs, as a team's smoke test runs them.
    for (var, program, args) in [
        ("DATABASE_URL", "psql", vec!["-tAc", "SELECT 1"]),
        ("POOL_URL", "psql", vec!["-tAc", "SELECT 1"]),
        ("REDIS_URL", "redis-cli", vec!["--no-auth-warning", "PING"]),
    ] {
        let mut cmd = Command::new(program);
        match program {
            "psql" => cmd.arg(&env[var]),
            _ => cmd.args(["-u", &env[var]]),
        };
        let out = cmd.args(&args).output().unwrap();
        assert!(out.status.success(), "{program} {var}: {}", describe(&out));
        let answer = stdout(&out);
        assert!(
            answer.trim() == "1" || answer.trim() == "PONG",
            "{program} {var}: {answer}"
        );
    }
    let out = Command::new("/usr/bin/aws")
        .args([
            "--endpoint-url",
            &env["FILES_ENDPOINT"],
            "s3",
            "ls",
            "s3://matrix",
        ])
        .env("AWS_ACCESS_KEY_ID", &env["FILES_ACCESS_KEY"])
        .env("AWS_SECRET_ACCESS_KEY", &env["FILES_SECRET_KEY"])
        .env("AWS_DEFAULT_REGION", &env["FILES_REGION"])
        .env("HOME", s.path())
        .output()
        .unwrap();
    assert!(out.status.success(), "aws: {}", describe(&out));
    assert!(stdout(&out).contains(" k\n"), "aws: {}", stdout(&out));
}
