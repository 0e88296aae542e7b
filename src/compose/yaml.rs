//! YAML as compose files use it: a tree of nodes that keep their place in
//! the file, with anchors and aliases resolved and merge keys (`<<: *base`)
//! applied, so the rest of the importer never sees either.
//!
//! saphyr-parser turns the text into events with positions; the tree is
//! built here, because the loaders that exist either drop positions or
//! leave merge keys (a YAML 1.1 feature compose files rely on) unapplied.

use std::collections::HashMap;
use std::path::Path;

use saphyr_parser::{Event, Parser, ScalarStyle};

use crate::error::{Error, Result};
use crate::source::{SourceFile, Span};

/// A value and where it is written.
#[derive(Debug, Clone)]
pub struct Node {
    pub value: Value,
    /// Byte range in the file (for an alias: where the anchor's node is).
    pub span: Span,
}

#[derive(Debug, Clone)]
pub enum Value {
    /// A scalar's text, and whether it was quoted (a quoted `"5432"` is
    /// text, a plain `5432` a number).
    Scalar(String, bool),
    Seq(Vec<Node>),
    /// Keys in file order; merged keys after the file's own.
    Map(Vec<(Node, Node)>),
}

impl Node {
    /// A scalar's text (any scalar: numbers and booleans as written).
    pub fn text(&self) -> Option<&str> {
        match &self.value {
            Value::Scalar(s, _) => Some(s),
            _ => None,
        }
    }

    /// `null`, `~` or nothing, unquoted.
    pub fn is_null(&self) -> bool {
        matches!(&self.value, Value::Scalar(s, false) if matches!(s.as_str(), "" | "~" | "null" | "Null" | "NULL"))
    }

    pub fn as_bool(&self) -> Option<bool> {
        match &self.value {
            Value::Scalar(s, false) => match s.as_str() {
                "true" | "True" | "TRUE" => Some(true),
                "false" | "False" | "FALSE" => Some(false),
                _ => None,
            },
            _ => None,
        }
    }

    pub fn seq(&self) -> Option<&[Node]> {
        match &self.value {
            Value::Seq(items) => Some(items),
            _ => None,
        }
    }

    pub fn map(&self) -> Option<&[(Node, Node)]> {
        match &self.value {
            Value::Map(entries) => Some(entries),
            _ => None,
        }
    }

    /// The value of `key` in a mapping.
    pub fn get(&self, key: &str) -> Option<&Node> {
        self.map()?
            .iter()
            .find(|(k, _)| k.text() == Some(key))
            .map(|(_, v)| v)
    }

    /// What kind of value this is, for messages.
    pub fn describe(&self) -> &'static str {
        match &self.value {
            Value::Scalar(..) if self.is_null() => "nothing",
            Value::Scalar(..) => "a scalar",
            Value::Seq(_) => "a list",
            Value::Map(_) => "a mapping",
        }
    }
}

/// A node being built: the open collection, its anchor, and where it began.
enum Open {
    Seq(Vec<Node>, usize, usize),
    Map(Vec<(Node, Node)>, Option<Node>, usize, usize),
}

/// Parse the first document of `file`'s text. An empty file is an empty
/// mapping.
///
/// A flow collection's closing `]` or `}` on a line of its own, indented
/// no deeper than the key it belongs to (Sentry's compose file), is read
/// as Compose's parser and libyaml read it, though YAML 1.2 and saphyr
/// refuse it: such a line is indented a space more and the text parsed
/// again. Spans still point into the file as written.
pub fn parse(file: &SourceFile) -> Result<Node> {
    let mut text = file.text.clone();
    // Where a space was put into `text`, in `text`'s current offsets.
    let mut moved: Vec<usize> = Vec::new();
    loop {
        match parse_text(file, &text, &moved) {
            Err(Parsed::Indent(line_start)) if moved.len() < 256 => {
                for m in moved.iter_mut().filter(|m| **m >= line_start) {
                    *m += 1;
                }
                moved.push(line_start);
                text.insert(line_start, ' ');
            }
            Err(Parsed::Indent(_)) => {
                return parse_text(file, &file.text, &[]).map_err(|e| match e {
                    Parsed::Error(e) => e,
                    Parsed::Indent(at) => error(
                        file,
                        at..at,
                        "this is not valid YAML: invalid indentation",
                        None,
                    ),
                })
            }
            Err(Parsed::Error(e)) => return Err(e),
            Ok(node) => return Ok(node),
        }
    }
}

/// Why [`parse_text`] stopped.
enum Parsed {
    Error(Error),
    /// A flow closer less indented than YAML 1.2 allows, on the line that
    /// starts at this offset of the text parsed.
    Indent(usize),
}

impl From<Error> for Parsed {
    fn from(e: Error) -> Parsed {
        Parsed::Error(e)
    }
}

