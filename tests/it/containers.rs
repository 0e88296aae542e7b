//! The container runtime on the machine's Docker engine, with the images
//! `scripts/images` builds (no registry is reachable here). Skipped, loudly,
//! only where no engine answers at all.

use super::generic::http_get;
use super::*;

pub const PG_IMAGE: &str = "berth-test/postgres:15";
pub const REDIS_IMAGE: &str = "berth-test/redis:7";
const HTTPD_IMAGE: &str = "berth-test/httpd:1";
/// MinIO's contract (over berth's own object store; see images/minio).
pub const MINIO_IMAGE: &str = "berth-test/minio:1";
pub const PGBOUNCER_IMAGE: &str = "berth-test/pgbouncer:1";

/// Whether an engine answers; says so loudly when not. With an engine, the
/// test images must exist (`scripts/test` builds them).
pub fn engine() -> bool {
    let answers = Command::new("docker")
        .args(["info", "--format", "{{.ServerVersion}}"])
        .output()
        .is_ok_and(|o| o.status.success());
    if !answers {
        eprintln!("\n*** SKIPPED: no container engine answers here; the container runtime was NOT tested ***\n");
        return false;
    }
    for image in [
        PG_IMAGE,
        REDIS_IMAGE,
        HTTPD_IMAGE,
        MINIO_IMAGE,
        PGBOUNCER_IMAGE,
    ] {
        let present = Command::new("docker")
            .args(["image", "inspect", image])
            .output()
            .is_ok_and(|o| o.status.success());
        assert!(present, "image `{image}` is missing: run `scripts/images`");
    }
    true
}

/// The shared Postgres + Redis stack (persistent Redis), as containers.
pub fn stack(name: &str) -> String {
    pg_redis_stack(name, true)
        .replacen("\n", "\nruntime = \"container\"\n", 1)
        .replace(
            "kind = \"postgres\"",
            &format!("kind = \"postgres\"\nimage = \"{PG_IMAGE}\""),
        )
        .replace(
            "kind = \"redis\"",
            &format!("kind = \"redis\"\nimage = \"{REDIS_IMAGE}\""),
        )
}

/// One service of every kind berth has (postgres, redis, pgbouncer, s3),
/// each in a container of the project's test images; the ids of their
/// containers with [`stack_containers`].
pub fn every_kind_stack(name: &str) -> String {
    format!(
        r#"name = "{name}"
runtime = "container"

[services.db]
kind = "postgres"
image = "{PG_IMAGE}"

[services.cache]
kind = "redis"
image = "{REDIS_IMAGE}"

[services.pool]
kind = "pgbouncer"
image = "{PGBOUNCER_IMAGE}"

[services.files]
kind = "s3"
image = "{MINIO_IMAGE}"
"#
    )
}

/// The ids of the containers of stack `name`.
pub fn stack_containers(name: &str) -> Vec<String> {
    let out = Command::new("docker")
        .args(["ps", "-q", "--filter", &format!("label=berth.stack={name}")])
        .output()
        .unwrap();
    stdout(&out).split_whitespace().map(String::from).collect()
}

/// `docker ... --format` lines for this stack's objects of `kind`.
pub fn objects(kind: &str, stack: &str) -> Vec<String> {
    let out = Command::new("docker")
        .args([kind, "ls", "-q"])
        .args(if kind == "container" {
            vec!["-a"]
        } else {
            vec![]
        })
        .args(["--filter", &format!("label=berth.stack={stack}")])
        .output()
        .unwrap();
    stdout(&out).lines().map(str::to_string).collect()
}

fn docker(args: &[&str]) -> Output {
    let out = Command::new("docker").args(args).output().unwrap();
    assert!(out.status.success(), "docker {args:?}: {}", describe(&out));
    out
}

