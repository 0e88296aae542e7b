//! Compose files in-process: the fixtures modelled on the source documents'
//! stacks and the Compose Specification's example imported (and the result
//! read back as a stack file), every bad input as the user sees it, and
//! the round trip export → import. The binary-spawning tests bring the
//! results up on the engine (`tests/it/compose.rs`).

use std::path::{Path, PathBuf};

use super::file::{self, ComposeFile};
use super::import::{import, Imported, Options};
use crate::config::load;
use crate::config::model::{LoadOptions, StackConfig};
use crate::diagnostic::{plain, render};

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/compose")
        .join(name)
}

fn no_env(_: &str) -> Option<String> {
    None
}

fn read(path: &Path) -> ComposeFile {
    file::read(path, &no_env).unwrap_or_else(|e| panic!("{}", render(&e, &plain)))
}

/// Import, and read the result back as berth would.
fn imported(path: &Path, containers: bool) -> (Imported, StackConfig) {
    let result = import(
        &read(path),
        &Options {
            containers,
            ..Options::default()
        },
    )
    .unwrap();
    let stack_file = path.parent().unwrap().join("berth.toml");
    let config = load::parse(
        &stack_file,
        result.toml.clone(),
        &LoadOptions::default(),
        &no_env,
    )
    .unwrap_or_else(|e| panic!("{}\n{}", render(&e, &plain), result.toml));
    (result, config)
}

fn keys(config: &StackConfig, service: &str) -> toml::Table {
    config
        .service(service)
        .unwrap_or_else(|| panic!("no service {service}"))
        .keys
        .clone()
}

fn notes(result: &Imported) -> Vec<String> {
    result
        .report
        .not_carried
        .iter()
        .map(|i| format!("{} {}", i.line, i.key))
        .collect()
}

#[test]
fn cleanmatex_kinds_come_from_the_images_contracts() {
    let (result, config) = imported(&fixture("cleanmatex/docker-compose.yml"), false);
    let kinds: Vec<(&str, &str)> = config
        .services
        .iter()
        .map(|s| (s.name.as_str(), s.kind()))
        .collect();
    assert_eq!(
        kinds,
        [
            ("postgres", "postgres"),
            ("redis", "redis"),
            ("minio", "s3")
        ]
    );
    let pg = keys(&config, "postgres");
    assert_eq!(
        pg["user"].as_str(),
        Some("cmx_user"),
        "the default of ${{CMX_DB_USER:-cmx_user}}"
    );
    assert_eq!(
        pg["password"].as_str(),
        Some("cmx_pass_dev"),
        "from the `.env` beside it"
    );
    assert_eq!(
        pg["port"].as_integer(),
        Some(5433),
        "${{CMX_DB_PORT}} from `.env`"
    );
    assert_eq!(pg["version"].as_str(), Some("16"));
    assert!(
        config.service("postgres").unwrap().persist,
        "a named volume holds its data"
    );
    assert_eq!(keys(&config, "redis")["appendonly"].as_bool(), Some(true));
    let minio = keys(&config, "minio");
    assert_eq!(
        (minio["access_key"].as_str(), minio["secret_key"].as_str()),
        (Some("minioadmin"), Some("minioadmin123"))
    );
    // The optional tool is in a profile, and reaches redis by name: redis
    // runs in a container too.
    assert!(
        result
            .toml
            .contains("[profiles.tools.services.redis-commander]"),
        "{}",
        result.toml
    );
    assert!(
        result
            .toml
            .contains("REDIS_HOSTS = \"local:${redis.host}:${redis.port}\""),
        "{}",
        result.toml
    );
    assert_eq!(
        config.service("redis").unwrap().runtime.to_string(),
        "container"
    );
    assert_eq!(
        config.service("postgres").unwrap().runtime.to_string(),
        "native"
    );
    assert!(result.toml.contains("file = \".env.berth\"") || !result.toml.contains("[env]"));
    let notes = notes(&result);
    for expected in [
        "23 services.postgres.healthcheck",
        "41 services.minio.command",
        "50 services.minio.ports",
        "80 networks.cmx-network",
    ] {
        assert!(
            notes.iter().any(|n| n == expected),
            "{expected} in {notes:#?}"
        );
    }
    assert!(
        !notes.iter().any(|n| n.contains("postgres.healthcheck.")),
        "a replaced health check is one note: {notes:#?}"
    );
    // Its init scripts run as the image runs them (issue 33).
    assert!(!notes.iter().any(|n| n.starts_with("20 ")), "{notes:#?}");
    assert_eq!(
        keys(&config, "postgres")["init"].as_str(),
        Some("infra/postgres/initdb")
    );
}

