//! A bad stack file, end to end: exit code 2, the error on stderr as
//! people read it (path relative to where berth runs, the line, a caret,
//! a hint), and nothing started. Every error's wording is tested in-process
//! (`src/config/tests.rs`).

use super::*;

#[test]
fn a_bad_key_fails_with_exit_2_a_snippet_and_nothing_started() {
    let s = Sandbox::new("name = \"x\"\n\n[services.db]\nkind = \"postgres\"\nprot = 5432\n");
    let out = s.run(&["up"]);
    assert_eq!(out.status.code(), Some(2), "{}", describe(&out));
    assert_eq!(
        stderr(&out),
        "error: unknown key `prot`
 --> berth.toml:5:1
  |
5 | prot = 5432
  | ^^^^
hint: did you mean `port`?
"
    );
    assert!(
        stdout(&out).is_empty(),
        "data only on stdout: {}",
        describe(&out)
    );
    assert!(
        !s.state_dir("x").join("services").exists(),
        "nothing started"
    );
}

#[test]
fn a_bad_value_in_the_environment_names_the_variable() {
    let s = Sandbox::new("name = \"x\"\n[services.db]\nkind = \"postgres\"\n");
    let out = s
        .cmd(&["up"])
        .env("BERTH_DB_PORT", "lots")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2), "{}", describe(&out));
    assert!(
        stderr(&out).contains("the environment variable `BERTH_DB_PORT` is `lots`"),
        "{}",
        describe(&out)
    );
}

#[test]
fn an_unknown_profile_on_the_command_line() {
    let s = Sandbox::new("name = \"x\"\n[services.db]\nkind = \"postgres\"\n[profiles.test]\n");
    let out = s.run(&["--profile", "tset", "up"]);
    assert_eq!(out.status.code(), Some(2), "{}", describe(&out));
    assert!(
        stderr(&out).contains("hint: did you mean `test`?"),
        "{}",
        describe(&out)
    );
}
