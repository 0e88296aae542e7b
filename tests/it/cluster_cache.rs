//! The cluster cache (issue 16): a cold `up` copies a pristine PostgreSQL
//! cluster made once per machine instead of running `initdb`. Each test
//! has a cache of its own (`BERTH_CACHE_DIR`), so what it sees in it is
//! its own doing.

use std::path::PathBuf;

use super::*;

fn stack(name: &str) -> Sandbox {
    Sandbox::new(&format!(
        r#"name = "{name}"

[services.db]
kind = "postgres"
user = "app"
database = "app"

[env.vars]
DATABASE_URL = "${{db.url}}"
PG_HOST = "${{db.host}}"
PG_PORT = "${{db.port}}"
PG_PASSWORD = "${{db.password}}"
"#
    ))
}

struct Cache(tempfile::TempDir);

impl Cache {
    fn new() -> Cache {
        Cache(tempfile::tempdir().unwrap())
    }

    fn run(&self, s: &Sandbox, args: &[&str]) -> Output {
        s.cmd(args)
            .env("BERTH_CACHE_DIR", self.0.path())
            // Native stacks, no engine: `cache clean` must not remove the
            // volume templates the container tests share.
            .env("DOCKER_HOST", "unix:///nonexistent/berth-test.sock")
            .output()
            .unwrap()
    }

    fn ok(&self, s: &Sandbox, args: &[&str]) -> Output {
        let out = self.run(s, args);
        assert!(out.status.success(), "berth {args:?}: {}", describe(&out));
        out
    }

    /// `berth cache --json`'s entries.
    fn entries(&self, s: &Sandbox) -> Vec<serde_json::Value> {
        let out = self.ok(s, &["cache", "--json"]);
        let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        report["entries"].as_array().unwrap().clone()
    }

    fn skeleton_data(&self, key: &str) -> PathBuf {
        self.0.path().join("skeletons").join(key).join("data")
    }
}

/// Whether `password` logs in as `app` to the stack whose env file is `env`.
fn logs_in(env: &BTreeMap<String, String>, password: &str) -> bool {
    let url = format!(
        "postgres://app:{password}@{}:{}/app",
        env["PG_HOST"], env["PG_PORT"]
    );
    postgres::Client::connect(&url, postgres::NoTls).is_ok()
}

#[test]
fn stacks_made_from_the_cache_accept_only_their_own_passwords() {
    let cache = Cache::new();
    let a = stack("cache-a");
    let b = stack("cache-b");
    cache.ok(&a, &["up"]);
    let entries = cache.entries(&a);
    assert_eq!(
        entries.len(),
        1,
        "the first cold up fills the cache: {entries:?}"
    );
    assert!(entries[0]["describes"]
        .as_str()
        .unwrap()
        .starts_with("initdb -U app"));
    assert_eq!(entries[0]["sound"], true);
    cache.ok(&b, &["up"]);
    assert_eq!(cache.entries(&b).len(), 1, "the second one copies it");

    let (env_a, env_b) = (a.env(".env"), b.env(".env"));
    assert_each_takes_only_its_own_password(logs_in, &env_a, &env_b, "PG_PASSWORD");
    // The cache's own password was thrown away when it was made: no file
    // of the cache holds a password, and each stack's verifier is its own.
    let verifier = |env: &BTreeMap<String, String>| -> String {
        pg(&env["DATABASE_URL"])
            .query_one(
                "SELECT rolpassword FROM pg_authid WHERE rolname = 'app'",
                &[],
            )
            .unwrap()
            .get(0)
    };
    assert_ne!(verifier(&env_a), verifier(&env_b));
    let key = entries[0]["key"].as_str().unwrap();
    assert!(!cache
        .0
        .path()
        .join("skeletons")
        .join(key)
        .join("pwfile")
        .exists());
    for env in [&env_a, &env_b] {
        let found = Command::new("grep")
            .args(["-rl", &env["PG_PASSWORD"]])
            .arg(cache.0.path())
            .output()
            .unwrap();
        assert!(
            found.stdout.is_empty(),
            "a password in the cache: {}",
            stdout(&found)
        );
    }
    // And `doctor` shows the cache.
    let doctor: serde_json::Value =
        serde_json::from_slice(&cache.ok(&a, &["doctor", "--json"]).stdout).unwrap();
    assert_eq!(doctor["cache"]["entries"].as_array().unwrap().len(), 1);
}

#[test]
fn a_damaged_cache_is_detected_and_rebuilt() {
    let cache = Cache::new();
    let s = stack("cache-damaged");
    cache.ok(&s, &["up"]);
    cache.ok(&s, &["reset", "--yes", "--no-snapshot"]);
    let key = cache.entries(&s)[0]["key"].as_str().unwrap().to_string();
    let control = cache.skeleton_data(&key).join("global/pg_control");
    let mut bytes = std::fs::read(&control).unwrap();
    bytes[100] ^= 0xff;
    std::fs::write(&control, bytes).unwrap();
    assert_eq!(cache.entries(&s)[0]["sound"], false, "damage is seen");

    cache.ok(&s, &["up"]);
    let env = s.env(".env");
    assert!(logs_in(&env, &env["PG_PASSWORD"]), "the stack works");
    let log = std::fs::read_to_string(s.state_dir("cache-damaged").join("logs/db.log")).unwrap();
    assert!(
        log.contains("the cached skeleton of this server was not used (its files do not match their checksum"),
        "{log}"
    );
    let entries = cache.entries(&s);
    assert_eq!(entries.len(), 1);
    assert_eq!(entries[0]["sound"], true, "rebuilt: {entries:?}");

    // The servers' versions, remembered there too, are forgotten with it.
    let versions = cache.0.path().join("versions.json");
    let remembered = std::fs::read_to_string(&versions).unwrap();
    assert!(remembered.contains("postgres --version"), "{remembered}");
    cache.ok(&s, &["cache", "clean"]);
    assert!(cache.entries(&s).is_empty());
    assert!(!versions.exists());
}

#[test]
fn two_processes_filling_an_empty_cache_build_it_once() {
    let cache = Cache::new();
    let (a, b) = (stack("cache-race-a"), stack("cache-race-b"));
    let steps = cache.0.path().join("steps");
    let started: Vec<_> = [&a, &b]
        .iter()
        .map(|s| {
            s.cmd(&["up"])
                .env("BERTH_CACHE_DIR", cache.0.path())
                .env("BERTH_TEST_STEPS", &steps)
                .stdout(Stdio::null())
                .stderr(Stdio::piped())
                .spawn()
                .unwrap()
        })
        .collect();
    for child in started {
        let out = child.wait_with_output().unwrap();
        assert!(out.status.success(), "{}", describe(&out));
    }
    let steps = std::fs::read_to_string(&steps).unwrap();
    assert_eq!(
        steps.lines().filter(|l| *l == "skeleton:built").count(),
        1,
        "{steps}"
    );
    assert_eq!(cache.entries(&a).len(), 1);
    for s in [&a, &b] {
        let env = s.env(".env");
        assert!(logs_in(&env, &env["PG_PASSWORD"]));
    }
}
