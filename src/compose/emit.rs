//! Writing YAML: the exports build a small tree and render it in block
//! style. Every string is double-quoted (JSON's rules, which YAML accepts),
//! so no value is ever read back as a number, a boolean or a null by
//! whatever reads the file; keys are written plain when they are plain
//! words.

/// A YAML value to write.
#[derive(Debug, Clone, PartialEq)]
pub enum Yaml {
    Str(String),
    Int(i64),
    Bool(bool),
    List(Vec<Yaml>),
    /// Keys in the order given.
    Map(Vec<(String, Yaml)>),
    /// A literal block (`|`), for multi-line text such as files.
    Block(String),
}

impl Yaml {
    pub fn str(text: impl Into<String>) -> Yaml {
        Yaml::Str(text.into())
    }

    pub fn strs<S: AsRef<str>>(items: &[S]) -> Yaml {
        Yaml::List(items.iter().map(|s| Yaml::str(s.as_ref())).collect())
    }

    pub fn map() -> Yaml {
        Yaml::Map(Vec::new())
    }

    /// Add `key: value` to a mapping (a no-op on anything else).
    pub fn with(mut self, key: &str, value: Yaml) -> Yaml {
        self.set(key, value);
        self
    }

    /// Set `key` (replacing its value where it is set already: a mapping
    /// has each key once, which two services sharing a volume would
    /// otherwise break).
    pub fn set(&mut self, key: &str, value: Yaml) {
        if let Yaml::Map(entries) = self {
            match entries.iter_mut().find(|(k, _)| k == key) {
                Some((_, v)) => *v = value,
                None => entries.push((key.to_string(), value)),
            }
        }
    }

    fn is_empty_collection(&self) -> bool {
        matches!(self, Yaml::List(l) if l.is_empty())
            || matches!(self, Yaml::Map(m) if m.is_empty())
    }
}

/// The document, ending in a newline.
pub fn render(value: &Yaml) -> String {
    let mut out = String::new();
    match value {
        Yaml::Map(entries) if !entries.is_empty() => write_map(&mut out, entries, 0),
        Yaml::List(items) if !items.is_empty() => write_list(&mut out, items, 0),
        other => {
            out.push_str(&inline(other));
            out.push('\n');
        }
    }
    out
}

/// Several documents, `---` between them (Kubernetes manifests).
pub fn render_all(values: &[Yaml]) -> String {
    values.iter().map(render).collect::<Vec<_>>().join("---\n")
}

fn write_map(out: &mut String, entries: &[(String, Yaml)], indent: usize) {
    for (key, value) in entries {
        out.push_str(&" ".repeat(indent));
        out.push_str(&key_text(key));
        out.push(':');
        write_nested(out, value, indent);
    }
}

fn write_list(out: &mut String, items: &[Yaml], indent: usize) {
    for item in items {
        out.push_str(&" ".repeat(indent));
        out.push('-');
        match item {
            Yaml::Map(entries) if !entries.is_empty() => {
                // The first key on the dash's line, the rest below it.
                let mut first = String::new();
                write_map(&mut first, entries, indent + 2);
                out.push(' ');
                out.push_str(first.trim_start());
            }
            _ => write_nested(out, item, indent),
        }
    }
}

/// A value after `key:` or `-`: inline when it is a scalar or empty, else
/// on the following lines, indented.
fn write_nested(out: &mut String, value: &Yaml, indent: usize) {
    match value {
        Yaml::Map(entries) if !value.is_empty_collection() => {
            out.push('\n');
            write_map(out, entries, indent + 2);
        }
        Yaml::List(items) if !value.is_empty_collection() => {
            out.push('\n');
            write_list(out, items, indent + 2);
        }
        Yaml::Block(text) => {
            // `|-` drops the final newline when the text has none.
            out.push_str(if text.ends_with('\n') {
                " |\n"
            } else {
                " |-\n"
            });
            for line in text.lines() {
                if !line.is_empty() {
                    out.push_str(&" ".repeat(indent + 2));
                    out.push_str(line);
                }
                out.push('\n');
            }
        }
        scalar => {
            out.push(' ');
            out.push_str(&inline(scalar));
            out.push('\n');
        }
    }
}