#[test]
fn agentlab_generic_services_get_ports_probes_and_references() {
    let (result, config) = imported(&fixture("agentlab/docker-compose.yml"), true);
    let names: Vec<&str> = config.services.iter().map(|s| s.name.as_str()).collect();
    assert_eq!(names, ["db", "cache", "api", "nginx"], "`web` has no image");
    let db = keys(&config, "db");
    assert_eq!(
        (db["user"].as_str(), db["password"].as_str()),
        (Some("agentlab"), Some("agentlab_dev")),
        "from `env_file`, read through `dotenv` and `[overrides]`"
    );
    assert!(
        !result.toml.contains("agentlab_dev"),
        "the password stays in `.env.development`:\n{}",
        result.toml
    );
    assert_eq!(
        config.dotenv,
        [PathBuf::from(".env.development"), PathBuf::from(".env")]
    );
    assert_eq!(db["version"].as_str(), Some("15"), "of `0.5.0-pg15`");
    assert_eq!(db["settings"]["max_connections"].as_str(), Some("200"));
    let cache = keys(&config, "cache");
    assert_eq!(cache["maxmemory_policy"].as_str(), Some("allkeys-lru"));
    let api = keys(&config, "api");
    assert_eq!(
        api["env"]["DATABASE_URL"].as_str(),
        Some("postgresql://${POSTGRES_USER}:${POSTGRES_PASSWORD}@${db.host}:${db.port}/agentlab"),
        "the variables stay variables, as Compose reads them at each `up`"
    );
    assert_eq!(api["env"]["LOG_LEVEL"].as_str(), Some("${LOG_LEVEL:-info}"));
    assert_eq!(
        api["env"]["SENTRY_DSN"].as_str(),
        Some("${SENTRY_DSN:-}"),
        "unset when imported: empty, as Compose makes it"
    );
    assert_eq!(
        api["ready"]["exec"][2].as_str(),
        Some("curl -f http://localhost:8000/health || exit 1")
    );
    let deps: Vec<&str> = config
        .service("nginx")
        .unwrap()
        .depends_on
        .iter()
        .map(|(d, _)| d.as_str())
        .collect();
    assert_eq!(deps, ["api"], "`web` is not imported, so not waited for");
    assert!(result.toml.contains("# [services.web]"), "{}", result.toml);
    let notes = notes(&result);
    for expected in [
        "26 services.db.logging",
        "36 services.api.build",
        "42 ${SENTRY_DSN}",
        "51 services.api.deploy",
        "56 services.web",
    ] {
        assert!(
            notes.iter().any(|n| n == expected),
            "{expected} in {notes:#?}"
        );
    }
}

#[test]
fn intl_center_podman_stack_with_conditions_databases_and_workers() {
    let (result, config) = imported(&fixture("intl-center/podman-compose.yml"), false);
    assert_eq!(config.name, "international-center");
    let pg = keys(&config, "postgresql");
    assert_eq!(
        pg["databases"].as_array().map(Vec::len),
        Some(2),
        "POSTGRES_MULTIPLE_DATABASES"
    );
    assert_eq!(pg["port"].as_integer(), Some(5440));
    assert_eq!(
        keys(&config, "authentik-worker")["ready"].as_str(),
        Some("running"),
        "a worker with no port"
    );
    assert!(keys(&config, "vault")["ready"].get("exec").is_some());
    let grafana: Vec<&str> = config
        .service("grafana")
        .unwrap()
        .depends_on
        .iter()
        .map(|(d, _)| d.as_str())
        .collect();
    assert_eq!(grafana, ["loki", "vault"]);
    let notes = notes(&result);
    for expected in [
        "34 services.dapr-placement.userns_mode",
        "38 services.vault.cap_add",
        "71 services.authentik-worker.security_opt",
    ] {
        assert!(
            notes.iter().any(|n| n == expected),
            "{expected} in {notes:#?}"
        );
    }
    // Every compose service is accounted for: imported, or noted.
    assert_eq!(result.report.services.len(), 10);
}

