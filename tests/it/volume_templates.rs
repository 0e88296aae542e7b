//! A container's new PostgreSQL volume copied from a template the image
//! initialized once (issue 16). Each test names a superuser of its own,
//! which is part of the template's key, so it sees a template of its own
//! however the other tests run; it removes it at the end.

use std::os::unix::process::ExitStatusExt;

use super::containers::{engine, PG_IMAGE};
use super::*;

/// The line our image (like the official one) logs when it initialized a
/// volume itself.
const IMAGE_INIT_LINE: &str = "init process complete";
const MARKER: &str = ".berth-template-complete";

/// A superuser name no earlier run has a template for.
fn fresh_user(what: &str) -> String {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .subsec_nanos();
    format!("tpl_{what}_{}_{nanos}", std::process::id())
}

fn pg_stack(name: &str, user: &str) -> Sandbox {
    Sandbox::new(&format!(
        "name = \"{name}\"\nruntime = \"container\"\n[services.db]\nkind = \"postgres\"\nimage = \"{PG_IMAGE}\"\nuser = \"{user}\"\ndatabase = \"app\"\n"
    ))
}

/// The engine's templates for superuser `user`, as `berth cache` lists
/// them.
fn templates_for(s: &Sandbox, user: &str) -> Vec<serde_json::Value> {
    let out = s.ok(&["cache", "--json"]);
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let wanted = format!("POSTGRES_USER={user} POSTGRES_DB=app");
    report["volume_templates"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|t| t["env"] == wanted.as_str())
        .cloned()
        .collect()
}

/// The one usable template for `user`: its volume name.
fn the_template(s: &Sandbox, user: &str) -> String {
    let found = templates_for(s, user);
    assert_eq!(found.len(), 1, "one template for `{user}`: {found:?}");
    assert_eq!(found[0]["usable"], true, "{found:?}");
    found[0]["volume"].as_str().unwrap().to_string()
}

/// Whether the server's log shows the image initializing the volume.
fn image_initialized(s: &Sandbox) -> bool {
    stdout(&s.ok(&["logs", "db"])).contains(IMAGE_INIT_LINE)
}

fn logs_in(env: &std::collections::BTreeMap<String, String>, password: &str) -> bool {
    let url = format!(
        "postgres://{}:{password}@{}:{}/app",
        env["DB_USER"], env["DB_HOST"], env["DB_PORT"]
    );
    postgres::Client::connect(&url, postgres::NoTls).is_ok()
}

/// `sh -c SCRIPT` in a throwaway container of the image with `volume` at
/// `/t`; whether it succeeded.
fn in_volume(volume: &str, script: &str) -> bool {
    Command::new("docker")
        .args(["run", "--rm", "--network", "none", "-v"])
        .arg(format!("{volume}:/t"))
        .args(["--entrypoint", "sh", PG_IMAGE, "-c", script])
        .status()
        .unwrap()
        .success()
}

fn remove_volume(volume: &str) {
    let _ = Command::new("docker")
        .args(["volume", "rm", "-f", volume])
        .output();
}

#[test]
fn stacks_made_from_one_template_each_accept_only_their_own_password() {
    if !engine() {
        return;
    }
    let user = fresh_user("pw");
    let (a, b) = (pg_stack("tpl-pw-a", &user), pg_stack("tpl-pw-b", &user));
    a.ok(&["up"]);
    b.ok(&["up"]);
    let template = the_template(&a, &user);
    assert!(
        !image_initialized(&a) && !image_initialized(&b),
        "both copied the template"
    );

    let (env_a, env_b) = (a.env(".env"), b.env(".env"));
    assert_each_takes_only_its_own_password(logs_in, &env_a, &env_b, "DB_PASSWORD");
    // What the template was initialized with opens neither.
    assert!(!logs_in(&env_a, "berth-template"));
    assert!(!logs_in(&env_b, "berth-template"));
    // The template itself has no password left (NULL), and no marker
    // reached the stacks' data.
    assert!(in_volume(
        &template,
        "grep -q 'host all all all scram-sha-256' /t/pg_hba.conf && [ -f /t/.berth-template-complete ]"
    ));
    let mut db = pg(&env_a["DB_URL"]);
    let verifier: Option<String> = db
        .query_one(
            "SELECT rolpassword FROM pg_authid WHERE rolname = current_user",
            &[],
        )
        .unwrap()
        .get(0);
    assert!(verifier.unwrap().starts_with("SCRAM-SHA-256$4096:"));
    let marker: bool = db
        .query_one(
            &format!("SELECT '{MARKER}' = ANY(ARRAY(SELECT pg_ls_dir('.')))"),
            &[],
        )
        .unwrap()
        .get(0);
    assert!(
        !marker,
        "the template's marker was copied into the stack's data"
    );

    a.ok(&["reset", "--yes", "--no-snapshot"]);
    b.ok(&["reset", "--yes", "--no-snapshot"]);
    remove_volume(&template);
}

