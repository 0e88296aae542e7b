//! Buckets a compose file makes by hand, as berth's `buckets`: a one-shot
//! `minio/mc` container running `mc mb ALIAS/NAME` (and `mc anonymous set
//! download ALIAS/NAME` for a public one), the common way, or `mkdir` in
//! MinIO's data directory before `minio server`. berth makes them at `up`.

use super::file::split_words;

/// A bucket, and whether everyone may read it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Bucket {
    pub name: String,
    pub public: bool,
}

/// What a container's command does with buckets.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Made {
    pub buckets: Vec<Bucket>,
    /// Whether making them is all it does (setting an alias, waiting,
    /// echoing and exiting aside): then berth does its whole job.
    pub only_that: bool,
}

/// The shell commands of `words` (`sh -c "a; b && c"` or the words
/// themselves), each split into words.
fn commands(words: &[String]) -> Vec<Vec<String>> {
    let script = match words {
        [shell, flag, rest @ ..] if shell.ends_with("sh") && flag == "-c" => rest.join(" "),
        _ => words.join(" "),
    };
    script
        .split(['\n', ';'])
        .flat_map(|part| part.split("&&"))
        .flat_map(|part| part.split("||"))
        .filter_map(|part| split_words(part.trim()))
        .filter(|w| !w.is_empty())
        .collect()
}

/// `myminio/uploads` → `uploads`.
fn bucket_of(target: &str) -> Option<String> {
    let name = target.trim_end_matches('/').rsplit('/').next()?;
    let valid = (3..=63).contains(&name.len())
        && name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == '.');
    valid.then(|| name.to_string())
}

/// The buckets `words` (a command or an entrypoint) make; `data` is
/// MinIO's data directory, where a `mkdir` makes one.
pub fn made_by(words: &[String], data: &str) -> Made {
    let mut made = Made {
        buckets: Vec::new(),
        only_that: true,
    };
    let add = |name: String, public: bool, made: &mut Made| match made
        .buckets
        .iter_mut()
        .find(|b| b.name == name)
    {
        Some(b) => b.public |= public,
        None => made.buckets.push(Bucket { name, public }),
    };
    for cmd in commands(words) {
        let program = cmd[0].rsplit('/').next().unwrap_or(&cmd[0]).to_string();
        let args: Vec<&str> = cmd[1..]
            .iter()
            .map(String::as_str)
            .filter(|a| !a.starts_with('-'))
            .collect();
        match (program.as_str(), args.as_slice()) {
            ("mc", ["mb", .., target]) => {
                if let Some(name) = bucket_of(target) {
                    add(name, false, &mut made);
                }
            }
            ("mc", ["anonymous" | "policy", "set", "download" | "public", target]) => {
                if let Some(name) = bucket_of(target) {
                    add(name, true, &mut made);
                }
            }
            ("mc", ["alias" | "config", ..]) | ("exit" | "echo" | "sleep" | "true", _) => {}
            ("mkdir", dirs) => {
                for dir in dirs {
                    match dir.strip_prefix(data).map(|d| d.trim_matches('/')) {
                        Some(name) if !name.contains('/') && !name.is_empty() => {
                            if let Some(name) = bucket_of(name) {
                                add(name, false, &mut made);
                            }
                        }
                        _ => made.only_that = false,
                    }
                }
            }
            _ => made.only_that = false,
        }
    }
    made
}

#[cfg(test)]
mod tests {
    use super::*;

    fn words(text: &str) -> Vec<String> {
        split_words(text).unwrap()
    }

    #[test]
    fn mc_and_mkdir_make_buckets() {
        let made = made_by(
            &words(
                r#"/bin/sh -c "/usr/bin/mc alias set myminio http://minio:9000 minioadmin minioadmin; /usr/bin/mc mb --ignore-existing myminio/uploads; /usr/bin/mc mb -p myminio/media && /usr/bin/mc anonymous set download myminio/media; exit 0;""#,
            ),
            "/data",
        );
        assert_eq!(
            made,
            Made {
                buckets: vec![
                    Bucket {
                        name: "uploads".into(),
                        public: false
                    },
                    Bucket {
                        name: "media".into(),
                        public: true
                    },
                ],
                only_that: true,
            }
        );
        let server = made_by(
            &words(r#"sh -c "mkdir -p /data/avatars && minio server /data""#),
            "/data",
        );
        assert_eq!(
            server.buckets,
            [Bucket {
                name: "avatars".into(),
                public: false
            }]
        );
        assert!(!server.only_that, "it runs the server too");
        let other = made_by(&words("mc mirror /src myminio/backup"), "/data");
        assert!(other.buckets.is_empty() && !other.only_that);
    }
}
