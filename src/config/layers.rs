//! The layers over the file's own values, strongest last: the selected
//! profile (`[profiles.NAME]`), then environment variables — the generic
//! `BERTH_<SERVICE>_<KEY>` for any key, and the names the file lists under
//! `[overrides]` (`TILEMUD_PG_PORT = "postgres.port"`). Layering works on
//! the file's values before anything is typed, so each key is declared
//! once, in its kind's settings type, and every layer reaches every key.
//!
//! An environment variable's text has no type: `5440` may be meant as a
//! number, `true` as a flag, `12345` as a password. It is offered to the
//! typed parse as each thing it could be — a TOML value, a yes/no word,
//! then plain text — and the first the key accepts wins.

use std::borrow::Cow;

use toml::de::{DeTable, DeValue};
use toml::Spanned;

use super::document::{Document, Section, Value};
use super::origin::Origins;
use crate::error::{Error, Result};
use crate::source::Span;
use crate::suggest::{did_you_mean, list};

/// A stack value set by an environment variable, looked up before the
/// file's values are read (their text must outlive them).
#[derive(Debug, Clone)]
pub struct EnvSetting {
    pub var: String,
    /// `None`: an `[overrides]` name, whose target the file says.
    pub target: Option<(String, String)>,
    pub text: String,
}

/// Look up every variable that could set a value of the stack: each
/// service's `BERTH_<SERVICE>_<KEY>` for every key any service can have,
/// and every `[overrides]` name.
pub fn lookup_env(
    doc: &Document,
    profile: Option<&str>,
    keys: &[&str],
    env: &dyn Fn(&str) -> Option<String>,
) -> Vec<EnvSetting> {
    let mut services: Vec<&str> = doc
        .services
        .iter()
        .map(|s| s.name.get_ref().as_str())
        .collect();
    if let Some(p) = doc
        .profiles
        .iter()
        .find(|p| Some(p.name.get_ref().as_str()) == profile)
    {
        services.extend(p.services.iter().map(|s| s.name.get_ref().as_str()));
    }
    services.sort();
    services.dedup();
    let mut found = Vec::new();
    for service in services {
        for key in keys.iter().filter(|k| **k != "kind") {
            let var = generic_var(service, key);
            if let Some(text) = env(&var) {
                found.push(EnvSetting {
                    var,
                    target: Some((service.to_string(), key.to_string())),
                    text,
                });
            }
        }
    }
    let mut vars: Vec<&str> = doc
        .overrides
        .iter()
        .map(|(v, _)| v.get_ref().as_str())
        .collect();
    vars.dedup();
    for var in vars {
        if let Some(text) = env(var) {
            found.push(EnvSetting {
                var: var.to_string(),
                target: None,
                text,
            });
        }
    }
    found
}

/// `BERTH_<SERVICE>_<KEY>`, upper-cased, other characters as `_`.
pub fn generic_var(service: &str, key: &str) -> String {
    format!("BERTH_{}_{}", env_word(service), env_word(key))
}

fn env_word(s: &str) -> String {
    s.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() {
                c.to_ascii_uppercase()
            } else {
                '_'
            }
        })
        .collect()
}

/// Apply `[profiles.NAME]`: its name, runtime and env settings replace the
/// file's; each key of a service it names replaces that key (a service it
/// alone names is added).
pub fn apply_profile(origins: &Origins, doc: &mut Document, wanted: &str) -> Result<()> {
    let Some(at) = doc.profiles.iter().position(|p| p.name.get_ref() == wanted) else {
        let known: Vec<&str> = doc
            .profiles
            .iter()
            .map(|p| p.name.get_ref().as_str())
            .collect();
        let file = origins.source().path.display();
        let hint = did_you_mean(wanted, known.iter().copied()).unwrap_or_else(|| {
            if known.is_empty() {
                format!("`{file}` defines no profiles; add a `[profiles.{wanted}]` table")
            } else {
                format!("the profiles are: {}", list(&known))
            }
        });
        return Err(Error::Config {
            message: format!("no profile `{wanted}` in `{file}`"),
            location: None,
            hint: Some(hint),
        });
    };
    let profile = doc.profiles.remove(at);
    doc.name = match (profile.stack_name, doc.name.take()) {
        (Some(name), _) => Some(name),
        (None, Some(base)) => Some(Spanned::new(
            base.span(),
            format!("{}-{wanted}", base.get_ref()),
        )),
        (None, None) => None,
    };
    if profile.runtime.is_some() {
        doc.runtime = profile.runtime;
    }
    for over in profile.services {
        match doc
            .services
            .iter_mut()
            .find(|s| s.name.get_ref() == over.name.get_ref())
        {
            Some(base) => {
                for (key, value) in over.table.into_inner() {
                    base.table.get_mut().insert(key, value);
                }
            }
            None => doc.services.push(over),
        }
    }
    if let Some(over) = profile.env {
        match &mut doc.env {
            None => doc.env = Some(over),
            Some(base) => {
                for (key, value) in over.into_inner() {
                    let merged = match (
                        key.get_ref().as_ref(),
                        base.get_mut().remove(key.get_ref().as_ref()),
                    ) {
                        ("vars", Some(old)) => merge_tables(old, value),
                        _ => value,
                    };
                    base.get_mut().insert(key, merged);
                }
            }
        }
    }
    Ok(())
}

