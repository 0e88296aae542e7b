//! Generic services on the native runtime: any command, with an http probe
//! that depends on Postgres and an exec probe.

use super::*;

/// The test HTTP server the container images also carry.
pub fn httpd_script() -> String {
    format!("{}/images/httpd/httpd.pl", env!("CARGO_MANIFEST_DIR"))
}

/// `GET path` on loopback `port`: the status code and body, or `None`
/// when nothing answers.
pub fn http_get(port: u16, path: &str) -> Option<(u16, String)> {
    use std::io::{Read, Write};
    let mut conn = std::net::TcpStream::connect(("127.0.0.1", port)).ok()?;
    conn.set_read_timeout(Some(Duration::from_secs(5))).ok()?;
    write!(conn, "GET {path} HTTP/1.0\r\nHost: localhost\r\n\r\n").ok()?;
    let mut text = String::new();
    conn.read_to_string(&mut text).ok()?;
    let status = text.split_whitespace().nth(1)?.parse().ok()?;
    let body = text.split_once("\r\n\r\n").map(|(_, b)| b.to_string())?;
    Some((status, body))
}

/// `flags/` in the project, where the services' commands leave marks:
/// open to all, as they may run as an unprivileged user (berth as root).
fn flags_dir(s: &Sandbox) -> std::path::PathBuf {
    let flags = s.path().join("flags");
    std::fs::create_dir(&flags).unwrap();
    std::fs::set_permissions(&flags, std::fs::Permissions::from_mode(0o777)).unwrap();
    flags
}

#[test]
fn a_native_command_with_http_and_exec_probes_starts_after_its_database() {
    let stack = format!(
        r#"name = "gen-native"

[services.db]
kind = "postgres"

[services.api]
command = ["perl", "{httpd}"]
env = {{ DB_HOST = "${{db.host}}", DB_PORT = "${{db.port}}" }}
ready = {{ http = "/health" }}
depends_on = ["db"]

[services.worker]
command = ["sh", "-c", "sleep 1; touch flags/worker.ready; exec sleep 600"]
ready = {{ exec = ["test", "-e", "flags/worker.ready"] }}
depends_on = ["api"]
"#,
        httpd = httpd_script()
    );
    let s = Sandbox::new(&stack);
    let flags = flags_dir(&s);

    let up = s.ok(&["up", "--json"]);
    let reports: serde_json::Value = serde_json::from_slice(&up.stdout).unwrap();
    let kinds: Vec<&str> = reports
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["kind"].as_str().unwrap())
        .collect();
    assert_eq!(kinds, ["postgres", "generic", "generic"]);
    // `up` returned only once the exec probe passed.
    assert!(flags.join("worker.ready").exists());

    let env = s.env(".env");
    let api_port: u16 = env["API_PORT"].parse().unwrap();
    assert_eq!(
        http_get(api_port, "/health"),
        Some((200, "db reachable\n".to_string())),
        "the api reaches the database through the values berth gave it"
    );
    let status = stdout(&s.ok(&["status"]));
    for svc in ["db", "api", "worker"] {
        assert!(
            status
                .lines()
                .any(|l| l.starts_with(svc) && l.contains("ready")),
            "{status}"
        );
    }

    s.ok(&["down"]);
    assert_eq!(http_get(api_port, "/health"), None, "down stops the api");
}

#[test]
fn a_hanging_exec_probe_is_cut_off_and_up_fails_instead_of_hanging() {
    let s = Sandbox::new(
        r#"name = "gen-hang"

[services.worker]
command = ["sleep", "600"]
ready = { exec = ["sleep", "600"] }
ready_timeout = "1s"
"#,
    );
    let out = s.run(&["up"]);
    assert_eq!(out.status.code(), Some(4), "{}", describe(&out));
    assert!(
        stderr(&out).contains("`sleep 600` did not finish within 10.00s"),
        "{}",
        describe(&out)
    );
}

/// A chosen port another program takes between `up`'s preflight and the
/// server's own bind: `up` moves it and starts the service again. The
/// server here says what a real one says the first time it runs.
#[test]
fn a_chosen_port_taken_as_the_server_starts_is_moved_and_the_start_retried() {
    let stack = format!(
        r#"name = "gen-race"

[services.api]
command = ["sh", "-c", "if [ ! -e flags/raced ]; then touch flags/raced; echo 'bind: Address already in use' >&2; exit 1; fi; exec perl {httpd}"]
ready = {{ http = "/health" }}
"#,
        httpd = httpd_script()
    );
    let s = Sandbox::new(&stack);
    let flags = flags_dir(&s);

    let up = s.ok(&["up"]);
    let err = stderr(&up);
    let port: u16 = s.env(".env")["API_PORT"].parse().unwrap();
    let moved = err
        .lines()
        .find(|l| l.contains("was taken as its server started; moved to port"))
        .unwrap_or_else(|| panic!("no word of the move: {err}"));
    assert!(moved.ends_with(&format!("moved to port {port}")), "{moved}");
    assert!(flags.join("raced").exists(), "the first start failed");
    assert!(
        http_get(port, "/health").is_some_and(|(code, _)| code == 200),
        "the api answers on its new port"
    );
    s.ok(&["down"]);
}