#[test]
fn the_specifications_example_is_imported_with_what_has_no_equivalent_listed() {
    let (result, config) = imported(&fixture("spec/compose.yaml"), false);
    assert_eq!(config.services.len(), 2);
    assert_eq!(
        keys(&config, "backend")["volumes"][0].as_str(),
        Some("db-data:/etc/data")
    );
    let notes = notes(&result);
    for expected in [
        "11 services.frontend.configs",
        "25 volumes.db-data.driver",
        "29 configs",
        "33 secrets",
        "38 networks.front-tier",
    ] {
        assert!(
            notes.iter().any(|n| n == expected),
            "{expected} in {notes:#?}"
        );
    }
}

/// The error for compose text `text` (with `.env` text beside it), rendered;
/// every compose error exits with 2.
fn failure(text: &str, dotenv: Option<&str>) -> String {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("compose.yaml");
    std::fs::write(&path, text).unwrap();
    if let Some(env) = dotenv {
        std::fs::write(dir.path().join(".env"), env).unwrap();
    }
    let e = file::read(&path, &no_env).expect_err("an error");
    assert_eq!(e.exit_code(), 2, "{e}");
    render(&e, &plain).replace(&path.display().to_string(), "compose.yaml")
}

#[test]
fn bad_input_is_pointed_at_with_what_to_do() {
    assert_eq!(
        failure("services:\n  web:\n    imgae: nginx\n", None),
        "error: `imgae` is not a key of a compose service\n --> compose.yaml:3:5\n  |\n3 |     imgae: nginx\n  |     ^^^^^\nhint: did you mean `image`?\n"
    );
    assert_eq!(
        failure("servces:\n  web: {}\n", None),
        "error: `servces` is not a top-level key of a compose file\n --> compose.yaml:1:1\n  |\n1 | servces:\n  | ^^^^^^^\nhint: did you mean `services`?\n"
    );
    assert_eq!(
        failure("services:\n  db:\n    image: postgres\n    environment:\n      POSTGRES_PASSWORD: ${DB_PASSWORD:?put it in .env}\n", None),
        "error: variable `DB_PASSWORD` must be set: put it in .env\n --> compose.yaml:5:26\n  |\n5 |       POSTGRES_PASSWORD: ${DB_PASSWORD:?put it in .env}\n  |                          ^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^\nhint: set `DB_PASSWORD` in the environment or in the `.env` file beside the compose file\n"
    );
    assert_eq!(
        failure("services:\n  a:\n    image: x\n    depends_on: [b]\n  b:\n    image: x\n    depends_on: [a]\n", None),
        "error: `depends_on` goes round in a circle: `a` → `b` → `a`\n --> compose.yaml:7:18\n  |\n7 |     depends_on: [a]\n  |                  ^\nhint: remove one of these dependencies\n"
    );
    assert_eq!(
        failure("services:\n  a:\n    image: x\n    depends_on: [bb]\n  b:\n    image: x\n", None),
        "error: service `a` depends on `bb`, which this file does not define\n --> compose.yaml:4:18\n  |\n4 |     depends_on: [bb]\n  |                  ^^\nhint: did you mean `b`?\n"
    );
    assert_eq!(
        failure("services:\n  a:\n    image: x\n    env_file: missing.env\n", None),
        "error: env file `missing.env` does not exist\n --> compose.yaml:4:15\n  |\n4 |     env_file: missing.env\n  |               ^^^^^^^^^^^\nhint: create it, or mark it `required: false`\n"
    );
    assert_eq!(
        failure("services:\n  a:\n    image: x\n    ports: [\"80:http\"]\n", None),
        "error: `http` is not a port number\n --> compose.yaml:4:13\n  |\n4 |     ports: [\"80:http\"]\n  |             ^^^^^^^^^\n"
    );
    let yaml = failure("services:\n  a:\n    image: [x\n", None);
    assert!(yaml.starts_with("error: this is not valid YAML:"), "{yaml}");
    assert!(yaml.contains(" --> compose.yaml:"), "{yaml}");
    let dotenv = failure("services: {}\n", Some("A=1\nbad key=2\n"));
    assert!(
        dotenv.contains("/.env` line 2: `bad key` is not a variable name"),
        "{dotenv}"
    );
}

