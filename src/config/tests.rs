//! The stack file in-process: layering, and every error as the user sees
//! it (rendered exactly, snapshot style). The binary-spawning tests keep the
//! end-to-end paths (exit code, nothing started).

use std::path::Path;

use super::load;
use super::model::{LoadOptions, PortSetting, StackConfig};
use crate::diagnostic::{plain, render};
use crate::plan::runtime_kind::RuntimeKind;

const FILE: &str = "/project/berth.toml";

fn parse_with(
    text: &str,
    options: &LoadOptions,
    env: &[(&str, &str)],
) -> crate::Result<StackConfig> {
    let lookup = |k: &str| {
        env.iter()
            .find(|(n, _)| *n == k)
            .map(|(_, v)| v.to_string())
    };
    load::parse(Path::new(FILE), text.to_string(), options, &lookup)
}

fn parse(text: &str) -> StackConfig {
    parse_with(text, &LoadOptions::default(), &[])
        .unwrap_or_else(|e| panic!("{}", render(&e, &plain)))
}

/// The error for `text`, rendered; every stack-file error exits with 2.
fn error_with(text: &str, options: &LoadOptions, env: &[(&str, &str)]) -> String {
    match parse_with(text, options, env) {
        Ok(_) => panic!("no error for:\n{text}"),
        Err(e) => {
            assert_eq!(e.exit_code(), 2, "{e}");
            render(&e, &plain)
        }
    }
}

fn error(text: &str) -> String {
    error_with(text, &LoadOptions::default(), &[])
}

fn profile(name: &str) -> LoadOptions {
    LoadOptions {
        profile: Some(name.into()),
        ..LoadOptions::default()
    }
}

// --- what resolves --------------------------------------------------------

#[test]
fn kinds_are_implied_by_name_or_by_what_runs() {
    let c = parse("[services.postgres]\n[services.redis]\n[services.web]\ncommand = [\"serve\"]\n");
    let kinds: Vec<&str> = c.services.iter().map(|s| s.kind()).collect();
    assert_eq!(kinds, ["postgres", "redis", "generic"]);
    assert_eq!(c.name, "project", "named after the directory");
    assert!(
        c.services[0].persist && !c.services[1].persist,
        "kind defaults"
    );
}

#[test]
fn a_profile_replaces_keys_adds_services_and_names_the_stack() {
    let c = parse_with(
        "name = \"app\"\n[services.db]\nkind = \"postgres\"\nport = 5432\n\
         [env]\nfile = \".env\"\n[env.vars]\nA = \"${db.url}\"\n\
         [profiles.test]\nruntime = \"container\"\n[profiles.test.services.db]\nport = 6543\n\
         [profiles.test.services.cache]\nkind = \"redis\"\n[profiles.test.env]\nfile = \".env.test\"\n[profiles.test.env.vars]\nB = \"${cache.url}\"\n",
        &profile("test"),
        &[],
    )
    .unwrap();
    assert_eq!(c.name, "app-test");
    assert_eq!(c.services[0].port, PortSetting::Fixed(6543));
    assert_eq!(c.services[1].name, "cache");
    assert!(c
        .services
        .iter()
        .all(|s| s.runtime == RuntimeKind::Container));
    assert_eq!(c.env.file, Path::new(".env.test"));
    let vars: Vec<&str> = c
        .env
        .vars
        .iter()
        .flatten()
        .map(|(k, _)| k.as_str())
        .collect();
    assert_eq!(vars, ["A", "B"]);
}

