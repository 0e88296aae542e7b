//! What an image is, for the import: its repository, the kind of berth's
//! it stands for (by the image, never by the service's name), the server
//! version its tag names, and where that kind listens and keeps its data
//! inside its container.

/// The kinds an image stands for: the repository (registry and tag
/// removed) names it.
pub fn kind_of_image(image: &str) -> Option<&'static str> {
    let repo = repository(image);
    match repo.as_str() {
        "postgres"
        | "pgvector/pgvector"
        | "postgis/postgis"
        | "timescale/timescaledb"
        | "timescale/timescaledb-ha" => Some("postgres"),
        // Valkey serves Redis's protocol and commands, and reads its flags.
        "redis" | "valkey/valkey" => Some("redis"),
        "minio/minio" => Some("s3"),
        _ => None,
    }
}

/// `postgres` for `docker.io/library/postgres:16-alpine`.
pub fn repository(image: &str) -> String {
    let without_digest = image.split('@').next().unwrap_or(image);
    let mut parts: Vec<&str> = without_digest.split('/').collect();
    if parts.len() > 1
        && (parts[0].contains('.') || parts[0].contains(':') || parts[0] == "localhost")
    {
        parts.remove(0);
    }
    if parts.first() == Some(&"library") {
        parts.remove(0);
    }
    let joined = parts.join("/");
    match joined.rsplit_once(':') {
        Some((repo, _)) => repo.to_string(),
        None => joined,
    }
}

/// The server version an image's tag names (`16` of `16-alpine`, of
/// `pg16`, of `0.5.0-pg15`); none for `latest` or no tag.
pub fn version_of_tag(image: &str) -> Option<String> {
    let without_digest = image.split('@').next().unwrap_or(image);
    let last = without_digest.rsplit('/').next().unwrap_or(without_digest);
    let (_, tag) = last.split_once(':')?;
    if let Some(at) = tag.find("pg") {
        let digits: String = tag[at + 2..]
            .chars()
            .take_while(char::is_ascii_digit)
            .collect();
        if !digits.is_empty() {
            return Some(digits);
        }
    }
    let version: String = tag
        .chars()
        .take_while(|c| c.is_ascii_digit() || *c == '.')
        .collect();
    let version = version.trim_end_matches('.');
    (!version.is_empty()).then(|| version.to_string())
}

/// The port a kind's server listens on inside its container.
pub fn kind_port(kind: &str) -> u16 {
    match kind {
        "postgres" => 5432,
        "redis" => 6379,
        "s3" => 9000,
        _ => 0,
    }
}

/// Where a kind keeps its data inside its container.
pub fn kind_data(kind: &str) -> &'static str {
    match kind {
        "postgres" => "/var/lib/postgresql/data",
        "redis" => "/data",
        "s3" => "/data",
        _ => "",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn images_name_kinds_and_versions() {
        assert_eq!(kind_of_image("postgres:16-alpine"), Some("postgres"));
        assert_eq!(
            kind_of_image("docker.io/library/postgres"),
            Some("postgres")
        );
        assert_eq!(kind_of_image("pgvector/pgvector:pg16"), Some("postgres"));
        assert_eq!(kind_of_image("quay.io/minio/minio:latest"), Some("s3"));
        assert_eq!(kind_of_image("redis:7.0-alpine"), Some("redis"));
        assert_eq!(kind_of_image("valkey/valkey:8-alpine"), Some("redis"));
        assert_eq!(
            kind_of_image("bitnami/postgresql:16"),
            None,
            "another contract"
        );
        assert_eq!(kind_of_image("localhost:5000/app:1"), None);
        assert_eq!(version_of_tag("postgres:16-alpine").as_deref(), Some("16"));
        assert_eq!(version_of_tag("postgres:15.4").as_deref(), Some("15.4"));
        assert_eq!(
            version_of_tag("pgvector/pgvector:0.5.0-pg15").as_deref(),
            Some("15")
        );
        assert_eq!(version_of_tag("redis:7.0-alpine").as_deref(), Some("7.0"));
        assert_eq!(version_of_tag("postgres:latest"), None);
        assert_eq!(version_of_tag("localhost:5000/postgres"), None);
    }
}
