//! `.env` files as Compose reads them: for interpolating the compose file
//! (the `.env` beside it) and for a service's `env_file`. `KEY=value`,
//! `export KEY=value`, `#` comments, single quotes (literal), double
//! quotes (`\n`, `\"`, `\\`), and `${VAR}` in unquoted and double-quoted
//! values, from the variables above it and the environment.

use std::path::Path;

use super::interpolate::interpolate;
use crate::error::{Error, Result};

/// One variable, with its line (1-based).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    pub key: String,
    pub value: String,
    pub line: usize,
}

/// Read `path`; `lookup` gives the environment's variables.
pub fn read(path: &Path, lookup: &dyn Fn(&str) -> Option<String>) -> Result<Vec<Entry>> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| Error::io(format!("could not read `{}`", path.display()), e))?;
    parse(&text, lookup).map_err(|(line, message)| Error::Config {
        message: format!("`{}` line {line}: {message}", path.display()),
        location: None,
        hint: Some("write `KEY=value`, one a line".into()),
    })
}

/// Parse the text of an env file; `Err` is (line, what is wrong).
pub fn parse(
    text: &str,
    lookup: &dyn Fn(&str) -> Option<String>,
) -> std::result::Result<Vec<Entry>, (usize, String)> {
    let mut entries: Vec<Entry> = Vec::new();
    for (i, raw) in text.lines().enumerate() {
        let line = i + 1;
        let trimmed = raw.trim();
        if trimmed.is_empty() || trimmed.starts_with('#') {
            continue;
        }
        let trimmed = trimmed.strip_prefix("export ").unwrap_or(trimmed);
        let Some((key, value)) = trimmed.split_once('=') else {
            // A bare name takes the environment's value in Compose; with
            // none, the variable is left out.
            continue;
        };
        let key = key.trim();
        if key.is_empty() || key.contains(char::is_whitespace) {
            return Err((line, format!("`{key}` is not a variable name")));
        }
        let value = value.trim_start();
        let known = |name: &str| {
            entries
                .iter()
                .rev()
                .find(|e| e.key == name)
                .map(|e| e.value.clone())
                .or_else(|| lookup(name))
        };
        let mut unset = Vec::new();
        let value = if let Some(inner) = value.strip_prefix('\'') {
            let end = inner
                .find('\'')
                .ok_or((line, "a single quote is not closed".to_string()))?;
            inner[..end].to_string()
        } else if let Some(inner) = value.strip_prefix('"') {
            let mut out = String::new();
            let mut chars = inner.chars();
            loop {
                match chars.next() {
                    None => return Err((line, "a double quote is not closed".into())),
                    Some('"') => break,
                    Some('\\') => match chars.next() {
                        Some('n') => out.push('\n'),
                        Some('t') => out.push('\t'),
                        Some(c) => out.push(c),
                        None => return Err((line, "a double quote is not closed".into())),
                    },
                    Some(c) => out.push(c),
                }
            }
            interpolate(&out, &known, &mut unset).map_err(|f| (line, f.message))?
        } else {
            // An unquoted value ends at ` #` (a comment).
            let value = match value.find(" #") {
                Some(at) => &value[..at],
                None => value,
            };
            interpolate(value.trim_end(), &known, &mut unset).map_err(|f| (line, f.message))?
        };
        entries.push(Entry {
            key: key.to_string(),
            value,
            line,
        });
    }
    Ok(entries)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_what_compose_reads() {
        let env = |k: &str| (k == "HOME").then(|| "/home/me".to_string());
        let text = "# comment\n\nA=1\nexport B = two words # note\nC='lit ${A}'\nD=\"x\\ny ${A}\"\nE=${HOME}/data\nBARE\nF=\n";
        let got: Vec<(String, String)> = parse(text, &env)
            .unwrap()
            .into_iter()
            .map(|e| (e.key, e.value))
            .collect();
        let want = [
            ("A", "1"),
            ("B", "two words"),
            ("C", "lit ${A}"),
            ("D", "x\ny 1"),
            ("E", "/home/me/data"),
            ("F", ""),
        ];
        assert_eq!(
            got,
            want.iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect::<Vec<_>>()
        );
        assert_eq!(
            parse("A='x\n", &env).unwrap_err(),
            (1, "a single quote is not closed".into())
        );
        assert_eq!(parse("ok=1\nbad key=2\n", &env).unwrap_err().0, 2);
    }
}