#[test]
fn environment_variables_set_any_key_with_the_type_it_needs() {
    let text = "[services.db]\nkind = \"postgres\"\n[services.cache]\nkind = \"redis\"\n[overrides]\nAPP_PG_PORT = \"db.port\"\n";
    let c = parse_with(
        text,
        &LoadOptions::default(),
        &[
            ("BERTH_DB_PORT", "5000"),
            ("APP_PG_PORT", "5001"),
            ("BERTH_DB_PASSWORD", "12345"),
            ("BERTH_DB_VERSION", "15"),
            ("BERTH_CACHE_PERSIST", "yes"),
            ("BERTH_CACHE_READY_TIMEOUT", "30"),
            ("BERTH_DB_DATABASES", "[\"a\", \"b\"]"),
        ],
    )
    .unwrap();
    let db = &c.services[0];
    assert_eq!(db.port, PortSetting::Fixed(5001), "the explicit name wins");
    assert_eq!(db.port_from_env.as_deref(), Some("APP_PG_PORT"));
    assert_eq!(
        db.settings.secrets()[0].configured.as_deref(),
        Some("12345"),
        "a number read as the text it is"
    );
    assert!(db
        .settings
        .provisioning()
        .contains("database a\ndatabase b"));
    let cache = &c.services[1];
    assert!(cache.persist);
    assert_eq!(cache.ready_timeout.as_secs(), 30);
}

#[test]
fn another_instance_chooses_its_own_ports_and_env_file() {
    let options = LoadOptions {
        name: Some("ci-1".into()),
        ..LoadOptions::default()
    };
    let text = "name = \"app\"\n[services.db]\nkind = \"postgres\"\nport = 5432\n[services.cache]\nkind = \"redis\"\nport = 6379\n";
    let c = parse_with(text, &options, &[("BERTH_CACHE_PORT", "7000")]).unwrap();
    assert_eq!(c.name, "ci-1");
    assert_eq!(c.services[0].port, PortSetting::Auto);
    assert_eq!(
        c.services[1].port,
        PortSetting::Fixed(7000),
        "set from the environment"
    );
    assert_eq!(c.env.file, Path::new(".env.ci-1"));
}

// --- errors in the file ---------------------------------------------------

#[test]
fn syntax() {
    assert_eq!(
        error("name = \"x\"\n[services.db\nkind = \"postgres\"\n"),
        "error: unclosed table, expected `]`\n --> /project/berth.toml:2:13\n  |\n2 | [services.db\n  |             ^\n"
    );
}

#[test]
fn unknown_keys_everywhere() {
    assert_eq!(
        error("name = \"x\"\n[services.db]\nkind = \"postgres\"\nprot = 5432\n"),
        "error: unknown key `prot`\n --> /project/berth.toml:4:1\n  |\n4 | prot = 5432\n  | ^^^^\nhint: did you mean `port`?\n"
    );
    assert_eq!(
        error("nmae = \"x\"\n"),
        "error: unknown key `nmae`\n --> /project/berth.toml:1:1\n  |\n1 | nmae = \"x\"\n  | ^^^^\nhint: did you mean `name`?\n"
    );
    assert_eq!(
        error("[env]\nfiel = \".env\"\n"),
        "error: unknown key `fiel`\n --> /project/berth.toml:2:1\n  |\n2 | fiel = \".env\"\n  | ^^^^\nhint: did you mean `file`?\n"
    );
    assert_eq!(
        error("[profiles.test]\nruntim = \"native\"\n"),
        "error: unknown key `runtim`\n --> /project/berth.toml:2:1\n  |\n2 | runtim = \"native\"\n  | ^^^^^^\nhint: did you mean `runtime`?\n"
    );
    // In a profile that is not selected, too.
    assert_eq!(
        error("[services.db]\nkind = \"postgres\"\n[profiles.ci.services.db]\nsetings = {}\n"),
        "error: unknown key `setings`\n --> /project/berth.toml:4:1\n  |\n4 | setings = {}\n  | ^^^^^^^\nhint: did you mean `settings`?\n"
    );
}

#[test]
fn values_of_the_wrong_type() {
    assert_eq!(
        error("[services.db]\nkind = \"postgres\"\nport = \"fast\"\n"),
        "error: invalid value: string \"fast\", expected a port number from 1 to 65535, or \"auto\"\n --> /project/berth.toml:3:8\n  |\n3 | port = \"fast\"\n  |        ^^^^^^\n"
    );
    assert_eq!(
        error("name = 5\n"),
        "error: invalid type: integer `5`, expected a string\n --> /project/berth.toml:1:8\n  |\n1 | name = 5\n  |        ^\n"
    );
    assert_eq!(
        error("services = 5\n"),
        "error: `services` must be a table, not an integer\n --> /project/berth.toml:1:12\n  |\n1 | services = 5\n  |            ^\n"
    );
    assert_eq!(
        error("[services.redis]\npersist = \"yes\"\n"),
        "error: invalid type: string \"yes\", expected a boolean\n --> /project/berth.toml:2:11\n  |\n2 | persist = \"yes\"\n  |           ^^^^^\n"
    );
}

