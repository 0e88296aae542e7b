//! Integration tests: the `berth` binary against real PostgreSQL and Redis
//! servers. Each test works in its own temporary project directory, so it
//! has its own stack, state directory and ports, and tests run in parallel
//! without touching a developer's own stacks. A sandbox resets its stack
//! when dropped, so no server outlives its test, and the first sandbox of
//! a run clears what a killed earlier run left (`leftovers`).

mod architecture;
mod clients;
mod cluster_cache;
mod compose;
mod concurrency;
mod config_errors;
mod containers;
mod conveniences;
mod crash;
mod dashboard;
mod deadlines;
mod envfile;
mod examples;
mod foreground;
mod generic;
mod init_scripts;
mod leftovers;
mod lifecycle;
mod migrations;
mod object_store;
mod overrides;
mod owned_paths;
mod pooler;
mod preflight;
mod readme;
mod recovery;
mod root_friendly;
mod snapshots;
mod testing_library;
mod volume_templates;

use std::collections::BTreeMap;
use std::net::TcpListener;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::Duration;

use leftovers::kill_recorded;

pub struct Sandbox {
    dir: tempfile::TempDir,
    /// Variables every `berth` of this sandbox gets (`set_env`).
    env: std::cell::RefCell<Vec<(String, String)>>,
}

impl Sandbox {
    /// A project directory holding `berth.toml` with `stack_file`.
    pub fn new(stack_file: &str) -> Sandbox {
        leftovers::remove_orphans_once();
        let dir = tempfile::Builder::new()
            .prefix(&leftovers::sandbox_prefix())
            .tempdir()
            .expect("temp dir");
        // Servers run as an unprivileged user when tests run as root; it
        // must be able to enter the project directory.
        std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
        let sandbox = Sandbox {
            dir,
            env: Default::default(),
        };
        sandbox.write_stack(stack_file);
        sandbox
    }

    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    pub fn write_stack(&self, text: &str) {
        std::fs::write(self.path().join("berth.toml"), text).unwrap();
    }

    /// `berth ARGS` in the project directory, with no terminal and none of
    /// the caller's `BERTH_*` variables.
    pub fn cmd(&self, args: &[&str]) -> Berth {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_berth"));
        cmd.args(args).current_dir(self.path()).stdin(Stdio::null());
        for (k, _) in std::env::vars() {
            if k.starts_with("BERTH_") || k == "NO_COLOR" {
                cmd.env_remove(k);
            }
        }
        cmd.envs(self.env.borrow().iter().map(|(k, v)| (k, v)));
        Berth(cmd)
    }

    /// Give every later `berth` of this sandbox `key=value`.
    pub fn set_env(&self, key: &str, value: &str) {
        self.env.borrow_mut().push((key.into(), value.into()));
    }

    pub fn run(&self, args: &[&str]) -> Output {
        self.cmd(args).output().expect("berth runs")
    }

    /// Run and require success, showing the output otherwise.
    pub fn ok(&self, args: &[&str]) -> Output {
        let out = self.run(args);
        assert!(
            out.status.success(),
            "berth {args:?} failed:\n{}",
            describe(&out)
        );
        out
    }

    pub fn state_dir(&self, stack: &str) -> PathBuf {
        self.path().join(".berth").join(stack)
    }

    /// The env file as a map.
    pub fn env(&self, file: &str) -> BTreeMap<String, String> {
        let text = std::fs::read_to_string(self.path().join(file)).expect("env file exists");
        parse_env(&text)
    }
}

/// A `berth` command of a test. Its output is checked for a panic: no
/// input, however bad, may make berth panic, so every error path the tests
/// take is also a check of that.
pub struct Berth(Command);

impl Berth {
    pub fn env(
        &mut self,
        key: impl AsRef<std::ffi::OsStr>,
        value: impl AsRef<std::ffi::OsStr>,
    ) -> &mut Berth {
        self.0.env(key, value);
        self
    }

    pub fn stdout(&mut self, cfg: Stdio) -> &mut Berth {
        self.0.stdout(cfg);
        self
    }

    pub fn stderr(&mut self, cfg: Stdio) -> &mut Berth {
        self.0.stderr(cfg);
        self
    }

    pub fn output(&mut self) -> std::io::Result<Output> {
        let out = self.0.output()?;
        assert_no_panic(&out);
        Ok(out)
    }

    /// Started, not waited for (the test kills it or waits itself).
    pub fn spawn(&mut self) -> std::io::Result<std::process::Child> {
        self.0.spawn()
    }
}

pub fn assert_no_panic(out: &Output) {
    for stream in [&out.stdout, &out.stderr] {
        assert!(
            !String::from_utf8_lossy(stream).contains("panicked"),
            "berth panicked:\n{}",
            describe(out)
        );
    }
}

