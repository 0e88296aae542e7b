//! Compose files in and out, end to end: the fixtures modelled on the
//! source documents' stacks imported and brought up on this machine (their
//! images played by the locally built test images), and exported
//! Kubernetes manifests checked against the Kubernetes schemas by a real
//! validator. Exported compose files run on docker-compose and
//! podman-compose in `containers.rs`, once per engine.

use super::containers::{engine, REDIS_IMAGE};
use super::object_store::boto3_ok;
use super::*;

/// A sandbox holding a copy of `tests/fixtures/compose/<name>`.
fn fixture(name: &str) -> Sandbox {
    let s = Sandbox::new("");
    std::fs::remove_file(s.path().join("berth.toml")).unwrap();
    copy_dir(
        &Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("tests/fixtures/compose")
            .join(name),
        s.path(),
    );
    s
}

pub fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap().flatten() {
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), &target).unwrap();
        }
    }
}

/// `berth up` with `vars` set.
fn up_with(s: &Sandbox, args: &[&str], vars: &[(&str, String)]) -> Output {
    let mut cmd = s.cmd(args);
    for (k, v) in vars {
        cmd.env(k, v);
    }
    cmd.output().unwrap()
}

#[test]
fn cleanmatex_compose_file_imports_and_comes_up_natively_and_in_a_container() {
    if !engine() {
        return;
    }
    let s = fixture("cleanmatex");
    let out = s.ok(&["import", "compose"]);
    let table = stdout(&out);
    assert!(
        table.contains("minio            minio            s3        native"),
        "{table}"
    );
    assert!(
        !stderr(&out).contains("docker-compose.yml:20"),
        "the init scripts' mount is carried over: {}",
        describe(&out)
    );
    // Writing over it needs `--force`.
    let again = s.run(&["import", "compose"]);
    assert_eq!(again.status.code(), Some(2), "{}", describe(&again));

    // The images the compose file names are not on this machine: the
    // project's test images stand in for them.
    let vars = [
        ("BERTH_REDIS_IMAGE", REDIS_IMAGE.to_string()),
        ("BERTH_POSTGRES_PORT", free_port().to_string()),
        ("BERTH_REDIS_PORT", free_port().to_string()),
        ("BERTH_MINIO_PORT", free_port().to_string()),
    ];
    let up = up_with(&s, &["up"], &vars);
    assert!(up.status.success(), "{}", describe(&up));
    // The compose project's own `.env` is left alone; berth's is beside it.
    assert!(std::fs::read_to_string(s.path().join(".env"))
        .unwrap()
        .contains("CMX_DB_PASSWORD=cmx_pass_dev"));
    let env = s.env(".env.berth");
    assert!(
        env["POSTGRES_URL"].contains("cmx_user:cmx_pass_dev@"),
        "{env:?}"
    );
    let version: String = pg(&env["POSTGRES_URL"])
        .query_one("SHOW server_version", &[])
        .unwrap()
        .get(0);
    assert!(
        version.starts_with("16"),
        "the version the image's tag names: {version}"
    );
    // Its init script ran, `ALTER SYSTEM` included (issue 33).
    let cost: String = pg(&env["POSTGRES_URL"])
        .query_one("SHOW random_page_cost", &[])
        .unwrap()
        .get(0);
    assert_eq!(cost, "1.1");
    let mut redis = BTreeMap::new();
    redis.insert("REDIS_HOST".to_string(), env["REDIS_HOST"].clone());
    redis.insert("REDIS_PORT".to_string(), env["REDIS_PORT"].clone());
    redis.insert("REDIS_PASSWORD".to_string(), env["REDIS_PASSWORD"].clone());
    assert_eq!(
        redis_cli(&redis, &["CONFIG", "GET", "appendonly"]),
        "appendonly\nyes"
    );
    let s3: BTreeMap<String, String> = [
        ("S3_ENDPOINT", env["MINIO_ENDPOINT"].clone()),
        ("S3_ACCESS_KEY", env["MINIO_ACCESS_KEY"].clone()),
        ("S3_SECRET_KEY", env["MINIO_SECRET_KEY"].clone()),
        ("S3_REGION", env["MINIO_REGION"].clone()),
        ("S3_BUCKET", "probe".to_string()),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v))
    .collect();
    assert_eq!(s3["S3_ACCESS_KEY"], "minioadmin");
    boto3_ok(&s3, &["create"]);
    assert_eq!(boto3_ok(&s3, &["keys"]), "");
}