#[test]
fn an_exported_compose_file_imports_back_as_the_same_stack() {
    use crate::stack::settle::settle;
    use crate::state::{State, StateDir};
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("berth.toml");
    std::fs::write(
        &file,
        r#"name = "round"
runtime = "container"

[services.db]
kind = "postgres"
image = "postgres:16"
user = "app"
password = "s3cret pass"
database = "app"
databases = ["reports"]
extensions = ["pgcrypto"]
settings = { max_connections = 50 }
port = 45432

[services.cache]
kind = "redis"
persist = true
maxmemory = "64mb"

[services.files]
kind = "s3"
buckets = ["uploads", { name = "media", public = true }]
access_key = "minioadmin"

[services.pool]
kind = "pgbouncer"
pool_mode = "session"

[services.api]
image = "example/api:1"
container_port = 8080
env = { DATABASE_URL = "${db.url}", PRICE = "$$5" }
volumes = ["uploads:/srv/uploads"]
ready = { http = "/health" }
depends_on = ["pool", "cache"]

# Shares the volume: the export declares it once (issue 37).
[services.thumbnailer]
image = "example/thumbnailer:1"
volumes = ["uploads:/srv/uploads"]
ready = "running"

[env]
file = ".env.local"
[env.vars]
DATABASE_URL = "${pool.url}"
"#,
    )
    .unwrap();
    let original = load::load(&file, &LoadOptions::default(), &no_env).unwrap();
    let forced = load::load(
        &file,
        &LoadOptions {
            runtime: Some("container".into()),
            ..LoadOptions::default()
        },
        &no_env,
    )
    .unwrap();
    let mut state = State::default();
    settle(&forced, &mut state).unwrap();
    let outputs = super::export_compose::export(
        &forced,
        &original,
        &StateDir::new(dir.path().join(".berth/round")),
        &state,
        None,
        &dir.path().join("out"),
        "compose.yaml",
    )
    .unwrap();
    let out = dir.path().join("out");
    for o in &outputs {
        let path = out.join(&o.path);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, &o.text).unwrap();
    }
    let compose = std::fs::read_to_string(out.join("compose.yaml")).unwrap();
    assert!(
        !compose.contains("s3cret pass") && !compose.contains("minioadmin"),
        "no secret inline:\n{compose}"
    );
    assert!(
        compose.contains("POSTGRES_PASSWORD: \"${DB_PASSWORD}\""),
        "{compose}"
    );
    assert!(
        compose.contains("PRICE: \"$$5\""),
        "a literal `$` escaped for Compose:\n{compose}"
    );
    assert!(
        compose.contains("DATABASE_URL: \"postgresql://app:${DB_PASSWORD_URL}@db:5432/app\""),
        "inside a URL, the percent-encoded form:\n{compose}"
    );
    let dotenv = std::fs::read_to_string(out.join(".env")).unwrap();
    assert!(
        dotenv.contains("DB_PASSWORD='s3cret pass'\nDB_PASSWORD_URL='s3cret%20pass'\n"),
        "{dotenv}"
    );

    let back_text = import(&read(&out.join("compose.yaml")), &Options::default())
        .unwrap()
        .toml;
    // Beside the export: its `.env` holds the secrets the stack names.
    let back = load::parse(
        &out.join("berth.toml"),
        back_text.clone(),
        &LoadOptions::default(),
        &no_env,
    )
    .unwrap_or_else(|e| panic!("{}\n{back_text}", render(&e, &plain)));
    assert_eq!(back.name, original.name);
    assert_eq!(back.env.file, original.env.file);
    let vars = |c: &StackConfig| -> Vec<(String, String)> {
        c.env
            .vars
            .iter()
            .flatten()
            .map(|(n, t)| (n.clone(), t.text()))
            .collect()
    };
    assert_eq!(vars(&back), vars(&original));
    assert_same_stack(&back, &original, &back_text);
}