impl Drop for Sandbox {
    fn drop(&mut self) {
        // Stop every stack this sandbox started (any profile or name).
        let berth = self.path().join(".berth");
        let stacks: Vec<String> = std::fs::read_dir(&berth)
            .map(|d| {
                d.flatten()
                    .map(|e| e.file_name().to_string_lossy().into_owned())
                    .collect()
            })
            .unwrap_or_default();
        for stack in stacks {
            // A profile's stack (`app-prod`) is reset with its profile,
            // which may run it elsewhere (in containers).
            let profile = self.profile_of(&stack);
            let mut args = vec!["--name", stack.as_str(), "reset", "--yes", "--no-snapshot"];
            if let Some(p) = &profile {
                args.splice(0..0, ["-p", p.as_str()]);
            }
            let _ = self.cmd(&args).output();
            let dir = berth.join(&stack);
            if dir.exists() {
                // The stack file may no longer load (a test broke it on
                // purpose): stop what runs from its run records.
                kill_recorded(&dir);
            }
        }
        leftovers::remove_of(self.path());
    }
}

impl Sandbox {
    /// The profile whose stack is `stack` (`<name>-<profile>`), if any.
    fn profile_of(&self, stack: &str) -> Option<String> {
        let text = std::fs::read_to_string(self.path().join("berth.toml")).ok()?;
        let file: toml::Table = toml::from_str(&text).ok()?;
        let name = file.get("name")?.as_str()?;
        let profiles = file.get("profiles")?.as_table()?;
        profiles
            .keys()
            .find(|p| stack == format!("{name}-{p}"))
            .cloned()
    }
}

pub fn parse_env(text: &str) -> BTreeMap<String, String> {
    text.lines()
        .filter(|l| !l.starts_with('#') && l.contains('='))
        .map(|l| {
            let (k, v) = l.split_once('=').unwrap();
            (k.to_string(), v.trim_matches('"').to_string())
        })
        .collect()
}

pub fn describe(out: &Output) -> String {
    format!(
        "exit: {:?}\n--- stdout\n{}--- stderr\n{}",
        out.status.code(),
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

pub fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

pub fn stdout(out: &Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// A loopback port free right now.
pub fn free_port() -> u16 {
    TcpListener::bind(("127.0.0.1", 0))
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// A Postgres + Redis stack on auto ports. `redis_persist` decides whether
/// Redis keeps keys across restarts.
pub fn pg_redis_stack(name: &str, redis_persist: bool) -> String {
    format!(
        r#"name = "{name}"

[services.db]
kind = "postgres"
user = "app"
database = "app"

[services.cache]
kind = "redis"
persist = {redis_persist}

[env]
file = ".env"
[env.vars]
DATABASE_URL = "${{db.url}}"
REDIS_HOST = "${{cache.host}}"
REDIS_PORT = "${{cache.port}}"
REDIS_PASSWORD = "${{cache.password}}"
"#
    )
}

pub fn pg(url: &str) -> postgres::Client {
    postgres::Client::connect(url, postgres::NoTls)
        .unwrap_or_else(|e| panic!("connect to {url}: {e}"))
}

/// `redis-cli` (a real, independent client) against the env file's values.
pub fn redis_cli(env: &BTreeMap<String, String>, args: &[&str]) -> String {
    let out = Command::new("redis-cli")
        .args([
            "-h",
            &env["REDIS_HOST"],
            "-p",
            &env["REDIS_PORT"],
            "-a",
            &env["REDIS_PASSWORD"],
            "--no-auth-warning",
        ])
        .args(args)
        .output()
        .expect("redis-cli runs (it comes with redis-server)");
    assert!(
        out.status.success(),
        "redis-cli {args:?}: {}",
        describe(&out)
    );
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

/// Two stacks' servers each let their user in with their own password
/// (`key` in each env file) and refuse the other's.
pub fn assert_each_takes_only_its_own_password(
    logs_in: impl Fn(&BTreeMap<String, String>, &str) -> bool,
    a: &BTreeMap<String, String>,
    b: &BTreeMap<String, String>,
    key: &str,
) {
    assert_ne!(a[key], b[key], "two stacks, two passwords");
    assert!(logs_in(a, &a[key]), "a takes its own password");
    assert!(logs_in(b, &b[key]), "b takes its own password");
    assert!(!logs_in(a, &b[key]), "a refuses b's password");
    assert!(!logs_in(b, &a[key]), "b refuses a's password");
}

pub fn wait_until(what: &str, timeout: Duration, mut cond: impl FnMut() -> bool) {
    let start = std::time::Instant::now();
    while !cond() {
        assert!(start.elapsed() < timeout, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(5));
    }
}
