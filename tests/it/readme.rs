//! The README's examples in other languages, run as a reader would run
//! them: its Rust test in a crate of its own that depends on berth (without
//! default features, as the README advises), and its pytest fixture under
//! pytest. The README's text is what runs, so the two cannot drift apart.

use super::*;

/// The fenced block of `language` in the README whose text contains
/// `marker`.
fn readme_block(language: &str, marker: &str) -> String {
    let readme =
        std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("README.md")).unwrap();
    let fence = format!("```{language}\n");
    readme
        .split(fence.as_str())
        .skip(1)
        .filter_map(|rest| rest.split_once("\n```").map(|(block, _)| block.to_string()))
        .find(|block| block.contains(marker))
        .unwrap_or_else(|| panic!("the README has a ```{language} block with `{marker}`"))
}

/// A project whose stack has everything the README's examples use.
fn project() -> Sandbox {
    let s = Sandbox::new(
        "name = \"readme\"\n\n[services.db]\nkind = \"postgres\"\n\n[services.cache]\nkind = \"redis\"\n\n[services.storage]\nkind = \"s3\"\n",
    );
    std::fs::create_dir_all(s.path().join("migrations/db")).unwrap();
    std::fs::write(
        s.path().join("migrations/db/001_users.sql"),
        "CREATE TABLE users (name text NOT NULL);\n",
    )
    .unwrap();
    s
}

#[test]
fn the_readme_rust_example_passes_in_a_crate_of_its_own() {
    let s = project();
    let repo = Path::new(env!("CARGO_MANIFEST_DIR"));
    std::fs::write(
        s.path().join("Cargo.toml"),
        format!(
            "[package]\nname = \"readme-example\"\nversion = \"0.0.0\"\nedition = \"2021\"\npublish = false\n\n\
             [dev-dependencies]\nberth = {{ path = {:?}, default-features = false }}\npostgres = \"0.19\"\n\n\
             [workspace]\n",
            repo.display().to_string()
        ),
    )
    .unwrap();
    // The same versions as berth's own build, so nothing is fetched.
    std::fs::copy(repo.join("Cargo.lock"), s.path().join("Cargo.lock")).unwrap();
    std::fs::create_dir_all(s.path().join("src")).unwrap();
    std::fs::write(s.path().join("src/lib.rs"), "").unwrap();
    std::fs::create_dir_all(s.path().join("tests")).unwrap();
    std::fs::write(
        s.path().join("tests/readme.rs"),
        readme_block("rust", "use berth::testing::TestStack"),
    )
    .unwrap();
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let mut cmd = Command::new(cargo);
    // Not the variables cargo gave this test (they describe its build).
    for (key, _) in std::env::vars() {
        if (key.starts_with("CARGO") || key.starts_with("RUST"))
            && !matches!(
                key.as_str(),
                "CARGO_HOME" | "RUSTUP_HOME" | "RUSTUP_TOOLCHAIN"
            )
        {
            cmd.env_remove(key);
        }
    }
    // Its object store is the berth command's, which a crate that only
    // depends on the library finds on `PATH`, as the README says.
    let berth_dir = Path::new(env!("CARGO_BIN_EXE_berth")).parent().unwrap();
    let path = format!(
        "{}:{}",
        berth_dir.display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let out = cmd
        .args(["test", "--offline", "--quiet"])
        .env("PATH", path)
        .current_dir(s.path())
        // Its own target directory (the suite's is locked while it runs),
        // kept between runs so only the first one builds everything.
        .env("CARGO_TARGET_DIR", repo.join("target/readme-example"))
        .output()
        .expect("cargo runs");
    assert!(
        out.status.success(),
        "the README's Rust example:\n{}",
        describe(&out)
    );
    let text = stdout(&out);
    assert!(text.contains("1 passed"), "{text}");
}

#[test]
fn the_readme_pytest_fixture_hands_out_a_database_and_drops_it() {
    let s = project();
    s.ok(&["up"]);
    let fixture = readme_block("python", "def database_url");
    std::fs::write(s.path().join("test_readme.py"), fixture).unwrap();
    // A test using the fixture, as a reader's would: the database is
    // reachable and migrated (through psql, the client this machine has).
    std::fs::write(
        s.path().join("test_uses_it.py"),
        "import subprocess\nfrom test_readme import database_url  # noqa: F401\n\n\
         def test_users_table(database_url):\n    \
         out = subprocess.check_output([\"psql\", database_url, \"-XAtc\", \"SELECT count(*) FROM users\"])\n    \
         assert out.strip() == b\"0\"\n",
    )
    .unwrap();
    let bin_dir = Path::new(env!("CARGO_BIN_EXE_berth")).parent().unwrap();
    let path = format!(
        "{}:{}",
        bin_dir.display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let out = Command::new("/usr/bin/python3")
        .args([
            "-m",
            "pytest",
            "-q",
            "-p",
            "no:cacheprovider",
            "test_uses_it.py",
        ])
        .current_dir(s.path())
        .env("PATH", path)
        .output()
        .expect("python3 runs");
    assert!(
        out.status.success(),
        "the README's pytest fixture:\n{}",
        describe(&out)
    );
    assert!(stdout(&out).contains("1 passed"), "{}", describe(&out));
    // The fixture dropped its database on the way out.
    let gc: serde_json::Value =
        serde_json::from_slice(&s.ok(&["db", "gc", "--json"]).stdout).unwrap();
    let url = s.env(".env").get("DB_URL").cloned();
    let listed = Command::new("psql")
        .args([
            url.as_deref().unwrap_or(""),
            "-XAtc",
            "SELECT count(*) FROM pg_database WHERE datname LIKE 'bt\\_%'",
        ])
        .output()
        .unwrap();
    assert!(listed.status.success(), "{}", describe(&listed));
    assert_eq!(
        String::from_utf8_lossy(&listed.stdout).trim(),
        "0",
        "gc: {gc}"
    );
}
