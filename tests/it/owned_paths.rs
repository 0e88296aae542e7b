//! Issue 34: berth deletes and writes only what it made. A state directory
//! is berth's own or refused; `reset` leaves what berth did not make (a
//! foreign file, an env file it did not write or that changed); no link
//! planted in the state directory is followed; modes hold whatever the
//! umask; no generated secret is on any command line.

use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::process::Command;

use super::*;

/// A Redis alone: the quickest real server, for what is about files.
fn cache_stack(name: &str) -> String {
    format!("name = \"{name}\"\n\n[services.cache]\nkind = \"redis\"\n")
}

/// The project's own files, as a team has them.
fn project_files(s: &Sandbox) -> Vec<(PathBuf, String)> {
    let files = [
        ("app.py", "print('hello')\n"),
        (
            "migrations/postgres/001_init.sql",
            "CREATE TABLE t (i int);\n",
        ),
        ("services/api/main.go", "package main\n"),
    ];
    for (path, text) in files {
        let path = s.path().join(path);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(&path, text).unwrap();
    }
    let mut all: Vec<(PathBuf, String)> = files
        .iter()
        .map(|(p, t)| (s.path().join(p), t.to_string()))
        .collect();
    let stack = s.path().join("berth.toml");
    all.push((stack.clone(), std::fs::read_to_string(&stack).unwrap()));
    all
}

fn assert_all_there(files: &[(PathBuf, String)]) {
    for (path, text) in files {
        let now = std::fs::read_to_string(path)
            .unwrap_or_else(|e| panic!("`{}` is gone: {e}", path.display()));
        assert_eq!(&now, text, "`{}` changed", path.display());
    }
}

/// Resets a stack whose state is in a `--state-dir` when the test ends,
/// passed or not: the sandbox resets only `.berth/`'s.
struct StateDirGuard<'a> {
    sandbox: &'a Sandbox,
    dir: &'a str,
}

impl Drop for StateDirGuard<'_> {
    fn drop(&mut self) {
        let _ = self
            .sandbox
            .cmd(&["--state-dir", self.dir, "reset", "--yes", "--no-snapshot"])
            .output();
        kill_recorded(&self.sandbox.path().join(self.dir));
    }
}

#[test]
fn issue_34_a_state_dir_that_is_the_project_or_holds_it_is_refused() {
    let s = Sandbox::new(&cache_stack("own-project"));
    let files = project_files(&s);
    for dir in [".", "..", "services/.."] {
        for args in [
            vec!["--state-dir", dir, "up"],
            vec!["--state-dir", dir, "reset", "--yes"],
        ] {
            let out = s.run(&args);
            assert_eq!(out.status.code(), Some(2), "{args:?}: {}", describe(&out));
            let err = stderr(&out);
            assert!(
                err.contains("the project directory")
                    && err.contains("hint: name a directory of berth's own"),
                "{args:?}: {err}"
            );
            assert_all_there(&files);
        }
    }
    assert!(!s.path().join("state.json").exists());
    assert!(!s.path().join("run").exists());
}

