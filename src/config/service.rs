//! One service's table, layered, read into its types: the keys every
//! service has ([`SharedKeys`]), then the kind's own keys, read by the kind
//! ([`crate::kind::contract::ServiceKind::parse`]).

use std::collections::HashMap;
use std::path::Path;

use serde::Deserialize;
use toml::de::{DeTable, DeValue};
use toml::Spanned;

use super::document::{self, Section, Value};
use super::layers::EnvValue;
use super::model::{PortSetting, ServiceConfig, DEFAULT_READY_TIMEOUT};
use super::names::check_service_name;
use super::origin::Origins;
use crate::error::{Error, Result};
use crate::kind::contract::{Links, ParseScope, ServiceKind, SettingsError, SharedSettings};
use crate::kind::reading;
use crate::kind::registry;
use crate::plan::runtime_kind::RuntimeKind;
use crate::source::Span;
use crate::suggest::{did_you_mean, list};

/// The keys every service has, whatever its kind.
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct SharedKeys {
    // Read from the raw table before the split (it decides which keys are
    // the kind's); declared here so it is a key like any other.
    #[allow(dead_code)]
    /// `postgres`, `redis` or `generic`; default: the service's name when
    /// it names a kind, else `generic` for a service with `image` or
    /// `command`.
    #[cfg_attr(feature = "schema", schemars(with = "Option<String>"))]
    kind: Option<Spanned<String>>,
    /// `native` or `container`; default: the stack's `runtime`.
    #[cfg_attr(feature = "schema", schemars(with = "Option<String>"))]
    runtime: Option<Spanned<String>>,
    /// The container image; default: the kind's.
    #[cfg_attr(feature = "schema", schemars(with = "Option<String>"))]
    image: Option<Spanned<String>>,
    /// On 127.0.0.1; `"auto"` (the default) is chosen free once and kept.
    #[cfg_attr(feature = "schema", schemars(with = "Option<PortSetting>"))]
    port: Option<Spanned<PortSetting>>,
    /// Whether data outlives `down`; default: the kind's.
    #[cfg_attr(feature = "schema", schemars(with = "Option<bool>"))]
    persist: Option<Spanned<bool>>,
    /// How long `up` waits for the service to answer (`"60s"`).
    #[cfg_attr(feature = "schema", schemars(with = "Option<String>"))]
    ready_timeout: Option<Spanned<String>>,
    /// Services that must be ready first.
    #[cfg_attr(feature = "schema", schemars(with = "Option<Vec<String>>"))]
    depends_on: Option<Vec<Spanned<String>>>,
}

/// The keys every service has.
pub fn shared_keys() -> &'static [&'static str] {
    reading::fields::<SharedKeys>()
}

/// The JSON Schema of the keys every service has (an object).
#[cfg(feature = "schema")]
pub fn shared_keys_schema(generator: &mut schemars::SchemaGenerator) -> schemars::Schema {
    <SharedKeys as schemars::JsonSchema>::json_schema(generator)
}

/// Every key any service can have, for environment lookups and checking
/// the profiles not selected.
pub fn all_keys() -> Vec<&'static str> {
    let mut keys: Vec<&'static str> = shared_keys().to_vec();
    for kind in registry::all() {
        for key in kind.keys() {
            if !keys.contains(key) {
                keys.push(key);
            }
        }
    }
    keys
}

/// What reading a service needs to know about the rest of the stack.
pub struct Scope<'a> {
    pub origins: &'a Origins<'a>,
    pub root: &'a Path,
    /// Every service's name, for `depends_on`.
    pub services: &'a [String],
    pub default_runtime: RuntimeKind,
    /// `--runtime` given: every service runs there, whatever the file says.
    pub forced_runtime: bool,
    /// A `${NAME}` variable's value, and where they were looked for.
    pub variable: &'a dyn Fn(&str) -> Option<String>,
    pub searched: &'a str,
}

/// Why one attempt to read a service failed: an error to report, unless it
/// is about a value from the environment that can still be read otherwise.
struct Failure {
    span: Option<Span>,
    error: Box<Error>,
}

impl From<Error> for Failure {
    fn from(error: Error) -> Failure {
        Failure {
            span: None,
            error: Box::new(error),
        }
    }
}

impl Failure {
    fn at(span: Span, error: Error) -> Failure {
        Failure {
            span: Some(span),
            error: Box::new(error),
        }
    }
}