#[test]
fn data_survives_down_and_up_and_reset_wipes_everything_of_the_stack() {
    if !engine() {
        return;
    }
    let s = Sandbox::new(&stack("ct-life"));
    let up = s.ok(&["up"]);
    assert!(stdout(&up).contains("container"), "{}", describe(&up));
    let env = s.env(".env");
    pg(&env["DATABASE_URL"])
        .batch_execute("CREATE TABLE notes (body text); INSERT INTO notes VALUES ('kept')")
        .unwrap();
    assert_eq!(redis_cli(&env, &["SET", "greeting", "hello"]), "OK");
    // Published on loopback only.
    let ports = stdout(&docker(&["port", "berth-ct-life-db"]));
    assert!(
        ports.trim().starts_with("5432/tcp -> 127.0.0.1:"),
        "{ports}"
    );
    assert_eq!(objects("volume", "ct-life").len(), 2);

    s.ok(&["down"]);
    assert!(
        objects("container", "ct-life").is_empty(),
        "down removes the containers"
    );
    assert_eq!(
        objects("volume", "ct-life").len(),
        2,
        "down keeps the volumes"
    );

    s.ok(&["up"]);
    assert_eq!(s.env(".env"), env, "same ports and passwords");
    let body: String = pg(&env["DATABASE_URL"])
        .query_one("SELECT body FROM notes", &[])
        .unwrap()
        .get(0);
    assert_eq!(body, "kept");
    assert_eq!(redis_cli(&env, &["GET", "greeting"]), "hello");

    s.ok(&["reset", "--yes"]);
    for kind in ["container", "volume", "network"] {
        assert!(
            objects(kind, "ct-life").is_empty(),
            "reset leaves no {kind}"
        );
    }
}

#[test]
fn objects_berth_did_not_create_survive_down_and_reset() {
    if !engine() {
        return;
    }
    let s = Sandbox::new(&stack("ct-own"));
    // Another stack's container and a volume made by hand.
    let other = "berth-ct-own-other-stack";
    let _ = Command::new("docker").args(["rm", "-f", other]).output();
    docker(&[
        "run",
        "-d",
        "--name",
        other,
        "--label",
        "berth.stack=ct-someone-else",
        REDIS_IMAGE,
    ]);
    docker(&["volume", "create", "ct-own-by-hand"]);
    // Another stack's volume of a service with the same name: an engine
    // that ORs label filters (Podman 4) lists it for this stack's `db`.
    let _ = Command::new("docker")
        .args(["volume", "rm", "ct-own-other-db"])
        .output();
    docker(&[
        "volume",
        "create",
        "--label",
        "berth.stack=ct-someone-else",
        "--label",
        "berth.service=db",
        "ct-own-other-db",
    ]);
    s.ok(&["up"]);
    // A second checkout with the same stack name must not adopt (or stop)
    // the first one's containers.
    let twin = Sandbox::new(&stack("ct-own"));
    let out = twin.run(&["up"]);
    assert_eq!(out.status.code(), Some(3), "{}", describe(&out));
    assert!(
        stderr(&out).contains("of another checkout"),
        "{}",
        describe(&out)
    );
    assert!(stderr(&out).contains("run `berth down` there"));
    // With the other checkout's state directory gone, "there" is nowhere:
    // the hint names how to remove what it left instead.
    let (state, away) = (s.path().join(".berth"), s.path().join(".berth-away"));
    std::fs::rename(&state, &away).unwrap();
    let out = twin.run(&["up"]);
    std::fs::rename(&away, &state).unwrap();
    assert_eq!(out.status.code(), Some(3), "{}", describe(&out));
    assert!(
        stderr(&out).contains("that directory no longer exists")
            && stderr(&out).contains("docker rm -f -v berth-ct-own-"),
        "{}",
        describe(&out)
    );
    std::fs::remove_dir_all(twin.path().join(".berth")).unwrap();
    drop(twin);
    s.ok(&["down"]);
    s.ok(&["reset", "--yes"]);
    let running = stdout(&docker(&["inspect", "-f", "{{.State.Running}}", other]));
    assert_eq!(running.trim(), "true");
    docker(&["volume", "inspect", "ct-own-by-hand"]);
    docker(&["volume", "inspect", "ct-own-other-db"]);
    docker(&["rm", "-f", "-v", other]);
    docker(&["volume", "rm", "ct-own-by-hand", "ct-own-other-db"]);
}

