//! Compose's variable interpolation, applied to every value of the file
//! before it is read: `$VAR`, `${VAR}`, `${VAR:-default}` (unset or
//! empty), `${VAR-default}` (unset), `${VAR:?message}` / `${VAR?message}`
//! (an error), `${VAR:+other}` / `${VAR+other}` (when set), `$$` for a
//! dollar sign; a default may hold interpolations of its own.

/// Why a value could not be interpolated.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Failure {
    pub message: String,
    pub hint: Option<String>,
}

/// The text with its variables replaced; `unset` collects the variables
/// used without a value and without a default (they become empty, as
/// Compose does, with a warning).
pub fn interpolate(
    text: &str,
    lookup: &dyn Fn(&str) -> Option<String>,
    unset: &mut Vec<String>,
) -> Result<String, Failure> {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(at) = rest.find('$') {
        out.push_str(&rest[..at]);
        let after = &rest[at + 1..];
        if let Some(more) = after.strip_prefix('$') {
            out.push('$');
            rest = more;
        } else if let Some(inner) = after.strip_prefix('{') {
            let end = closing_brace(inner).ok_or_else(|| Failure {
                message: format!("`{}` has a `${{` without its `}}`", text),
                hint: Some("close it, or write `$$` for a dollar sign".into()),
            })?;
            out.push_str(&braced(&inner[..end], lookup, unset)?);
            rest = &inner[end + 1..];
        } else {
            let name_len = variable_name_len(after);
            if name_len == 0 {
                // A lone `$` is kept, as Compose keeps it.
                out.push('$');
                rest = after;
            } else {
                let name = &after[..name_len];
                out.push_str(&value_of(name, lookup, unset));
                rest = &after[name_len..];
            }
        }
    }
    out.push_str(rest);
    Ok(out)
}

/// `NAME`, `NAME:-default`, ...: the inside of `${...}`.
fn braced(
    inner: &str,
    lookup: &dyn Fn(&str) -> Option<String>,
    unset: &mut Vec<String>,
) -> Result<String, Failure> {
    let name_len = variable_name_len(inner);
    let name = &inner[..name_len];
    if name.is_empty() {
        return Err(Failure {
            message: format!("`${{{inner}}}` names no variable"),
            hint: Some("write `${NAME}`, `${NAME:-default}`, or `$$` for a dollar sign".into()),
        });
    }
    let operator = &inner[name_len..];
    let value = lookup(name);
    let set_nonempty = value.as_deref().is_some_and(|v| !v.is_empty());
    let word = |w: &str, unset: &mut Vec<String>| interpolate(w, lookup, unset);
    Ok(match operator {
        "" => value_of(name, lookup, unset),
        _ if operator.starts_with(":-") => match value {
            Some(v) if !v.is_empty() => v,
            _ => word(&operator[2..], unset)?,
        },
        _ if operator.starts_with('-') => match value {
            Some(v) => v,
            None => word(&operator[1..], unset)?,
        },
        _ if operator.starts_with(":?") || operator.starts_with('?') => {
            let colon = operator.starts_with(':');
            let missing = if colon { !set_nonempty } else { value.is_none() };
            if missing {
                let said = operator.trim_start_matches(':')[1..].trim();
                let said = if said.is_empty() {
                    format!("variable `{name}` must be set")
                } else {
                    format!("variable `{name}` must be set: {said}")
                };
                return Err(Failure {
                    message: said,
                    hint: Some(format!(
                        "set `{name}` in the environment or in the `.env` file beside the compose file"
                    )),
                });
            }
            value.unwrap_or_default()
        }
        _ if operator.starts_with(":+") => match set_nonempty {
            true => word(&operator[2..], unset)?,
            false => String::new(),
        },
        _ if operator.starts_with('+') => match value.is_some() {
            true => word(&operator[1..], unset)?,
            false => String::new(),
        },
        _ => {
            return Err(Failure {
                message: format!("`${{{inner}}}` is not an interpolation Compose knows"),
                hint: Some(
                    "use `${NAME}`, `${NAME:-default}`, `${NAME-default}`, `${NAME:?message}` or `${NAME:+other}`"
                        .into(),
                ),
            })
        }
    })
}

