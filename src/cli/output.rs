//! Rendering for people: errors, warnings, tables. Colour only when the
//! stream is a terminal and `NO_COLOR` is unset; everything reads the same
//! without it. Data goes to stdout, messages to stderr.

use std::io::{IsTerminal, Write};

use berth::Error;

#[derive(Clone, Copy)]
pub enum Style {
    Error,
    Warning,
    Hint,
    Good,
    Dim,
    Bold,
}

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

pub fn paint(text: &str, style: Style, stderr: bool) -> String {
    if !colour_on(stderr) {
        return text.to_string();
    }
    let code = match style {
        Style::Error => "1;31",
        Style::Warning => "1;33",
        Style::Hint => "1;36",
        Style::Good => "32",
        Style::Dim => "2",
        Style::Bold => "1",
    };
    format!("\x1b[{code}m{text}\x1b[0m")
}

/// `error: ...`, the source snippet for config errors, details, causes and
/// `hint: ...`, on stderr.
pub fn error(e: &Error) {
    let mut out = String::new();
    out.push_str(&format!("{} {e}\n", paint("error:", Style::Error, true)));
    if let Some(loc) = e.location() {
        let line_no = loc.line.to_string();
        let pad = " ".repeat(line_no.len());
        let bar = paint("|", Style::Dim, true);
        out.push_str(&format!(
            "{pad}{} {}:{}:{}\n",
            paint("-->", Style::Dim, true),
            loc.path.display(),
            loc.line,
            loc.column
        ));
        out.push_str(&format!("{pad} {bar}\n"));
        out.push_str(&format!(
            "{} {bar} {}\n",
            paint(&line_no, Style::Dim, true),
            loc.line_text
        ));
        let caret = format!("{}{}", " ".repeat(loc.column - 1), "^".repeat(loc.width));
        out.push_str(&format!(
            "{pad} {bar} {}\n",
            paint(&caret, Style::Error, true)
        ));
    }
    for line in e.details() {
        out.push_str(&format!("  {line}\n"));
    }
    let mut source = std::error::Error::source(e);
    while let Some(cause) = source {
        out.push_str(&format!(
            "  {} {cause}\n",
            paint("Caused by:", Style::Bold, true)
        ));
        source = cause.source();
    }
    if let Some(hint) = e.hint() {
        out.push_str(&format!("{} {hint}\n", paint("hint:", Style::Hint, true)));
    }
    let _ = std::io::stderr().write_all(out.as_bytes());
}

pub fn warning(message: &str) {
    eprintln!("{} {message}", paint("warning:", Style::Warning, true));
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
        Style::Dim,
        false,
    );
    for row in rows {
        out.push_str(&line(row.clone()));
    }
    out
}

pub fn print_json<T: serde::Serialize>(value: &T) {
    let text = serde_json::to_string_pretty(value).expect("serializable");
    println!("{text}");
}
