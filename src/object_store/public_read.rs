//! Who may do what without signing: a request with valid keys may do
//! anything (the store has one user); an anonymous GetObject or HeadObject
//! is let through when the bucket's policy allows `s3:GetObject` on that
//! object to everyone (`"Principal": "*"`) and no Deny statement for
//! everyone matches it, which is the public-read policy berth gives
//! `public = true` buckets and the one apps set themselves. Everything
//! else anonymous is AccessDenied.

use s3s::access::{S3Access, S3AccessContext};
use s3s::path::S3Path;
use s3s::{s3_error, S3Result};
use serde_json::Value;

use super::bucket_config::BucketConfig;

pub struct PublicRead {
    pub config: BucketConfig,
}

#[async_trait::async_trait]
impl S3Access for PublicRead {
    async fn check(&self, cx: &mut S3AccessContext<'_>) -> S3Result<()> {
        if cx.credentials().is_some() {
            return Ok(());
        }
        let reads = matches!(cx.s3_op().name(), "GetObject" | "HeadObject");
        if let (true, S3Path::Object { bucket, key }) = (reads, cx.s3_path()) {
            let allowed = self
                .config
                .policy(bucket)
                .and_then(|text| serde_json::from_str::<Value>(&text).ok())
                .is_some_and(|policy| lets_everyone_get(&policy, bucket, key));
            if allowed {
                return Ok(());
            }
        }
        Err(s3_error!(AccessDenied, "Access Denied"))
    }
}

/// Whether `policy` lets everyone `s3:GetObject` the object `key` of
/// `bucket`: an Allow statement for everyone matches, and no Deny does.
pub fn lets_everyone_get(policy: &Value, bucket: &str, key: &str) -> bool {
    let resource = format!("arn:aws:s3:::{bucket}/{key}");
    let statements: Vec<&Value> = match &policy["Statement"] {
        Value::Array(items) => items.iter().collect(),
        one @ Value::Object(_) => vec![one],
        _ => Vec::new(),
    };
    let matching = |effect: &str| {
        statements.iter().any(|s| {
            s["Effect"] == effect
                && for_everyone(&s["Principal"])
                && strings(&s["Action"])
                    .iter()
                    .any(|a| glob(&a.to_ascii_lowercase(), "s3:getobject"))
                && strings(&s["Resource"]).iter().any(|r| glob(r, &resource))
        })
    };
    matching("Allow") && !matching("Deny")
}

fn for_everyone(principal: &Value) -> bool {
    match principal {
        Value::String(s) => s == "*",
        Value::Object(map) => map.get("AWS").is_some_and(|v| strings(v).contains(&"*")),
        _ => false,
    }
}

/// A string or a list of strings.
fn strings(v: &Value) -> Vec<&str> {
    match v {
        Value::String(s) => vec![s.as_str()],
        Value::Array(items) => items.iter().filter_map(Value::as_str).collect(),
        _ => Vec::new(),
    }
}

/// Whether `text` matches `pattern`, where `*` is any run of characters
/// and `?` one character (IAM's wildcards).
fn glob(pattern: &str, text: &str) -> bool {
    let (p, t): (Vec<char>, Vec<char>) = (pattern.chars().collect(), text.chars().collect());
    let (mut pi, mut ti) = (0, 0);
    let mut back: Option<(usize, usize)> = None;
    while ti < t.len() {
        if pi < p.len() && (p[pi] == '?' || p[pi] == t[ti]) {
            pi += 1;
            ti += 1;
        } else if pi < p.len() && p[pi] == '*' {
            back = Some((pi, ti));
            pi += 1;
        } else if let Some((bp, bt)) = back {
            pi = bp + 1;
            ti = bt + 1;
            back = Some((bp, bt + 1));
        } else {
            return false;
        }
    }
    p[pi..].iter().all(|c| *c == '*')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn public_read_lets_everyone_get_and_a_deny_wins() {
        let policy: Value = serde_json::from_str(
            r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":["*"]},"Action":["s3:GetObject"],"Resource":["arn:aws:s3:::media/*"]}]}"#,
        )
        .unwrap();
        assert!(lets_everyone_get(&policy, "media", "a/b.png"));
        assert!(!lets_everyone_get(&policy, "other", "a/b.png"));
        let denied: Value = serde_json::from_str(
            r#"{"Statement":[{"Effect":"Allow","Principal":"*","Action":"s3:*","Resource":"arn:aws:s3:::media/*"},
                {"Effect":"Deny","Principal":"*","Action":"s3:GetObject","Resource":"arn:aws:s3:::media/private/*"}]}"#,
        )
        .unwrap();
        assert!(lets_everyone_get(&denied, "media", "public.png"));
        assert!(!lets_everyone_get(&denied, "media", "private/x"));
        let someone: Value = serde_json::from_str(
            r#"{"Statement":[{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::1:root"},"Action":"s3:GetObject","Resource":"arn:aws:s3:::media/*"}]}"#,
        )
        .unwrap();
        assert!(!lets_everyone_get(&someone, "media", "x"));
    }

    #[test]
    fn globs() {
        assert!(glob("a*c", "abbbc"));
        assert!(glob("*", ""));
        assert!(glob("a?c", "abc"));
        assert!(!glob("a*d", "abc"));
        assert!(glob("arn:aws:s3:::m/*", "arn:aws:s3:::m/x/y"));
    }
}
