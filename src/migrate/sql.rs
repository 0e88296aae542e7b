//! Just enough of PostgreSQL's lexical rules to find where statements start
//! and end: quotes (`'...'`, `E'...'`, `"..."`, `$tag$...$tag$`), comments
//! (`--`, nested `/* */`) and SQL-standard function bodies
//! (`BEGIN ATOMIC ... END`), whose semicolons do not end the statement.
//!
//! berth never executes what this splits: a file is sent to the server as
//! one text, and the server parses it. The split is used to check that a
//! no-transaction file holds one statement, and to point at the statement
//! that failed when the server's error carries no position.

use std::ops::Range;

/// The directive that makes a migration run outside a transaction.
pub const NO_TRANSACTION: &str = "berth:no-transaction";

/// Byte ranges of the statements in `text`, each starting at its first
/// token (leading blanks and comments skipped) and ending before its `;`.
/// Empty statements (`;;`, trailing comments) are left out.
pub fn statements(text: &str) -> Vec<Range<usize>> {
    let bytes = text.as_bytes();
    let mut out = Vec::new();
    let mut start: Option<usize> = None;
    let mut words = Words::default();
    let mut i = 0;
    while i < bytes.len() {
        let c = bytes[i];
        let next = bytes.get(i + 1).copied();
        // Blanks and comments never start a statement.
        if c.is_ascii_whitespace() {
            i += 1;
            continue;
        }
        if c == b'-' && next == Some(b'-') {
            i = text[i..].find('\n').map_or(bytes.len(), |n| i + n + 1);
            continue;
        }
        if c == b'/' && next == Some(b'*') {
            i = skip_block_comment(bytes, i);
            continue;
        }
        if c == b';' {
            if words.depth == 0 {
                if let Some(s) = start.take() {
                    out.push(s..i);
                }
                words = Words::default();
            }
            i += 1;
            continue;
        }
        start.get_or_insert(i);
        i = match c {
            b'\'' => skip_quoted(bytes, i, b'\'', escapes_backslash(bytes, i)),
            b'"' => skip_quoted(bytes, i, b'"', false),
            b'$' => match dollar_tag(text, i) {
                Some(tag) => {
                    let body = i + tag.len();
                    text[body..]
                        .find(tag)
                        .map_or(bytes.len(), |n| body + n + tag.len())
                }
                None => i + 1,
            },
            c if is_word_start(c) => {
                let end = i + bytes[i..].iter().take_while(|&&b| is_word_char(b)).count();
                words.push(&text[i..end]);
                end
            }
            _ => i + 1,
        };
    }
    if let Some(s) = start {
        let end = text.trim_end().len().max(s);
        out.push(s..end);
    }
    out
}

/// The first statement that ends or starts a transaction (`BEGIN`,
/// `COMMIT`, ...), which would break the transaction berth runs a file in.
pub fn transaction_control(text: &str) -> Option<&str> {
    statements(text).into_iter().map(|r| &text[r]).find(|s| {
        let first = s
            .split(|c: char| !c.is_ascii_alphabetic())
            .next()
            .unwrap_or("")
            .to_ascii_lowercase();
        matches!(
            first.as_str(),
            "begin" | "commit" | "rollback" | "end" | "abort" | "start"
        ) && !s.to_ascii_lowercase().starts_with("rollback to")
    })
}

/// Whether the file's leading comments carry the no-transaction directive.
pub fn wants_no_transaction(text: &str) -> bool {
    for line in text.lines() {
        let line = line.trim();
        if line.is_empty() {
            continue;
        }
        let Some(comment) = line.strip_prefix("--") else {
            return false;
        };
        if comment.trim() == NO_TRANSACTION {
            return true;
        }
    }
    false
}

/// Tracks the words of the statement being read, to see `BEGIN ATOMIC`
/// bodies of `CREATE FUNCTION` / `CREATE PROCEDURE` (the same rule psql
/// follows): inside one, `BEGIN` and `CASE` open a block, `END` closes it.
#[derive(Default)]
struct Words {
    count: usize,
    starts_with_create: bool,
    creates_routine: bool,
    depth: usize,
}

impl Words {
    fn push(&mut self, word: &str) {
        let lower = word.to_ascii_lowercase();
        self.count += 1;
        if self.count == 1 {
            self.starts_with_create = lower == "create";
            return;
        }
        if !self.creates_routine {
            // CREATE [OR REPLACE] FUNCTION|PROCEDURE
            self.creates_routine = self.starts_with_create
                && self.count <= 4
                && (lower == "function" || lower == "procedure");
            return;
        }
        match lower.as_str() {
            "begin" => self.depth += 1,
            "case" if self.depth > 0 => self.depth += 1,
            "end" if self.depth > 0 => self.depth -= 1,
            _ => {}
        }
    }
}

