//! Connection values: what a service exports for apps and other services
//! (`host`, `port`, `url`, ...), usable as `${service.key}`.

/// One connection value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConnectionValue {
    pub key: &'static str,
    pub value: String,
    /// The same value with secrets replaced by `****`, for display.
    pub masked: String,
    /// Whether the value holds a secret (blanked in `.env.example`).
    pub secret: bool,
}

/// What stands in for a secret on screen.
pub const MASK: &str = "****";

impl ConnectionValue {
    /// A value that is no secret.
    pub fn plain(key: &'static str, value: impl Into<String>) -> ConnectionValue {
        let value = value.into();
        ConnectionValue {
            key,
            masked: value.clone(),
            value,
            secret: false,
        }
    }

    /// A secret value, shown as `masked`.
    pub fn secret(key: &'static str, value: String, masked: String) -> ConnectionValue {
        ConnectionValue {
            key,
            value,
            masked,
            secret: true,
        }
    }
}