fn value_of(
    name: &str,
    lookup: &dyn Fn(&str) -> Option<String>,
    unset: &mut Vec<String>,
) -> String {
    lookup(name).unwrap_or_else(|| {
        if !unset.iter().any(|u| u == name) {
            unset.push(name.to_string());
        }
        String::new()
    })
}

/// How many bytes of `text` are a variable name (`[A-Za-z_][A-Za-z0-9_]*`).
pub fn variable_name_len(text: &str) -> usize {
    let mut len = 0;
    for (i, c) in text.char_indices() {
        let ok = c == '_' || c.is_ascii_alphabetic() || (i > 0 && c.is_ascii_digit());
        if !ok {
            break;
        }
        len = i + c.len_utf8();
    }
    len
}

/// Where the `}` closing a `${` is, counting nested `${...}`.
pub fn closing_brace(inner: &str) -> Option<usize> {
    let mut depth = 0;
    let bytes = inner.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'$' if bytes.get(i + 1) == Some(&b'{') => {
                depth += 1;
                i += 1;
            }
            b'}' if depth == 0 => return Some(i),
            b'}' => depth -= 1,
            _ => {}
        }
        i += 1;
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(text: &str) -> Result<(String, Vec<String>), Failure> {
        let vars = |k: &str| match k {
            "SET" => Some("value".to_string()),
            "EMPTY" => Some(String::new()),
            "PORT" => Some("5433".to_string()),
            _ => None,
        };
        let mut unset = Vec::new();
        interpolate(text, &vars, &mut unset).map(|t| (t, unset))
    }

    fn ok(text: &str) -> String {
        run(text).unwrap().0
    }

    #[test]
    fn every_form_compose_has() {
        assert_eq!(ok("${PORT}:5432"), "5433:5432");
        assert_eq!(ok("$SET-$PORT"), "value-5433");
        assert_eq!(ok("${UNSET:-5432}"), "5432");
        assert_eq!(ok("${EMPTY:-d}"), "d");
        assert_eq!(ok("${EMPTY-d}"), "", "set, though empty");
        assert_eq!(ok("${UNSET-d}"), "d");
        assert_eq!(
            ok("${SET:+yes}${EMPTY:+no}${UNSET+no}${EMPTY+set}"),
            "yesset"
        );
        assert_eq!(ok("${UNSET:-${PORT}}"), "5433", "nested");
        assert_eq!(ok("${UNSET:-${ALSO_UNSET:-x}y}"), "xy");
        assert_eq!(ok("cost $$5 and $ alone"), "cost $5 and $ alone");
        assert_eq!(
            run("a${NOPE}b$NOPE").unwrap(),
            ("ab".into(), vec!["NOPE".into()])
        );
    }

    #[test]
    fn what_cannot_be_read_says_why() {
        let e = run("${DB_PASSWORD:?set it in .env}").unwrap_err();
        assert_eq!(
            e.message,
            "variable `DB_PASSWORD` must be set: set it in .env"
        );
        assert_eq!(run("${EMPTY?x}").unwrap().0, "", "`?` accepts empty");
        assert_eq!(
            run("${EMPTY:?}").unwrap_err().message,
            "variable `EMPTY` must be set"
        );
        assert_eq!(
            run("${PORT").unwrap_err().message,
            "`${PORT` has a `${` without its `}`"
        );
        assert_eq!(run("${}").unwrap_err().message, "`${}` names no variable");
        assert_eq!(
            run("${PORT/5/6}").unwrap_err().message,
            "`${PORT/5/6}` is not an interpolation Compose knows"
        );
    }
}