#[test]
fn issue_34_a_foreign_file_in_a_state_dir_survives_and_a_foreign_dir_is_refused() {
    let s = Sandbox::new(&format!("{}persist = true\n", cache_stack("own-foreign")));
    // A directory holding someone's files is not berth's to fill.
    std::fs::create_dir(s.path().join("mine")).unwrap();
    std::fs::write(s.path().join("mine/notes.txt"), "mine\n").unwrap();
    std::fs::set_permissions(
        s.path().join("mine"),
        std::fs::Permissions::from_mode(0o750),
    )
    .unwrap();
    let out = s.run(&["--state-dir", "mine", "up"]);
    assert_eq!(out.status.code(), Some(2), "{}", describe(&out));
    assert!(
        stderr(&out).contains("holds `notes.txt`, which berth did not make"),
        "{}",
        describe(&out)
    );
    let meta = std::fs::metadata(s.path().join("mine")).unwrap();
    assert_eq!(meta.mode() & 0o777, 0o750, "its mode is left as it was");
    assert_eq!(
        std::fs::read_dir(s.path().join("mine")).unwrap().count(),
        1,
        "nothing was written there"
    );

    // A new directory is berth's; a file put there later is not.
    let _guard = StateDirGuard {
        sandbox: &s,
        dir: "state",
    };
    s.ok(&["--state-dir", "state", "up"]);
    let state = s.path().join("state");
    assert!(state.join("berth-state").is_file(), "the marker is written");
    std::fs::write(state.join("notes.txt"), "mine too\n").unwrap();
    let out = s.ok(&["--state-dir", "state", "reset", "--yes"]);
    assert!(
        stderr(&out).contains("it holds `notes.txt`, which berth did not make"),
        "{}",
        describe(&out)
    );
    assert_eq!(
        std::fs::read_to_string(state.join("notes.txt")).unwrap(),
        "mine too\n"
    );
    let mut left: Vec<String> = std::fs::read_dir(&state)
        .unwrap()
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    left.sort();
    assert_eq!(left, ["berth-state", "notes.txt"], "berth's own went");
    // Still berth's: it comes up again there.
    s.ok(&["--state-dir", "state", "up"]);
    s.ok(&["--state-dir", "state", "reset", "--yes", "--no-snapshot"]);
    assert!(state.join("notes.txt").is_file());

    // The snapshots beside it (`state.snapshots`) are berth's too, and
    // `snapshot rm` deletes only a snapshot there.
    s.ok(&["--state-dir", "state", "up"]);
    s.ok(&["--state-dir", "state", "snapshot", "save", "first"]);
    let store = s.path().join("state.snapshots");
    assert!(
        store.join("berth-snapshots").is_file(),
        "the store's marker"
    );
    std::fs::create_dir(store.join("notes")).unwrap();
    std::fs::write(store.join("notes/keep.txt"), "kept\n").unwrap();
    for name in ["notes", "../state", "../mine"] {
        let out = s.run(&["--state-dir", "state", "snapshot", "rm", name]);
        assert_ne!(out.status.code(), Some(0), "{name}: {}", describe(&out));
    }
    assert!(store.join("notes/keep.txt").is_file());
    assert!(state.join("berth-state").is_file());
    assert!(s.path().join("mine/notes.txt").is_file());
    s.ok(&["--state-dir", "state", "snapshot", "rm", "first"]);
    assert!(!store.join("first").exists());
    s.ok(&["--state-dir", "state", "down"]);

    // A directory of that name the user made is not filled: a reset that
    // would keep a snapshot there is refused before it deletes anything.
    let _other = StateDirGuard {
        sandbox: &s,
        dir: "other",
    };
    s.ok(&["--state-dir", "other", "up"]);
    std::fs::create_dir(s.path().join("other.snapshots")).unwrap();
    std::fs::write(s.path().join("other.snapshots/plan.txt"), "mine\n").unwrap();
    let out = s.run(&["--state-dir", "other", "reset", "--yes"]);
    assert_eq!(out.status.code(), Some(2), "{}", describe(&out));
    assert!(
        stderr(&out).contains("holds `plan.txt`, which berth did not make"),
        "{}",
        describe(&out)
    );
    assert!(s.path().join("other/services").is_dir(), "nothing deleted");
    s.ok(&["--state-dir", "other", "status"]);
    assert_eq!(
        std::fs::read_dir(s.path().join("other.snapshots"))
            .unwrap()
            .count(),
        1,
        "nothing written there"
    );
}

#[test]
fn issue_34_reset_deletes_the_env_file_only_while_it_is_what_berth_wrote() {
    let s = Sandbox::new(&cache_stack("own-env"));
    let env = s.path().join(".env");

    // Written by berth and unchanged: reset deletes it.
    s.ok(&["up"]);
    assert!(env.is_file());
    s.ok(&["reset", "--yes", "--no-snapshot"]);
    assert!(!env.exists());

    // Changed by the user since: kept, and said.
    s.ok(&["up"]);
    let mut text = std::fs::read_to_string(&env).unwrap();
    text.push_str("MY_OWN=1\n");
    std::fs::write(&env, &text).unwrap();
    let out = s.ok(&["reset", "--yes", "--no-snapshot"]);
    assert!(
        stderr(&out).contains("kept `.env`: it changed since berth wrote it"),
        "{}",
        describe(&out)
    );
    assert_eq!(std::fs::read_to_string(&env).unwrap(), text);

    // Not written by berth at all (never up): kept, and said.
    std::fs::write(&env, "STRIPE_KEY=sk_test_1\n").unwrap();
    let out = s.ok(&["reset", "--yes"]);
    assert!(
        stderr(&out).contains("kept `.env`: berth has no record of writing it"),
        "{}",
        describe(&out)
    );
    assert_eq!(
        std::fs::read_to_string(&env).unwrap(),
        "STRIPE_KEY=sk_test_1\n"
    );

    // Written by berth for another stack: `up` does not take it over.
    std::fs::write(
        &env,
        "# Written by berth for stack `other`; edit `berth.toml` instead\nA=1\n",
    )
    .unwrap();
    let out = s.run(&["up"]);
    assert_eq!(out.status.code(), Some(3), "{}", describe(&out));
    assert!(
        stderr(&out).contains("was written by berth for another stack"),
        "{}",
        describe(&out)
    );
}