#[test]
fn compose_file_format_2_reads_too() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("docker-compose.yml");
    std::fs::write(
        &path,
        "version: '2.4'\nservices:\n  db:\n    image: postgres:13\n    mem_limit: 512m\n    environment: [POSTGRES_PASSWORD=pw]\n    healthcheck:\n      test: pg_isready\n  app:\n    image: example/app:2\n    links: [db]\n    ports: ['8080']\n    depends_on:\n      db:\n        condition: service_healthy\n",
    )
    .unwrap();
    let (result, config) = imported(&path, true);
    assert_eq!(
        keys(&config, "db")["password"].as_str(),
        Some("pw"),
        "a `KEY=value` list"
    );
    assert_eq!(
        keys(&config, "db")["database"].as_str(),
        Some("postgres"),
        "the image's default"
    );
    let app = keys(&config, "app");
    assert_eq!(app["container_port"].as_integer(), Some(8080));
    assert!(
        app.get("port").is_none(),
        "published on a port of berth's choosing"
    );
    let deps: Vec<&str> = config
        .service("app")
        .unwrap()
        .depends_on
        .iter()
        .map(|(d, _)| d.as_str())
        .collect();
    assert_eq!(deps, ["db"]);
    let notes = notes(&result);
    assert!(
        notes.contains(&"5 services.db.mem_limit".to_string()),
        "{notes:#?}"
    );
    assert!(
        notes.contains(&"11 services.app.links".to_string()),
        "{notes:#?}"
    );
}

// --- issue 37: shapes of public compose files that stopped the import ----

fn shape(name: &str) -> PathBuf {
    fixture("shapes").join(name)
}

#[test]
fn environment_names_with_dots_are_carried_as_compose_passes_them() {
    let (_, config) = imported(&shape("elk.yml"), false);
    let env = keys(&config, "elasticsearch")["env"]
        .as_table()
        .unwrap()
        .clone();
    assert_eq!(env["discovery.type"].as_str(), Some("single-node"));
    assert_eq!(
        env["cluster.routing.allocation.disk.threshold_enabled"].as_str(),
        Some("false")
    );
    assert_eq!(env["ES_JAVA_OPTS"].as_str(), Some("-Xms512m -Xmx512m"));
    let kibana = keys(&config, "kibana")["env"].as_table().unwrap().clone();
    assert_eq!(
        kibana["server.publicBaseUrl"].as_str(),
        Some("http://localhost:5601")
    );
}

#[test]
fn a_service_named_like_a_kind_takes_its_kind_from_its_image() {
    let (result, config) = imported(&shape("named-like-kinds.yml"), false);
    let kinds: Vec<(&str, &str)> = config
        .services
        .iter()
        .map(|s| (s.name.as_str(), s.kind()))
        .collect();
    assert_eq!(
        kinds,
        [
            ("redis", "redis"),
            ("postgres", "generic"),
            ("app", "generic")
        ],
        "Valkey's image is the redis kind; bitnami's postgresql another contract"
    );
    assert!(
        result
            .toml
            .contains("[services.postgres]\nkind = \"generic\""),
        "{}",
        result.toml
    );
    let redis = keys(&config, "redis");
    assert!(
        redis.get("version").is_none(),
        "Valkey's 8 is not Redis's: {redis:?}"
    );
    assert!(
        result
            .report
            .not_carried
            .iter()
            .any(|n| n.key == "services.redis.image"
                && n.note.contains("Valkey serves Redis's protocol")),
        "{:?}",
        result.report.not_carried
    );
}