#[test]
fn a_killed_container_is_recovered_by_up_and_a_taken_port_fails_preflight() {
    if !engine() {
        return;
    }
    let s = Sandbox::new(&stack("ct-kill"));
    s.ok(&["up"]);
    let env = s.env(".env");
    pg(&env["DATABASE_URL"])
        .batch_execute("CREATE TABLE t (x int); INSERT INTO t VALUES (1)")
        .unwrap();
    docker(&["kill", "berth-ct-kill-db"]);
    let status = stdout(&s.ok(&["status"]));
    assert!(
        !status
            .lines()
            .any(|l| l.starts_with("db ") && l.contains("ready")),
        "{status}"
    );
    s.ok(&["up"]);
    let x: i32 = pg(&env["DATABASE_URL"])
        .query_one("SELECT x FROM t", &[])
        .unwrap()
        .get(0);
    assert_eq!(x, 1);

    // A port someone else holds: refused before anything starts.
    s.ok(&["down"]);
    let port = free_port();
    let _holder = std::net::TcpListener::bind(("127.0.0.1", port)).unwrap();
    s.write_stack(&stack("ct-kill").replace(
        &format!("image = \"{PG_IMAGE}\""),
        &format!("image = \"{PG_IMAGE}\"\nport = {port}"),
    ));
    let out = s.run(&["up"]);
    assert_eq!(out.status.code(), Some(3), "{}", describe(&out));
    assert!(
        stderr(&out).contains(&format!("port {port} for service `db` is already in use")),
        "{}",
        describe(&out)
    );
}

#[test]
fn a_missing_image_is_named_with_the_way_to_provide_it() {
    if !engine() {
        return;
    }
    let s = Sandbox::new(
        "name = \"ct-noimage\"\n[services.db]\nkind = \"postgres\"\nruntime = \"container\"\nimage = \"berth-test/nowhere:1\"\n",
    );
    let out = s.run(&["up"]);
    assert_eq!(out.status.code(), Some(3), "{}", describe(&out));
    let err = stderr(&out);
    assert!(
        err.contains("image `berth-test/nowhere:1` is not on this machine and could not be pulled"),
        "{err}"
    );
    assert!(err.contains("docker load"), "{err}");
}

/// The id of `image` on this machine.
fn image_id(image: &str) -> String {
    stdout(&docker(&["image", "inspect", "--format", "{{.Id}}", image]))
        .trim()
        .to_string()
}

#[test]
fn a_generic_http_service_starts_after_postgres_and_reaches_it_on_the_stack_network() {
    if !engine() {
        return;
    }
    let s = Sandbox::new(&format!(
        r#"name = "ct-generic"
runtime = "container"

[services.db]
kind = "postgres"
image = "{PG_IMAGE}"

[services.api]
image = "{HTTPD_IMAGE}"
container_port = 8080
env = {{ DB_HOST = "${{db.host}}", DB_PORT = "${{db.port}}" }}
ready = {{ http = "/health" }}
depends_on = ["db"]

[services.worker]
image = "{HTTPD_IMAGE}"
container_port = 8080
command = ["sh", "-c", "trap 'exit 0' TERM; sleep 1; touch /tmp/ready; while :; do sleep 0.2; done"]
ready = {{ exec = ["test", "-e", "/tmp/ready"] }}
depends_on = ["api"]

# Listens two seconds after it starts (last, so `up` returns right after
# its probe); the default probe is tcp, which the engine's port proxy would
# pass at once if accepting were enough.
[services.late]
image = "{HTTPD_IMAGE}"
container_port = 8080
command = ["sh", "-c", "sleep 2; exec /usr/local/bin/httpd.pl 8080"]
depends_on = ["worker"]
"#
    ));
    let up = s.ok(&["up", "--json"]);
    let reports: serde_json::Value = serde_json::from_slice(&up.stdout).unwrap();
    let services: Vec<&str> = reports
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["service"].as_str().unwrap())
        .collect();
    assert_eq!(services, ["db", "api", "worker", "late"]);
    let late: u16 = s.env(".env")["LATE_PORT"].parse().unwrap();
    assert_eq!(http_get(late, "/"), Some((200, "path /\n".to_string())));
    // The worker listens on nothing: only the exec probe, run inside its
    // container, can have passed, and it passes once the file is there.
    docker(&[
        "exec",
        "berth-ct-generic-worker",
        "test",
        "-e",
        "/tmp/ready",
    ]);
    // Inside the stack's network, `${db.host}` is the service's name and
    // `${db.port}` the port in its container.
    let env = stdout(&docker(&[
        "inspect",
        "--format",
        "{{range .Config.Env}}{{println .}}{{end}}",
        "berth-ct-generic-api",
    ]));
    assert!(env.lines().any(|l| l == "DB_HOST=db"), "{env}");
    assert!(env.lines().any(|l| l == "DB_PORT=5432"), "{env}");
    let port: u16 = s.env(".env")["API_PORT"].parse().unwrap();
    assert_eq!(
        http_get(port, "/health"),
        Some((200, "db reachable\n".to_string()))
    );
    let status = stdout(&s.ok(&["status"]));
    assert!(
        status
            .lines()
            .any(|l| l.starts_with("api") && l.contains("ready")),
        "{status}"
    );
    // The generic service keeps nothing, so it has no volume; only db does.
    assert_eq!(objects("volume", "ct-generic").len(), 1);
}