#[test]
fn issue_34_an_env_file_outside_the_project_needs_an_opt_in_and_never_goes_under_the_system() {
    let s = Sandbox::new(&cache_stack("own-outside"));
    let other = tempfile::tempdir().unwrap();
    let secrets = other.path().join(".env");
    std::fs::write(&secrets, "OTHER_PROJECT_SECRET=1\n").unwrap();
    let stack = |file: &str, opt_in: bool| {
        format!(
            "{}\n[env]\nfile = \"{file}\"\n{}",
            cache_stack("own-outside"),
            if opt_in {
                "outside_project = true\n"
            } else {
                ""
            }
        )
    };

    // Another project's env file: refused for the stack file, before
    // anything, by `up` and `reset` alike.
    s.write_stack(&stack(&secrets.display().to_string(), false));
    for args in [vec!["up"], vec!["reset", "--yes"]] {
        let out = s.run(&args);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {}", describe(&out));
        let err = stderr(&out);
        assert!(err.contains("is outside the project directory"), "{err}");
        assert!(err.contains("outside_project = true"), "{err}");
        assert!(err.contains("berth.toml:"), "points at the line: {err}");
    }
    assert_eq!(
        std::fs::read_to_string(&secrets).unwrap(),
        "OTHER_PROJECT_SECRET=1\n"
    );

    // Under a system directory: refused even with the opt-in, also when a
    // link in the project leads there. Nothing under /etc is written or
    // deleted: the stack file is refused as it is read.
    std::os::unix::fs::symlink("/etc", s.path().join("conf")).unwrap();
    for file in ["/etc/passwd", "conf/passwd", "../../../../../../etc/passwd"] {
        s.write_stack(&stack(file, true));
        for args in [vec!["up"], vec!["reset", "--yes"]] {
            let out = s.run(&args);
            assert_eq!(
                out.status.code(),
                Some(2),
                "{file} {args:?}: {}",
                describe(&out)
            );
            assert!(
                stderr(&out).contains("is under the system directory `/etc`"),
                "{file}: {}",
                describe(&out)
            );
        }
    }

    // With the opt-in, outside the project: written, and deleted by reset
    // while it is berth's; another project's file is still not replaced.
    s.write_stack(&stack(&secrets.display().to_string(), true));
    let out = s.run(&["up"]);
    assert_eq!(out.status.code(), Some(3), "{}", describe(&out));
    let mine = other.path().join("berth.env");
    s.write_stack(&stack(&mine.display().to_string(), true));
    s.ok(&["up"]);
    assert!(std::fs::read_to_string(&mine)
        .unwrap()
        .contains("CACHE_PASSWORD="));
    s.ok(&["reset", "--yes", "--no-snapshot"]);
    assert!(!mine.exists());
    assert!(secrets.is_file());
}

/// What a link's target is: contents (a file) or names (a directory),
/// mode and owner, to check nothing touched it.
fn look(path: &Path) -> (String, u32, u32) {
    let meta = std::fs::metadata(path).unwrap();
    let what = if meta.is_dir() {
        let mut names: Vec<String> = std::fs::read_dir(path)
            .unwrap()
            .flatten()
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .collect();
        names.sort();
        names.join(",")
    } else {
        std::fs::read_to_string(path).unwrap()
    };
    (what, meta.mode() & 0o7777, meta.uid())
}