/// [`parse`] of `text`: `file`'s with a space put in at each of `moved`.
fn parse_text(file: &SourceFile, text: &str, moved: &[usize]) -> std::result::Result<Node, Parsed> {
    // saphyr counts in characters; spans are in bytes, of the file as
    // written.
    let bytes_at: Vec<usize> = text
        .char_indices()
        .map(|(i, _)| i)
        .chain(std::iter::once(text.len()))
        .collect();
    let in_text = |chars: usize| bytes_at.get(chars).copied().unwrap_or(text.len());
    let byte = |chars: usize| {
        let at = in_text(chars);
        at - moved.iter().filter(|m| **m < at).count()
    };
    let mut anchors: HashMap<usize, Node> = HashMap::new();
    let mut stack: Vec<Open> = Vec::new();
    let mut root: Option<Node> = None;

    for event in Parser::new_from_str(text) {
        let (event, span) = event.map_err(|e| {
            let at = in_text(e.marker().index());
            let line_start = text[..at].rfind('\n').map_or(0, |i| i + 1);
            let rest = text[line_start..].trim_start_matches(' ');
            if e.info().contains("invalid indentation")
                && (rest.starts_with(']') || rest.starts_with('}'))
            {
                return Parsed::Indent(line_start);
            }
            let at = byte(e.marker().index());
            Parsed::Error(error(
                file,
                at..at,
                format!("this is not valid YAML: {}", e.info()),
                None,
            ))
        })?;
        let start = byte(span.start.index());
        let end = byte(span.end.index());
        let done = match event {
            Event::Scalar(value, style, anchor, _) => {
                let node = Node {
                    value: Value::Scalar(value.into_owned(), style != ScalarStyle::Plain),
                    span: start..end,
                };
                if anchor != 0 {
                    anchors.insert(anchor, node.clone());
                }
                Some(node)
            }
            Event::Alias(anchor) => Some(anchors.get(&anchor).cloned().ok_or_else(|| {
                error(
                    file,
                    start..end,
                    "this alias names no anchor defined before it",
                    None,
                )
            })?),
            Event::SequenceStart(anchor, _) => {
                stack.push(Open::Seq(Vec::new(), anchor, start));
                None
            }
            Event::MappingStart(anchor, _) => {
                stack.push(Open::Map(Vec::new(), None, anchor, start));
                None
            }
            Event::SequenceEnd => match stack.pop() {
                Some(Open::Seq(items, anchor, from)) => {
                    let node = Node {
                        value: Value::Seq(items),
                        span: from..end.max(from),
                    };
                    if anchor != 0 {
                        anchors.insert(anchor, node.clone());
                    }
                    Some(node)
                }
                _ => return Err(error(file, start..end, "unbalanced YAML sequence", None).into()),
            },
            Event::MappingEnd => match stack.pop() {
                Some(Open::Map(entries, _, anchor, from)) => {
                    let node = Node {
                        value: Value::Map(merge(file, entries)?),
                        span: from..end.max(from),
                    };
                    if anchor != 0 {
                        anchors.insert(anchor, node.clone());
                    }
                    Some(node)
                }
                _ => return Err(error(file, start..end, "unbalanced YAML mapping", None).into()),
            },
            Event::DocumentEnd if root.is_some() => break,
            _ => None,
        };
        let Some(node) = done else { continue };
        match stack.last_mut() {
            Some(Open::Seq(items, ..)) => items.push(node),
            Some(Open::Map(entries, pending, ..)) => match pending.take() {
                None => *pending = Some(node),
                Some(key) => entries.push((key, node)),
            },
            None => root = Some(node),
        }
    }
    Ok(root.filter(|r| !r.is_null()).unwrap_or(Node {
        value: Value::Map(Vec::new()),
        span: 0..0,
    }))
}

/// Apply merge keys: `<<: *a` or `<<: [*a, *b]` adds the keys of the
/// merged mappings that the mapping does not set itself (the first merged
/// mapping wins among several). Duplicate keys are refused, as Compose does.
fn merge(file: &SourceFile, entries: Vec<(Node, Node)>) -> Result<Vec<(Node, Node)>> {
    let mut own: Vec<(Node, Node)> = Vec::new();
    let mut merged: Vec<Node> = Vec::new();
    for (key, value) in entries {
        if key.text() == Some("<<") && matches!(key.value, Value::Scalar(_, false)) {
            match &value.value {
                Value::Map(_) => merged.push(value),
                Value::Seq(items) if items.iter().all(|i| i.map().is_some()) => {
                    merged.extend(items.iter().cloned())
                }
                _ => {
                    return Err(error(
                        file,
                        value.span.clone(),
                        format!("`<<` merges mappings, and this is {}", value.describe()),
                        Some("write `<<: *anchor` or `<<: [*one, *two]`".into()),
                    ))
                }
            }
            continue;
        }
        if let Some(name) = key.text() {
            if own.iter().any(|(k, _)| k.text() == Some(name)) {
                return Err(error(
                    file,
                    key.span.clone(),
                    format!("`{name}` is set twice in this mapping"),
                    Some("remove one of them".into()),
                ));
            }
        }
        own.push((key, value));
    }
    for source in merged {
        for (key, value) in source.map().unwrap_or_default() {
            let name = key.text();
            if !own.iter().any(|(k, _)| k.text() == name) {
                own.push((key.clone(), value.clone()));
            }
        }
    }
    Ok(own)
}