#[test]
fn lock_verify_and_up_locked_catch_a_retagged_image() {
    if !engine() {
        return;
    }
    // A tag of this test's own, so retagging it disturbs no other test.
    let tag = "berth-test/drift:ct-lock";
    docker(&["tag", HTTPD_IMAGE, tag]);
    let s = Sandbox::new(&format!(
        r#"name = "ct-lock"
runtime = "container"

[services.web]
image = "{tag}"
container_port = 8080
ready = {{ http = "/" }}
"#
    ));
    s.ok(&["lock"]);
    let lock = std::fs::read_to_string(s.path().join("berth.lock")).unwrap();
    let locked_id = image_id(HTTPD_IMAGE);
    assert!(lock.contains(&format!("id = \"{locked_id}\"")), "{lock}");
    s.ok(&["verify"]);

    // Someone points the tag at another image.
    docker(&["tag", REDIS_IMAGE, tag]);
    let verify = s.run(&["verify"]);
    assert_eq!(verify.status.code(), Some(6), "{}", describe(&verify));
    assert!(
        stderr(&verify).contains(&format!("web: `{tag}` is now")),
        "{}",
        describe(&verify)
    );
    let json = s.run(&["verify", "--json"]);
    assert_eq!(json.status.code(), Some(6));
    let verdicts: serde_json::Value = serde_json::from_slice(&json.stdout).unwrap();
    assert_eq!(verdicts[0]["service"], "web");
    assert_eq!(verdicts[0]["drift"], true);
    assert_eq!(verdicts[0]["verdict"], "moved");

    let refused = s.run(&["up", "--locked"]);
    assert_eq!(refused.status.code(), Some(6), "{}", describe(&refused));
    assert!(
        objects("container", "ct-lock").is_empty(),
        "nothing started"
    );

    // Without --locked, `up` warns and runs the locked image, not the tag.
    let up = s.ok(&["up"]);
    assert!(
        stderr(&up).contains("running the locked image"),
        "{}",
        describe(&up)
    );
    let running = stdout(&docker(&[
        "inspect",
        "--format",
        "{{.Image}}",
        "berth-ct-lock-web",
    ]));
    assert_eq!(running.trim(), locked_id);

    // `berth lock` accepts the new image.
    s.ok(&["down"]);
    s.ok(&["lock"]);
    s.ok(&["verify"]);
    drop(s);
    docker(&["rmi", tag]);
}

#[test]
fn the_postgres_probe_is_not_fooled_by_the_init_time_server() {
    if !engine() {
        return;
    }
    // The image's init scripts run on a temporary server first; one that
    // takes its time. `up` must not return before the real server runs.
    let s = Sandbox::new(&format!(
        r#"name = "ct-init"
runtime = "container"

[services.db]
image = "{PG_IMAGE}"
container_port = 5432
env = {{ POSTGRES_PASSWORD = "secret" }}
volumes = ["./initdb:/docker-entrypoint-initdb.d:ro"]
ready = "postgres"
"#
    ));
    let init = s.path().join("initdb");
    std::fs::create_dir(&init).unwrap();
    std::fs::write(
        init.join("01-slow.sh"),
        "sleep 3\npsql -v ON_ERROR_STOP=1 -q -d postgres -c 'CREATE TABLE made_by_init (x int)'\n",
    )
    .unwrap();
    s.ok(&["up"]);
    let port = s.env(".env")["DB_PORT"].clone();
    let mut client = pg(&format!(
        "postgres://postgres:secret@127.0.0.1:{port}/postgres"
    ));
    let n: i64 = client
        .query_one("SELECT count(*) FROM made_by_init", &[])
        .expect("the init script finished before `up` returned")
        .get(0);
    assert_eq!(n, 0);
}

