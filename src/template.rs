//! Templates for the env file's values and a generic service's `env` and
//! `command`: literal text with `${service.key}` references to a service's
//! connection values (`${db.url}`, `${cache.port}`), and `${NAME}`
//! variables in every form Compose has (`${NAME:-default}`,
//! `${NAME:?message}`, ...), from the environment and the stack's `dotenv`
//! files. `$$` writes a literal `$`.

use crate::variables::interpolate::{closing_brace, interpolate, variable_name_len, Failure};

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
    /// `${NAME}`, `${NAME:-default}`, ...: `expr` is what the braces hold.
    Var {
        name: String,
        expr: String,
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
            let Some(end) = closing_brace(body) else {
                return Err(TemplateError {
                    offset: offset + i,
                    message: "unclosed `${`: expected `}`".into(),
                });
            };
            let inner = &body[..end];
            if !literal.is_empty() {
                pieces.push(Piece::Text(std::mem::take(&mut literal)));
            }
            if let Some((service, key)) = as_reference(inner) {
                pieces.push(Piece::Ref {
                    service,
                    key,
                    offset: offset + i,
                    len: end + 3,
                });
            } else if let Some(name) = as_variable(inner) {
                pieces.push(Piece::Var {
                    name,
                    expr: inner.to_string(),
                    offset: offset + i,
                    len: end + 3,
                });
            } else {
                return Err(TemplateError {
                    offset: offset + i,
                    message: format!(
                        "`${{{inner}}}` must name a service and a value, like `${{db.url}}`, or a variable, like `${{DB_PASSWORD}}`"
                    ),
                });
            }
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

    /// Fill the references and variables in; `lookup` returns `None` for
    /// unknown references, and `variable` for unset variables, which
    /// reading the stack file has already rejected.
    pub fn render(
        &self,
        mut lookup: impl FnMut(&str, &str) -> Option<String>,
        variable: &dyn Fn(&str) -> Option<String>,
    ) -> String {
        let mut out = String::new();
        for piece in &self.pieces {
            match piece {
                Piece::Text(t) => out.push_str(t),
                Piece::Ref { service, key, .. } => {
                    out.push_str(&lookup(service, key).unwrap_or_default())
                }
                Piece::Var { expr, .. } => {
                    let mut unset = Vec::new();
                    let value = interpolate(&format!("${{{expr}}}"), variable, &mut unset);
                    out.push_str(&value.unwrap_or_default());
                }
            }
        }
        out
    }

    /// Check that each variable has a value (or a default) with
    /// `variable`'s values: `Err` is (the offset and length of the first
    /// that has not, what is wrong, how to fix). An unset variable with no
    /// default is refused, where Compose would make it empty: a password
    /// left empty is a surprise found late.
    pub fn check_variables(
        &self,
        variable: &dyn Fn(&str) -> Option<String>,
        searched: &str,
    ) -> Result<(), (usize, usize, Failure)> {
        for piece in &self.pieces {
            let Piece::Var {
                name,
                expr,
                offset,
                len,
            } = piece
            else {
                continue;
            };
            let mut unset = Vec::new();
            interpolate(&format!("${{{expr}}}"), variable, &mut unset).map_err(|f| {
                let hint = format!("set `{name}` in the environment or in a file `dotenv` lists");
                (
                    *offset,
                    *len,
                    Failure {
                        hint: Some(hint),
                        ..f
                    },
                )
            })?;
            if let Some(missing) = unset.first() {
                return Err((
                    *offset,
                    *len,
                    Failure {
                        message: format!("variable `{missing}` is not set in {searched}"),
                        hint: Some(format!(
                            "set `{missing}` there, or write `${{{name}:-}}` for an empty value when it is unset"
                        )),
                    },
                ));
            }
        }
        Ok(())
    }

    /// The names of the variables it uses.
    pub fn variables(&self) -> impl Iterator<Item = &str> {
        self.pieces.iter().filter_map(|p| match p {
            Piece::Var { name, .. } => Some(name.as_str()),
            _ => None,
        })
    }

    /// The template as it is written (`$$` for a `$`), so it parses back
    /// into itself.
    pub fn text(&self) -> String {
        self.pieces
            .iter()
            .map(|p| match p {
                Piece::Text(t) => t.replace('$', "$$"),
                Piece::Ref { service, key, .. } => format!("${{{service}.{key}}}"),
                Piece::Var { expr, .. } => format!("${{{expr}}}"),
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
            Piece::Text(_) | Piece::Var { .. } => None,
        })
    }
}

/// `db.url` (a service's name, a dot, a key) as a reference.
fn as_reference(inner: &str) -> Option<(String, String)> {
    let (service, key) = inner.split_once('.')?;
    let (service, key) = (service.trim(), key.trim());
    let service_ok = !service.is_empty()
        && service
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_');
    let key_ok = !key.is_empty() && key.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
    (service_ok && key_ok).then(|| (service.to_string(), key.to_string()))
}

/// `NAME`, or `NAME` and one of Compose's operators (`:-`, `-`, `:?`, `?`,
/// `:+`, `+`) and a word: the variable's name.
fn as_variable(inner: &str) -> Option<String> {
    let (name, rest) = inner.split_at(variable_name_len(inner));
    let operator = rest.strip_prefix(':').unwrap_or(rest);
    let known = rest.is_empty() || operator.starts_with(['-', '?', '+']);
    (!name.is_empty() && known).then(|| name.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_and_renders() {
        let t = Template::parse("postgres://${db.user}@x:$${db.port}").unwrap();
        let out = t.render(|s, k| Some(format!("<{s}.{k}>")), &|_| None);
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
        assert_eq!(
            Template::parse("a${db url}").unwrap_err().message,
            "`${db url}` must name a service and a value, like `${db.url}`, or a variable, like `${DB_PASSWORD}`"
        );
    }

    #[test]
    fn variables_take_every_form_compose_has_beside_references() {
        let t = Template::parse(
            "postgres://${APP_USER:-app}:${DB_PASSWORD}@${db.host}/${DB_NAME:-${APP_USER:-x}}${my-db.port}",
        )
        .unwrap();
        let vars = |name: &str| (name == "DB_PASSWORD").then(|| "s3cr3t".to_string());
        let out = t.render(|s, k| Some(format!("<{s}.{k}>")), &vars);
        assert_eq!(out, "postgres://app:s3cr3t@<db.host>/x<my-db.port>");
        assert_eq!(
            t.variables().collect::<Vec<_>>(),
            ["APP_USER", "DB_PASSWORD", "DB_NAME"]
        );
        assert_eq!(
            Template::parse(&t.text()).unwrap(),
            t,
            "written back as it was"
        );
        assert!(t.check_variables(&vars, "the environment").is_ok());

        let unset = Template::parse("x${TOKEN}").unwrap();
        let (offset, len, failure) = unset
            .check_variables(&|_| None, "the environment and `.env`")
            .unwrap_err();
        assert_eq!((offset, len), (1, 8));
        assert_eq!(
            failure.message,
            "variable `TOKEN` is not set in the environment and `.env`"
        );
        assert!(failure.hint.unwrap().contains("`${TOKEN:-}`"));
        let required = Template::parse("${TOKEN:?ask the team}").unwrap();
        let (_, _, failure) = required
            .check_variables(&|_| None, "the environment")
            .unwrap_err();
        assert_eq!(
            failure.message,
            "variable `TOKEN` must be set: ask the team"
        );
        assert!(Template::parse("${TOKEN:-}")
            .unwrap()
            .check_variables(&|_| None, "")
            .is_ok());
    }
}
