//! The command line's conveniences as the tools that use them see them:
//! each shell loads its completion script and completes with it, `man`
//! renders the pages, and a JSON Schema validator (not berth) checks the
//! repository's stack files against `berth schema`.

use super::*;

fn berth_out(args: &[&str]) -> String {
    let s = Sandbox::new("");
    stdout(&s.ok(args))
}

/// Run a shell; it must succeed. Returns its standard output.
fn shell(program: &str, args: &[&str]) -> String {
    let out = Command::new(program)
        .args(args)
        .env("HOME", std::env::temp_dir())
        .output()
        .unwrap_or_else(|e| panic!("{program} runs (scripts/setup --all installs it): {e}"));
    assert!(
        out.status.success(),
        "{program} {args:?} failed:\n{}",
        describe(&out)
    );
    stdout(&out)
}

fn script_file(dir: &Path, shell: &str) -> PathBuf {
    let path = dir.join(format!("berth.{shell}"));
    std::fs::write(&path, berth_out(&["completions", shell])).unwrap();
    path
}

#[test]
fn bash_completes_commands_and_options() {
    let dir = tempfile::tempdir().unwrap();
    let script = script_file(dir.path(), "bash");
    let script = script.to_str().unwrap();
    shell("bash", &["-n", script]);
    let complete = |line: &str| {
        let words: Vec<&str> = line.split(' ').collect();
        shell(
            "bash",
            &[
                "-c",
                &format!(
                    "source {script}; COMP_WORDS=({}); COMP_CWORD={}; COMP_LINE='{line}'; COMP_POINT=${{#COMP_LINE}}; _berth berth '{}' '{}'; printf '%s\\n' \"${{COMPREPLY[@]}}\"",
                    words.iter().map(|w| format!("'{w}'")).collect::<Vec<_>>().join(" "),
                    words.len() - 1,
                    words[words.len() - 1],
                    words[words.len().saturating_sub(2)],
                ),
            ],
        )
    };
    let commands = complete("berth sn");
    assert!(commands.lines().any(|l| l == "snapshot"), "{commands}");
    let options = complete("berth reset --");
    assert!(options.lines().any(|l| l == "--no-snapshot"), "{options}");
}

#[test]
fn zsh_loads_its_completion_function() {
    let dir = tempfile::tempdir().unwrap();
    let script = script_file(dir.path(), "zsh");
    let script = script.to_str().unwrap();
    shell("zsh", &["-n", script]);
    let defined = shell(
        "zsh",
        &[
            "-f",
            "-c",
            &format!("autoload -Uz compinit && compinit -u -D && source {script} && whence -w _berth && print -r -- ${{_comps[berth]}}"),
        ],
    );
    assert!(defined.contains("_berth: function"), "{defined}");
    assert!(defined.lines().any(|l| l == "_berth"), "{defined}");
}

#[test]
fn fish_completes_commands_and_options() {
    let dir = tempfile::tempdir().unwrap();
    let script = script_file(dir.path(), "fish");
    let script = script.to_str().unwrap();
    shell("fish", &["--no-execute", script]);
    let complete = |line: &str| {
        shell(
            "fish",
            &[
                "-c",
                &format!("source {script}; complete --do-complete '{line}'"),
            ],
        )
    };
    let commands = complete("berth sn");
    assert!(
        commands.lines().any(|l| l.starts_with("snapshot\t")),
        "{commands}"
    );
    let options = complete("berth up --");
    assert!(
        options.lines().any(|l| l.starts_with("--locked")),
        "{options}"
    );
}

/// Elvish's `edit:` module exists only in an interactive shell: the
/// script's completer is taken out of it (with a stand-in for
/// `edit:complex-candidate`) and called as the line editor would.
#[test]
fn elvish_completes_commands_and_options() {
    let dir = tempfile::tempdir().unwrap();
    let script = std::fs::read_to_string(script_file(dir.path(), "elvish")).unwrap();
    assert!(script.contains("set edit:completion:arg-completer[berth] = "));
    let runnable = format!(
        "fn candidate {{|text &display=''| put $text }}\n{}\n\
         echo commands; $completer berth sn | each {{|c| echo $c }}\n\
         echo options; $completer berth reset '' | each {{|c| echo $c }}\n",
        script
            .replace("set edit:completion:arg-completer[berth]", "var completer")
            .replace("edit:complex-candidate", "candidate")
    );
    let file = dir.path().join("run.elv");
    std::fs::write(&file, runnable).unwrap();
    let out = shell("elvish", &[file.to_str().unwrap()]);
    let (commands, options) = out.split_once("options\n").unwrap();
    assert!(commands.lines().any(|l| l == "snapshot"), "{out}");
    assert!(options.lines().any(|l| l == "--no-snapshot"), "{out}");
}

