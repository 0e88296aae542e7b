//! The stack file as written: its TOML parsed with every value's span, and
//! its top-level sections taken apart. Nothing is typed yet: profiles and
//! environment overrides are layered on these values (`layers.rs`) before
//! each service is read into its types (`service.rs`), so a key is declared
//! once, in its type, and every error still points at the text.

use serde::de::DeserializeOwned;
use toml::de::{DeTable, DeValue, ValueDeserializer};
use toml::Spanned;

use super::origin::Origins;
use crate::error::{Error, Result};
use crate::source::SourceFile;
use crate::suggest::{did_you_mean, list};

pub type Value<'i> = Spanned<DeValue<'i>>;

/// The file's top-level sections.
pub struct Document<'i> {
    pub name: Option<Spanned<String>>,
    pub runtime: Option<Spanned<String>>,
    /// `[services.NAME]`, in file order.
    pub services: Vec<Section<'i>>,
    pub env: Option<Spanned<DeTable<'i>>>,
    /// `[overrides]`: variable, `service.key` (a variable naming several
    /// values is here once for each).
    pub overrides: Vec<(Spanned<String>, Spanned<String>)>,
    /// `dotenv`: files of variables, as the file lists them.
    pub dotenv: Option<Spanned<Vec<Spanned<String>>>>,
    /// `[profiles.NAME]`, each holding `name`, `runtime`, `services`, `env`.
    pub profiles: Vec<Profile<'i>>,
    /// `[snapshots]`: `keep`.
    pub snapshots: Option<Snapshots>,
}

/// `[snapshots]`: how many automatic snapshots (before `reset` and
/// `snapshot restore`) to keep.
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[derive(Debug, Clone, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Snapshots {
    #[cfg_attr(feature = "schema", schemars(with = "Option<u32>"))]
    pub keep: Option<Spanned<u32>>,
}

/// A string, or a list of strings (each with its span).
fn one_or_more(origins: &Origins, value: Value<'_>, what: &str) -> Result<Vec<Spanned<String>>> {
    let span = value.span();
    match value.into_inner() {
        DeValue::Array(items) => items.into_iter().map(|i| typed(origins, i)).collect(),
        DeValue::String(s) => Ok(vec![Spanned::new(span, s.into_owned())]),
        other => Err(origins.error(
            &span,
            format!(
                "{what} must be a string or a list of strings, not {}",
                article(other.type_str())
            ),
            None,
        )),
    }
}

/// A named table: a service, or a profile's service.
pub struct Section<'i> {
    pub name: Spanned<String>,
    pub table: Spanned<DeTable<'i>>,
}

pub struct Profile<'i> {
    pub name: Spanned<String>,
    pub stack_name: Option<Spanned<String>>,
    pub runtime: Option<Spanned<String>>,
    pub services: Vec<Section<'i>>,
    pub env: Option<Spanned<DeTable<'i>>>,
}

pub const TOP_KEYS: &[&str] = &[
    "name",
    "runtime",
    "services",
    "env",
    "overrides",
    "profiles",
    "snapshots",
    "dotenv",
];
pub const PROFILE_KEYS: &[&str] = &["name", "runtime", "services", "env"];
pub const ENV_KEYS: &[&str] = &["file", "outside_project", "vars"];

/// Parse the file's TOML; a syntax error points at its place.
pub fn parse(source: &SourceFile) -> Result<Spanned<DeTable<'_>>> {
    DeTable::parse(&source.text).map_err(|e| Error::Config {
        message: e.message().trim().to_string(),
        location: Some(Box::new(source.locate(&e.span().unwrap_or(0..0)))),
        hint: None,
    })
}

/// Read a value into a type; the error keeps the value's span.
pub fn read<T: DeserializeOwned>(value: Value<'_>) -> std::result::Result<T, toml::de::Error> {
    T::deserialize(ValueDeserializer::from(value))
}

/// [`read`], with errors as berth's.
pub fn typed<T: DeserializeOwned>(origins: &Origins, value: Value<'_>) -> Result<T> {
    let span = value.span();
    read(value).map_err(|e| origins.type_error(&e.span().unwrap_or(span), e.message()))
}

/// A table value, or an error saying `what` must be one.
pub fn table<'i>(origins: &Origins, value: Value<'i>, what: &str) -> Result<Spanned<DeTable<'i>>> {
    let span = value.span();
    match value.into_inner() {
        DeValue::Table(t) => Ok(Spanned::new(span, t)),
        other => Err(origins.error(
            &span,
            format!("{what} must be a table, not {}", article(other.type_str())),
            None,
        )),
    }
}