#[test]
fn kinds_names_and_keys_that_do_not_fit() {
    assert_eq!(
        error("[services.db]\nkind = \"postgress\"\n"),
        "error: unknown service kind `postgress`\n --> /project/berth.toml:2:8\n  |\n2 | kind = \"postgress\"\n  |        ^^^^^^^^^^^\nhint: did you mean `postgres`?\n"
    );
    assert_eq!(
        error("[services.db]\nport = 1\n"),
        "error: service `db` has no `kind`\n --> /project/berth.toml:1:11\n  |\n1 | [services.db]\n  |           ^^\nhint: add `kind = \"...\"` to `[services.db]`; the kinds are: `postgres`, `redis`, `s3`, `pgbouncer`, `generic`\n"
    );
    assert_eq!(
        error("[services.db]\nkind = \"postgres\"\nmaxmemory = \"1gb\"\n"),
        "error: `maxmemory` does not apply to a postgres service\n --> /project/berth.toml:3:13\n  |\n3 | maxmemory = \"1gb\"\n  |             ^^^^^\nhint: remove `maxmemory` from `[services.db]`\n"
    );
    assert_eq!(
        error("[services.Db]\nkind = \"redis\"\n"),
        "error: `Db` is not a valid service name: use lower-case letters, digits, `-` and `_`\n --> /project/berth.toml:1:11\n  |\n1 | [services.Db]\n  |           ^^\n"
    );
    assert_eq!(
        error("name = \"My App\"\n"),
        "error: `My App` is not a valid stack name: use up to 48 lower-case letters, digits, `-` and `_`, starting with a letter or digit\n --> /project/berth.toml:1:8\n  |\n1 | name = \"My App\"\n  |        ^^^^^^^^\n"
    );
    assert_eq!(
        error("runtime = \"docker\"\n"),
        "error: unknown runtime `docker`\n --> /project/berth.toml:1:11\n  |\n1 | runtime = \"docker\"\n  |           ^^^^^^^^\nhint: the runtimes are: `native`, `container`\n"
    );
}

#[test]
fn kind_settings() {
    assert_eq!(
        error("[services.db]\nkind = \"postgres\"\nversion = \"fifteen\"\n"),
        "error: `fifteen` is not a version constraint: unexpected character 'f' while parsing major version number\n --> /project/berth.toml:3:11\n  |\n3 | version = \"fifteen\"\n  |           ^^^^^^^^^\nhint: write a major version (`\"15\"`) or a range (`\">=14, <17\"`)\n"
    );
    assert_eq!(
        error(&format!("[services.db]\nkind = \"postgres\"\ndatabases = [\"{}\"]\n", "d".repeat(64))),
        format!("error: `{0}` is not a valid PostgreSQL name (1 to 63 characters)\n --> /project/berth.toml:3:14\n  |\n3 | databases = [\"{0}\"]\n  |              {1}\n", "d".repeat(64), "^".repeat(66))
    );
    assert_eq!(
        error("[services.cache]\nkind = \"redis\"\nmaxmemory = \"lots\"\n"),
        "error: `lots` is not a memory size; write it like `\"128mb\"` or `\"1gb\"`\n --> /project/berth.toml:3:13\n  |\n3 | maxmemory = \"lots\"\n  |             ^^^^^^\n"
    );
    assert_eq!(
        error("[services.cache]\nkind = \"redis\"\npersist = false\nappendonly = true\n"),
        "error: `appendonly = true` needs `persist = true`\n --> /project/berth.toml:4:14\n  |\n4 | appendonly = true\n  |              ^^^^\n"
    );
    assert_eq!(
        error("[services.cache]\nkind = \"redis\"\nmaxmemory_policy = \"allkeys-lrv\"\n"),
        "error: `allkeys-lrv` is not an eviction policy\n --> /project/berth.toml:3:20\n  |\n3 | maxmemory_policy = \"allkeys-lrv\"\n  |                    ^^^^^^^^^^^^^\nhint: did you mean `allkeys-lru`?\n"
    );
    assert_eq!(
        error("[services.db]\nkind = \"postgres\"\nready_timeout = \"soon\"\n"),
        "error: `soon` is not a duration\n --> /project/berth.toml:3:17\n  |\n3 | ready_timeout = \"soon\"\n  |                 ^^^^^^\nhint: write a duration like `\"30s\"`, `\"500ms\"` or `\"2m\"`\n"
    );
}

