//! The env file is replaced atomically: a reader never sees it partial.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use super::*;

fn stack_with_stamp(stamp: usize) -> String {
    format!("{}STAMP = \"{stamp}\"\n", pg_redis_stack("atomic", false))
}

#[test]
fn a_polling_reader_never_sees_a_partial_env_file() {
    let s = Sandbox::new(&stack_with_stamp(0));
    let path = s.path().join(".env");
    let stop = Arc::new(AtomicBool::new(false));
    let reader = {
        let (path, stop) = (path.clone(), stop.clone());
        std::thread::spawn(move || {
            let mut reads = 0;
            while !stop.load(Ordering::Relaxed) {
                if let Ok(text) = std::fs::read_to_string(&path) {
                    let vars = parse_env(&text);
                    assert!(text.ends_with('\n'), "partial file: {text:?}");
                    assert!(
                        vars.contains_key("DATABASE_URL") && vars.contains_key("STAMP"),
                        "partial file: {text:?}"
                    );
                    reads += 1;
                }
            }
            reads
        })
    };
    for stamp in 1..=8 {
        // Each up rewrites the file with a new STAMP.
        s.write_stack(&stack_with_stamp(stamp));
        s.ok(&["up"]);
        assert_eq!(s.env(".env")["STAMP"], stamp.to_string());
    }
    stop.store(true, Ordering::Relaxed);
    let reads = reader.join().expect("the reader saw only whole files");
    assert!(reads > 0, "the reader read the file");
}

#[test]
fn reset_without_a_terminal_or_yes_refuses_and_deletes_nothing() {
    let s = Sandbox::new(&pg_redis_stack("careful", true));
    s.ok(&["up"]);
    let env = s.env(".env");
    pg(&env["DATABASE_URL"])
        .batch_execute("CREATE TABLE precious (v int)")
        .unwrap();
    let out = s.run(&["reset"]);
    assert_eq!(out.status.code(), Some(2), "{}", describe(&out));
    assert!(stderr(&out).contains("pass `--yes`"), "{}", describe(&out));
    assert!(s.path().join(".env").exists());
    let found = pg(&env["DATABASE_URL"])
        .query("SELECT 1 FROM pg_tables WHERE tablename = 'precious'", &[])
        .unwrap();
    assert_eq!(
        found.len(),
        1,
        "the data is untouched and the server still runs"
    );
}

#[test]
fn an_env_file_berth_did_not_write_is_never_replaced() {
    let s = Sandbox::new(&pg_redis_stack("foreign", false));
    let mine = "# my app's own settings\nSTRIPE_KEY=sk_test_123\n";
    std::fs::write(s.path().join(".env"), mine).unwrap();
    let out = s.run(&["up"]);
    assert_eq!(out.status.code(), Some(3), "{}", describe(&out));
    let err = stderr(&out);
    assert!(
        err.contains("`.env` exists and was not written by berth"),
        "{err}"
    );
    assert!(err.contains("under `[env]`"), "{err}");
    assert!(
        !err.contains("starting"),
        "checked before anything starts: {err}"
    );
    assert_eq!(
        std::fs::read_to_string(s.path().join(".env")).unwrap(),
        mine
    );
    // An empty file is berth's to fill.
    std::fs::write(s.path().join(".env"), "").unwrap();
    s.ok(&["up"]);
    assert!(s.env(".env").contains_key("DATABASE_URL"));
}