/// An error at `span` of `file` (exit 2).
pub fn error(
    file: &SourceFile,
    span: Span,
    message: impl Into<String>,
    hint: Option<String>,
) -> Error {
    Error::Config {
        message: message.into(),
        location: Some(Box::new(file.locate(&span))),
        hint,
    }
}

/// Read `path` as a source file.
pub fn read(path: &Path) -> Result<SourceFile> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| Error::io(format!("could not read `{}`", path.display()), e))?;
    Ok(SourceFile::new(path, text))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::diagnostic::{plain, render};

    fn tree(text: &str) -> Node {
        parse(&SourceFile::new(Path::new("c.yml"), text.into())).unwrap()
    }

    fn failure(text: &str) -> String {
        let e = parse(&SourceFile::new(Path::new("c.yml"), text.into())).unwrap_err();
        assert_eq!(e.exit_code(), 2);
        render(&e, &plain)
    }

    #[test]
    fn anchors_aliases_and_merge_keys() {
        let t = tree(
            "x-base: &base\n  image: app\n  restart: always\nx-env: &env\n  A: 1\nservices:\n  web:\n    <<: *base\n    restart: never\n    environment: *env\n  two:\n    <<: [*base, {image: other, user: me}]\n",
        );
        let web = t.get("services").unwrap().get("web").unwrap();
        assert_eq!(web.get("image").unwrap().text(), Some("app"), "merged in");
        assert_eq!(
            web.get("restart").unwrap().text(),
            Some("never"),
            "its own key wins"
        );
        assert_eq!(
            web.get("environment").unwrap().get("A").unwrap().text(),
            Some("1")
        );
        let two = t.get("services").unwrap().get("two").unwrap();
        assert_eq!(
            two.get("image").unwrap().text(),
            Some("app"),
            "the first merged wins"
        );
        assert_eq!(two.get("user").unwrap().text(), Some("me"));
        // Spans point into the file: the alias's value is where the anchor is.
        let text = "a:\n  b: \"5432\"\n";
        let b = tree(text).get("a").unwrap().get("b").unwrap().clone();
        assert!(matches!(b.value, Value::Scalar(ref s, true) if s == "5432"));
        assert_eq!(&text[b.span.clone()], "\"5432\"");
        assert!(tree("").map().unwrap().is_empty());
        assert!(tree("# only a comment\n").map().unwrap().is_empty());
    }

    #[test]
    fn a_flow_closer_indented_as_compose_accepts_it_is_read() {
        let text = "services:\n  web:\n    command: [\"run\",\n      \"--fast\"\n    ]\n    environment: {A: \"1\",\n      B: \"2\"\n    }\n  db:\n    image: pg\n";
        let file = SourceFile::new(Path::new("compose.yml"), text.to_string());
        let root = parse(&file).unwrap();
        let web = root.get("services").unwrap().get("web").unwrap();
        let args: Vec<&str> = web
            .get("command")
            .unwrap()
            .seq()
            .unwrap()
            .iter()
            .filter_map(Node::text)
            .collect();
        assert_eq!(args, ["run", "--fast"]);
        assert_eq!(
            web.get("environment").unwrap().get("B").unwrap().text(),
            Some("2")
        );
        // Spans still point into the file as written.
        let db = root.get("services").unwrap().get("db").unwrap();
        let image = db.get("image").unwrap();
        assert_eq!(&text[image.span.clone()], "pg");
    }

    #[test]
    fn bad_yaml_is_pointed_at() {
        assert_eq!(
            failure("services:\n  web:\n    image: [a\n"),
            failure("services:\n  web:\n    image: [a\n"),
            "deterministic"
        );
        let unclosed = failure("services:\n  web:\n    image: \"a\n");
        assert!(
            unclosed.starts_with("error: this is not valid YAML"),
            "{unclosed}"
        );
        assert!(unclosed.contains("c.yml:"), "{unclosed}");
        assert_eq!(
            failure("a: 1\na: 2\n"),
            "error: `a` is set twice in this mapping\n --> c.yml:2:1\n  |\n2 | a: 2\n  | ^\nhint: remove one of them\n"
        );
        assert_eq!(
            failure("a: *nope\n"),
            "error: this is not valid YAML: while parsing node, found unknown anchor\n --> c.yml:1:4\n  |\n1 | a: *nope\n  |    ^\n"
        );
        assert_eq!(
            failure("b: &x 1\na:\n  <<: *x\n"),
            "error: `<<` merges mappings, and this is a scalar\n --> c.yml:1:4\n  |\n1 | b: &x 1\n  |    ^^^^\nhint: write `<<: *anchor` or `<<: [*one, *two]`\n"
        );
    }
}