#[test]
fn agentlab_compose_file_imports_and_comes_up_in_containers() {
    if !engine() {
        return;
    }
    let s = fixture("agentlab");
    s.ok(&["--runtime", "container", "import", "compose"]);
    let (db, api, web) = (free_port(), free_port(), free_port());
    let vars = [
        // pgvector's image and the team's own API, played by test images.
        ("BERTH_DB_IMAGE", "berth-test/pgvector:16".to_string()),
        ("BERTH_DB_VERSION", "16".to_string()),
        ("BERTH_CACHE_IMAGE", REDIS_IMAGE.to_string()),
        ("BERTH_API_IMAGE", "berth-test/httpd:1".to_string()),
        ("BERTH_API_CONTAINER_PORT", "8080".to_string()),
        ("BERTH_API_READY", "{ http = \"/health\" }".to_string()),
        (
            "BERTH_API_ENV",
            "{ DB_HOST = \"${db.host}\", DB_PORT = \"${db.port}\" }".to_string(),
        ),
        ("BERTH_NGINX_IMAGE", "berth-test/nginx:1".to_string()),
        ("BERTH_DB_PORT", db.to_string()),
        ("BERTH_CACHE_PORT", free_port().to_string()),
        ("BERTH_API_PORT", api.to_string()),
        ("BERTH_NGINX_PORT", web.to_string()),
    ];
    let up = up_with(&s, &["up"], &vars);
    assert!(up.status.success(), "{}", describe(&up));
    let env = s.env(".env.berth");
    let mut client = pg(&env["DB_URL"]);
    client
        .batch_execute("CREATE EXTENSION vector; CREATE TABLE items (e vector(2)); INSERT INTO items VALUES ('[1,2]')")
        .unwrap();
    let settings: String = client
        .query_one("SHOW max_connections", &[])
        .unwrap()
        .get(0);
    assert_eq!(settings, "200", "the `-c` arguments of the compose file");
    let (status, _) = super::generic::http_get(api, "/health").expect("the API answers");
    assert_eq!(status, 200);
    let (status, body) = super::generic::http_get(web, "/healthz").expect("nginx answers");
    assert_eq!(
        (status, body.as_str()),
        (200, "ok\n"),
        "its site from the bind-mounted conf.d"
    );
}

fn validator() -> PathBuf {
    ["/usr/local/lib/berth-test".to_string()]
        .into_iter()
        .chain(std::env::var("HOME").map(|h| format!("{h}/.cache/berth-test")))
        .map(|d| PathBuf::from(d).join("kubernetes-validate/bin/kubernetes-validate"))
        .find(|p| p.exists())
        .expect("kubernetes-validate is installed: run `scripts/setup --all`")
}

/// `kubernetes-validate --strict` against Kubernetes `version`.
fn validate(files: &[PathBuf], version: &str) -> Output {
    Command::new(validator())
        .args(["--strict", "--quiet", "-k", version])
        .args(files)
        .output()
        .unwrap()
}

#[test]
fn exported_kubernetes_manifests_pass_the_schemas_of_two_kubernetes_versions() {
    // AgentLab's prod profile: its nginx's site is a bind-mounted file,
    // which becomes part of a ConfigMap.
    for (example, profile) in [("cleanmatex", None), ("agentlab", Some("prod"))] {
        let s = Sandbox::new("");
        copy_dir(
            &Path::new(env!("CARGO_MANIFEST_DIR"))
                .join("examples")
                .join(example),
            s.path(),
        );
        let mut args = vec!["export", "kubernetes", "-o", "k8s"];
        if let Some(p) = profile {
            args.splice(0..0, ["-p", p]);
        }
        let out = s.ok(&args);
        assert!(
            stderr(&out).contains("kubectl apply -k k8s"),
            "{}",
            describe(&out)
        );
        let dir = s.path().join("k8s");
        let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
            .unwrap()
            .flatten()
            .map(|e| e.path())
            .collect();
        files.sort();
        let kustomization = std::fs::read_to_string(dir.join("kustomization.yaml")).unwrap();
        // Kustomize's own file has no Kubernetes schema; it must list the rest.
        files.retain(|f| !f.ends_with("kustomization.yaml"));
        for f in &files {
            let name = f.file_name().unwrap().to_string_lossy().into_owned();
            assert!(
                kustomization.contains(&format!("\"{name}\"")),
                "{name} in {kustomization}"
            );
        }
        let secret = dir.join("secret.yaml");
        let mode = std::fs::metadata(&secret).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600, "the Secret's file");
        for version in ["1.29.0", "1.33.0"] {
            let out = validate(&files, version);
            assert!(
                out.status.success(),
                "{example} on Kubernetes {version}: {}",
                describe(&out)
            );
        }
        // The validator is strict: a field Kubernetes does not have fails.
        let postgres = dir.join("postgres.yaml");
        let text = std::fs::read_to_string(&postgres).unwrap();
        std::fs::write(
            &postgres,
            text.replace("  replicas: 1\n", "  replicas: 1\n  replica: 1\n"),
        )
        .unwrap();
        let out = validate(&[postgres], "1.33.0");
        assert!(
            !out.status.success(),
            "a misspelt field is caught: {}",
            describe(&out)
        );
    }
}

