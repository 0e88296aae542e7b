//! Every kind berth knows, by name. The one place that lists them.

use super::contract::ServiceKind;
use super::generic::GenericKind;
use super::pgbouncer::PgBouncerKind;
use super::postgres::settings::PostgresKind;
use super::redis::RedisKind;
use super::s3::settings::S3Kind;

static KINDS: &[&dyn ServiceKind] = &[
    &PostgresKind,
    &RedisKind,
    &S3Kind,
    &PgBouncerKind,
    &GenericKind,
];

pub fn lookup(name: &str) -> Option<&'static dyn ServiceKind> {
    KINDS.iter().copied().find(|k| k.name() == name)
}

pub fn all() -> &'static [&'static dyn ServiceKind] {
    KINDS
}

pub fn names() -> impl Iterator<Item = &'static str> + Clone {
    KINDS.iter().map(|k| k.name())
}

/// The kind of a service that names none: a kind's own name
/// (`[services.redis]`), or `generic` for one that names an image or a
/// command.
pub fn implied(service: &str, has_image_or_command: bool) -> Option<&'static dyn ServiceKind> {
    lookup(service).or_else(|| has_image_or_command.then_some(&GenericKind as &dyn ServiceKind))
}