#[test]
fn the_runtime_flag_moves_a_native_stack_into_containers() {
    if !engine() {
        return;
    }
    let s = Sandbox::new(&format!(
        "name = \"ct-flag\"\nruntime = \"native\"\n[services.cache]\nkind = \"redis\"\nimage = \"{REDIS_IMAGE}\"\n"
    ));
    s.ok(&["up", "--runtime", "container"]);
    assert_eq!(objects("container", "ct-flag").len(), 1);
    let status = stdout(&s.ok(&["--runtime", "container", "status"]));
    assert!(
        status.contains("container") && status.contains("ready"),
        "{status}"
    );
    s.ok(&["down", "--runtime", "container"]);
    assert!(objects("container", "ct-flag").is_empty());
}

#[test]
fn object_store_and_pooler_containers_serve_real_clients_and_keep_data_until_reset() {
    if !engine() {
        return;
    }
    use super::object_store::{boto3, boto3_ok, S3_ENV};
    use super::pooler::query_through;
    let s = Sandbox::new(&format!(
        r#"name = "ct-kinds"
runtime = "container"

[services.db]
kind = "postgres"
image = "{PG_IMAGE}"
user = "app"
database = "app"

[services.pool]
kind = "pgbouncer"
image = "{PGBOUNCER_IMAGE}"

[services.storage]
kind = "s3"
image = "{MINIO_IMAGE}"
buckets = ["uploads"]
{S3_ENV}DATABASE_URL = "${{pool.url}}"
DIRECT_URL = "${{db.url}}"
"#
    ));
    std::fs::create_dir_all(s.path().join("seeds/storage/uploads")).unwrap();
    std::fs::write(s.path().join("seeds/storage/uploads/logo.svg"), "<svg/>").unwrap();
    let up = s.ok(&["up"]);
    assert!(
        stderr(&up).contains("storage: seeded 1 object"),
        "{}",
        describe(&up)
    );
    let env = s.env(".env");

    // The pooler reaches the database over the stack's network.
    pg(&env["DIRECT_URL"])
        .batch_execute("CREATE TABLE t (v text); INSERT INTO t VALUES ('kept')")
        .unwrap();
    assert_eq!(
        query_through(&env["DATABASE_URL"], "SELECT v FROM t"),
        ["kept"]
    );

    assert_eq!(boto3_ok(&env, &["get", "logo.svg"]), "<svg/>");
    boto3_ok(&env, &["put", "report.csv", "a,b"]);
    let mut wrong = env.clone();
    wrong.insert("S3_SECRET_KEY".into(), "not-the-secret-key".into());
    assert!(
        !boto3(&wrong, &["keys"]).status.success(),
        "a wrong key is refused"
    );

    s.ok(&["down"]);
    s.ok(&["up"]);
    assert_eq!(boto3_ok(&env, &["get", "report.csv"]), "a,b");
    assert_eq!(
        query_through(&env["DATABASE_URL"], "SELECT v FROM t"),
        ["kept"]
    );

    s.ok(&["reset", "--yes"]);
    s.ok(&["up"]);
    let env = s.env(".env");
    assert_eq!(
        boto3_ok(&env, &["keys"]),
        ".berth-seeded\nlogo.svg",
        "only the seeds"
    );
    assert_eq!(
        query_through(
            &env["DATABASE_URL"],
            "SELECT count(*) FROM pg_tables WHERE tablename = 't'"
        ),
        ["0"]
    );
}

