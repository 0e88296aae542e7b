//! Conditional GET and HEAD (`If-Match`, `If-None-Match`,
//! `If-Modified-Since`, `If-Unmodified-Since`), which the storage under
//! the store ignores: an app's cache revalidation got the whole object,
//! and an `If-Match` guard read a changed one. Evaluated in the order
//! HTTP gives them (RFC 9110, section 13.2.2), as S3 does: a matching
//! `If-Match` makes `If-Unmodified-Since` moot, and an `If-None-Match`
//! makes `If-Modified-Since` moot.

use s3s::dto::{ETag, ETagCondition, Timestamp, TimestampFormat};
use s3s::{s3_error, S3Result};

/// The conditions of one request.
#[derive(Clone, Default)]
pub struct Conditions {
    pub if_match: Option<ETagCondition>,
    pub if_none_match: Option<ETagCondition>,
    pub if_modified_since: Option<Timestamp>,
    pub if_unmodified_since: Option<Timestamp>,
}

/// Whether `condition` holds for an object with `e_tag` (`*` matches any
/// object).
fn matches(condition: &ETagCondition, e_tag: Option<&ETag>) -> bool {
    match (condition, e_tag) {
        (ETagCondition::Any, _) => true,
        (ETagCondition::ETag(wanted), Some(have)) => wanted.value() == have.value(),
        (ETagCondition::ETag(_), None) => false,
    }
}

/// Seconds since the epoch: HTTP dates have no finer part.
fn seconds(t: &Timestamp) -> i64 {
    let mut text = Vec::new();
    if t.format(TimestampFormat::EpochSeconds, &mut text).is_err() {
        return 0;
    }
    String::from_utf8_lossy(&text)
        .split('.')
        .next()
        .and_then(|s| s.parse().ok())
        .unwrap_or(0)
}

impl Conditions {
    /// `Ok` to answer with the object; PreconditionFailed (412) or
    /// NotModified (304) otherwise.
    pub fn check(&self, e_tag: Option<&ETag>, last_modified: Option<&Timestamp>) -> S3Result<()> {
        match &self.if_match {
            Some(c) if !matches(c, e_tag) => {
                return Err(s3_error!(
                    PreconditionFailed,
                    "At least one of the pre-conditions you specified did not hold"
                ))
            }
            Some(_) => {}
            None => {
                if let (Some(since), Some(modified)) = (&self.if_unmodified_since, last_modified) {
                    if seconds(modified) > seconds(since) {
                        return Err(s3_error!(
                            PreconditionFailed,
                            "At least one of the pre-conditions you specified did not hold"
                        ));
                    }
                }
            }
        }
        match &self.if_none_match {
            Some(c) if matches(c, e_tag) => return Err(s3_error!(NotModified)),
            Some(_) => {}
            None => {
                if let (Some(since), Some(modified)) = (&self.if_modified_since, last_modified) {
                    if seconds(modified) <= seconds(since) {
                        return Err(s3_error!(NotModified));
                    }
                }
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(secs: u64) -> Timestamp {
        Timestamp::from(std::time::UNIX_EPOCH + std::time::Duration::from_millis(secs * 1000 + 250))
    }

    fn code(r: S3Result<()>) -> String {
        match r {
            Ok(()) => "ok".into(),
            Err(e) => e.code().as_str().to_string(),
        }
    }

    #[test]
    fn conditions_in_https_order() {
        let tag = ETag::Strong("abc".into());
        let other = ETagCondition::ETag(ETag::Strong("xyz".into()));
        let same = ETagCondition::ETag(ETag::Strong("abc".into()));
        let modified = at(1_000);
        let check = |c: Conditions| code(c.check(Some(&tag), Some(&modified)));
        let none = Conditions::default;
        assert_eq!(check(none()), "ok");
        assert_eq!(
            check(Conditions {
                if_match: Some(other.clone()),
                ..none()
            }),
            "PreconditionFailed"
        );
        assert_eq!(
            check(Conditions {
                if_match: Some(same.clone()),
                ..none()
            }),
            "ok"
        );
        assert_eq!(
            check(Conditions {
                if_match: Some(same.clone()),
                if_unmodified_since: Some(at(10)),
                ..none()
            }),
            "ok",
            "a matching If-Match makes If-Unmodified-Since moot"
        );
        assert_eq!(
            check(Conditions {
                if_unmodified_since: Some(at(10)),
                ..none()
            }),
            "PreconditionFailed"
        );
        assert_eq!(
            check(Conditions {
                if_none_match: Some(same.clone()),
                ..none()
            }),
            "NotModified"
        );
        assert_eq!(
            check(Conditions {
                if_none_match: Some(ETagCondition::Any),
                ..none()
            }),
            "NotModified"
        );
        assert_eq!(
            check(Conditions {
                if_none_match: Some(other.clone()),
                if_modified_since: Some(at(5_000)),
                ..none()
            }),
            "ok",
            "If-None-Match makes If-Modified-Since moot"
        );
        assert_eq!(
            check(Conditions {
                if_modified_since: Some(at(5_000)),
                ..none()
            }),
            "NotModified"
        );
        assert_eq!(
            check(Conditions {
                if_modified_since: Some(at(1_000)),
                ..none()
            }),
            "NotModified",
            "not after: second precision"
        );
        assert_eq!(
            check(Conditions {
                if_modified_since: Some(at(999)),
                ..none()
            }),
            "ok"
        );
    }
}
