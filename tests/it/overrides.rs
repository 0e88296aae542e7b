//! Environment overrides and profiles change what runs.

use super::*;

const STACK: &str = r#"name = "over"

[services.db]
kind = "postgres"

[services.cache]
kind = "redis"

[env.vars]
PG_PORT = "${db.port}"
REDIS_PORT = "${cache.port}"

[overrides]
APP_PG_PORT = "db.port"

[profiles.test.services.db]
port = {TEST_PG}
[profiles.test.services.cache]
port = {TEST_REDIS}
[profiles.test.env]
file = ".env.test"
"#;

fn stack(test_pg: u16, test_redis: u16) -> String {
    STACK
        .replace("{TEST_PG}", &test_pg.to_string())
        .replace("{TEST_REDIS}", &test_redis.to_string())
}

#[test]
fn explicit_and_generic_variables_move_ports() {
    let s = Sandbox::new(&stack(free_port(), free_port()));
    let (pg_port, redis_port) = (free_port(), free_port());
    let out = s
        .cmd(&["up"])
        .env("APP_PG_PORT", pg_port.to_string())
        .env("BERTH_CACHE_PORT", redis_port.to_string())
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", describe(&out));
    let env = s.env(".env");
    assert_eq!(env["PG_PORT"], pg_port.to_string());
    assert_eq!(env["REDIS_PORT"], redis_port.to_string());
    // Really listening there, not just written down.
    std::net::TcpStream::connect(("127.0.0.1", pg_port))
        .expect("postgres listens on the overridden port");
    std::net::TcpStream::connect(("127.0.0.1", redis_port))
        .expect("redis listens on the overridden port");
}

#[test]
fn a_profile_runs_a_separate_stack_on_its_own_ports() {
    let (test_pg, test_redis) = (free_port(), free_port());
    let s = Sandbox::new(&stack(test_pg, test_redis));
    s.ok(&["up"]);
    s.ok(&["--profile", "test", "up"]);
    let dev = s.env(".env");
    let test = s.env(".env.test");
    assert_eq!(test["PG_PORT"], test_pg.to_string());
    assert_eq!(test["REDIS_PORT"], test_redis.to_string());
    assert_ne!(dev["PG_PORT"], test["PG_PORT"]);
    assert!(
        s.state_dir("over").exists() && s.state_dir("over-test").exists(),
        "separate state"
    );
    std::net::TcpStream::connect(("127.0.0.1", test_pg))
        .expect("the test profile's postgres listens");
    s.ok(&["--profile", "test", "reset", "--yes"]);
    let dev_status = stdout(&s.ok(&["status"]));
    assert_eq!(
        dev_status.matches("ready").count(),
        2,
        "resetting the test profile left the dev stack alone: {dev_status}"
    );
}

#[test]
fn parallel_instances_of_one_file_by_name() {
    // Fixed ports in the file: the file's own stack uses them, each named
    // instance gets its own, kept across its restarts.
    let (pg_port, redis_port) = (free_port(), free_port());
    let s = Sandbox::new(
        &stack(free_port(), free_port())
            .replace(
                "kind = \"postgres\"",
                &format!("kind = \"postgres\"\nport = {pg_port}"),
            )
            .replace(
                "kind = \"redis\"",
                &format!("kind = \"redis\"\nport = {redis_port}"),
            ),
    );
    s.ok(&["up"]);
    s.ok(&["--name", "ci-1", "up"]);
    s.ok(&["--name", "ci-2", "up"]);
    let own = s.env(".env");
    let first = s.env(".env.ci-1");
    let second = s.env(".env.ci-2");
    assert_eq!(own["PG_PORT"], pg_port.to_string());
    let pg_ports = [&own["PG_PORT"], &first["PG_PORT"], &second["PG_PORT"]];
    assert!(
        pg_ports[0] != pg_ports[1] && pg_ports[1] != pg_ports[2] && pg_ports[0] != pg_ports[2],
        "{pg_ports:?}"
    );
    for name in ["ci-1", "ci-2"] {
        let out = stdout(&s.ok(&["--name", name, "status"]));
        assert_eq!(out.matches("ready").count(), 2, "{name}: {out}");
    }
    s.ok(&["--name", "ci-1", "down"]);
    s.ok(&["--name", "ci-1", "up"]);
    assert_eq!(s.env(".env.ci-1"), first, "an instance keeps its ports");
    assert_eq!(s.env(".env"), own, "the file's own stack is untouched");
}