#[test]
fn a_worker_with_no_port_is_ready_when_it_runs_and_publishes_nothing() {
    if !engine() {
        return;
    }
    let s = Sandbox::new(&format!(
        "name = \"ct-worker\"\nruntime = \"container\"\n[services.worker]\nimage = \"{HTTPD_IMAGE}\"\ncommand = [\"sh\", \"-c\", \"trap 'exit 0' TERM; while :; do sleep 0.2; done\"]\nready = \"running\"\n"
    ));
    s.ok(&["up"]);
    let name = "berth-ct-worker-worker";
    let ports = stdout(&docker(&[
        "inspect",
        "--format",
        "{{json .HostConfig.PortBindings}}",
        name,
    ]));
    // Podman lists the image's exposed port, bound to nothing.
    let bindings: serde_json::Value = serde_json::from_str(ports.trim()).unwrap();
    assert!(
        bindings
            .as_object()
            .is_none_or(|b| b.values().all(|v| v.is_null())),
        "no port published: {ports}"
    );
    let status = stdout(&s.ok(&["status", "--json"]));
    assert!(status.contains("\"health\": \"ready\""), "{status}");
}

/// The Compose tool that talks to this pass's engine: docker-compose on
/// Docker, podman-compose on Podman's socket (the second pass).
fn compose_tool() -> &'static str {
    let podman = std::env::var("DOCKER_HOST").is_ok_and(|h| h.contains("podman"));
    if podman {
        "podman-compose"
    } else {
        "docker-compose"
    }
}

#[test]
fn an_exported_compose_file_runs_the_stack_on_compose() {
    if !engine() {
        return;
    }
    use super::object_store::boto3_ok;
    use super::pooler::query_through;
    let tool = compose_tool();
    let (db, pool, cache, storage, api) = (
        free_port(),
        free_port(),
        free_port(),
        free_port(),
        free_port(),
    );
    let s = Sandbox::new(&format!(
        r#"name = "ct-export"
runtime = "container"

[services.db]
kind = "postgres"
image = "{PG_IMAGE}"
user = "app"
database = "app"
databases = ["reports"]
extensions = ["pgcrypto"]
port = {db}

[services.pool]
kind = "pgbouncer"
image = "{PGBOUNCER_IMAGE}"
port = {pool}

[services.cache]
kind = "redis"
image = "{REDIS_IMAGE}"
persist = true
port = {cache}

[services.storage]
kind = "s3"
image = "{MINIO_IMAGE}"
port = {storage}

[services.api]
image = "{HTTPD_IMAGE}"
container_port = 8080
port = {api}
env = {{ DB_HOST = "${{db.host}}", DB_PORT = "${{db.port}}" }}
ready = {{ http = "/health" }}
depends_on = ["db"]
"#
    ));
    s.ok(&["export", "compose", "-o", "out/compose.yaml"]);
    let out = s.path().join("out");
    let dotenv = std::fs::read_to_string(out.join(".env")).unwrap();
    let secret = |var: &str| {
        dotenv
            .lines()
            .find_map(|l| l.strip_prefix(&format!("{var}=")))
            .unwrap_or_else(|| panic!("{var} in {dotenv}"))
            .trim_matches('\'')
            .to_string()
    };
    let project = format!("berth-export-{}", std::process::id());
    let run = |args: &[&str]| {
        Command::new(tool)
            .args(["-p", &project, "-f", "compose.yaml"])
            .args(args)
            .current_dir(&out)
            .output()
            .unwrap_or_else(|e| panic!("{tool} runs (scripts/setup --all installs it): {e}"))
    };
    let up = run(&["up", "-d"]);
    let result = std::panic::catch_unwind(|| {
        assert!(up.status.success(), "{tool} up: {}", describe(&up));
        // Provisioned by the init SQL berth exported: PgBouncer logs in with
        // berth's verifier, the extra database and the extension are there.
        let url = format!(
            "postgres://app:{}@127.0.0.1:{pool}/app",
            secret("DB_PASSWORD")
        );
        wait_until("the pooler answers", Duration::from_secs(90), || {
            postgres::Client::connect(&url, postgres::NoTls).is_ok()
        });
        assert_eq!(
            query_through(
                &url,
                "SELECT count(*) FROM pg_extension WHERE extname = 'pgcrypto'"
            ),
            ["1"]
        );
        assert_eq!(
            query_through(
                &url,
                "SELECT count(*) FROM pg_database WHERE datname = 'reports'"
            ),
            ["1"]
        );
        let redis: BTreeMap<String, String> = [
            ("REDIS_HOST", "127.0.0.1".to_string()),
            ("REDIS_PORT", cache.to_string()),
            ("REDIS_PASSWORD", secret("CACHE_PASSWORD")),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v))
        .collect();
        wait_until("redis answers", Duration::from_secs(30), || {
            Command::new("redis-cli")
                .args([
                    "-p",
                    &cache.to_string(),
                    "-a",
                    &redis["REDIS_PASSWORD"],
                    "--no-auth-warning",
                    "ping",
                ])
                .output()
                .is_ok_and(|o| String::from_utf8_lossy(&o.stdout).trim() == "PONG")
        });
        assert_eq!(
            redis_cli(&redis, &["CONFIG", "GET", "appendonly"]),
            "appendonly\nyes"
        );
        let s3: BTreeMap<String, String> = [
            ("S3_ENDPOINT", format!("http://127.0.0.1:{storage}")),
            ("S3_ACCESS_KEY", secret("STORAGE_ACCESS_KEY")),
            ("S3_SECRET_KEY", secret("STORAGE_SECRET_KEY")),
            ("S3_REGION", "us-east-1".to_string()),
            ("S3_BUCKET", "exported".to_string()),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v))
        .collect();
        boto3_ok(&s3, &["create"]);
        wait_until(
            "the API reaches the database",
            Duration::from_secs(60),
            || http_get(api, "/health").is_some_and(|(status, _)| status == 200),
        );
    });
    let down = run(&["down", "-v"]);
    if let Err(panic) = result {
        std::panic::resume_unwind(panic);
    }
    assert!(down.status.success(), "{tool} down: {}", describe(&down));
}

