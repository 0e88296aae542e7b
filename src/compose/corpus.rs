//! The corpus (`tests/fixtures/compose/corpus/*/compose.yaml`): compose
//! files this project wrote in the shapes public stacks have (ELK's
//! dotted settings, Temporal's environment-heavy services, Nextcloud's
//! app and cron on shared volumes, Supabase's secrets in `.env`, Sentry's
//! flow sequences and anchors, profiles, every port, volume and
//! interpolation form, ...), each imported as a new user would:
//!
//! - the `berth.toml` and the report each gives are the ones in its
//!   `expected.txt` (or the error, for a file berth refuses), with no
//!   internal error; `BERTH_BLESS=1` writes them anew, to be read in review;
//! - no secret of its env files reaches the stack file, the exported
//!   compose file, or the stack imported back from that export, which is
//!   the same stack;
//! - every key of every service is translated or reported: removing it
//!   changes the stack file or the report, unless it only restates what
//!   Compose does anyway.
//!
//! Everything is in-process. `tests/it/compose.rs` hands each export to
//! docker-compose 1.29.

use std::path::{Path, PathBuf};

use super::export_compose;
use super::file::{self, ComposeFile};
use super::import::{import, Imported, Options};
use super::tests::assert_same_stack;
use super::yaml::{self, Node, Value};
use crate::config::load;
use crate::config::model::{LoadOptions, StackConfig};
use crate::diagnostic::{plain, render};
use crate::source::SourceFile;
use crate::stack::settle::settle;
use crate::state::{State, StateDir};

fn corpus() -> Vec<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/compose/corpus");
    let mut entries: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.join("compose.yaml").is_file())
        .collect();
    entries.sort();
    entries
}

fn no_env(_: &str) -> Option<String> {
    None
}

/// A copy of an entry's files, to change or to write beside.
fn copy_dir(from: &Path, to: &Path) {
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

/// The import of `path`: the stack file and report, or the error.
fn outcome(path: &Path) -> Result<Imported, String> {
    let read = file::read(path, &no_env);
    let shown = |e: crate::error::Error| {
        assert_eq!(
            e.exit_code(),
            2,
            "an internal error for {}: {e}",
            path.display()
        );
        render(&e, &plain)
    };
    let read: ComposeFile = read.map_err(shown)?;
    import(&read, &Options::default()).map_err(shown)
}

/// The report as text, one line an item.
fn report_text(imported: &Imported) -> String {
    let r = &imported.report;
    let mut out = String::new();
    for s in &r.services {
        out.push_str(&format!(
            "service {} -> {} ({}, {}){}\n",
            s.compose,
            s.service,
            s.kind,
            s.runtime,
            if s.profiles.is_empty() {
                String::new()
            } else {
                format!(" profiles {}", s.profiles.join(", "))
            }
        ));
    }
    for (what, items) in [
        ("not carried", &r.not_carried),
        ("reference", &r.references),
        ("variable", &r.variables),
    ] {
        for i in items {
            out.push_str(&format!("{what} {} `{}`: {}\n", i.line, i.key, i.note));
        }
    }
    out
}

fn golden(imported: &Result<Imported, String>) -> String {
    match imported {
        Ok(i) => format!("{}\n--- report\n{}", i.toml, report_text(i)),
        Err(e) => format!("--- refused\n{e}"),
    }
}

#[test]
fn every_corpus_file_imports_as_its_expected_file_says() {
    let entries = corpus();
    assert!(
        entries.len() >= 40,
        "the corpus holds {} files",
        entries.len()
    );
    let bless = std::env::var_os("BERTH_BLESS").is_some();
    let mut differ = Vec::new();
    for dir in &entries {
        let got = golden(&outcome(&dir.join("compose.yaml")));
        let expected_path = dir.join("expected.txt");
        if bless {
            std::fs::write(&expected_path, &got).unwrap();
            continue;
        }
        let expected = std::fs::read_to_string(&expected_path).unwrap_or_default();
        if expected != got {
            differ.push(format!("{}:\n{got}", dir.display()));
        }
    }
    assert!(
        differ.is_empty(),
        "imports that differ from their expected.txt (BERTH_BLESS=1 writes them):\n{}",
        differ.join("\n")
    );
}

/// The values of an entry's env files that look like secrets.
fn secrets(dir: &Path) -> Vec<String> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap().flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        if !(name.starts_with(".env") || name.ends_with(".env")) {
            continue;
        }
        let entries = crate::variables::dotenv::read(&entry.path(), &no_env).unwrap();
        for e in entries {
            let key = e.key.to_ascii_uppercase();
            let secret = ["PASSWORD", "PASS", "SECRET", "KEY", "TOKEN", "PWD"]
                .iter()
                .any(|w| key.contains(w));
            if secret && e.value.len() >= 6 {
                out.push(e.value);
            }
        }
    }
    out
}