#[test]
fn generic_services() {
    assert_eq!(
        error("[services.web]\nimage = \"nginx:1\"\nruntime = \"container\"\n"),
        "error: say which port `web` listens on inside its container: add `container_port = ...`, or `ready = \"running\"` for a service with no port\n --> /project/berth.toml:1:11\n  |\n1 | [services.web]\n  |           ^^^\n"
    );
    assert_eq!(
        error("[services.web]\nimage = \"nginx:1\"\n"),
        "error: service `web` runs natively but has no `command`; add `command = [\"program\", \"arg\"]`, or run it with `runtime = \"container\"`\n --> /project/berth.toml:1:11\n  |\n1 | [services.web]\n  |           ^^^\n"
    );
    assert_eq!(
        error("[services.web]\ncommand = [\"./web\"]\nready = \"smtp\"\n"),
        "error: unknown probe `smtp`; `ready` must be one of `\"tcp\"`, `\"postgres\"`, `\"redis\"`, `\"running\"`, `{ http = \"/health\" }` or `{ exec = [\"cmd\", \"arg\"] }`\n --> /project/berth.toml:3:9\n  |\n3 | ready = \"smtp\"\n  |         ^^^^^^\n"
    );
    assert_eq!(
        error("[services.web]\nimage = \"nginx:1\"\nruntime = \"container\"\ncontainer_port = 80\nports = [\"80\"]\n"),
        "error: `80` is not a port mapping; write `\"HOST:CONTAINER\"`, like `\"9001:9001\"`\n --> /project/berth.toml:5:9\n  |\n5 | ports = [\"80\"]\n  |         ^^^^^^\n"
    );
    assert_eq!(
        error("[services.web]\ncommand = []\n"),
        "error: `command` is empty\n --> /project/berth.toml:2:11\n  |\n2 | command = []\n  |           ^^\nhint: write the program and its arguments, like `[\"python3\", \"-m\", \"http.server\"]`\n"
    );
    assert_eq!(
        error("[services.web]\ncommand = [\"web\"]\nvolumes = [\"data:/data\"]\n"),
        "error: `volumes` apply to containers; a native command reads host paths directly\n --> /project/berth.toml:3:11\n  |\n3 | volumes = [\"data:/data\"]\n  |           ^^^^^^^^^^^^^^\n"
    );
    assert_eq!(
        error("[services.web]\ncommand = [\"web\"]\nenv = { \"A=B\" = \"a\" }\n"),
        "error: `A=B` is not a valid environment variable name\n --> /project/berth.toml:3:7\n  |\n3 | env = { \"A=B\" = \"a\" }\n  |       ^^^^^^^^^^^^^^^\nhint: a name has no `=` and is not empty\n"
    );
    assert_eq!(
        error("[services.web]\ncommand = [\"web\", \"${db\"]\n"),
        "error: in `${db`: unclosed `${`: expected `}`\n --> /project/berth.toml:2:19\n  |\n2 | command = [\"web\", \"${db\"]\n  |                   ^^^^^^\n"
    );
}