/// No PowerShell is packaged for Debian: the script is checked for what
/// PowerShell needs of it, not run.
#[test]
fn powershell_gets_an_argument_completer() {
    let script = berth_out(&["completions", "powershell"]);
    assert!(
        script.contains("Register-ArgumentCompleter -Native -CommandName 'berth'"),
        "{script}"
    );
    assert!(script.contains("'snapshot'"), "{script}");
}

#[test]
fn an_unknown_shell_is_a_usage_error_naming_the_shells() {
    let s = Sandbox::new("");
    let out = s.run(&["completions", "tcsh"]);
    assert_eq!(out.status.code(), Some(2), "{}", describe(&out));
    let err = stderr(&out);
    assert!(err.contains("bash") && err.contains("elvish"), "{err}");
}

#[test]
fn man_renders_a_page_per_command() {
    let s = Sandbox::new("");
    let page = stdout(&s.ok(&["man"]));
    assert!(
        page.starts_with(".ie") || page.contains(".TH berth 1"),
        "{page}"
    );
    s.ok(&["man", "--dir", "pages"]);
    let up = s.path().join("pages/berth-up.1");
    assert!(up.is_file(), "berth-up.1 written");
    assert!(s.path().join("pages/berth-snapshot-restore.1").is_file());
    // man itself renders it (groff), with the options berth has.
    let out = Command::new("man")
        .args(["-l", "-P", "cat", up.to_str().unwrap()])
        .env("MANWIDTH", "100")
        .output()
        .expect("man runs");
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{}", describe(&out));
    assert!(text.contains("--no-migrate"), "{text}");
}

/// Validate TOML files against the schema with Python's `jsonschema`:
/// prints `ok PATH` or `invalid PATH: why` per file.
fn validate(schema: &Path, files: &[PathBuf]) -> Vec<(PathBuf, Result<(), String>)> {
    const CHECK: &str = r#"
import json, sys, tomllib, jsonschema
schema = json.load(open(sys.argv[1]))
jsonschema.Draft7Validator.check_schema(schema)
validator = jsonschema.Draft7Validator(schema)
for path in sys.argv[2:]:
    with open(path, "rb") as f:
        doc = tomllib.load(f)
    errors = sorted(validator.iter_errors(doc), key=lambda e: list(e.path))
    if errors:
        best = jsonschema.exceptions.best_match(errors)
        print("invalid", path + ":", "/".join(map(str, best.path)), best.message.replace("\n", " "))
    else:
        print("ok", path)
"#;
    let out = Command::new("/usr/bin/python3")
        .arg("-c")
        .arg(CHECK)
        .arg(schema)
        .args(files)
        .output()
        .expect("python3 runs");
    assert!(out.status.success(), "{}", describe(&out));
    let text = stdout(&out);
    files
        .iter()
        .zip(text.lines())
        .map(|(f, line)| {
            let verdict = if line.starts_with("ok ") {
                Ok(())
            } else {
                Err(line.to_string())
            };
            (f.clone(), verdict)
        })
        .collect()
}

/// The ```toml blocks of a Markdown file.
fn toml_blocks(markdown: &str) -> Vec<String> {
    let mut blocks = Vec::new();
    let mut current: Option<String> = None;
    for line in markdown.lines() {
        match &mut current {
            None if line.trim_start().starts_with("```toml") => current = Some(String::new()),
            Some(block) if line.trim_start().starts_with("```") => {
                blocks.push(std::mem::take(block));
                current = None;
            }
            Some(block) => {
                block.push_str(line);
                block.push('\n');
            }
            None => {}
        }
    }
    blocks
}

