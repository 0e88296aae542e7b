//! S3: the few requests berth makes to an object store — list buckets (the
//! readiness probe), create buckets, set their policy and CORS rules, put,
//! list and delete objects (seeds, test buckets).
//!
//! Requests are signed with AWS Signature Version 4 by `rusty-s3` (as
//! presigned URLs, so one signing path serves every method) and sent with
//! `ureq`; the few XML answers berth reads (bucket names, object keys,
//! error codes) are read by tag, without an XML library.

use std::time::Duration;

use rusty_s3::Method;

use super::endpoint::{url_escape, Endpoint};

/// How long a signed request stays valid.
const VALID_FOR: u64 = 300;

/// An object store, with credentials.
pub struct S3 {
    base: url::Url,
    region: String,
    access_key: String,
    secret_key: String,
    agent: ureq::Agent,
}

/// A request the server refused or could not answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct S3Error {
    /// The HTTP status, when the server answered.
    pub status: Option<u16>,
    /// S3's error code (`NoSuchBucket`, `NotImplemented`, ...).
    pub code: Option<String>,
    pub message: String,
}

impl std::fmt::Display for S3Error {
    fn fmt(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        match (&self.code, self.status) {
            (Some(code), Some(status)) => write!(f, "{code} (HTTP {status}): {}", self.message),
            (None, Some(status)) => write!(f, "HTTP {status}: {}", self.message),
            _ => f.write_str(&self.message),
        }
    }
}

impl std::error::Error for S3Error {}

impl S3Error {
    pub fn is(&self, code: &str) -> bool {
        self.code.as_deref() == Some(code)
    }

    fn io(message: impl Into<String>) -> S3Error {
        S3Error {
            status: None,
            code: None,
            message: message.into(),
        }
    }
}

/// Whether `name` follows S3's bucket naming rules: 3 to 63 lower-case
/// letters, digits, dots and hyphens, starting and ending with a letter or
/// digit, no `..`, not an IP address. `Err` says what is wrong.
pub fn check_bucket_name(name: &str) -> Result<(), String> {
    let problem = if !(3..=63).contains(&name.len()) {
        Some("it must be 3 to 63 characters long")
    } else if !name
        .chars()
        .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '.' || c == '-')
    {
        Some("it may hold only lower-case letters, digits, `.` and `-`")
    } else if !name.starts_with(|c: char| c.is_ascii_alphanumeric())
        || !name.ends_with(|c: char| c.is_ascii_alphanumeric())
    {
        Some("it must start and end with a letter or digit")
    } else if name.contains("..") {
        Some("it must not hold `..`")
    } else if name.parse::<std::net::Ipv4Addr>().is_ok() {
        Some("it must not look like an IP address")
    } else {
        None
    };
    match problem {
        Some(p) => Err(format!("`{name}` is not a valid bucket name: {p}")),
        None => Ok(()),
    }
}

impl S3 {
    pub fn new(
        at: &Endpoint,
        region: &str,
        access_key: &str,
        secret_key: &str,
    ) -> Result<S3, String> {
        let base = url::Url::parse(&format!("http://{at}/")).map_err(|e| e.to_string())?;
        let agent = ureq::Agent::config_builder()
            .timeout_global(Some(Duration::from_secs(10)))
            .http_status_as_error(false)
            .build()
            .into();
        Ok(S3 {
            base,
            region: region.to_string(),
            access_key: access_key.to_string(),
            secret_key: secret_key.to_string(),
            agent,
        })
    }

    /// A signed URL for `method` on `path` (`""`, `bucket`, `bucket/key`)
    /// with `query`.
    fn signed(
        &self,
        method: Method,
        path: &str,
        query: &[(&str, &str)],
    ) -> Result<String, S3Error> {
        let url = self
            .base
            .join(&encode_path(path))
            .map_err(|e| S3Error::io(format!("bad path `{path}`: {e}")))?;
        let signed = rusty_s3::signing::sign(
            &jiff::Timestamp::now(),
            method,
            url,
            &self.access_key,
            &self.secret_key,
            None,
            &self.region,
            VALID_FOR,
            query.iter().copied(),
            std::iter::empty(),
        );
        Ok(signed.to_string())
    }

    /// Send a request; the answer's body on a 2xx status, else the error.
    fn send(
        &self,
        method: Method,
        path: &str,
        query: &[(&str, &str)],
        body: Option<(&[u8], &str)>,
    ) -> Result<String, S3Error> {
        let url = self.signed(method, path, query)?;
        let sent = match (method, body) {
            (Method::Get, _) => self.agent.get(&url).call(),
            (Method::Delete, _) => self.agent.delete(&url).call(),
            (Method::Head, _) => self.agent.head(&url).call(),
            (Method::Put, Some((bytes, content_type))) => {
                let md5 = base64_md5(bytes);
                self.agent
                    .put(&url)
                    .header("content-type", content_type)
                    .header("content-md5", &md5)
                    .send(bytes)
            }
            (Method::Put, None) => self.agent.put(&url).send_empty(),
            (Method::Post, _) => self.agent.post(&url).send_empty(),
        };
        let mut response = sent.map_err(|e| S3Error::io(e.to_string()))?;
        let status = response.status().as_u16();
        let text = response
            .body_mut()
            .with_config()
            .limit(64 * 1024 * 1024)
            .read_to_string()
            .unwrap_or_default();
        if (200..300).contains(&status) {
            return Ok(text);
        }
        Err(S3Error {
            status: Some(status),
            code: tag(&text, "Code").map(str::to_string),
            message: tag(&text, "Message").map(unescape).unwrap_or_else(|| {
                response
                    .status()
                    .canonical_reason()
                    .unwrap_or("")
                    .to_string()
            }),
        })
    }