fn inline(value: &Yaml) -> String {
    match value {
        Yaml::Str(s) => quote(s),
        Yaml::Int(i) => i.to_string(),
        Yaml::Bool(b) => b.to_string(),
        Yaml::List(items) if items.is_empty() => "[]".into(),
        Yaml::Map(entries) if entries.is_empty() => "{}".into(),
        Yaml::List(items) => format!(
            "[{}]",
            items.iter().map(inline).collect::<Vec<_>>().join(", ")
        ),
        Yaml::Map(entries) => format!(
            "{{{}}}",
            entries
                .iter()
                .map(|(k, v)| format!("{}: {}", key_text(k), inline(v)))
                .collect::<Vec<_>>()
                .join(", ")
        ),
        Yaml::Block(text) => quote(text),
    }
}

/// A double-quoted YAML string (JSON's escapes are YAML's too).
pub fn quote(text: &str) -> String {
    serde_json::Value::String(text.to_string()).to_string()
}

fn key_text(key: &str) -> String {
    let plain = !key.is_empty()
        && key
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.' | '/'))
        && !matches!(
            key,
            "true" | "false" | "null" | "yes" | "no" | "on" | "off" | "y" | "n"
        )
        && !key.starts_with(|c: char| c.is_ascii_digit() || c == '-' || c == '.');
    if plain {
        key.to_string()
    } else {
        quote(key)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::compose::yaml;
    use crate::source::SourceFile;

    #[test]
    fn writes_block_yaml_that_reads_back() {
        let doc = Yaml::map()
            .with("name", Yaml::str("app"))
            .with(
                "services",
                Yaml::map().with(
                    "db",
                    Yaml::map()
                        .with("image", Yaml::str("postgres:16"))
                        .with("ports", Yaml::strs(&["127.0.0.1:5432:5432"]))
                        .with(
                            "environment",
                            Yaml::map()
                                .with("A", Yaml::str("5432"))
                                .with("on", Yaml::str("yes")),
                        )
                        .with("command", Yaml::List(vec![]))
                        .with(
                            "healthcheck",
                            Yaml::map()
                                .with("retries", Yaml::Int(3))
                                .with("disable", Yaml::Bool(false)),
                        )
                        .with("file", Yaml::Block("line 1\n\nline 3\n".into())),
                ),
            )
            .with(
                "items",
                Yaml::List(vec![
                    Yaml::map()
                        .with("name", Yaml::str("a"))
                        .with("value", Yaml::str("b")),
                    Yaml::str("c"),
                ]),
            );
        let text = render(&doc);
        assert_eq!(
            text,
            "name: \"app\"\nservices:\n  db:\n    image: \"postgres:16\"\n    ports:\n      - \"127.0.0.1:5432:5432\"\n    environment:\n      A: \"5432\"\n      \"on\": \"yes\"\n    command: []\n    healthcheck:\n      retries: 3\n      disable: false\n    file: |\n      line 1\n\n      line 3\nitems:\n  - name: \"a\"\n    value: \"b\"\n  - \"c\"\n"
        );
        let back = yaml::parse(&SourceFile::new(std::path::Path::new("x.yml"), text)).unwrap();
        let db = back.get("services").unwrap().get("db").unwrap();
        assert_eq!(
            db.get("environment").unwrap().get("on").unwrap().text(),
            Some("yes")
        );
        assert_eq!(db.get("file").unwrap().text(), Some("line 1\n\nline 3\n"));
        assert_eq!(
            back.get("items").unwrap().seq().unwrap()[0]
                .get("value")
                .unwrap()
                .text(),
            Some("b")
        );
    }
}