#[test]
fn references_and_dependencies() {
    assert_eq!(
        error("[services.db]\nkind = \"postgres\"\n[env.vars]\nURL = \"x${db.uri}\"\n"),
        "error: service `db` has no connection value `uri`\n --> /project/berth.toml:4:9\n  |\n4 | URL = \"x${db.uri}\"\n  |         ^^^^^^^^^\nhint: did you mean `url`?\n"
    );
    assert_eq!(
        error("[services.web]\ncommand = [\"./web\", \"${db.url}\"]\n"),
        "error: `${db.url}` names unknown service `db`\n --> /project/berth.toml:2:21\n  |\n2 | command = [\"./web\", \"${db.url}\"]\n  |                     ^^^^^^^^^^^\nhint: the services are: `web`\n"
    );
    assert_eq!(
        error("[services.db]\nkind = \"postgres\"\n[services.web]\nkind = \"redis\"\ndepends_on = [\"bd\"]\n"),
        "error: service `web` depends on unknown service `bd`\n --> /project/berth.toml:5:15\n  |\n5 | depends_on = [\"bd\"]\n  |               ^^^^\nhint: did you mean `db`?\n"
    );
    assert_eq!(
        error("[services.a]\nkind = \"redis\"\ndepends_on = [\"a\"]\n"),
        "error: service `a` depends on itself\n --> /project/berth.toml:3:15\n  |\n3 | depends_on = [\"a\"]\n  |               ^^^\nhint: remove it from its own `depends_on`\n"
    );
    assert_eq!(
        error("[services.a]\nkind = \"redis\"\ndepends_on = [\"b\"]\n[services.b]\nkind = \"redis\"\ndepends_on = [\"a\"]\n"),
        "error: dependency cycle: a -> b -> a\n --> /project/berth.toml:6:15\n  |\n6 | depends_on = [\"a\"]\n  |               ^^^\nhint: remove one of these `depends_on` entries\n"
    );
    assert_eq!(
        error("[services.db]\nkind = \"postgres\"\n[services.web]\nimage = \"nginx:1\"\nruntime = \"container\"\ncontainer_port = 80\nenv = { DB = \"${db.url}\" }\n"),
        "error: `web` runs in a container and cannot reach `db`, which runs natively on the host's 127.0.0.1 (`${db.url}` in its `env`)\nhint: run both in containers or both natively: `runtime = \"container\"` in `[services.db]`, or `--runtime container`\n"
    );
}

#[test]
fn the_env_section_and_overrides() {
    assert_eq!(
        error("[env]\nfile = \" \"\n"),
        "error: the env file path is empty\n --> /project/berth.toml:2:8\n  |\n2 | file = \" \"\n  |        ^^^\n"
    );
    assert_eq!(
        error("[env.vars]\n\"A-B\" = \"x\"\n"),
        "error: `A-B` is not a valid environment variable name\n --> /project/berth.toml:2:1\n  |\n2 | \"A-B\" = \"x\"\n  | ^^^^^\nhint: use letters, digits and `_`, not starting with a digit\n"
    );
    assert_eq!(
        error("[env.vars]\nA = \"cost: $5\"\n"),
        "error: `$` starts a reference like `${db.url}`; write `$$` for a literal `$`\n --> /project/berth.toml:2:12\n  |\n2 | A = \"cost: $5\"\n  |            ^\n"
    );
    assert_eq!(
        error("[services.db]\nkind = \"postgres\"\n[overrides]\nPG = \"db.prot\"\n"),
        "error: `prot` cannot be set from an environment variable\n --> /project/berth.toml:4:6\n  |\n4 | PG = \"db.prot\"\n  |      ^^^^^^^^^\nhint: did you mean `port`?\n"
    );
    assert_eq!(
        error("[services.db]\nkind = \"postgres\"\n[overrides]\nPG = \"dbport\"\n"),
        "error: `dbport` does not name a service value\n --> /project/berth.toml:4:6\n  |\n4 | PG = \"dbport\"\n  |      ^^^^^^^^\nhint: write `SERVICE.KEY`, like `\"postgres.port\"`\n"
    );
}

// --- errors from outside the file -----------------------------------------

