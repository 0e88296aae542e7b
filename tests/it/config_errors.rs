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

/// Issue 35: a stack file with bytes that are not UTF-8 is refused with
/// the line it is on, each bad byte shown, and an empty one with the way
/// to start; both exit 2.
#[test]
fn issue_35_a_stack_file_not_utf8_or_without_services_is_refused_with_where_and_how() {
    let s = Sandbox::new("");
    std::fs::write(
        s.path().join("berth.toml"),
        b"name = \"x\"\n[services.db]\nkind = \"postgres\"\n# caf\xe9 au lait\n",
    )
    .unwrap();
    let out = s.run(&["up"]);
    assert_eq!(out.status.code(), Some(2), "{}", describe(&out));
    assert_eq!(
        stderr(&out),
        "error: the stack file is not UTF-8: byte 0xE9 at offset 48
 --> berth.toml:4:6
  |
4 | # caf\\xE9 au lait
  |      ^^^^
hint: save the file as UTF-8 (TOML files are UTF-8)
"
    );
    for text in ["", "# nothing yet\n", "name = \"x\"\n"] {
        s.write_stack(text);
        let out = s.run(&["up"]);
        assert_eq!(out.status.code(), Some(2), "{text:?}: {}", describe(&out));
        assert!(
            stderr(&out).contains("names no services") && stderr(&out).contains("`berth init`"),
            "{text:?}: {}",
            describe(&out)
        );
        assert!(!s.path().join(".berth").exists(), "nothing made");
    }
}