#[test]
fn issue_34_a_link_planted_at_any_path_berth_makes_leaves_its_target_untouched() {
    let s = Sandbox::new(&cache_stack("own-links"));
    s.ok(&["up"]);
    s.ok(&["down"]);
    let state = s.state_dir("own-links");
    let target = tempfile::tempdir().unwrap();
    let file = target.path().join("precious.txt");
    std::fs::write(&file, "precious\n").unwrap();
    std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o644)).unwrap();
    let dir = target.path().join("precious");
    std::fs::create_dir(&dir).unwrap();
    std::fs::write(dir.join("keep.txt"), "keep\n").unwrap();
    std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o755)).unwrap();
    let (file_before, dir_before) = (look(&file), look(&dir));

    // Each path berth makes in the state directory, with what it points at.
    let plants: [(&str, &Path); 7] = [
        ("logs/cache.log", &file),
        ("logs", &dir),
        ("services/cache", &dir),
        ("services", &dir),
        ("run", &dir),
        ("state.json", &file),
        ("lock", &file),
    ];
    for (at, to) in plants {
        let path = state.join(at);
        if path.is_dir() {
            std::fs::remove_dir_all(&path).unwrap();
        } else if path.exists() {
            std::fs::remove_file(&path).unwrap();
        }
        std::os::unix::fs::symlink(to, &path).unwrap();
        let out = s.run(&["up"]);
        assert!(!out.status.success(), "{at}: {}", describe(&out));
        assert!(
            stderr(&out).contains("is a symbolic link") && stderr(&out).contains(at),
            "{at}: {}",
            describe(&out)
        );
        assert_eq!(look(&file), file_before, "{at}: up");
        assert_eq!(look(&dir), dir_before, "{at}: up");
        // `reset` refuses the link, or deletes it with the rest (a link
        // inside `logs/`): either way its target stays.
        let out = s.run(&["reset", "--yes", "--no-snapshot"]);
        assert!(
            out.status.success() || stderr(&out).contains("is a symbolic link"),
            "{at}: {}",
            describe(&out)
        );
        assert_eq!(look(&file), file_before, "{at}: reset");
        assert_eq!(look(&dir), dir_before, "{at}: reset");
        if path.is_symlink() {
            std::fs::remove_file(&path).unwrap();
        }
        let _ = s.run(&["reset", "--yes", "--no-snapshot"]);
        s.ok(&["up"]);
        s.ok(&["down"]);
    }
    // A link in place of the state directory itself, and of `.berth/`.
    let berth = s.path().join(".berth");
    std::fs::rename(&berth, s.path().join("berth.aside")).unwrap();
    std::os::unix::fs::symlink(&dir, &berth).unwrap();
    let out = s.run(&["up"]);
    assert!(!out.status.success(), "{}", describe(&out));
    assert!(
        stderr(&out).contains("is a symbolic link"),
        "{}",
        describe(&out)
    );
    assert_eq!(look(&dir), dir_before);
    std::fs::remove_file(&berth).unwrap();
    std::fs::rename(s.path().join("berth.aside"), &berth).unwrap();
    s.ok(&["up"]);
    s.ok(&["reset", "--yes", "--no-snapshot"]);
    assert_eq!(look(&file), file_before);
    assert_eq!(look(&dir), dir_before);
}

fn mode(path: &Path) -> u32 {
    std::fs::symlink_metadata(path).unwrap().mode() & 0o777
}

#[test]
fn issue_34_modes_hold_whatever_the_umask_and_an_open_env_file_is_closed() {
    let s = Sandbox::new(&pg_redis_stack("own-modes", false));
    let up = |s: &Sandbox| {
        let out = Command::new("sh")
            .args(["-c", "umask 000; exec \"$0\" up"])
            .arg(env!("CARGO_BIN_EXE_berth"))
            .current_dir(s.path())
            .output()
            .unwrap();
        assert!(out.status.success(), "{}", describe(&out));
        out
    };
    up(&s);
    let state = s.state_dir("own-modes");
    assert_eq!(mode(&s.path().join(".berth")), 0o711);
    assert_eq!(mode(&state), 0o711);
    for secret in ["state.json", "lock", "logs/db.log", "logs/cache.log"] {
        assert_eq!(mode(&state.join(secret)), 0o600, "{secret}");
    }
    for private in ["logs", "run"] {
        assert_eq!(mode(&state.join(private)), 0o700, "{private}");
    }
    assert_eq!(mode(&state.join("services/db")), 0o700);
    assert_eq!(mode(&s.path().join(".env")), 0o600);

    // An env file someone opened up is made private again, and said.
    std::fs::set_permissions(
        s.path().join(".env"),
        std::fs::Permissions::from_mode(0o644),
    )
    .unwrap();
    let out = up(&s);
    assert!(
        stderr(&out).contains("was readable by others (mode 644)"),
        "{}",
        describe(&out)
    );
    assert_eq!(mode(&s.path().join(".env")), 0o600);
}

/// Every generated secret of the stack, from its state.
fn generated_secrets(state: &Path) -> Vec<String> {
    let text = std::fs::read_to_string(state.join("state.json")).unwrap();
    let json: serde_json::Value = serde_json::from_str(&text).unwrap();
    json["passwords"]
        .as_object()
        .unwrap()
        .values()
        .map(|v| v.as_str().unwrap().to_string())
        .collect()
}