#[test]
fn values_from_the_environment_name_their_variable() {
    let text = "[services.db]\nkind = \"postgres\"\n[services.cache]\nkind = \"redis\"\n";
    let none = LoadOptions::default();
    assert_eq!(
        error_with(text, &none, &[("BERTH_DB_PORT", "lots")]),
        "error: the environment variable `BERTH_DB_PORT` is `lots`, not a port number from 1 to 65535, or \"auto\"\nhint: set `BERTH_DB_PORT` to a port number from 1 to 65535, or \"auto\", or unset it\n"
    );
    assert_eq!(
        error_with(text, &none, &[("BERTH_CACHE_MAXMEMORY", "lots")]),
        "error: `lots` is not a memory size; write it like `\"128mb\"` or `\"1gb\"` (set by the environment variable `BERTH_CACHE_MAXMEMORY`)\n"
    );
    assert_eq!(
        error_with(text, &none, &[("BERTH_DB_MAXMEMORY", "1gb")]),
        "error: `maxmemory` does not apply to a postgres service (set by the environment variable `BERTH_DB_MAXMEMORY`)\nhint: remove `maxmemory` from `[services.db]`\n"
    );
    assert_eq!(
        error_with(text, &none, &[("BERTH_CACHE_PERSIST", "maybe")]),
        "error: the environment variable `BERTH_CACHE_PERSIST` is `maybe`, not a boolean\nhint: set `BERTH_CACHE_PERSIST` to a boolean, or unset it\n"
    );
}

#[test]
fn options_from_the_command_line() {
    let text = "[services.db]\nkind = \"postgres\"\n[profiles.test]\n";
    assert_eq!(
        error_with(text, &profile("tset"), &[]),
        "error: no profile `tset` in `/project/berth.toml`\nhint: did you mean `test`?\n"
    );
    assert_eq!(
        error_with("[services.db]\nkind = \"postgres\"\n", &profile("test"), &[]),
        "error: no profile `test` in `/project/berth.toml`\nhint: `/project/berth.toml` defines no profiles; add a `[profiles.test]` table\n"
    );
    let runtime = LoadOptions {
        runtime: Some("contaner".into()),
        ..LoadOptions::default()
    };
    assert_eq!(
        error_with(text, &runtime, &[]),
        "error: unknown runtime `contaner` (from --runtime or BERTH_RUNTIME)\nhint: did you mean `container`?\n"
    );
    let name = LoadOptions {
        name: Some("CI 1".into()),
        ..LoadOptions::default()
    };
    assert_eq!(
        error_with(text, &name, &[]),
        "error: `CI 1` is not a valid stack name: use up to 48 lower-case letters, digits, `-` and `_`, starting with a letter or digit\n"
    );
}

#[test]
fn object_store_settings() {
    let c = parse("[services.files]\nkind = \"s3\"\nbuckets = [\"uploads\", { name = \"media\", public = true }]\n");
    assert!(
        c.services[0].persist,
        "an object store keeps its data by default"
    );
    assert_eq!(
        error("[services.files]\nkind = \"s3\"\nbuckets = [\"Uploads\"]\n"),
        "error: `Uploads` is not a valid bucket name: it may hold only lower-case letters, digits, `.` and `-`\n --> /project/berth.toml:3:12\n  |\n3 | buckets = [\"Uploads\"]\n  |            ^^^^^^^^^\nhint: S3 bucket names are 3 to 63 lower-case letters, digits, `.` and `-`\n"
    );
    assert_eq!(
        error("[services.files]\nkind = \"s3\"\nbuckets = [\"my_files\"]\n"),
        "error: `my_files` is not a valid bucket name: it may hold only lower-case letters, digits, `.` and `-`\n --> /project/berth.toml:3:12\n  |\n3 | buckets = [\"my_files\"]\n  |            ^^^^^^^^^^\nhint: S3 bucket names are 3 to 63 lower-case letters, digits, `.` and `-`\n"
    );
    assert_eq!(
        error("[services.files]\nkind = \"s3\"\nbuckets = [\"uploads\", { name = \"uploads\", public = true }]\n"),
        "error: bucket `uploads` is listed twice\n --> /project/berth.toml:3:23\n  |\n3 | buckets = [\"uploads\", { name = \"uploads\", public = true }]\n  |                       ^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^\n"
    );
    assert_eq!(
        error("[services.files]\nkind = \"s3\"\nbuckets = [{ name = \"media\", publik = true }]\n"),
        "error: unknown field `publik`, expected one of `name`, `public`, `cors`\n --> /project/berth.toml:3:30\n  |\n3 | buckets = [{ name = \"media\", publik = true }]\n  |                              ^^^^^^\n"
    );
    assert_eq!(
        error("[services.files]\nkind = \"s3\"\nbuckets = [42]\n"),
        "error: invalid type: integer `42`, expected a bucket name, or a table like `{ name = \"uploads\", public = true }`\n --> /project/berth.toml:3:12\n  |\n3 | buckets = [42]\n  |            ^^\n"
    );
    assert_eq!(
        error("[services.files]\nkind = \"s3\"\nsecret_key = \"short\"\n"),
        "error: the secret key must be at least 8 characters long\n --> /project/berth.toml:3:14\n  |\n3 | secret_key = \"short\"\n  |              ^^^^^^^\nhint: MinIO refuses shorter ones; leave the key out and berth generates one\n"
    );
}

