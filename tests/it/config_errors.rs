//! Bad stack files fail with exit code 2, the file, line and column, the
//! offending text and a suggestion.

use super::*;

/// Run `up` on `stack`; expect exit 2 and return stderr with the temp path
/// replaced by `[DIR]`.
fn config_error(stack: &str) -> String {
    let s = Sandbox::new(stack);
    let out = s.run(&["up"]);
    assert_eq!(out.status.code(), Some(2), "{}", describe(&out));
    assert!(
        !s.path().join(".berth").join("x").join("services").exists(),
        "nothing started"
    );
    stderr(&out).replace(&s.path().display().to_string(), "[DIR]")
}

#[test]
fn unknown_key_shows_snippet_caret_and_suggestion() {
    let err = config_error("name = \"x\"\n\n[services.db]\nkind = \"postgres\"\nprot = 5432\n");
    assert_eq!(
        err,
        "error: unknown key `prot`
 --> [DIR]/berth.toml:5:1
  |
5 | prot = 5432
  | ^^^^
hint: did you mean `port`?
"
    );
}

#[test]
fn syntax_error_has_a_position() {
    let err = config_error("name = \"x\"\n[services.db\nkind = \"postgres\"\n");
    assert!(err.contains("berth.toml:2:"), "{err}");
}

#[test]
fn wrong_type_names_what_was_expected() {
    let err = config_error("name = \"x\"\n[services.db]\nkind = \"postgres\"\nport = \"fast\"\n");
    assert!(err.contains("berth.toml:4:8"), "{err}");
    assert!(
        err.contains("a port number from 1 to 65535, or \"auto\""),
        "{err}"
    );
}

#[test]
fn unknown_kind_suggests_the_nearest() {
    let err = config_error("name = \"x\"\n[services.db]\nkind = \"postgress\"\n");
    assert!(
        err.contains("error: unknown service kind `postgress`"),
        "{err}"
    );
    assert!(err.contains("berth.toml:3:8"), "{err}");
    assert!(err.contains("hint: did you mean `postgres`?"), "{err}");
}

#[test]
fn dependency_cycle_points_at_the_closing_edge() {
    let err = config_error(
        "name = \"x\"\n[services.a]\nkind = \"redis\"\ndepends_on = [\"b\"]\n[services.b]\nkind = \"redis\"\ndepends_on = [\"a\"]\n",
    );
    assert!(
        err.contains("error: dependency cycle: a -> b -> a"),
        "{err}"
    );
    assert!(err.contains("berth.toml:7:15"), "{err}");
}

#[test]
fn unknown_dependency_suggests_a_service() {
    let err = config_error("name = \"x\"\n[services.db]\nkind = \"postgres\"\n[services.web]\nkind = \"redis\"\ndepends_on = [\"bd\"]\n");
    assert!(
        err.contains("service `web` depends on unknown service `bd`"),
        "{err}"
    );
    assert!(err.contains("berth.toml:6:15"), "{err}");
    assert!(err.contains("did you mean `db`?"), "{err}");
}

#[test]
fn a_key_that_does_not_fit_the_kind() {
    let err =
        config_error("name = \"x\"\n[services.db]\nkind = \"postgres\"\nmaxmemory = \"1gb\"\n");
    assert!(
        err.contains("`maxmemory` does not apply to a postgres service"),
        "{err}"
    );
    assert!(err.contains("berth.toml:4:13"), "{err}");
}

#[test]
fn an_env_template_naming_an_unknown_value() {
    let err = config_error(
        "name = \"x\"\n[services.db]\nkind = \"postgres\"\n[env.vars]\nURL = \"${db.uri}\"\n",
    );
    assert!(
        err.contains("service `db` has no connection value `uri`"),
        "{err}"
    );
    assert!(err.contains("berth.toml:5:8"), "{err}");
    assert!(err.contains("did you mean `url`?"), "{err}");
}

#[test]
fn a_bad_environment_override_names_the_variable() {
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
fn an_unknown_profile_lists_the_known_ones() {
    let s = Sandbox::new("name = \"x\"\n[services.db]\nkind = \"postgres\"\n[profiles.test]\n");
    let out = s.run(&["--profile", "tset", "up"]);
    assert_eq!(out.status.code(), Some(2), "{}", describe(&out));
    assert!(
        stderr(&out).contains("hint: did you mean `test`?"),
        "{}",
        describe(&out)
    );
}

#[test]
fn generic_services_say_what_they_lack() {
    let err = config_error(
        "name = \"x\"\n[services.web]\nimage = \"nginx:1\"\nruntime = \"container\"\n",
    );
    assert!(err.contains("add `container_port = ...`"), "{err}");
    assert!(err.contains("berth.toml:2:11"), "{err}");

    let err = config_error("name = \"x\"\n[services.web]\nimage = \"nginx:1\"\n");
    assert!(
        err.contains("service `web` runs natively but has no `command`"),
        "{err}"
    );

    let err =
        config_error("name = \"x\"\n[services.web]\ncommand = [\"./web\"]\nready = \"smtp\"\n");
    assert!(err.contains("unknown probe `smtp`"), "{err}");
    assert!(err.contains("berth.toml:4:9"), "{err}");

    let err = config_error(
        "name = \"x\"\n[services.web]\nimage = \"nginx:1\"\nruntime = \"container\"\ncontainer_port = 80\nports = [\"80\"]\n",
    );
    assert!(err.contains("`80` is not a port mapping"), "{err}");

    let err = config_error("name = \"x\"\n[services.web]\ncommand = [\"./web\", \"${db.url}\"]\n");
    assert!(err.contains("names unknown service `db`"), "{err}");
    assert!(err.contains("the services are: `web`"), "{err}");
}

#[test]
fn a_container_cannot_be_pointed_at_a_native_service() {
    let err = config_error(
        "name = \"x\"\n[services.db]\nkind = \"postgres\"\n[services.web]\nimage = \"nginx:1\"\nruntime = \"container\"\ncontainer_port = 80\nenv = { DB = \"${db.url}\" }\n",
    );
    assert!(
        err.contains("`web` runs in a container and cannot reach `db`, which runs natively"),
        "{err}"
    );
    assert!(err.contains("--runtime container"), "{err}");
}
