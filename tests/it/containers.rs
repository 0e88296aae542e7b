//! The container runtime on the machine's Docker engine, with the images
//! `scripts/images` builds (no registry is reachable here). Skipped, loudly,
//! only where no engine answers at all.

use super::*;

const PG_IMAGE: &str = "berth-test/postgres:15";
const REDIS_IMAGE: &str = "berth-test/redis:7";

/// Whether an engine answers; says so loudly when not. With an engine, the
/// test images must exist (`scripts/test` builds them).
fn engine() -> bool {
    let answers = Command::new("docker")
        .args(["info", "--format", "{{.ServerVersion}}"])
        .output()
        .is_ok_and(|o| o.status.success());
    if !answers {
        eprintln!("\n*** SKIPPED: no container engine answers here; the container runtime was NOT tested ***\n");
        return false;
    }
    for image in [PG_IMAGE, REDIS_IMAGE] {
        let present = Command::new("docker")
            .args(["image", "inspect", image])
            .output()
            .is_ok_and(|o| o.status.success());
        assert!(present, "image `{image}` is missing: run `scripts/images`");
    }
    true
}

/// The shared Postgres + Redis stack (persistent Redis), as containers.
fn stack(name: &str) -> String {
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

/// `docker ... --format` lines for this stack's objects of `kind`.
fn objects(kind: &str, stack: &str) -> Vec<String> {
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
    s.ok(&["up"]);
    s.ok(&["down"]);
    s.ok(&["reset", "--yes"]);
    let running = stdout(&docker(&["inspect", "-f", "{{.State.Running}}", other]));
    assert_eq!(running.trim(), "true");
    docker(&["volume", "inspect", "ct-own-by-hand"]);
    docker(&["rm", "-f", "-v", other]);
    docker(&["volume", "rm", "ct-own-by-hand"]);
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
