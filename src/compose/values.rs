//! What a compose value says, for the import: a variable alone
//! (`${DB_PASSWORD}`), its pieces as written (text and variables), and
//! whether it names another service (`db:5432`, `DB_HOST: db`).

/// `$NAME`, `${NAME}`, `${NAME:-default}`, `${NAME-default}`,
/// `${NAME:?message}` alone, with nothing around it: the variable, and the
/// default (which uses no variable) when there is one.
pub fn single_variable(raw: &str) -> Option<(String, Option<String>)> {
    use crate::variables::interpolate::variable_name_len;
    let inner = match raw.strip_prefix("${") {
        Some(rest) => rest.strip_suffix('}')?,
        None => {
            let name = raw.strip_prefix('$')?;
            return (variable_name_len(name) == name.len() && !name.is_empty())
                .then(|| (name.to_string(), None));
        }
    };
    let len = variable_name_len(inner);
    let (name, operator) = inner.split_at(len);
    if name.is_empty() || operator.contains('$') {
        return None;
    }
    let default = match operator {
        "" => None,
        _ if operator.starts_with(":-") => Some(operator[2..].to_string()),
        _ if operator.starts_with('-') => Some(operator[1..].to_string()),
        _ if operator.starts_with(":?") || operator.starts_with('?') => None,
        _ => return None,
    };
    Some((name.to_string(), default))
}

/// A compose value as written, cut into its literal text (`$$` read as
/// `$`) and its variables (`${NAME...}` and `$NAME`, as berth writes
/// them: `${NAME...}`), in order.
pub fn pieces_of_raw(raw: &str) -> Vec<RawPiece> {
    use crate::variables::interpolate::{closing_brace, variable_name_len};
    let mut pieces = Vec::new();
    let mut literal = String::new();
    let mut rest = raw;
    while let Some(at) = rest.find('$') {
        literal.push_str(&rest[..at]);
        let after = &rest[at + 1..];
        if let Some(more) = after.strip_prefix('$') {
            literal.push('$');
            rest = more;
        } else if let Some(end) = after.strip_prefix('{').and_then(closing_brace) {
            pieces.push(RawPiece::Text(std::mem::take(&mut literal)));
            pieces.push(RawPiece::Variable(format!("${{{}}}", &after[1..end + 1])));
            rest = &after[end + 2..];
        } else if variable_name_len(after) > 0 {
            let len = variable_name_len(after);
            pieces.push(RawPiece::Text(std::mem::take(&mut literal)));
            pieces.push(RawPiece::Variable(format!("${{{}}}", &after[..len])));
            rest = &after[len..];
        } else {
            // A lone `$` is kept, as Compose keeps it.
            literal.push('$');
            rest = after;
        }
    }
    literal.push_str(rest);
    pieces.push(RawPiece::Text(literal));
    pieces.retain(|p| !matches!(p, RawPiece::Text(t) if t.is_empty()));
    pieces
}

/// A piece of a value as written.
pub enum RawPiece {
    Text(String),
    Variable(String),
}

/// Whether an environment variable's name says its value is a host
/// (`DB_HOST`, `REDIS_ADDR`, `KAFKA_BROKER`, Temporal's `POSTGRES_SEEDS`).
pub fn names_a_host(var: &str) -> bool {
    let upper = var.to_ascii_uppercase();
    ["HOST", "ADDR", "SERVER", "ENDPOINT", "BROKER", "SEEDS"]
        .iter()
        .any(|w| upper.contains(w))
}

/// Whether `value` names the service `name`: as a whole value under a
/// name that says host, or as `name:port` (its port inside).
pub fn names_service(value: &str, name: &str, port: u16, host_key: bool) -> bool {
    (host_key && value == name) || replace_host_port(value, name, port, name) != value
}

/// `name:port` (as a whole word) → `${berth.host}:${berth.port}`.
pub fn replace_host_port(text: &str, name: &str, port: u16, berth: &str) -> String {
    let needle = format!("{name}:{port}");
    let mut out = String::new();
    let mut rest = text;
    while let Some(at) = rest.find(&needle) {
        let before_ok = rest[..at]
            .chars()
            .next_back()
            .is_none_or(|c| !(c.is_ascii_alphanumeric() || c == '-' || c == '_' || c == '.'));
        let after = &rest[at + needle.len()..];
        let after_ok = after.chars().next().is_none_or(|c| !c.is_ascii_digit());
        out.push_str(&rest[..at]);
        if before_ok && after_ok {
            out.push_str(&format!("${{{berth}.host}}:${{{berth}.port}}"));
        } else {
            out.push_str(&needle);
        }
        rest = after;
    }
    out.push_str(rest);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn references_become_berth_templates() {
        assert_eq!(
            replace_host_port("postgres://u:p@db:5432/app", "db", 5432, "db"),
            "postgres://u:p@${db.host}:${db.port}/app"
        );
        assert_eq!(
            replace_host_port("mydb:5432 db:54321", "db", 5432, "db"),
            "mydb:5432 db:54321"
        );
    }
}