#[test]
fn a_stack_with_a_directory_tree_or_underscores_is_not_exported_to_kubernetes() {
    let s = Sandbox::new(
        "name = \"k8s-bad\"\nruntime = \"container\"\n[services.web_app]\nimage = \"nginx:1\"\ncontainer_port = 80\n",
    );
    let out = s.run(&["export", "kubernetes"]);
    assert_eq!(out.status.code(), Some(2), "{}", describe(&out));
    assert!(
        stderr(&out).contains("`web_app` is not a name Kubernetes accepts"),
        "{}",
        describe(&out)
    );
    s.write_stack("name = \"k8s-bad\"\nruntime = \"container\"\n[services.web]\nimage = \"nginx:1\"\ncontainer_port = 80\nvolumes = [\"./site:/usr/share/nginx/html\"]\n");
    std::fs::create_dir_all(s.path().join("site/assets")).unwrap();
    let out = s.run(&["export", "kubernetes"]);
    assert_eq!(out.status.code(), Some(2), "{}", describe(&out));
    assert!(
        stderr(&out).contains("a directory tree, which a ConfigMap cannot hold"),
        "{}",
        describe(&out)
    );
}

/// Issue 37: a team whose secrets live in `.env` and an `env_file` keeps
/// them there. The imported `berth.toml` names them (`${JWT_SECRET}`,
/// `[overrides]`, `dotenv`), `up` reads them from there as Compose does,
/// and neither the export nor the stack imported back from it holds one.
#[test]
fn issue_37_a_teams_secrets_stay_in_its_env_files_through_import_up_and_export() {
    let s = fixture("team-secrets");
    let secrets = [
        "pg-Secret-7f3a",
        "redis-Secret-91bc",
        "jwt-Secret-e55d",
        "api-Secret-0c2e",
    ];
    let out = s.ok(&["import", "compose", "--json"]);
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let toml = std::fs::read_to_string(s.path().join("berth.toml")).unwrap();
    for secret in secrets {
        assert!(!toml.contains(secret), "{secret} in berth.toml:\n{toml}");
    }
    assert!(toml.contains("dotenv = [\".env\", \"app.env\"]"), "{toml}");
    // The report says where each value went.
    let kept: Vec<(String, String)> = report["variables"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| {
            (
                v["key"].as_str().unwrap().to_string(),
                v["note"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    for (key, named) in [
        (
            "services.db.environment.POSTGRES_PASSWORD",
            "`POSTGRES_PASSWORD`",
        ),
        ("services.cache.command", "`REDIS_PASSWORD`"),
        ("services.app.environment", "`JWT_SECRET`"),
        ("services.app.env_file", "`API_TOKEN`"),
        ("services.app.environment", "`OPERATOR_TOKEN`"),
    ] {
        assert!(
            kept.iter()
                .any(|(k, note)| k == key && note.contains(named)),
            "{key}: {named} in {kept:#?}"
        );
    }

    // `up` reads the values where the team keeps them.
    let vars = [
        ("BERTH_DB_PORT", free_port().to_string()),
        ("BERTH_CACHE_PORT", free_port().to_string()),
    ];
    let up = up_with(&s, &["up"], &vars);
    assert!(up.status.success(), "{}", describe(&up));
    let env = s.env(".env.berth");
    assert_eq!(env["DB_PASSWORD"], "pg-Secret-7f3a", "{env:?}");
    let who: String = pg(&env["DB_URL"])
        .query_one("SELECT current_user", &[])
        .unwrap()
        .get(0);
    assert_eq!(who, "postgres");
    assert_eq!(env["CACHE_PASSWORD"], "redis-Secret-91bc", "{env:?}");
    let mut redis = BTreeMap::new();
    redis.insert("REDIS_HOST".to_string(), env["CACHE_HOST"].clone());
    redis.insert("REDIS_PORT".to_string(), env["CACHE_PORT"].clone());
    redis.insert("REDIS_PASSWORD".to_string(), env["CACHE_PASSWORD"].clone());
    assert_eq!(redis_cli(&redis, &["PING"]), "PONG");

    // The export names them too; its `.env` (0600) holds the values.
    s.ok(&[
        "--profile",
        "app",
        "export",
        "compose",
        "-o",
        "out/compose.yaml",
    ]);
    let exported = std::fs::read_to_string(s.path().join("out/compose.yaml")).unwrap();
    for secret in secrets {
        assert!(
            !exported.contains(secret),
            "{secret} in the export:\n{exported}"
        );
    }
    for reference in ["${JWT_SECRET}", "${API_TOKEN}", "${POSTGRES_PASSWORD}"] {
        assert!(exported.contains(reference), "{reference} in:\n{exported}");
    }
    let dotenv = std::fs::read_to_string(s.path().join("out/.env")).unwrap();
    for secret in secrets {
        assert!(
            dotenv.contains(secret),
            "{secret} in the export's .env:\n{dotenv}"
        );
    }
    // docker-compose 1.29 (Debian's) reads it, variables and all.
    let config = Command::new("docker-compose")
        .args(["-f", "compose.yaml", "config", "-q"])
        .current_dir(s.path().join("out"))
        .output()
        .unwrap();
    assert!(config.status.success(), "{}", describe(&config));

    // Imported back, the stack names the secrets and holds none.
    s.ok(&[
        "import",
        "compose",
        "out/compose.yaml",
        "-o",
        "out/berth.toml",
    ]);
    let back = std::fs::read_to_string(s.path().join("out/berth.toml")).unwrap();
    for secret in secrets {
        assert!(!back.contains(secret), "{secret} imported back:\n{back}");
    }
    assert!(
        back.contains("POSTGRES_PASSWORD = \"db.password\""),
        "{back}"
    );

    // Written elsewhere (`-o`), the stack file names the same files.
    std::fs::create_dir_all(s.path().join("nested")).unwrap();
    s.ok(&["import", "compose", "-o", "nested/berth.toml"]);
    let nested = std::fs::read_to_string(s.path().join("nested/berth.toml")).unwrap();
    assert!(
        nested.contains("dotenv = [\"../.env\", \"../app.env\"]"),
        "{nested}"
    );
    s.ok(&["-f", "nested/berth.toml", "status"]);
}

/// Issue 37: every file of the compose corpus (`src/compose/corpus.rs`
/// checks its imports in-process) imports with the command a user runs,
/// and its export is a file docker-compose 1.29 (Debian's) accepts:
/// `config -q` checks it against the Compose Specification's schema and
/// interpolates it with the `.env` the export wrote beside it.
#[test]
fn issue_37_every_corpus_file_exports_a_file_docker_compose_accepts() {
    let corpus = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/compose/corpus");
    let s = Sandbox::new("");
    let mut entries: Vec<PathBuf> = std::fs::read_dir(&corpus)
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .collect();
    entries.sort();
    let mut exported = 0;
    for dir in entries {
        let name = dir.file_name().unwrap().to_string_lossy().into_owned();
        copy_dir(&dir, &s.path().join(&name));
        let compose = format!("{name}/compose.yaml");
        let import = s.run(&["import", "compose", &compose, "--json"]);
        assert_no_panic(&import);
        let expected = std::fs::read_to_string(dir.join("expected.txt")).unwrap();
        if expected.starts_with("--- refused") {
            assert_eq!(
                import.status.code(),
                Some(2),
                "{name}: {}",
                describe(&import)
            );
            continue;
        }
        assert!(import.status.success(), "{name}: {}", describe(&import));
        let report: serde_json::Value = serde_json::from_slice(&import.stdout).unwrap();
        // A stack whose services are all in profiles exports one of them.
        let services = report["services"].as_array().unwrap();
        let profile = services
            .iter()
            .all(|s| !s["profiles"].as_array().is_none_or(|p| p.is_empty()))
            .then(|| services[0]["profiles"][0].as_str().unwrap().to_string());
        let stack_file = format!("{name}/berth.toml");
        let out = format!("{name}/out/compose.yaml");
        let mut args = vec!["-f", stack_file.as_str()];
        if let Some(p) = &profile {
            args.extend(["--profile", p.as_str()]);
        }
        args.extend(["export", "compose", "-o", out.as_str()]);
        s.ok(&args);
        let config = Command::new("docker-compose")
            .args(["-f", "compose.yaml", "config", "-q"])
            .current_dir(s.path().join(&name).join("out"))
            .output()
            .unwrap();
        assert!(config.status.success(), "{name}: {}", describe(&config));
        exported += 1;
    }
    assert!(exported >= 40, "{exported} corpus files exported");
}
