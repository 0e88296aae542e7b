//! The rules for stack and service names: they become parts of paths,
//! container names and environment variable names.

pub fn check_stack_name(name: &str) -> Result<(), String> {
    if is_valid(name) {
        Ok(())
    } else {
        Err(format!(
            "`{name}` is not a valid stack name: use up to 48 lower-case letters, digits, `-` and `_`, starting with a letter or digit"
        ))
    }
}

pub fn check_service_name(name: &str) -> Result<(), String> {
    if is_valid(name) {
        Ok(())
    } else {
        Err(format!(
            "`{name}` is not a valid service name: use lower-case letters, digits, `-` and `_`"
        ))
    }
}

fn is_valid(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 48
        && name.starts_with(|c: char| c.is_ascii_lowercase() || c.is_ascii_digit())
        && name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == '_')
}

/// A valid stack name made from a directory's name.
pub fn from_directory(dir: &str) -> String {
    let s: String = dir
        .to_ascii_lowercase()
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' || c == '_' {
                c
            } else {
                '-'
            }
        })
        .collect();
    let s: String = s
        .trim_matches(|c| c == '-' || c == '_')
        .chars()
        .take(48)
        .collect();
    if s.is_empty() {
        "stack".into()
    } else {
        s
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_from_directories_are_valid() {
        for dir in ["My Project", "über", "---", "a".repeat(80).as_str(), "x_1"] {
            let name = from_directory(dir);
            assert!(check_stack_name(&name).is_ok(), "{dir} -> {name}");
        }
        assert!(check_stack_name("Bad").is_err());
        assert!(check_service_name("-x").is_err());
    }
}