/// The command lines of every process on the machine that holds one of
/// `secrets`.
fn command_lines_with(secrets: &[String]) -> Vec<String> {
    let mut found = Vec::new();
    for entry in std::fs::read_dir("/proc").unwrap().flatten() {
        let Ok(bytes) = std::fs::read(entry.path().join("cmdline")) else {
            continue;
        };
        let line = String::from_utf8_lossy(&bytes).replace('\0', " ");
        if secrets.iter().any(|s| line.contains(s.as_str())) {
            found.push(line);
        }
    }
    found
}

fn assert_no_secret_on_a_command_line(s: &Sandbox, stack: &str) {
    let secrets = generated_secrets(&s.state_dir(stack));
    assert!(
        secrets.len() >= 2,
        "the stack has generated secrets: {secrets:?}"
    );
    assert!(secrets.iter().all(|s| s.len() >= 8));
    let found = command_lines_with(&secrets);
    assert!(found.is_empty(), "secrets on command lines: {found:?}");
}

#[test]
fn issue_34_no_generated_secret_on_a_native_command_line() {
    let s = Sandbox::new(
        r#"name = "own-argv"

[services.db]
kind = "postgres"

[services.cache]
kind = "redis"

[services.pool]
kind = "pgbouncer"

[services.files]
kind = "s3"
"#,
    );
    s.ok(&["up"]);
    assert_no_secret_on_a_command_line(&s, "own-argv");
}

#[test]
fn issue_34_no_generated_secret_on_a_container_command_line() {
    if !super::containers::engine() {
        return;
    }
    let s = Sandbox::new(&super::containers::every_kind_stack("own-argv-ct"));
    s.ok(&["up"]);
    assert_no_secret_on_a_command_line(&s, "own-argv-ct");
    // What berth asked the engine to run, for every container.
    let secrets = generated_secrets(&s.state_dir("own-argv-ct"));
    let ids = super::containers::stack_containers("own-argv-ct");
    assert_eq!(ids.len(), 4, "every service's container");
    for id in ids {
        let out = Command::new("docker")
            .args([
                "inspect",
                "--format",
                "{{.Path}} {{json .Args}} {{json .Config.Cmd}}",
                &id,
            ])
            .output()
            .unwrap();
        let argv = stdout(&out);
        assert!(argv.len() > 4, "{}", describe(&out));
        for secret in &secrets {
            assert!(!argv.contains(secret.as_str()), "{id}: {argv}");
        }
    }
    // The password still guards Redis, and the clients still get in.
    let env = s.env(".env");
    let port = &env["CACHE_PORT"];
    let out = Command::new("redis-cli")
        .args(["-p", port, "PING"])
        .output()
        .unwrap();
    assert!(
        String::from_utf8_lossy(&out.stdout).contains("NOAUTH"),
        "{}",
        describe(&out)
    );
    let out = Command::new("redis-cli")
        .args(["-p", port, "PING"])
        .env("REDISCLI_AUTH", &env["CACHE_PASSWORD"])
        .output()
        .unwrap();
    assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), "PONG");
}

/// `berth` as an unprivileged user: `nobody` when the tests run as root
/// (the other tests here run as root), else the user running them.
struct Unprivileged {
    project: tempfile::TempDir,
    home: tempfile::TempDir,
    berth: PathBuf,
    _bin: tempfile::TempDir,
}