#[test]
fn every_stack_file_in_the_repository_validates_and_a_misspelt_key_does_not() {
    let s = Sandbox::new("");
    let schema = s.path().join("schema.json");
    s.ok(&["schema", "--output", schema.to_str().unwrap()]);
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut files = Vec::new();
    for example in std::fs::read_dir(root.join("examples")).unwrap().flatten() {
        let file = example.path().join("berth.toml");
        if file.is_file() {
            files.push(file);
        }
    }
    assert!(files.len() >= 3, "the examples' stack files: {files:?}");
    // `berth init`'s starter.
    let init = Sandbox::new("");
    std::fs::remove_file(init.path().join("berth.toml")).unwrap();
    init.ok(&["init"]);
    files.push(init.path().join("berth.toml"));
    for doc in ["README.md", "docs/architecture.md"] {
        let text = std::fs::read_to_string(root.join(doc)).unwrap();
        for (i, block) in toml_blocks(&text).into_iter().enumerate() {
            let file = s.path().join(format!("{}-{i}.toml", doc.replace('/', "-")));
            std::fs::write(&file, block).unwrap();
            files.push(file);
        }
    }
    for (file, verdict) in validate(&schema, &files) {
        assert!(verdict.is_ok(), "{}: {verdict:?}", file.display());
    }

    let wrong = [
        // A misspelt key.
        "[services.redis]\nmaxmemroy = \"64mb\"\n",
        // Another kind's key.
        "[services.postgres]\nmaxmemory = \"64mb\"\n",
        // A service named for no kind, with a kind's key but no `kind`.
        "[services.db]\nversion = \"15\"\nimage = \"postgres\"\n",
        // A wrong type, a runtime that is none, a top-level typo.
        "[services.postgres]\nport = \"5432x\"\n",
        "runtime = \"vm\"\n",
        "[service.postgres]\n",
    ];
    let files: Vec<PathBuf> = wrong
        .iter()
        .enumerate()
        .map(|(i, text)| {
            let file = s.path().join(format!("wrong-{i}.toml"));
            std::fs::write(&file, text).unwrap();
            file
        })
        .collect();
    for ((file, verdict), text) in validate(&schema, &files).into_iter().zip(wrong) {
        assert!(verdict.is_err(), "{} passed:\n{text}", file.display());
        // berth itself refuses each one too.
        let b = Sandbox::new(text);
        let out = b.run(&["doctor"]);
        assert_eq!(
            out.status.code(),
            Some(2),
            "berth accepted:\n{text}\n{}",
            describe(&out)
        );
    }
}

#[test]
fn init_points_editors_at_a_schema_that_up_keeps_current() {
    let s = Sandbox::new("");
    std::fs::remove_file(s.path().join("berth.toml")).unwrap();
    s.ok(&["init"]);
    let text = std::fs::read_to_string(s.path().join("berth.toml")).unwrap();
    assert_eq!(text.lines().next(), Some("#:schema ./.berth/schema.json"));
    let local = s.path().join(".berth/schema.json");
    let schema = stdout(&s.ok(&["schema"]));
    assert_eq!(std::fs::read_to_string(&local).unwrap(), schema);
    // A teammate's clone has no `.berth/`: `up` writes it.
    std::fs::remove_file(&local).unwrap();
    s.write_stack(&format!(
        "#:schema ./.berth/schema.json\nname = \"schemaup\"\n[services.redis]\nport = {}\n",
        free_port()
    ));
    s.ok(&["up"]);
    assert_eq!(std::fs::read_to_string(&local).unwrap(), schema);
}

/// `--output` to something that is not a file (`/dev/null`, a pipe) writes
/// to it instead of putting a file in its place. (Found by trying
/// `berth schema -o /dev/null`, which replaced the device.)
#[test]
fn output_to_a_pipe_writes_into_it_and_leaves_it_a_pipe() {
    use std::os::unix::fs::FileTypeExt;
    let s = Sandbox::new("");
    let fifo = s.path().join("fifo");
    let c = std::ffi::CString::new(fifo.to_str().unwrap()).unwrap();
    assert_eq!(unsafe { libc::mkfifo(c.as_ptr(), 0o644) }, 0);
    let reader = {
        let fifo = fifo.clone();
        std::thread::spawn(move || std::fs::read_to_string(fifo).unwrap())
    };
    s.ok(&["schema", "--output", fifo.to_str().unwrap()]);
    // First: were it replaced, the reader would wait forever.
    assert!(std::fs::metadata(&fifo).unwrap().file_type().is_fifo());
    let got = reader.join().unwrap();
    assert!(got.contains("\"$schema\""), "{got}");
}
