//! Rendering for people: errors, warnings, tables. Colour only when the
//! stream is a terminal and `NO_COLOR` is unset; everything reads the same
//! without it. Data goes to stdout, messages to stderr.

use std::io::{IsTerminal, Write};

use crate::diagnostic::{self, Tone};
use crate::error::Error;

fn colour_on(stderr: bool) -> bool {
    if std::env::var_os("NO_COLOR").is_some_and(|v| !v.is_empty()) {
        return false;
    }
    if stderr {
        std::io::stderr().is_terminal()
    } else {
        std::io::stdout().is_terminal()
    }
}

/// `text` in the tone's colour, when the stream is a terminal.
pub fn paint(text: &str, tone: Tone, stderr: bool) -> String {
    if !colour_on(stderr) {
        return text.to_string();
    }
    let code = match tone {
        Tone::Error => "1;31",
        Tone::Warning => "1;33",
        Tone::Hint => "1;36",
        Tone::Good => "32",
        Tone::Dim => "2",
        Tone::Bold => "1",
    };
    format!("\x1b[{code}m{text}\x1b[0m")
}

/// An error as `docs/STYLE.md` describes it, on stderr.
pub fn error(e: &Error) {
    let report = diagnostic::render(e, &|text, tone| paint(text, tone, true));
    let _ = std::io::stderr().write_all(report.as_bytes());
}

pub fn warning(message: &str) {
    eprintln!("{} {message}", paint("warning:", Tone::Warning, true));
}

pub fn note(message: &str) {
    eprintln!("{message}");
}

/// Columns padded to the widest cell; the header dimmed.
pub fn table(header: &[&str], rows: &[Vec<String>]) -> String {
    let mut widths: Vec<usize> = header.iter().map(|h| h.len()).collect();
    for row in rows {
        for (i, cell) in row.iter().enumerate() {
            widths[i] = widths[i].max(cell.chars().count());
        }
    }
    let line = |cells: Vec<String>| {
        let mut s = String::new();
        for (i, cell) in cells.iter().enumerate() {
            if i + 1 == cells.len() {
                s.push_str(cell);
            } else {
                s.push_str(&format!("{cell:<w$}  ", w = widths[i]));
            }
        }
        s.trim_end().to_string() + "\n"
    };
    let mut out = paint(
        &line(header.iter().map(|h| h.to_string()).collect()),
        Tone::Dim,
        false,
    );
    for row in rows {
        out.push_str(&line(row.clone()));
    }
    out
}

/// Write a command's output to standard output. A reader that stopped
/// reading (`berth schema | head`) is no error, and no panic as with
/// `print!`.
pub fn emit(text: &[u8]) -> Result<(), Error> {
    let mut out = std::io::stdout().lock();
    match out.write_all(text).and_then(|()| out.flush()) {
        Err(e) if e.kind() != std::io::ErrorKind::BrokenPipe => {
            Err(Error::io("could not write to standard output", e))
        }
        _ => Ok(()),
    }
}

pub fn print_json<T: serde::Serialize>(value: &T) {
    match serde_json::to_string_pretty(value) {
        Ok(text) => {
            if let Err(e) = emit(format!("{text}\n").as_bytes()) {
                error(&e);
            }
        }
        Err(e) => error(&Error::Internal {
            message: format!("could not write JSON: {e}"),
        }),
    }
}

/// Ask on the terminal before `command` does what `what` says (`This
/// deletes all data of ...`); `--yes` skips it, and without a terminal it
/// is refused. Whether to go on.
pub fn confirm(command: &str, verb: &str, what: &str, cancelled: &str) -> Result<bool, Error> {
    use std::io::BufRead;
    if !std::io::stdin().is_terminal() {
        return Err(Error::usage(
            format!("`berth {command}` would {verb} {what}, and there is no terminal to confirm"),
            Some(format!("pass `--yes` to {command} without confirmation")),
        ));
    }
    let mut verbs = verb.to_string();
    verbs.push('s');
    eprint!("This {verbs} {what}. Continue? [y/N] ");
    let _ = std::io::stderr().flush();
    let mut answer = String::new();
    std::io::stdin()
        .lock()
        .read_line(&mut answer)
        .map_err(|e| Error::io("could not read the answer", e))?;
    if matches!(answer.trim().to_ascii_lowercase().as_str(), "y" | "yes") {
        return Ok(true);
    }
    note(&format!("{command} cancelled; {cancelled}"));
    Ok(false)
}
