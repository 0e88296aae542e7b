//! Preflight: a taken port fails before anything starts, naming the holder.

use super::*;

#[test]
fn a_taken_port_fails_preflight_naming_port_and_holder() {
    let holder = TcpListener::bind(("127.0.0.1", 0)).unwrap();
    let port = holder.local_addr().unwrap().port();
    let s = Sandbox::new(&format!(
        "name = \"taken\"\n[services.db]\nkind = \"postgres\"\nport = {port}\n[services.cache]\nkind = \"redis\"\n"
    ));
    let out = s.run(&["up"]);
    assert_eq!(out.status.code(), Some(3), "{}", describe(&out));
    let err = stderr(&out);
    assert!(
        err.contains(&format!("port {port} for service `db` is already in use")),
        "{err}"
    );
    assert!(
        err.contains(&format!("(pid {})", std::process::id())),
        "names the holder: {err}"
    );
    assert!(err.contains("BERTH_DB_PORT"), "names the override: {err}");
    assert!(
        !s.state_dir("taken").join("services/cache/data").exists(),
        "nothing started"
    );

    let doctor = s.run(&["doctor", "--json"]);
    assert_eq!(doctor.status.code(), Some(3));
    let report: serde_json::Value = serde_json::from_slice(&doctor.stdout).unwrap();
    assert!(
        report["services"][0]["port_state"]
            .as_str()
            .unwrap()
            .contains("in use by"),
        "{report}"
    );
    drop(holder);
}

#[test]
fn doctor_reports_binaries_and_resources() {
    let s = Sandbox::new(&pg_redis_stack("doctor", false));
    let out = s.ok(&["doctor", "--json"]);
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert!(report["resources"]["cpus"].as_u64().unwrap() >= 1);
    let found = report["services"][0]["found"].as_str().unwrap();
    assert!(found.starts_with("postgres "), "{found}");
    assert!(report["services"][1]["found"]
        .as_str()
        .unwrap()
        .starts_with("redis-server "));
}

#[test]
fn an_unsatisfiable_version_names_what_was_found() {
    let s = Sandbox::new("[services.db]\nkind = \"postgres\"\nversion = \"99\"\n");
    let out = s.run(&["up"]);
    assert_eq!(out.status.code(), Some(3), "{}", describe(&out));
    let err = stderr(&out);
    assert!(
        err.contains("wants `postgres` version `^99`, but found only"),
        "{err}"
    );
}