/// Read one service. `env` holds the values environment variables set in
/// its table; when one is refused as read, its next reading is tried.
pub fn read<'i>(
    scope: &Scope,
    mut section: Section<'i>,
    env: &mut [EnvValue<'i>],
) -> Result<ServiceConfig> {
    let name = section.name.get_ref().clone();
    check_service_name(&name).map_err(|m| scope.origins.error(&section.name.span(), m, None))?;
    loop {
        match read_once(scope, &section) {
            Ok(service) => return Ok(service),
            Err(Failure {
                span: Some(span),
                error,
            }) => {
                let Some(value) = env.iter_mut().find(|v| v.span == span) else {
                    return Err(*error);
                };
                if !value.next() {
                    return Err(*error);
                }
                let key = value.key.clone();
                super::layers::set(&mut section, &key, value.value());
            }
            Err(Failure { error, .. }) => return Err(*error),
        }
    }
}

fn read_once(scope: &Scope, section: &Section<'_>) -> Result<ServiceConfig, Failure> {
    let origins = scope.origins;
    let name = section.name.get_ref();
    let name_span = section.name.span();
    let table = section.table.get_ref();
    let kind = kind_of(origins, section)?;

    // Split the table: the shared keys, the kind's, and what fits neither.
    let shared_names = shared_keys();
    let mut shared = DeTable::new();
    let mut own = DeTable::new();
    let mut value_spans: HashMap<String, Span> = HashMap::new();
    for (key, value) in document::entries(table.clone()) {
        let k = key.get_ref().as_str();
        value_spans.insert(k.to_string(), value.span());
        if shared_names.contains(&k) {
            shared.insert(Spanned::new(key.span(), k.to_string().into()), value);
        } else if kind.keys().contains(&k) {
            own.insert(Spanned::new(key.span(), k.to_string().into()), value);
        } else if registry::all()
            .iter()
            .any(|other| other.keys().contains(&k))
        {
            return Err(Failure::at(
                value.span(),
                origins.error(
                    &value.span(),
                    format!("`{k}` does not apply to a {} service", kind.name()),
                    Some(format!("remove `{k}` from `[services.{name}]`")),
                ),
            ));
        } else {
            let known: Vec<&str> = shared_names.iter().chain(kind.keys()).copied().collect();
            return Err(document::unknown_key(origins, &key, &known).into());
        }
    }

    let keys: SharedKeys = document::read(table_value(&section.table, shared)).map_err(|e| {
        let span = e.span().unwrap_or(name_span.clone());
        let error = origins.type_error(&span, e.message());
        Failure::at(span, error)
    })?;
    let settings = kind
        .parse(
            table_value(&section.table, own),
            &ParseScope {
                service: name,
                root: scope.root,
                variable: scope.variable,
                searched: scope.searched,
            },
        )
        .map_err(|e| settings_failure(origins, &value_spans, &name_span, e))?;

    let runtime = match &keys.runtime {
        _ if scope.forced_runtime => scope.default_runtime,
        Some(r) => runtime(r.get_ref()).map_err(|(message, hint)| {
            Failure::at(r.span(), origins.error(&r.span(), message, hint))
        })?,
        None => scope.default_runtime,
    };
    let ready_timeout = match &keys.ready_timeout {
        Some(t) => crate::time::parse(t.get_ref()).ok_or_else(|| {
            Failure::at(
                t.span(),
                origins.error(
                    &t.span(),
                    format!("`{}` is not a duration", t.get_ref()),
                    Some("write a duration like `\"30s\"`, `\"500ms\"` or `\"2m\"`".into()),
                ),
            )
        })?,
        None => DEFAULT_READY_TIMEOUT,
    };
    let mut depends_on = Vec::new();
    for dep in keys.depends_on.unwrap_or_default() {
        let (other, span) = (dep.get_ref(), dep.span());
        if !scope.services.contains(other) {
            let hint = did_you_mean(other, scope.services.iter().map(String::as_str))
                .unwrap_or_else(|| format!("the services are: {}", list(scope.services)));
            return Err(origins
                .error(
                    &span,
                    format!("service `{name}` depends on unknown service `{other}`"),
                    Some(hint),
                )
                .into());
        }
        if other == name {
            return Err(origins
                .error(
                    &span,
                    format!("service `{name}` depends on itself"),
                    Some("remove it from its own `depends_on`".into()),
                )
                .into());
        }
        depends_on.push((other.clone(), span));
    }
    let port = keys
        .port
        .as_ref()
        .map_or(PortSetting::Auto, |p| *p.get_ref());
    let image = keys.image.as_ref().map(|i| i.get_ref().clone());
    let shared_settings = SharedSettings {
        service: name,
        runtime,
        persist: keys.persist.as_ref().map(|p| *p.get_ref()),
        fixed_port: port.fixed(),
        image: image.as_deref(),
    };
    settings
        .validate(&shared_settings)
        .map_err(|e| settings_failure(origins, &value_spans, &name_span, e))?;
    let persist = shared_settings.persist;
    Ok(ServiceConfig {
        name: name.clone(),
        runtime,
        image: image.clone(),
        port,
        persist: persist.unwrap_or_else(|| settings.persists_by_default()),
        ready_timeout,
        depends_on,
        port_from_env: keys
            .port
            .as_ref()
            .and_then(|p| origins.var_at(&p.span()))
            .map(|(var, _)| var.to_string()),
        port_span: keys.port.as_ref().map(|p| p.span()),
        settings,
        links: Links::new(),
        span: name_span,
        // Typed as they were read, so any value reads back the same.
        keys: document::read(table_value(&section.table, table.clone())).unwrap_or_default(),
    })
}