fn is_word_start(c: u8) -> bool {
    c.is_ascii_alphabetic() || c == b'_' || c >= 0x80
}

fn is_word_char(c: u8) -> bool {
    is_word_start(c) || c.is_ascii_digit() || c == b'$'
}

/// `E'...'` (and `e'...'`) strings take backslash escapes.
fn escapes_backslash(bytes: &[u8], quote: usize) -> bool {
    quote >= 1
        && matches!(bytes[quote - 1], b'E' | b'e')
        && (quote < 2 || !is_word_char(bytes[quote - 2]))
}

/// The index just past the closing quote (doubled quotes are escapes).
fn skip_quoted(bytes: &[u8], open: usize, quote: u8, backslash: bool) -> usize {
    let mut i = open + 1;
    while i < bytes.len() {
        match bytes[i] {
            b'\\' if backslash => i += 2,
            b if b == quote => {
                if bytes.get(i + 1) == Some(&quote) {
                    i += 2;
                } else {
                    return i + 1;
                }
            }
            _ => i += 1,
        }
    }
    bytes.len()
}

fn skip_block_comment(bytes: &[u8], open: usize) -> usize {
    let mut depth = 0;
    let mut i = open;
    while i + 1 < bytes.len() {
        match (bytes[i], bytes[i + 1]) {
            (b'/', b'*') => {
                depth += 1;
                i += 2;
            }
            (b'*', b'/') => {
                depth -= 1;
                i += 2;
                if depth == 0 {
                    return i;
                }
            }
            _ => i += 1,
        }
    }
    bytes.len()
}

/// `$tag$` or `$$` at `at`: the whole delimiter. A `$` after a word
/// character (`a$b`) or before a digit (`$1`) is not a quote.
fn dollar_tag(text: &str, at: usize) -> Option<&str> {
    let bytes = text.as_bytes();
    if at > 0 && is_word_char(bytes[at - 1]) {
        return None;
    }
    let rest = &bytes[at + 1..];
    if rest.first().is_some_and(|c| c.is_ascii_digit()) {
        return None;
    }
    let len = rest
        .iter()
        .take_while(|&&b| is_word_char(b) && b != b'$')
        .count();
    (rest.get(len) == Some(&b'$')).then(|| &text[at..at + len + 2])
}

#[cfg(test)]
mod tests {
    use super::*;

    fn split(text: &str) -> Vec<&str> {
        statements(text).into_iter().map(|r| &text[r]).collect()
    }

    #[test]
    fn splits_on_semicolons_outside_quotes_and_comments() {
        let sql = "-- lead ; comment\nCREATE TABLE a (x text default ';');\n/* x; /* nested; */ y; */ INSERT INTO \"we;ird\" VALUES (E'\\';'), ($q$ ; $q$);\nselect $1 ;";
        assert_eq!(
            split(sql),
            [
                "CREATE TABLE a (x text default ';')",
                "INSERT INTO \"we;ird\" VALUES (E'\\';'), ($q$ ; $q$)",
                "select $1 ",
            ]
        );
    }

    #[test]
    fn keeps_dollar_quoted_bodies_and_atomic_bodies_whole() {
        let sql = "create function f() returns int language plpgsql as $$ begin return 1; end $$;\n\
                   CREATE OR REPLACE FUNCTION g() RETURNS int LANGUAGE sql BEGIN ATOMIC SELECT 1; SELECT CASE WHEN true THEN 2 END; END;\n\
                   select 3";
        let parts = split(sql);
        assert_eq!(parts.len(), 3, "{parts:?}");
        assert!(parts[1].ends_with("END; END"), "{}", parts[1]);
        assert_eq!(parts[2], "select 3");
    }

    #[test]
    fn begin_outside_a_routine_is_a_statement() {
        assert_eq!(
            split("begin; select 1; commit;"),
            ["begin", "select 1", "commit"]
        );
    }

    #[test]
    fn finds_the_directive_in_leading_comments_only() {
        assert!(wants_no_transaction(
            "-- add an index\n--  berth:no-transaction\nCREATE INDEX CONCURRENTLY i ON t (x);"
        ));
        assert!(!wants_no_transaction(
            "SELECT 1;\n-- berth:no-transaction\n"
        ));
    }
}