/// The profiles to load the stack with: none when some service has none,
/// else the first one.
fn profile_of(imported: &Imported) -> Option<String> {
    let services = &imported.report.services;
    if services.iter().any(|s| s.profiles.is_empty()) {
        None
    } else {
        services.first().and_then(|s| s.profiles.first().cloned())
    }
}

#[test]
fn no_secret_reaches_a_stack_file_or_an_export_and_the_export_imports_back_the_same() {
    for dir in corpus() {
        let Ok(imported) = outcome(&dir.join("compose.yaml")) else {
            continue;
        };
        let secrets = secrets(&dir);
        let shown = dir.display().to_string();
        for secret in &secrets {
            assert!(
                !imported.toml.contains(secret.as_str()),
                "{shown}: `{secret}` in berth.toml:\n{}",
                imported.toml
            );
        }
        // The stack beside a copy of the entry's files, as the user has it.
        let work = tempfile::tempdir().unwrap();
        copy_dir(&dir, work.path());
        let stack_file = work.path().join("berth.toml");
        std::fs::write(&stack_file, &imported.toml).unwrap();
        round_trip(&stack_file, profile_of(&imported), &secrets, &shown);
    }
}

/// The examples' stacks too go out to Compose and come back the same,
/// but one with a service that runs a native program (agentlab's nginx,
/// a `command` and no `image`), which no container runs: its export is
/// refused, saying so.
#[test]
fn every_example_exports_and_imports_back_the_same() {
    let examples = Path::new(env!("CARGO_MANIFEST_DIR")).join("examples");
    let mut exported = 0;
    for entry in std::fs::read_dir(examples).unwrap().flatten() {
        let stack_file = entry.path().join("berth.toml");
        if !stack_file.is_file() {
            continue;
        }
        let containers = LoadOptions {
            runtime: Some("container".into()),
            ..LoadOptions::default()
        };
        if let Err(e) = load::load(&stack_file, &containers, &no_env) {
            let shown = render(&e, &plain);
            assert!(
                shown.contains("runs in a container but names no `image`"),
                "{shown}"
            );
            continue;
        }
        round_trip(&stack_file, None, &[], &stack_file.display().to_string());
        exported += 1;
    }
    assert!(exported >= 2, "{exported} examples exported");
}

/// Export the stack of `stack_file` to Compose (in a directory of its
/// own), check no secret is in it, import it back as if at the stack
/// file's place, and check it is the same stack.
fn round_trip(stack_file: &Path, profile: Option<String>, secrets: &[String], shown: &str) {
    let options = |runtime: Option<&str>| LoadOptions {
        profile: profile.clone(),
        runtime: runtime.map(str::to_string),
        ..LoadOptions::default()
    };
    let load = |runtime: Option<&str>| -> StackConfig {
        load::load(stack_file, &options(runtime), &no_env)
            .unwrap_or_else(|e| panic!("{shown}: {}", render(&e, &plain)))
    };
    let original = load(None);
    let forced = load(Some("container"));
    let mut state = State::default();
    settle(&forced, &mut state).unwrap();
    let work = tempfile::tempdir().unwrap();
    let out = work.path().join("out");
    let outputs = export_compose::export(
        &forced,
        &original,
        &StateDir::new(work.path().join(".berth/export")),
        &state,
        None,
        &out,
        "compose.yaml",
    )
    .unwrap_or_else(|e| panic!("{shown}: {e}"));
    for o in &outputs {
        let path = out.join(&o.path);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, &o.text).unwrap();
    }
    let exported = std::fs::read_to_string(out.join("compose.yaml")).unwrap();
    for secret in secrets {
        assert!(
            !exported.contains(secret.as_str()),
            "{shown}: `{secret}` in the export:\n{exported}"
        );
    }
    // Imported back at the stack file's place (`-o`), where its paths
    // and the original's meet.
    let root = stack_file.parent().unwrap();
    let back = import(
        &file::read(&out.join("compose.yaml"), &no_env).unwrap(),
        &Options {
            stack_dir: Some(root.to_path_buf()),
            ..Options::default()
        },
    )
    .unwrap_or_else(|e| panic!("{shown}: {}", render(&e, &plain)));
    for secret in secrets {
        assert!(
            !back.toml.contains(secret.as_str()),
            "{shown}: `{secret}` imported back:\n{}",
            back.toml
        );
    }
    let back_config = load::parse(
        stack_file,
        back.toml.clone(),
        &LoadOptions::default(),
        &no_env,
    )
    .unwrap_or_else(|e| panic!("{shown}: {}\n{}", render(&e, &plain), back.toml));
    assert_same_stack(&back_config, &original, &format!("{shown}:\n{}", back.toml));
}