/// `over`'s entries added to `base`'s, when both are tables.
fn merge_tables<'i>(base: Value<'i>, over: Value<'i>) -> Value<'i> {
    let span = over.span();
    match (base.into_inner(), over.into_inner()) {
        (DeValue::Table(mut base), DeValue::Table(over)) => {
            for (k, v) in over {
                base.insert(k, v);
            }
            Spanned::new(span, DeValue::Table(base))
        }
        (_, over) => Spanned::new(span, over),
    }
}

/// A value set from the environment, with the interpretations still to try.
pub struct EnvValue<'i> {
    pub service: String,
    pub key: String,
    pub span: Span,
    candidates: Vec<DeValue<'i>>,
    tried: usize,
}

impl<'i> EnvValue<'i> {
    pub fn new(service: &str, key: &str, text: &'i str, span: Span) -> EnvValue<'i> {
        EnvValue {
            service: service.to_string(),
            key: key.to_string(),
            candidates: candidates(text, &span),
            span,
            tried: 0,
        }
    }

    /// The interpretation to try now.
    pub fn value(&self) -> Value<'i> {
        Spanned::new(self.span.clone(), self.candidates[self.tried].clone())
    }

    /// Move to the next interpretation; `false` when none is left.
    pub fn next(&mut self) -> bool {
        if self.tried + 1 < self.candidates.len() {
            self.tried += 1;
            true
        } else {
            false
        }
    }
}

/// What an environment variable's text could mean, most specific first;
/// plain text is always last.
fn candidates<'i>(text: &'i str, span: &Span) -> Vec<DeValue<'i>> {
    let mut out = Vec::new();
    if let Ok(value) = DeValue::parse(text) {
        out.push(respan(value.into_inner(), span));
    }
    match text.trim().to_ascii_lowercase().as_str() {
        "yes" | "on" | "1" => out.push(DeValue::Boolean(true)),
        "no" | "off" | "0" => out.push(DeValue::Boolean(false)),
        _ => {}
    }
    out.push(DeValue::String(Cow::Borrowed(text)));
    out
}

/// The value with every span inside it replaced by `span` (a value parsed
/// from a variable has spans into the variable's text, not the file).
fn respan<'i>(value: DeValue<'i>, span: &Span) -> DeValue<'i> {
    match value {
        DeValue::Array(mut items) => {
            for item in items.iter_mut() {
                let inner = std::mem::replace(item, Spanned::new(0..0, DeValue::Boolean(false)));
                *item = Spanned::new(span.clone(), respan(inner.into_inner(), span));
            }
            DeValue::Array(items)
        }
        DeValue::Table(table) => DeValue::Table(
            table
                .into_iter()
                .map(|(k, v)| {
                    (
                        Spanned::new(span.clone(), k.into_inner()),
                        Spanned::new(span.clone(), respan(v.into_inner(), span)),
                    )
                })
                .collect::<DeTable>(),
        ),
        other => other,
    }
}

/// Put `value` under `key` in the section's table.
pub fn set<'i>(section: &mut Section<'i>, key: &str, value: Value<'i>) {
    section.table.get_mut().insert(
        Spanned::new(value.span(), Cow::Owned(key.to_string())),
        value,
    );
}