#[test]
fn a_template_without_its_marker_is_built_again() {
    if !engine() {
        return;
    }
    let user = fresh_user("damaged");
    let s = pg_stack("tpl-damaged", &user);
    s.ok(&["up"]);
    let template = the_template(&s, &user);
    // A build cut short leaves no marker; so does this.
    assert!(in_volume(&template, &format!("rm /t/{MARKER}")));

    s.ok(&["reset", "--yes", "--no-snapshot"]);
    s.ok(&["up"]);
    let env = s.env(".env");
    assert!(logs_in(&env, &env["DB_PASSWORD"]));
    assert!(
        !image_initialized(&s),
        "the stack copied the rebuilt template"
    );
    let rebuilt = the_template(&s, &user);
    assert!(
        in_volume(&rebuilt, &format!("[ -f /t/{MARKER} ]")),
        "rebuilt whole"
    );

    s.ok(&["reset", "--yes", "--no-snapshot"]);
    remove_volume(&rebuilt);
}

#[test]
fn two_stacks_starting_at_once_build_one_template() {
    if !engine() {
        return;
    }
    let user = fresh_user("race");
    let stacks = [pg_stack("tpl-race-a", &user), pg_stack("tpl-race-b", &user)];
    let started: Vec<_> = stacks
        .iter()
        .map(|s| {
            s.cmd(&["up"])
                .env("BERTH_TEST_STEPS", s.path().join(".steps"))
                .stdout(Stdio::piped())
                .stderr(Stdio::piped())
                .spawn()
                .unwrap()
        })
        .collect();
    for child in started {
        let out = child.wait_with_output().unwrap();
        assert!(out.status.success(), "{}", describe(&out));
    }
    let built: usize = stacks
        .iter()
        .map(|s| {
            std::fs::read_to_string(s.path().join(".steps"))
                .unwrap()
                .lines()
                .filter(|p| *p == "template:built")
                .count()
        })
        .sum();
    assert_eq!(built, 1, "the template was built {built} times");
    let template = the_template(&stacks[0], &user);
    for s in &stacks {
        let env = s.env(".env");
        assert!(logs_in(&env, &env["DB_PASSWORD"]));
        assert!(!image_initialized(s), "both copied the one template");
        s.ok(&["reset", "--yes", "--no-snapshot"]);
    }
    remove_volume(&template);
}

/// A cold `up` building the template, killed at each of its points (and
/// where it fills the stack's volume): the next `up` brings a stack that
/// works, from a whole template.
#[test]
fn up_building_a_template_killed_at_every_point_recovers() {
    if !engine() {
        return;
    }
    for point in [
        "template:builder created",
        "template:built",
        "db:volume filled",
        "db:secret set",
    ] {
        let user = fresh_user("killed");
        let s = pg_stack("tpl-killed", &user);
        let out = s
            .cmd(&["up"])
            .env("BERTH_TEST_KILL_AT", point)
            .output()
            .unwrap();
        assert_eq!(
            out.status.signal(),
            Some(9),
            "at `{point}`: {}",
            describe(&out)
        );
        s.ok(&["up"]);
        let env = s.env(".env");
        assert!(logs_in(&env, &env["DB_PASSWORD"]), "at `{point}`");
        let template = the_template(&s, &user);
        assert!(
            in_volume(&template, &format!("[ -f /t/{MARKER} ]")),
            "at `{point}`"
        );
        // A new stack from it is made by copying.
        s.ok(&["reset", "--yes", "--no-snapshot"]);
        s.ok(&["up"]);
        assert!(!image_initialized(&s), "at `{point}`: copied");
        s.ok(&["reset", "--yes", "--no-snapshot"]);
        remove_volume(&template);
    }
}

/// An image with init scripts of its own initializes every new volume
/// itself (its scripts run for each stack), and its template is only the
/// marker saying so.
#[test]
fn an_image_with_init_scripts_initializes_each_volume_itself() {
    if !engine() {
        return;
    }
    let context = tempfile::tempdir().unwrap();
    std::fs::write(
        context.path().join("Dockerfile"),
        format!("FROM {PG_IMAGE}\nCOPY 01_marker.sql /docker-entrypoint-initdb.d/\n"),
    )
    .unwrap();
    std::fs::write(
        context.path().join("01_marker.sql"),
        "CREATE TABLE made_by_init_script (n int);\n",
    )
    .unwrap();
    let image = "berth-test/postgres-initscripts:15";
    let built = Command::new("docker")
        .args(["build", "-q", "-t", image])
        .arg(context.path())
        .output()
        .unwrap();
    assert!(built.status.success(), "{}", describe(&built));

    let user = fresh_user("scripts");
    let s = Sandbox::new(&format!(
        "name = \"tpl-scripts\"\nruntime = \"container\"\n[services.db]\nkind = \"postgres\"\nimage = \"{image}\"\nuser = \"{user}\"\ndatabase = \"app\"\n"
    ));
    for round in ["first", "after reset"] {
        s.ok(&["up"]);
        assert!(
            image_initialized(&s),
            "{round}: the image initialized the volume"
        );
        let mut db = pg(&s.env(".env")["DB_URL"]);
        let table: Option<String> = db
            .query_one("SELECT to_regclass('made_by_init_script')::text", &[])
            .unwrap()
            .get(0);
        assert!(table.is_some(), "{round}: the image's init script ran");
        s.ok(&["reset", "--yes", "--no-snapshot"]);
    }
    let found = templates_for(&s, &user);
    assert_eq!(found.len(), 1, "{found:?}");
    assert_eq!(found[0]["usable"], false, "{found:?}");
    remove_volume(found[0]["volume"].as_str().unwrap());
    let _ = Command::new("docker").args(["rmi", "-f", image]).output();
}