/// Line numbers out of the stack file's comments and the report: removing
/// a line moves everything after it.
fn without_lines(text: &str) -> String {
    let mut out = String::new();
    let mut rest = text;
    while let Some(at) = rest.find("compose.yaml:") {
        out.push_str(&rest[..at + "compose.yaml:".len()]);
        rest = rest[at + "compose.yaml:".len()..].trim_start_matches(|c: char| c.is_ascii_digit());
    }
    out.push_str(rest);
    out.lines()
        .map(|line| {
            for prefix in ["not carried ", "reference ", "variable "] {
                if let Some(tail) = line.strip_prefix(prefix) {
                    let tail = tail.trim_start_matches(|c: char| c.is_ascii_digit());
                    return format!("{prefix}{tail}");
                }
            }
            line.to_string()
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// Keys whose value only restates what Compose or berth does anyway:
/// removing them changes nothing, and rightly. `service` is the service
/// the key is under.
fn restates_the_default(key: &str, value: &Node, service: &Node) -> bool {
    let text = value.text().unwrap_or("");
    let image = service.get("image").and_then(Node::text).unwrap_or("");
    let env = |name: &str| -> Option<String> {
        let environment = service.get("environment")?;
        if let Some(v) = environment.get(name) {
            return v.text().map(str::to_string);
        }
        environment.seq()?.iter().find_map(|i| {
            let (k, v) = i.text()?.split_once('=')?;
            (k == name).then(|| v.to_string())
        })
    };
    // `${DB_USER:-app}` as the file reads it without the variable.
    let default_of = |text: String| match text.strip_prefix("${").and_then(|t| t.split_once(":-")) {
        Some((_, default)) => default.trim_end_matches('}').to_string(),
        None => text,
    };
    key.starts_with("x-")
        // A command's program where the image runs it anyway.
        || (key.is_empty() && matches!(text, "postgres" | "redis-server"))
        || matches!(
            (key, text),
            ("condition", "service_started")
                // berth waits for every dependency to be ready.
                | ("condition", "service_healthy")
                | ("protocol", "tcp")
                | ("read_only", "false")
                | ("required", "true")
                | ("disable", "false")
                | ("type", "volume")
        )
        || (key == "networks"
            && value
                .seq()
                .is_some_and(|n| n.iter().all(|i| i.text() == Some("default"))))
        // The image's default database is its user's.
        || (key == "POSTGRES_DB"
            && text == env("POSTGRES_USER").map(default_of).unwrap_or_else(|| "postgres".into()))
        // MinIO's `server DIR` is what berth runs for it.
        || (key == "command" && image.contains("minio/minio") && text.starts_with("server "))
}

/// The line (1-based) `at` is on.
fn line_of(source: &str, at: usize) -> usize {
    source[..at].matches('\n').count() + 1
}

/// The text of `source` from the start of the line `start` is on to the
/// end of the line `end` is on, when only indentation (and, for a list
/// item, `- `) comes before `start` on its line: an entry in block style.
fn whole_lines(source: &str, start: usize, end: usize, list_item: bool) -> Option<(usize, usize)> {
    let line_start = source[..start].rfind('\n').map_or(0, |i| i + 1);
    let before = &source[line_start..start];
    let ok = if list_item {
        before.trim_start().starts_with("- ") && before.trim_start()[2..].trim().is_empty()
    } else {
        before.chars().all(|c| c == ' ')
    };
    if !ok {
        return None;
    }
    // A value ending at a line's start ends the line before.
    let end = if end > 0 && source.as_bytes().get(end - 1) == Some(&b'\n') {
        end
    } else {
        source[end..]
            .find('\n')
            .map_or(source.len(), |i| end + i + 1)
    };
    Some((line_start, end))
}

/// Every block-style entry under each service, with its key path
/// (`services.db.healthcheck.timeout`): a mapping's keys, and a list's
/// items. What the report names as a whole (a note with its path on its
/// first line) is not gone into.
fn removable(
    source: &str,
    root: &Node,
    reported: &[(String, usize)],
) -> Vec<(String, usize, usize)> {
    struct Walk<'a> {
        source: &'a str,
        reported: &'a [(String, usize)],
        out: Vec<(String, usize, usize)>,
    }
    impl Walk<'_> {
        fn whole(&self, path: &str, at: usize) -> bool {
            let line = line_of(self.source, at);
            self.reported.iter().any(|(k, l)| k == path && *l == line)
        }

        fn walk(&mut self, path: &str, node: &Node, service: &Node) {
            if let Some(entries) = node.map() {
                for (k, v) in entries {
                    let key = k.text().unwrap_or_default();
                    let here = format!("{path}.{key}");
                    // How to wait for a service berth does not import (its
                    // job is berth's) no longer matters.
                    let absorbed = path.rsplit_once(".depends_on.").is_some_and(|(_, dep)| {
                        self.reported
                            .iter()
                            .any(|(k, l)| *l == 0 && k == &format!("services.{dep}"))
                    });
                    if restates_the_default(key, v, service) || (key == "condition" && absorbed) {
                        continue;
                    }
                    let end = v.span.end.max(k.span.end);
                    if let Some(range) = whole_lines(self.source, k.span.start, end, false) {
                        self.out.push((here.clone(), range.0, range.1));
                    }
                    if !self.whole(&here, k.span.start) {
                        self.walk(&here, v, service);
                    }
                }
            } else if let Some(items) = node.seq() {
                for item in items {
                    if self.whole(path, item.span.start) {
                        continue;
                    }
                    if item.map().is_some() {
                        self.walk(path, item, service);
                    } else if let Some(text) = item.text() {
                        // `KEY=value` in an environment list.
                        let (key, value) = text.split_once('=').unwrap_or(("", text));
                        let value = Node {
                            value: Value::Scalar(value.to_string(), false),
                            span: item.span.clone(),
                        };
                        if restates_the_default(key, &value, service) {
                            continue;
                        }
                        if let Some(range) =
                            whole_lines(self.source, item.span.start, item.span.end, true)
                        {
                            self.out.push((format!("{path}[]"), range.0, range.1));
                        }
                    }
                }
            }
        }
    }
    let mut walk = Walk {
        source,
        reported,
        out: Vec::new(),
    };
    for (name, service) in root.get("services").and_then(Node::map).unwrap_or_default() {
        let path = format!("services.{}", name.text().unwrap_or_default());
        if !walk.whole(&path, name.span.start) {
            walk.walk(&path, service, service);
        }
    }
    let mut out = walk.out;
    // An anchor's entries reached from several services are one text.
    out.sort_by_key(|(_, s, e)| (*s, *e));
    out.dedup_by_key(|(_, s, e)| (*s, *e));
    out
}

#[test]
fn every_key_of_every_service_is_translated_or_reported() {
    let mut silent = Vec::new();
    let mut tried = 0;
    for dir in corpus() {
        let Ok(imported) = outcome(&dir.join("compose.yaml")) else {
            continue;
        };
        // Changed in a copy, beside the entry's env files.
        let work = tempfile::tempdir().unwrap();
        copy_dir(&dir, work.path());
        let path = work.path().join("compose.yaml");
        let source = std::fs::read_to_string(&path).unwrap();
        let root = yaml::parse(&SourceFile::new(&path, source.clone())).unwrap();
        let mut reported: Vec<(String, usize)> = imported
            .report
            .not_carried
            .iter()
            .map(|i| (i.key.clone(), i.line))
            .collect();
        // Services whose job berth does, marked with line 0.
        reported.extend(
            imported
                .report
                .not_carried
                .iter()
                .filter(|i| i.note.contains("this container is not imported"))
                .map(|i| (i.key.clone(), 0)),
        );
        let before = without_lines(&golden(&Ok(imported)));
        for (key, start, end) in removable(&source, &root, &reported) {
            let mutated = format!("{}{}", &source[..start], &source[end..]);
            std::fs::write(&path, &mutated).unwrap();
            tried += 1;
            let after = match outcome(&path) {
                Ok(i) => without_lines(&golden(&Ok(i))),
                // Refused without it: it mattered.
                Err(_) => continue,
            };
            if after == before {
                silent.push(format!(
                    "{}: `{key}` ({:?})",
                    dir.file_name().unwrap().to_string_lossy(),
                    source[start..end].trim()
                ));
            }
        }
    }
    assert!(tried > 300, "only {tried} keys were tried");
    assert!(
        silent.is_empty(),
        "keys neither translated nor reported (removing them changes nothing):\n{}",
        silent.join("\n")
    );
}