fn article(type_name: &str) -> String {
    match type_name.chars().next() {
        Some('a' | 'e' | 'i' | 'o' | 'u') => format!("an {type_name}"),
        _ => format!("a {type_name}"),
    }
}

/// An unknown key, with the nearest known one or the list of them.
pub fn unknown_key(origins: &Origins, key: &Spanned<impl AsRef<str>>, known: &[&str]) -> Error {
    let name = key.get_ref().as_ref();
    let hint = did_you_mean(name, known.iter().copied())
        .unwrap_or_else(|| format!("the keys here are: {}", list(known)));
    origins.error(&key.span(), format!("unknown key `{name}`"), Some(hint))
}

/// Entries of a table in the order the file writes them.
pub fn entries<'i>(table: DeTable<'i>) -> Vec<(Spanned<String>, Value<'i>)> {
    let mut entries: Vec<_> = table
        .into_iter()
        .map(|(k, v)| (Spanned::new(k.span(), k.into_inner().into_owned()), v))
        .collect();
    entries.sort_by_key(|(k, _)| k.span().start);
    entries
}

impl<'i> Document<'i> {
    pub fn read(origins: &Origins, root: Spanned<DeTable<'i>>) -> Result<Document<'i>> {
        let mut doc = Document {
            name: None,
            runtime: None,
            services: Vec::new(),
            env: None,
            overrides: Vec::new(),
            dotenv: None,
            profiles: Vec::new(),
            snapshots: None,
        };
        for (key, value) in entries(root.into_inner()) {
            match key.get_ref().as_str() {
                "name" => doc.name = Some(typed(origins, value)?),
                "runtime" => doc.runtime = Some(typed(origins, value)?),
                "services" => doc.services = sections(origins, value, "services")?,
                "env" => doc.env = Some(env_table(origins, value)?),
                "overrides" => {
                    for (var, target) in entries(table(origins, value, "`overrides`")?.into_inner())
                    {
                        // One value, or several the same variable sets
                        // (two services sharing a team's password).
                        let what = format!("`overrides.{}`", var.get_ref());
                        for target in one_or_more(origins, target, &what)? {
                            doc.overrides.push((var.clone(), target));
                        }
                    }
                }
                "snapshots" => doc.snapshots = Some(typed(origins, value)?),
                "dotenv" => {
                    let span = value.span();
                    let files = one_or_more(origins, value, "`dotenv`")?;
                    doc.dotenv = Some(Spanned::new(span, files));
                }
                "profiles" => {
                    for (name, value) in entries(table(origins, value, "`profiles`")?.into_inner())
                    {
                        let what = format!("`profiles.{}`", name.get_ref());
                        let profile = table(origins, value, &what)?;
                        doc.profiles.push(Profile::read(origins, name, profile)?);
                    }
                }
                _ => return Err(unknown_key(origins, &key, TOP_KEYS)),
            }
        }
        Ok(doc)
    }
}

impl<'i> Profile<'i> {
    fn read(
        origins: &Origins,
        name: Spanned<String>,
        table: Spanned<DeTable<'i>>,
    ) -> Result<Profile<'i>> {
        let mut profile = Profile {
            name,
            stack_name: None,
            runtime: None,
            services: Vec::new(),
            env: None,
        };
        for (key, value) in entries(table.into_inner()) {
            match key.get_ref().as_str() {
                "name" => profile.stack_name = Some(typed(origins, value)?),
                "runtime" => profile.runtime = Some(typed(origins, value)?),
                "services" => {
                    let what = format!("profiles.{}.services", profile.name.get_ref());
                    profile.services = sections(origins, value, &what)?;
                }
                "env" => profile.env = Some(env_table(origins, value)?),
                _ => return Err(unknown_key(origins, &key, PROFILE_KEYS)),
            }
        }
        Ok(profile)
    }
}

/// `[services.NAME]` tables.
fn sections<'i>(origins: &Origins, value: Value<'i>, what: &str) -> Result<Vec<Section<'i>>> {
    let mut out = Vec::new();
    for (name, value) in entries(table(origins, value, &format!("`{what}`"))?.into_inner()) {
        let table = table(origins, value, &format!("`{what}.{}`", name.get_ref()))?;
        out.push(Section { name, table });
    }
    Ok(out)
}

/// `[env]`, with its keys checked.
fn env_table<'i>(origins: &Origins, value: Value<'i>) -> Result<Spanned<DeTable<'i>>> {
    let env = table(origins, value, "`env`")?;
    for key in env.get_ref().keys() {
        if !ENV_KEYS.contains(&key.get_ref().as_ref()) {
            return Err(unknown_key(origins, key, ENV_KEYS));
        }
    }
    Ok(env)
}
