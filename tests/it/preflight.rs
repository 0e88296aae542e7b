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

/// Issue 33: an extension the chosen version lacks is named with the
/// installed version that has it, before anything starts; without a
/// version, the install that has it is chosen; `doctor` lists each
/// install's extensions. The machine has Debian's PostgreSQL 15 (with
/// contrib, without pgvector) and PostgreSQL 16 with pgvector only in
/// `/usr/pgsql-16` (`scripts/setup --all`).
#[test]
fn issue_33_an_extension_the_version_lacks_names_the_install_that_has_it() {
    let s = Sandbox::new(
        "name = \"ext\"\n[services.db]\nkind = \"postgres\"\nversion = \"15\"\nextensions = [\"vector\"]\n",
    );
    let out = s.run(&["up"]);
    assert_eq!(out.status.code(), Some(3), "{}", describe(&out));
    let err = stderr(&out);
    assert!(
        err.contains("service `db` asks for extension `vector`, but postgres 15.")
            && err.contains("lacks `vector`")
            && err.contains("/usr/pgsql-16/bin` has it")
            && err.contains("version = \"16\""),
        "{err}"
    );
    assert!(
        !s.path().join(".berth/ext/services/db").exists(),
        "no data made"
    );

    // Without a version, the install that has it serves.
    s.write_stack(
        "name = \"ext\"\n[services.db]\nkind = \"postgres\"\nextensions = [\"vector\", \"plpgsql\"]\n",
    );
    let doctor = s.ok(&["doctor", "--json"]);
    let report: serde_json::Value = serde_json::from_slice(&doctor.stdout).unwrap();
    let installs = report["installs"].as_array().unwrap();
    let chosen: Vec<&serde_json::Value> = installs.iter().filter(|i| i["chosen"] == true).collect();
    assert_eq!(chosen.len(), 1, "{installs:#?}");
    assert!(chosen[0]["dir"]
        .as_str()
        .unwrap()
        .starts_with("/usr/pgsql-16"));
    let debian = installs
        .iter()
        .find(|i| i["version"].as_str().unwrap().starts_with("15."))
        .expect("Debian's 15 is listed");
    let has: Vec<&str> = debian["has"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap())
        .collect();
    assert!(
        has.contains(&"pgcrypto") && has.contains(&"uuid-ossp"),
        "{has:?}"
    );
    assert_eq!(debian["lacks"], serde_json::json!(["vector"]));
    s.ok(&["up"]);
    let env = s.env(".env");
    let url = env
        .values()
        .find(|v| v.starts_with("postgresql://"))
        .unwrap();
    let mut db = pg(url);
    let version: String = db.query_one("SHOW server_version", &[]).unwrap().get(0);
    assert!(version.starts_with("16."), "{version}");
    let n: i64 = db
        .query_one(
            "SELECT count(*) FROM pg_extension WHERE extname = 'vector'",
            &[],
        )
        .unwrap()
        .get(0);
    assert_eq!(n, 1);
}
