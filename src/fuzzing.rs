//! Entry points for the fuzzers in `fuzz/` (the `fuzzing` feature), one per
//! input berth reads from outside: the stack file, migration and seed
//! files, SQL, a Redis server's replies, an HTTP server's status line. Each
//! must not panic, hang or allocate without bound, whatever the bytes.
//!
//! The unit test below replays the corpora the fuzzers built
//! (`fuzz/corpus/`), plus a short pass of mutations of them, in every test
//! run.

use std::path::Path;

use crate::client::{http, redis};
use crate::config::load;
use crate::config::model::LoadOptions;
use crate::diagnostic::{plain, render};
use crate::envfile::{self, Secrets};
use crate::migrate::{files, run, sql};
use crate::source::SourceFile;
use crate::stack::resolved::{Pins, Stack};
use crate::state::{State, StateDir};

/// The stack file: parsed under a few options, resolved into plans when it
/// is valid, rendered as an error when it is not.
pub fn stack_file(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let env = |key: &str| match key {
        "BERTH_DB_PORT" => Some("5440".to_string()),
        "BERTH_CACHE_PERSIST" => Some("yes".to_string()),
        _ => None,
    };
    let options = [
        LoadOptions::default(),
        LoadOptions {
            profile: Some("test".into()),
            name: Some("fuzz-1".into()),
            runtime: None,
        },
    ];
    for options in &options {
        match load::parse(
            Path::new("/fuzz/berth.toml"),
            text.to_string(),
            options,
            &env,
        ) {
            Ok(config) => {
                let dir = StateDir::new("/fuzz/.berth/stack".into());
                let stack = Stack::resolve(config, dir, &State::default(), &Pins::new());
                for svc in &stack.services {
                    let _ = svc.connection();
                    let _ = svc.migration_target();
                }
                let _ = envfile::variables(&stack, Secrets::Show);
            }
            Err(e) => {
                let _ = render(&e, &plain);
            }
        }
    }
}

/// Migration file names and contents: versions, normalization, checksums,
/// the next file's name, the no-transaction directive.
pub fn migration_files(data: &[u8]) {
    let text = String::from_utf8_lossy(data);
    for line in text.lines() {
        let _ = files::version_of(line);
    }
    let normalized = files::normalize(&text);
    let _ = files::checksum(&normalized);
    let _ = files::next_name(&[], &text);
    let _ = sql::wants_no_transaction(&normalized);
}

/// SQL: statement boundaries are in order and on character boundaries, and
/// every position the server could report maps into the text.
pub fn sql_text(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let mut last = 0;
    for range in sql::statements(text) {
        assert!(last <= range.start && range.start <= range.end && range.end <= text.len());
        let _ = &text[range.clone()];
        last = range.end;
    }
    let _ = sql::transaction_control(text);
    let file = SourceFile::new(Path::new("m.sql"), text.to_string());
    for position in [0, 1, 2, text.len() as u32 / 2, text.len() as u32, u32::MAX] {
        if let Some(at) = run::char_offset(text, position) {
            let location = file.locate(&(at..at + 1));
            let _ = crate::diagnostic::snippet(&location, &plain);
        }
    }
}

/// A Redis server's replies, read until the first error.
pub fn resp(data: &[u8]) {
    let mut reader = std::io::Cursor::new(data);
    for _ in 0..64 {
        if redis::read_reply(&mut reader).is_err() {
            break;
        }
    }
}

/// An HTTP server's status line.
pub fn http_status(data: &[u8]) {
    let _ = http::status_code(data);
}

#[cfg(test)]
mod tests {
    use std::path::PathBuf;

    type Target = fn(&[u8]);

    const TARGETS: &[(&str, Target)] = &[
        ("stack_file", super::stack_file),
        ("migration_files", super::migration_files),
        ("sql_text", super::sql_text),
        ("resp", super::resp),
        ("http_status", super::http_status),
    ];

    fn corpus(target: &str) -> Vec<Vec<u8>> {
        let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
            .join("fuzz/corpus")
            .join(target);
        let mut entries: Vec<_> = std::fs::read_dir(&dir)
            .unwrap_or_else(|e| panic!("`{}`: {e}", dir.display()))
            .flatten()
            .map(|e| e.path())
            .collect();
        entries.sort();
        entries.iter().map(|p| std::fs::read(p).unwrap()).collect()
    }

    /// What the fuzzers found stays fixed: every corpus input passes.
    #[test]
    fn every_corpus_input_passes() {
        for (name, target) in TARGETS {
            let inputs = corpus(name);
            assert!(!inputs.is_empty(), "the corpus of `{name}` is empty");
            for input in &inputs {
                target(input);
            }
        }
    }

    /// A short fuzzing pass in every test run: each corpus input with bytes
    /// flipped, cut and repeated, from a fixed seed.
    #[test]
    fn mutations_of_the_corpora_pass() {
        let mut seed: u64 = 0x6265_7274_6866_757a;
        let mut next = move || {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            seed
        };
        for (name, target) in TARGETS {
            for input in corpus(name).iter().take(200) {
                for _ in 0..4 {
                    let mut bytes = input.clone();
                    match next() % 4 {
                        0 if !bytes.is_empty() => {
                            let i = next() as usize % bytes.len();
                            bytes[i] ^= 1 << (next() % 8);
                        }
                        1 if !bytes.is_empty() => bytes.truncate(next() as usize % bytes.len()),
                        2 => {
                            let copy = bytes.clone();
                            bytes.extend_from_slice(&copy);
                        }
                        _ => bytes.push(next() as u8),
                    }
                    target(&bytes);
                }
            }
        }
    }
}
