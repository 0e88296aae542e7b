//! Templates for the env file's values: literal text with `${service.key}`
//! references to a service's connection values (`${db.url}`,
//! `${cache.port}`). `$$` writes a literal `$`.

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Piece {
    Text(String),
    /// `${service.key}`, with the byte offset of the reference in the template.
    Ref {
        service: String,
        key: String,
        offset: usize,
        len: usize,
    },
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Template {
    pub pieces: Vec<Piece>,
}

/// A syntax error at a byte offset inside the template.
#[derive(Debug, PartialEq, Eq)]
pub struct TemplateError {
    pub offset: usize,
    pub message: String,
}

impl Template {
    pub fn parse(text: &str) -> Result<Template, TemplateError> {
        let mut pieces = Vec::new();
        let mut literal = String::new();
        let mut rest = text;
        let mut offset = 0;
        while let Some(i) = rest.find('$') {
            literal.push_str(&rest[..i]);
            let after = &rest[i + 1..];
            if let Some(stripped) = after.strip_prefix('$') {
                literal.push('$');
                offset += i + 2;
                rest = stripped;
                continue;
            }
            let Some(body) = after.strip_prefix('{') else {
                return Err(TemplateError {
                    offset: offset + i,
                    message:
                        "`$` starts a reference like `${db.url}`; write `$$` for a literal `$`"
                            .into(),
                });
            };
            let Some(end) = body.find('}') else {
                return Err(TemplateError {
                    offset: offset + i,
                    message: "unclosed `${`: expected `}`".into(),
                });
            };
            let inner = &body[..end];
            let Some((service, key)) = inner.split_once('.') else {
                return Err(TemplateError {
                    offset: offset + i,
                    message: format!(
                        "`${{{inner}}}` must name a service and a value, like `${{db.url}}`"
                    ),
                });
            };
            if !literal.is_empty() {
                pieces.push(Piece::Text(std::mem::take(&mut literal)));
            }
            pieces.push(Piece::Ref {
                service: service.trim().to_string(),
                key: key.trim().to_string(),
                offset: offset + i,
                len: end + 3,
            });
            let consumed = i + 1 + 1 + end + 1;
            offset += consumed;
            rest = &rest[consumed..];
        }
        literal.push_str(rest);
        if !literal.is_empty() {
            pieces.push(Piece::Text(literal));
        }
        Ok(Template { pieces })
    }

    pub fn reference(service: &str, key: &str) -> Template {
        Template {
            pieces: vec![Piece::Ref {
                service: service.into(),
                key: key.into(),
                offset: 0,
                len: 0,
            }],
        }
    }

    /// Fill the references in; `lookup` returns `None` for unknown ones,
    /// which resolution has already rejected.
    pub fn render(&self, mut lookup: impl FnMut(&str, &str) -> Option<String>) -> String {
        let mut out = String::new();
        for piece in &self.pieces {
            match piece {
                Piece::Text(t) => out.push_str(t),
                Piece::Ref { service, key, .. } => {
                    out.push_str(&lookup(service, key).unwrap_or_default())
                }
            }
        }
        out
    }

    /// The template as it is written (`$$` for a `$`), so it parses back
    /// into itself.
    pub fn text(&self) -> String {
        self.pieces
            .iter()
            .map(|p| match p {
                Piece::Text(t) => t.replace('$', "$$"),
                Piece::Ref { service, key, .. } => format!("${{{service}.{key}}}"),
            })
            .collect()
    }

    pub fn references(&self) -> impl Iterator<Item = (&str, &str, usize, usize)> {
        self.pieces.iter().filter_map(|p| match p {
            Piece::Ref {
                service,
                key,
                offset,
                len,
            } => Some((service.as_str(), key.as_str(), *offset, *len)),
            Piece::Text(_) => None,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_and_renders() {
        let t = Template::parse("postgres://${db.user}@x:$${db.port}").unwrap();
        let out = t.render(|s, k| Some(format!("<{s}.{k}>")));
        assert_eq!(out, "postgres://<db.user>@x:${db.port}");
        assert_eq!(
            t.text(),
            "postgres://${db.user}@x:$${db.port}",
            "written back as it was"
        );
        assert_eq!(Template::parse(&t.text()).unwrap(), t);
    }

    #[test]
    fn reports_offsets() {
        assert_eq!(Template::parse("ab${x").unwrap_err().offset, 2);
        assert_eq!(Template::parse("a $b").unwrap_err().offset, 2);
        let t = Template::parse("x${db.url}").unwrap();
        assert_eq!(t.references().next(), Some(("db", "url", 1, 9)));
    }
}