#[test]
fn a_dependency_only_a_profile_adds_is_kept_where_that_profile_is_and_reported_elsewhere() {
    let (result, config) = imported(&shape("profiled-dependency.yml"), false);
    let web = config.service("web").unwrap();
    let deps: Vec<&str> = web.depends_on.iter().map(|(d, _)| d.as_str()).collect();
    assert_eq!(deps, ["db"], "mailer is only in `jobs`");
    assert!(
        result
            .report
            .not_carried
            .iter()
            .any(|n| n.key.contains("web")
                && n.key.contains("depends_on")
                && n.note.contains("`mailer` is only in the profile(s) `jobs`")),
        "{:?}",
        result.report.not_carried
    );
    let jobs = load::parse(
        &shape("berth.toml"),
        result.toml.clone(),
        &LoadOptions {
            profile: Some("jobs".into()),
            ..LoadOptions::default()
        },
        &no_env,
    )
    .unwrap_or_else(|e| panic!("{}\n{}", render(&e, &plain), result.toml));
    let worker = jobs.service("worker").unwrap();
    let deps: Vec<&str> = worker.depends_on.iter().map(|(d, _)| d.as_str()).collect();
    assert_eq!(deps, ["mailer"], "in the same profile: kept");
}

#[test]
fn values_keep_their_meaning_and_shell_values_stay_out_of_the_stack_file() {
    // A secret in the importing shell, which Compose would pass at `up`.
    let shell = |k: &str| match k {
        "SECRET_KEY" | "AUTHENTIK_SECRET_KEY" => Some("s3cr3t-from-the-shell".to_string()),
        _ => None,
    };
    let path = shape("meanings.yml");
    let file = file::read(&path, &shell).unwrap_or_else(|e| panic!("{}", render(&e, &plain)));
    let result = import(&file, &Options::default()).unwrap();
    assert!(
        !result.toml.contains("s3cr3t-from-the-shell"),
        "{}",
        result.toml
    );
    let config = load::parse(
        &shape("berth.toml"),
        result.toml.clone(),
        &LoadOptions::default(),
        &no_env,
    )
    .unwrap_or_else(|e| panic!("{}\n{}", render(&e, &plain), result.toml));
    let gitea = keys(&config, "gitea")["env"].as_table().unwrap().clone();
    assert_eq!(gitea["DB_HOST"].as_str(), Some("${db.host}"), "a host");
    assert_eq!(
        gitea["DB_PASSWD"].as_str(),
        Some("gitea"),
        "a password, not a host"
    );
    assert_eq!(
        gitea["REDIS_ADDR"].as_str(),
        Some("${cache.host}:${cache.port}")
    );
    assert_eq!(
        gitea["SECRET_KEY"].as_str(),
        Some("${SECRET_KEY:-}"),
        "a bare KEY is read from the environment at `up`, as Compose passes it"
    );
    assert_eq!(
        keys(&config, "cache")["password"].as_str(),
        Some(""),
        "a Redis without a password stays without one"
    );
    let server = keys(&config, "server");
    assert_eq!(
        server["command"].as_array().unwrap()[0].as_str(),
        Some("server")
    );
    let env = server["env"].as_table().unwrap();
    assert_eq!(
        env["AUTHENTIK_POSTGRESQL__HOST"].as_str(),
        Some("${db.host}")
    );
    assert_eq!(
        env["AUTHENTIK_SECRET_KEY"].as_str(),
        Some("${AUTHENTIK_SECRET_KEY:-}")
    );
    // Each reference made is in the report, and each key left out.
    let references: Vec<&str> = result
        .report
        .references
        .iter()
        .map(|r| r.key.as_str())
        .collect();
    assert_eq!(
        references,
        [
            "services.gitea.environment.DB_HOST",
            "services.gitea.environment.REDIS_ADDR",
            "services.server.environment.AUTHENTIK_POSTGRESQL__HOST"
        ]
    );
    for (key, name) in [
        ("services.gitea.environment", "`SECRET_KEY`"),
        ("services.server.environment", "`AUTHENTIK_SECRET_KEY`"),
    ] {
        assert!(
            result.report.variables.iter().any(|n| n.key == key
                && n.note.contains(name)
                && n.note
                    .contains("from the environment (or `.env`) at each `up`")),
            "{key}: {:?}",
            result.report.variables
        );
    }
}