impl Unprivileged {
    fn new(stack: &str) -> Unprivileged {
        let made = |prefix: &str| {
            let d = tempfile::Builder::new().prefix(prefix).tempdir().unwrap();
            std::fs::set_permissions(d.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
            d
        };
        let (project, home, bin) = (
            made("berth-it-np-"),
            made("berth-it-nh-"),
            made("berth-it-nb-"),
        );
        // A copy the user can run wherever the build is.
        let berth = bin.path().join("berth");
        std::fs::copy(env!("CARGO_BIN_EXE_berth"), &berth).unwrap();
        std::fs::set_permissions(&berth, std::fs::Permissions::from_mode(0o755)).unwrap();
        std::fs::write(project.path().join("berth.toml"), stack).unwrap();
        let u = Unprivileged {
            project,
            home,
            berth,
            _bin: bin,
        };
        if Self::as_root() {
            for dir in [u.project.path(), u.home.path()] {
                let status = Command::new("chown")
                    .args(["-R", "nobody:nogroup"])
                    .arg(dir)
                    .status()
                    .unwrap();
                assert!(status.success());
            }
        }
        u
    }

    fn as_root() -> bool {
        unsafe { libc::geteuid() == 0 }
    }

    fn path(&self) -> &Path {
        self.project.path()
    }

    /// `sh -c SCRIPT` as the user, in the project, `$0` being berth.
    fn sh(&self, script: &str) -> Output {
        let mut cmd = if Self::as_root() {
            let mut c = Command::new("setpriv");
            c.args([
                "--reuid=nobody",
                "--regid=nogroup",
                "--clear-groups",
                "sh",
                "-c",
            ]);
            c
        } else {
            let mut c = Command::new("sh");
            c.arg("-c");
            c
        };
        cmd.arg(script)
            .arg(&self.berth)
            .current_dir(self.path())
            .env("HOME", self.home.path())
            .env("BERTH_CACHE_DIR", self.home.path().join("cache"))
            .stdin(std::process::Stdio::null());
        for (k, _) in std::env::vars() {
            if k.starts_with("BERTH_") && k != "BERTH_CACHE_DIR" {
                cmd.env_remove(k);
            }
        }
        let out = cmd.output().unwrap();
        assert_no_panic(&out);
        out
    }

    fn berth(&self, args: &str) -> Output {
        self.sh(&format!("exec \"$0\" {args}"))
    }
}

impl Drop for Unprivileged {
    fn drop(&mut self) {
        let _ = self.berth("reset --yes --no-snapshot");
        kill_recorded(&self.path().join(".berth/own-np"));
    }
}

#[test]
fn issue_34_as_an_unprivileged_user_berth_also_keeps_to_what_it_made() {
    let u = Unprivileged::new(&cache_stack("own-np"));
    let stack_file = std::fs::read_to_string(u.path().join("berth.toml")).unwrap();

    // The project as a state directory: refused, nothing touched.
    for args in ["--state-dir . up", "--state-dir . reset --yes"] {
        let out = u.berth(args);
        assert_eq!(out.status.code(), Some(2), "{args}: {}", describe(&out));
    }
    assert_eq!(
        std::fs::read_to_string(u.path().join("berth.toml")).unwrap(),
        stack_file
    );

    // Up under umask 000: modes as set, whatever the umask.
    let out = u.sh("umask 000; exec \"$0\" up");
    assert!(out.status.success(), "{}", describe(&out));
    let state = u.path().join(".berth/own-np");
    assert_eq!(mode(&u.path().join(".berth")), 0o711);
    for secret in ["state.json", "lock", "logs/cache.log"] {
        assert_eq!(mode(&state.join(secret)), 0o600, "{secret}");
    }
    assert_eq!(mode(&u.path().join(".env")), 0o600);
    assert_no_secret_on_a_command_line_in(&state);

    // A link planted at the server's log: refused, its target untouched.
    let target = u.path().join("precious.txt");
    std::fs::write(&target, "precious\n").unwrap();
    let _ = u.berth("down");
    let log = state.join("logs/cache.log");
    std::fs::remove_file(&log).unwrap();
    std::os::unix::fs::symlink(&target, &log).unwrap();
    let out = u.berth("up");
    assert!(
        !out.status.success() && stderr(&out).contains("is a symbolic link"),
        "{}",
        describe(&out)
    );
    assert_eq!(std::fs::read_to_string(&target).unwrap(), "precious\n");
    std::fs::remove_file(&log).unwrap();

    // A foreign file in the state directory and a changed env file both
    // survive `reset`.
    let out = u.berth("up");
    assert!(out.status.success(), "{}", describe(&out));
    std::fs::write(state.join("notes.txt"), "mine\n").unwrap();
    let env = u.path().join(".env");
    let mut text = std::fs::read_to_string(&env).unwrap();
    text.push_str("MINE=1\n");
    std::fs::write(&env, &text).unwrap();
    let out = u.berth("reset --yes");
    assert!(out.status.success(), "{}", describe(&out));
    assert_eq!(
        std::fs::read_to_string(state.join("notes.txt")).unwrap(),
        "mine\n"
    );
    assert_eq!(std::fs::read_to_string(&env).unwrap(), text);
}

fn assert_no_secret_on_a_command_line_in(state: &Path) {
    let secrets = generated_secrets(state);
    assert!(!secrets.is_empty());
    let found = command_lines_with(&secrets);
    assert!(found.is_empty(), "secrets on command lines: {found:?}");
}