#[test]
fn a_pooler_needs_one_postgres_upstream() {
    let c = parse("[services.db]\nkind = \"postgres\"\n[services.pool]\nkind = \"pgbouncer\"\n");
    let pool = &c.services[1];
    assert_eq!(
        pool.links.get("upstream").map(String::as_str),
        Some("db"),
        "the only postgres"
    );
    assert!(
        pool.depends_on.iter().any(|(d, _)| d == "db"),
        "it starts after its upstream"
    );
    assert_eq!(
        error("[services.db]\nkind = \"postgres\"\n[services.pool]\nkind = \"pgbouncer\"\nupstream = \"dv\"\n"),
        "error: `upstream` of service `pool` names unknown service `dv`\n --> /project/berth.toml:5:12\n  |\n5 | upstream = \"dv\"\n  |            ^^^^\nhint: did you mean `db`?\n"
    );
    assert_eq!(
        error("[services.cache]\nkind = \"redis\"\n[services.pool]\nkind = \"pgbouncer\"\nupstream = \"cache\"\n"),
        "error: `upstream` of service `pool` must be a postgres service, and `cache` is a redis service\n --> /project/berth.toml:5:12\n  |\n5 | upstream = \"cache\"\n  |            ^^^^^^^\nhint: the stack has no postgres service; add one\n"
    );
    assert_eq!(
        error("[services.cache]\nkind = \"redis\"\n[services.pool]\nkind = \"pgbouncer\"\n"),
        "error: service `pool` needs a postgres service (its `upstream`), and the stack has none\n --> /project/berth.toml:3:11\n  |\n3 | [services.pool]\n  |           ^^^^\nhint: add a postgres service to the stack\n"
    );
    assert_eq!(
        error("[services.a]\nkind = \"postgres\"\n[services.b]\nkind = \"postgres\"\n[services.pool]\nkind = \"pgbouncer\"\n"),
        "error: service `pool` needs a postgres service, and the stack has several: `a`, `b`\n --> /project/berth.toml:5:11\n  |\n5 | [services.pool]\n  |           ^^^^\nhint: say which with `upstream = \"...\"` in `[services.pool]`\n"
    );
    assert_eq!(
        error("[services.db]\nkind = \"postgres\"\n[services.pool]\nkind = \"pgbouncer\"\npool_mode = \"transactions\"\n"),
        "error: `transactions` is not a pool mode\n --> /project/berth.toml:5:13\n  |\n5 | pool_mode = \"transactions\"\n  |             ^^^^^^^^^^^^^^\nhint: did you mean `transaction`?\n"
    );
    assert_eq!(
        error("[services.db]\nkind = \"postgres\"\n[services.pool]\nkind = \"pgbouncer\"\npool_size = 0\n"),
        "error: `pool_size` must be at least 1\n --> /project/berth.toml:5:13\n  |\n5 | pool_size = 0\n  |             ^\n"
    );
}