#[test]
fn what_compose_does_that_berth_does_differently_is_reported_with_its_line() {
    let (result, _) = imported(&shape("reported.yml"), false);
    let notes = notes(&result);
    for expected in [
        "6 services.web.ports",
        "8 services.web.expose",
        "11 services.web.volumes",
        "12 services.web.volumes",
        "15 services.web.healthcheck.interval",
        "16 services.web.healthcheck.timeout",
        "17 services.web.healthcheck.retries",
        "18 services.web.healthcheck.start_period",
    ] {
        assert!(
            notes.iter().any(|n| n == expected),
            "{expected} in {notes:#?}"
        );
    }
    assert!(
        !notes.iter().any(|n| n == "7 services.web.ports"),
        "loopback is what berth does: {notes:#?}"
    );
    let said: Vec<&str> = result
        .report
        .not_carried
        .iter()
        .map(|n| n.note.as_str())
        .collect();
    assert!(
        said.iter()
            .any(|n| n.contains("published on 127.0.0.1 only, not on `0.0.0.0`")),
        "{said:#?}"
    );
    assert!(
        said.iter().any(|n| n.contains("`:z` on `/srv/site`")),
        "{said:#?}"
    );
    assert!(
        said.iter().any(|n| n.contains("`:Z` on `/var/data`")),
        "{said:#?}"
    );
}

#[test]
fn a_file_of_built_or_profiled_services_is_refused_or_imported_not_an_internal_error() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("compose.yaml");
    std::fs::write(
        &path,
        "services:\n  api:\n    build: .\n  web:\n    build: ./web\n",
    )
    .unwrap();
    let e = import(&read(&path), &Options::default()).unwrap_err();
    assert_eq!(e.exit_code(), 2, "{e}");
    assert_eq!(
        render(&e, &plain),
        "error: `compose.yaml` has no service berth can run: `api`, `web` are built from source (`build`) and name no `image`\nhint: build the images (`docker build -t NAME ...`), name each with `image`, and import again\n"
    );

    // Every service in a profile: the stack loads with one, and without
    // one says how to choose.
    std::fs::write(
        &path,
        "services:\n  db:\n    image: postgres:16\n    profiles: [dev]\n",
    )
    .unwrap();
    let result = import(&read(&path), &Options::default()).unwrap();
    let stack_file = dir.path().join("berth.toml");
    let dev = LoadOptions {
        profile: Some("dev".into()),
        ..LoadOptions::default()
    };
    let config = load::parse(&stack_file, result.toml.clone(), &dev, &no_env)
        .unwrap_or_else(|e| panic!("{}\n{}", render(&e, &plain), result.toml));
    assert_eq!(config.services.len(), 1);
    let e = load::parse(&stack_file, result.toml, &LoadOptions::default(), &no_env).unwrap_err();
    assert!(
        render(&e, &plain).contains("hint: choose a profile, like `berth --profile dev up`"),
        "{}",
        render(&e, &plain)
    );
}

/// `back` (imported from an export of `original`) is the same stack:
/// services, kinds, runtimes, images, ports, data, dependencies and every
/// key (a runtime the export made explicit aside).
pub(super) fn assert_same_stack(back: &StackConfig, original: &StackConfig, shown: &str) {
    assert_eq!(back.services.len(), original.services.len());
    for svc in &original.services {
        let other = back
            .service(&svc.name)
            .unwrap_or_else(|| panic!("`{}` came back", svc.name));
        let context = format!("service `{}`:\n{shown}", svc.name);
        assert_eq!(other.kind(), svc.kind(), "{context}");
        assert_eq!(other.runtime, svc.runtime, "{context}");
        assert_eq!(other.image, svc.image, "{context}");
        assert_eq!(other.port, svc.port, "{context}");
        assert_eq!(other.persist, svc.persist, "{context}");
        let deps = |s: &crate::config::model::ServiceConfig| -> Vec<String> {
            let mut d: Vec<String> = s.depends_on.iter().map(|(n, _)| n.clone()).collect();
            d.sort();
            d
        };
        assert_eq!(deps(other), deps(svc), "{context}");
        let without_runtime = |s: &crate::config::model::ServiceConfig| {
            let mut keys = s.keys.clone();
            keys.remove("runtime");
            keys
        };
        assert_eq!(without_runtime(other), without_runtime(svc), "{context}");
    }
}
