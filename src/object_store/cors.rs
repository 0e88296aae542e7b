//! A bucket's CORS rules, applied as S3 applies them: a browser's
//! preflight (`OPTIONS` with `Origin` and `Access-Control-Request-Method`)
//! is answered from the first rule that allows its origin, method and
//! headers, and refused with 403 otherwise; the responses to requests a
//! rule allows (GET, PUT, HEAD, ...) carry `Access-Control-Allow-Origin`.

use hyper::header::{HeaderMap, HeaderName, HeaderValue};
use s3s::dto::{CORSConfiguration, CORSRule};

/// The rule of `config` that allows `origin` to send `method` with
/// `headers` (lower-case names), if one does.
pub fn rule_for<'c>(
    config: &'c CORSConfiguration,
    origin: &str,
    method: &str,
    headers: &[String],
) -> Option<&'c CORSRule> {
    config.cors_rules.iter().find(|rule| {
        rule.allowed_origins.iter().any(|o| wildcard(o, origin))
            && rule
                .allowed_methods
                .iter()
                .any(|m| m.eq_ignore_ascii_case(method))
            && headers.iter().all(|h| {
                rule.allowed_headers
                    .iter()
                    .flatten()
                    .any(|a| wildcard(&a.to_ascii_lowercase(), h))
            })
    })
}

/// The headers that tell the browser what `rule` allows `origin`.
pub fn allow(rule: &CORSRule, origin: &str, preflight: Option<&[String]>) -> HeaderMap {
    let mut out = HeaderMap::new();
    let mut set = |name: &'static str, value: String| {
        if let Ok(v) = HeaderValue::from_str(&value) {
            out.insert(HeaderName::from_static(name), v);
        }
    };
    let any = rule.allowed_origins.iter().any(|o| o == "*");
    set(
        "access-control-allow-origin",
        if any { "*".into() } else { origin.to_string() },
    );
    set("vary", "Origin".into());
    if let Some(expose) = rule.expose_headers.as_ref().filter(|e| !e.is_empty()) {
        set("access-control-expose-headers", expose.join(", "));
    }
    if let Some(requested) = preflight {
        set(
            "access-control-allow-methods",
            rule.allowed_methods.join(", "),
        );
        if !requested.is_empty() {
            set("access-control-allow-headers", requested.join(", "));
        }
        if let Some(age) = rule.max_age_seconds {
            set("access-control-max-age", age.to_string());
        }
    }
    out
}

/// The header names a preflight asks for, lower-case.
pub fn requested_headers(headers: &HeaderMap) -> Vec<String> {
    headers
        .get("access-control-request-headers")
        .and_then(|v| v.to_str().ok())
        .map(|v| {
            v.split(',')
                .map(|h| h.trim().to_ascii_lowercase())
                .filter(|h| !h.is_empty())
                .collect()
        })
        .unwrap_or_default()
}

/// Whether `text` matches `pattern` with at most one `*` (S3's CORS
/// wildcard, as in `http://*.example.com`).
fn wildcard(pattern: &str, text: &str) -> bool {
    match pattern.split_once('*') {
        None => pattern == text,
        Some((head, tail)) => {
            text.len() >= head.len() + tail.len() && text.starts_with(head) && text.ends_with(tail)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config() -> CORSConfiguration {
        CORSConfiguration {
            cors_rules: vec![CORSRule {
                allowed_origins: vec![
                    "http://localhost:3000".into(),
                    "https://*.example.com".into(),
                ],
                allowed_methods: vec!["GET".into(), "PUT".into()],
                allowed_headers: Some(vec!["Content-Type".into(), "x-amz-*".into()]),
                expose_headers: Some(vec!["ETag".into()]),
                max_age_seconds: Some(600),
                ..Default::default()
            }],
        }
    }

    #[test]
    fn a_rule_allows_its_origins_methods_and_headers() {
        let c = config();
        let h = |v: &[&str]| v.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        assert!(rule_for(&c, "http://localhost:3000", "PUT", &h(&["content-type"])).is_some());
        assert!(rule_for(&c, "https://app.example.com", "GET", &h(&["x-amz-date"])).is_some());
        assert!(rule_for(&c, "http://evil.test", "GET", &[]).is_none());
        assert!(rule_for(&c, "http://localhost:3000", "DELETE", &[]).is_none());
        assert!(rule_for(&c, "http://localhost:3000", "PUT", &h(&["authorization"])).is_none());
        let rule = rule_for(&c, "http://localhost:3000", "PUT", &[]).unwrap();
        let headers = allow(rule, "http://localhost:3000", Some(&h(&["content-type"])));
        assert_eq!(
            headers["access-control-allow-origin"],
            "http://localhost:3000"
        );
        assert_eq!(headers["access-control-allow-methods"], "GET, PUT");
        assert_eq!(headers["access-control-max-age"], "600");
        assert_eq!(headers["access-control-expose-headers"], "ETag");
    }
}