// --- issue 35: what cannot work is refused as the file is read -------------

#[test]
fn two_services_on_one_port_are_refused_naming_both() {
    assert_eq!(
        error("[services.db]\nkind = \"postgres\"\nport = 32001\n[services.cache]\nkind = \"redis\"\nport = 32001\n"),
        "error: services `db` and `cache` both use port 32001; only one server can listen on it\n --> /project/berth.toml:6:8\n  |\n6 | port = 32001\n  |        ^^^^^\nhint: give `cache` another port, or `port = \"auto\"` for one berth chooses\n"
    );
    // One service publishing a host port twice.
    assert!(error("[services.web]\nruntime = \"container\"\nimage = \"x\"\ncontainer_port = 80\nport = 8080\nports = [\"8080:81\"]\n")
        .contains("host port 8080 is published twice by service `web`"));
    assert!(error("[services.web]\nruntime = \"container\"\nimage = \"x\"\ncontainer_port = 80\nports = [\"9000:81\", \"9000:82\"]\n")
        .contains("host port 9000 is published twice"));
    // Chosen ports never collide: berth picks each free.
    parse("[services.db]\nkind = \"postgres\"\n[services.cache]\nkind = \"redis\"\n");
}

#[test]
fn a_stack_file_without_services_is_refused_with_the_way_to_start() {
    for text in [
        "",
        "# only a comment\n",
        "name = \"x\"\n[env]\nfile = \".env\"\n",
    ] {
        assert_eq!(
            error(text),
            "error: `/project/berth.toml` names no services: `berth up` would start nothing\nhint: add a `[services.NAME]` table (`kind = \"postgres\"`, ...), or run `berth init` for a starter stack\n",
            "{text:?}"
        );
    }
}

// --- the team's variables (`dotenv`, `${NAME}`, `[overrides]` lists) -----

#[test]
fn dotenv_files_fill_variables_overrides_and_nothing_else() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join(".env"),
        "PG_PASSWORD=from-file\nTOKEN=t0ken\n",
    )
    .unwrap();
    let text = "dotenv = \".env\"\n[services.a]\nkind = \"postgres\"\n[services.b]\nkind = \"postgres\"\n[services.app]\nimage = \"x\"\nruntime = \"container\"\nready = \"running\"\nenv = { TOKEN = \"${TOKEN}\", MODE = \"${MODE:-dev}\" }\n[env]\nfile = \".env.berth\"\n[overrides]\nPG_PASSWORD = [\"a.password\", \"b.password\"]\n";
    let file = dir.path().join("berth.toml");
    let env = |k: &str| (k == "MODE").then(|| "prod".to_string());
    let c = load::parse(&file, text.into(), &LoadOptions::default(), &env)
        .unwrap_or_else(|e| panic!("{}", render(&e, &plain)));
    for svc in ["a", "b"] {
        assert_eq!(
            c.service(svc).unwrap().keys["password"].as_str(),
            Some("from-file"),
            "one variable sets both"
        );
    }
    let used: Vec<(&str, &str)> = c
        .variables
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    assert_eq!(
        used,
        [("MODE", "prod"), ("TOKEN", "t0ken")],
        "the environment wins; only what is used"
    );

    // A variable set nowhere stops the file, naming where it looked.
    let unset = text.replace("${TOKEN}", "${NOPE}");
    let e = load::parse(&file, unset, &LoadOptions::default(), &env).unwrap_err();
    let shown = render(&e, &plain);
    assert!(
        shown.contains("variable `NOPE` is not set in the environment and `.env`"),
        "{shown}"
    );

    // berth's env file may not be one the team's variables are read from.
    let same = text.replace("file = \".env.berth\"", "file = \".env\"");
    let e = load::parse(&file, same, &LoadOptions::default(), &env).unwrap_err();
    let shown = render(&e, &plain);
    assert!(shown.contains("is both berth's env file"), "{shown}");
}
