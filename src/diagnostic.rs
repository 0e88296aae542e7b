//! Errors as people read them: `error:`, the source snippet with a caret
//! under the offending text, details, `Caused by:` for each underlying
//! error, and `hint:` — the shape `docs/STYLE.md` describes. The library
//! renders to a string and never prints; the CLI chooses colours and the
//! stream.

use std::path::Path;

use unicode_width::UnicodeWidthChar;

use crate::error::Error;
use crate::source::SourceLocation;

/// The role of a piece of text, for a terminal to colour. Text never
/// relies on it: everything reads the same without colour.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Tone {
    Error,
    Warning,
    Hint,
    Good,
    Dim,
    Bold,
}

/// A way to colour text by tone; [`plain`] leaves it as it is.
pub type Paint<'a> = &'a dyn Fn(&str, Tone) -> String;

#[cfg_attr(not(test), allow(dead_code))]
pub fn plain(text: &str, _: Tone) -> String {
    text.to_string()
}

/// How many columns a tab takes in a snippet.
const TAB_WIDTH: usize = 4;

/// The whole report of an error, ending with a newline.
pub fn render(e: &Error, paint: Paint) -> String {
    let mut out = format!("{} {e}\n", paint("error:", Tone::Error));
    if let Some(loc) = e.location() {
        out.push_str(&snippet(loc, paint));
    }
    for line in e.details() {
        out.push_str(&format!("  {line}\n"));
    }
    let mut source = std::error::Error::source(e);
    while let Some(cause) = source {
        out.push_str(&format!("  {} {cause}\n", paint("Caused by:", Tone::Bold)));
        source = cause.source();
    }
    if let Some(hint) = e.hint() {
        out.push_str(&format!("{} {hint}\n", paint("hint:", Tone::Hint)));
    }
    out
}

/// Everything `e` says (its message, details and causes) in lower case:
/// for telling a failure by its words, where the words are all there is
/// (an engine's answer, a server's log).
pub fn said(e: &Error) -> String {
    render(e, &plain).to_lowercase()
}

/// ` --> file:line:col`, the line, and a caret under the located text.
/// Tabs become spaces and wide characters count twice, so the caret lands
/// under the text on a terminal.
pub fn snippet(loc: &SourceLocation, paint: Paint) -> String {
    let line_no = loc.line.to_string();
    let pad = " ".repeat(line_no.len());
    let bar = paint("|", Tone::Dim);
    let mut shown = String::new();
    let mut caret_start = None;
    let mut caret_width = 0;
    for (i, c) in loc.line_text.chars().enumerate() {
        let at = i + 1; // 1-based character column
        let width = if c == '\t' {
            TAB_WIDTH - display_width(&shown) % TAB_WIDTH
        } else {
            c.width().unwrap_or(0)
        };
        if at == loc.column {
            caret_start = Some(display_width(&shown));
        }
        if at >= loc.column && at < loc.column + loc.width {
            caret_width += width;
        }
        if c == '\t' {
            shown.push_str(&" ".repeat(width));
        } else {
            shown.push(c);
        }
    }
    // A location just past the end of the line (a missing value).
    let caret_start = caret_start.unwrap_or_else(|| display_width(&shown));
    let caret = format!(
        "{}{}",
        " ".repeat(caret_start),
        "^".repeat(caret_width.max(1))
    );
    format!(
        "{pad}{} {}:{}:{}\n{pad} {bar}\n{} {bar} {shown}\n{pad} {bar} {}\n",
        paint("-->", Tone::Dim),
        shown_path(&loc.path),
        loc.line,
        loc.column,
        paint(&line_no, Tone::Dim),
        paint(&caret, Tone::Error),
    )
}

fn display_width(text: &str) -> usize {
    text.chars().map(|c| c.width().unwrap_or(0)).sum()
}

/// A path as the user should read it: relative to the current directory
/// when inside it.
pub fn shown_path(path: &Path) -> String {
    std::env::current_dir()
        .ok()
        .and_then(|cwd| path.strip_prefix(cwd).ok())
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(path)
        .display()
        .to_string()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::PathBuf;

    fn at(line_text: &str, column: usize, width: usize) -> String {
        let loc = SourceLocation {
            path: PathBuf::from("/nowhere/berth.toml"),
            line: 7,
            column,
            line_text: line_text.into(),
            width,
        };
        snippet(&loc, &plain)
    }

    #[test]
    fn the_caret_sits_under_the_text_after_tabs_and_wide_characters() {
        assert_eq!(
            at("port = 5432", 8, 4),
            " --> /nowhere/berth.toml:7:8\n  |\n7 | port = 5432\n  |        ^^^^\n"
        );
        // A tab before the text: shown as spaces up to the next stop.
        assert_eq!(
            at("\tport = x", 9, 1).lines().nth(2).unwrap(),
            "7 |     port = x"
        );
        assert_eq!(
            at("\tport = x", 9, 1).lines().nth(3).unwrap(),
            "  |            ^"
        );
        // Two wide characters take four columns, and the caret covers both.
        assert_eq!(
            at("name = \"数据\"", 9, 2).lines().nth(3).unwrap(),
            "  |         ^^^^"
        );
    }

    #[test]
    fn causes_and_hints_follow_the_message() {
        let e = Error::Service {
            service: "db".into(),
            message: "could not create its container".into(),
            hint: Some("free some disk".into()),
            source: crate::error::cause(std::io::Error::other("no space left on device")),
        };
        assert_eq!(
            render(&e, &plain),
            "error: service `db`: could not create its container\n  Caused by: no space left on device\nhint: free some disk\n"
        );
    }
}