    /// The names of the buckets: a signed request, so it also proves the
    /// credentials.
    pub fn list_buckets(&self) -> Result<Vec<String>, S3Error> {
        let text = self.send(Method::Get, "", &[], None)?;
        Ok(tags(&text, "Name").into_iter().map(unescape).collect())
    }

    /// Create a bucket; `Ok(false)` when it existed already.
    pub fn create_bucket(&self, bucket: &str) -> Result<bool, S3Error> {
        match self.send(Method::Put, bucket, &[], None) {
            Ok(_) => Ok(true),
            // Our own server: a bucket of that name is ours.
            Err(e) if e.is("BucketAlreadyOwnedByYou") || e.is("BucketAlreadyExists") => Ok(false),
            Err(e) => Err(e),
        }
    }

    pub fn put_bucket_policy(&self, bucket: &str, policy: &str) -> Result<(), S3Error> {
        self.send(
            Method::Put,
            bucket,
            &[("policy", "")],
            Some((policy.as_bytes(), "application/json")),
        )
        .map(drop)
    }

    pub fn put_bucket_cors(&self, bucket: &str, xml: &str) -> Result<(), S3Error> {
        self.send(
            Method::Put,
            bucket,
            &[("cors", "")],
            Some((xml.as_bytes(), "application/xml")),
        )
        .map(drop)
    }

    pub fn put_object(&self, bucket: &str, key: &str, bytes: &[u8]) -> Result<(), S3Error> {
        self.send(
            Method::Put,
            &format!("{bucket}/{key}"),
            &[],
            Some((bytes, "application/octet-stream")),
        )
        .map(drop)
    }

    /// Every key in the bucket (all pages).
    pub fn list_objects(&self, bucket: &str) -> Result<Vec<String>, S3Error> {
        let mut keys = Vec::new();
        let mut token: Option<String> = None;
        loop {
            let mut query = vec![("list-type", "2")];
            if let Some(t) = &token {
                query.push(("continuation-token", t));
            }
            let text = self.send(Method::Get, bucket, &query, None)?;
            keys.extend(tags(&text, "Key").into_iter().map(unescape));
            let more = tag(&text, "IsTruncated") == Some("true");
            match tag(&text, "NextContinuationToken") {
                Some(next) if more => token = Some(unescape(next)),
                _ => return Ok(keys),
            }
        }
    }

    pub fn delete_object(&self, bucket: &str, key: &str) -> Result<(), S3Error> {
        self.send(Method::Delete, &format!("{bucket}/{key}"), &[], None)
            .map(drop)
    }

    /// Delete a bucket and everything in it.
    pub fn delete_bucket(&self, bucket: &str) -> Result<(), S3Error> {
        for key in self.list_objects(bucket)? {
            self.delete_object(bucket, &key)?;
        }
        match self.send(Method::Delete, bucket, &[], None) {
            Err(e) if e.is("NoSuchBucket") => Ok(()),
            done => done.map(drop),
        }
    }
}

/// Percent-encode a path, keeping `/` between its segments.
fn encode_path(path: &str) -> String {
    path.split('/')
        .map(url_escape)
        .collect::<Vec<_>>()
        .join("/")
}

fn base64_md5(bytes: &[u8]) -> String {
    use base64::Engine;
    use md5::Digest;
    base64::engine::general_purpose::STANDARD.encode(md5::Md5::digest(bytes))
}

/// The text of the first `<name>...</name>`.
fn tag<'a>(xml: &'a str, name: &str) -> Option<&'a str> {
    tags(xml, name).into_iter().next()
}

/// The text of every `<name>...</name>`, in order.
fn tags<'a>(xml: &'a str, name: &str) -> Vec<&'a str> {
    let (open, close) = (format!("<{name}>"), format!("</{name}>"));
    let mut out = Vec::new();
    let mut rest = xml;
    while let Some(start) = rest.find(&open) {
        let after = &rest[start + open.len()..];
        let Some(end) = after.find(&close) else {
            break;
        };
        out.push(&after[..end]);
        rest = &after[end + close.len()..];
    }
    out
}

/// Text as XML element content (a CORS origin).
pub fn xml_escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// XML's five predefined entities, as in keys and messages.
fn unescape(text: &str) -> String {
    text.replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&quot;", "\"")
        .replace("&apos;", "'")
        .replace("&amp;", "&")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bucket_names_follow_the_rules() {
        for good in ["uploads", "my-app.assets", "a1b"] {
            assert!(check_bucket_name(good).is_ok(), "{good}");
        }
        for bad in [
            "ab",
            "Uploads",
            "my_app",
            "-a-",
            "a..b",
            "10.0.0.1",
            &"x".repeat(64),
        ] {
            assert!(check_bucket_name(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn reads_tags_and_paths() {
        let xml = "<R><Contents><Key>a&amp;b</Key></Contents><Contents><Key>c</Key></Contents><IsTruncated>false</IsTruncated></R>";
        assert_eq!(tags(xml, "Key"), ["a&amp;b", "c"]);
        assert_eq!(unescape("a&amp;b"), "a&b");
        assert_eq!(tag(xml, "Missing"), None);
        assert_eq!(encode_path("b/dir/a file.txt"), "b/dir/a%20file.txt");
    }
}