/// The service's kind: its `kind` key, or the one its name or keys imply.
fn kind_of(origins: &Origins, section: &Section<'_>) -> Result<&'static dyn ServiceKind, Failure> {
    let name = section.name.get_ref();
    let table = section.table.get_ref();
    let known = || list(&registry::names().collect::<Vec<_>>());
    match table.get("kind") {
        Some(value) => {
            let span = value.span();
            let text: String = document::read(value.clone())
                .map_err(|e| Failure::at(span.clone(), origins.type_error(&span, e.message())))?;
            registry::lookup(&text).ok_or_else(|| {
                let hint = did_you_mean(&text, registry::names())
                    .unwrap_or_else(|| format!("the kinds are: {}", known()));
                Failure::at(
                    span.clone(),
                    origins.error(&span, format!("unknown service kind `{text}`"), Some(hint)),
                )
            })
        }
        None => {
            let runs_something = table.contains_key("image") || table.contains_key("command");
            registry::implied(name, runs_something).ok_or_else(|| {
                origins
                    .error(
                        &section.name.span(),
                        format!("service `{name}` has no `kind`"),
                        Some(format!(
                            "add `kind = \"...\"` to `[services.{name}]`; the kinds are: {}",
                            known()
                        )),
                    )
                    .into()
            })
        }
    }
}

/// A kind's complaint as berth's error: at the offending value, else at the
/// key it names, else at the service.
fn settings_failure(
    origins: &Origins,
    value_spans: &HashMap<String, Span>,
    service_span: &Span,
    e: SettingsError,
) -> Failure {
    let span = e
        .span
        .clone()
        .or_else(|| e.key.and_then(|k| value_spans.get(k).cloned()))
        .unwrap_or_else(|| service_span.clone());
    let message = e.message.trim().to_string();
    // serde's wording for a value of the wrong type or form.
    let error = if message.starts_with("invalid type") || message.starts_with("invalid value") {
        origins.type_error(&span, &message)
    } else {
        origins.error(&span, message, e.hint)
    };
    Failure::at(span, error)
}

fn table_value<'i>(of: &Spanned<DeTable<'i>>, table: DeTable<'i>) -> Value<'i> {
    Spanned::new(of.span(), DeValue::Table(table))
}

/// A runtime by name, or why there is none of that name here.
pub fn runtime(name: &str) -> std::result::Result<RuntimeKind, (String, Option<String>)> {
    match RuntimeKind::parse(name) {
        Some(r) if r.is_built_in() => Ok(r),
        Some(r) => Err((
            format!("this berth was built without the {r} runtime"),
            Some(format!(
                "build berth with its `{r}` feature (on by default)"
            )),
        )),
        None => {
            let names: Vec<&str> = RuntimeKind::names().collect();
            let hint = did_you_mean(name, names.iter().copied())
                .unwrap_or_else(|| format!("the runtimes are: {}", list(&names)));
            Err((format!("unknown runtime `{name}`"), Some(hint)))
        }
    }
}