#[test]
fn snapshots_and_backups_of_containers_go_through_the_engine_and_bring_the_data_back() {
    if !engine() {
        return;
    }
    use super::snapshots::{note, notes};
    let s = Sandbox::new(&stack("ct-snap"));
    std::fs::create_dir_all(s.path().join("migrations/db")).unwrap();
    std::fs::write(
        s.path().join("migrations/db/001_notes.sql"),
        "CREATE TABLE notes (body text NOT NULL);\n",
    )
    .unwrap();
    s.ok(&["up"]);
    let env = s.env(".env");
    note(&env, "first");
    assert_eq!(redis_cli(&env, &["SET", "k", "first"]), "OK");
    s.ok(&["snapshot", "save", "first"]);
    let tars: Vec<String> = std::fs::read_dir(s.path().join(".berth/ct-snap.snapshots/first/db"))
        .unwrap()
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(
        tars,
        ["data.tar"],
        "the volume, read out through the engine"
    );
    note(&env, "second");
    assert_eq!(redis_cli(&env, &["SET", "k", "second"]), "OK");
    s.ok(&["snapshot", "restore", "first"]);
    assert_eq!(notes(&env), ["first"]);
    assert_eq!(redis_cli(&env, &["GET", "k"]), "first");
    // The restored data is a new generation of each volume; the old ones
    // are gone.
    let mut volumes = objects("volume", "ct-snap");
    volumes.sort();
    assert_eq!(volumes.len(), 2, "{volumes:?}");
    let names = stdout(&docker(&[
        "volume",
        "ls",
        "--format",
        "{{.Name}}",
        "--filter",
        "label=berth.stack=ct-snap",
    ]));
    assert!(names.lines().all(|n| n.ends_with("-data-g1")), "{names}");

    // A portable backup: dumps made inside the containers.
    s.ok(&["backup", "-o", "b.tar"]);
    s.ok(&["reset", "--yes", "--no-snapshot"]);
    s.ok(&["up"]);
    let env = s.env(".env");
    assert!(notes(&env).is_empty());
    s.ok(&["restore", "b.tar", "--yes"]);
    assert_eq!(notes(&env), ["first"]);
    assert_eq!(redis_cli(&env, &["GET", "k"]), "first");
}
