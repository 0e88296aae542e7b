//! Reading a kind's keys with serde, keeping spans: each kind declares its
//! keys once, as the fields of a `Deserialize` type, and both the parse and
//! the list of keys (for suggestions and environment overrides) come from
//! it.

use std::cell::Cell;

use serde::de::{DeserializeOwned, Visitor};
use serde::{Deserialize, Deserializer};
use toml::de::{DeValue, ValueDeserializer};
use toml::Spanned;

use super::contract::SettingsError;

/// Deserialize a kind's settings type from its table.
pub fn read<T: DeserializeOwned>(table: Spanned<DeValue<'_>>) -> Result<T, SettingsError> {
    T::deserialize(ValueDeserializer::from(table)).map_err(|e| SettingsError {
        span: e.span(),
        key: None,
        message: e.message().trim().to_string(),
        hint: None,
    })
}

/// The field names of a struct type: its stack-file keys.
pub fn fields<T: DeserializeOwned>() -> &'static [&'static str] {
    let seen = Cell::new(None);
    let _ = T::deserialize(FieldNames { seen: &seen });
    seen.get().unwrap_or(&[])
}

/// A deserializer that records the fields a struct asks for, then stops.
struct FieldNames<'a> {
    seen: &'a Cell<Option<&'static [&'static str]>>,
}

#[derive(Debug)]
struct Stop;

impl std::fmt::Display for Stop {
    fn fmt(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.write_str("fields recorded")
    }
}

impl std::error::Error for Stop {}

impl serde::de::Error for Stop {
    fn custom<M: std::fmt::Display>(_: M) -> Stop {
        Stop
    }
}

impl<'de> Deserializer<'de> for FieldNames<'_> {
    type Error = Stop;

    fn deserialize_any<V: Visitor<'de>>(self, _: V) -> Result<V::Value, Stop> {
        Err(Stop)
    }

    fn deserialize_struct<V: Visitor<'de>>(
        self,
        _: &'static str,
        fields: &'static [&'static str],
        _: V,
    ) -> Result<V::Value, Stop> {
        self.seen.set(Some(fields));
        Err(Stop)
    }

    serde::forward_to_deserialize_any! {
        bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char str string
        bytes byte_buf option unit unit_struct newtype_struct seq tuple
        tuple_struct map enum identifier ignored_any
    }
}

/// A server setting value (`settings = { fsync = "off", max_connections =
/// 200 }`), kept as the text the server is given.
#[derive(Debug, Clone, PartialEq)]
pub struct SettingValue(pub String);

impl<'de> Deserialize<'de> for SettingValue {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl Visitor<'_> for V {
            type Value = SettingValue;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("a string, number or boolean")
            }
            fn visit_str<E>(self, v: &str) -> Result<SettingValue, E> {
                Ok(SettingValue(v.to_string()))
            }
            fn visit_i64<E>(self, v: i64) -> Result<SettingValue, E> {
                Ok(SettingValue(v.to_string()))
            }
            fn visit_u64<E>(self, v: u64) -> Result<SettingValue, E> {
                Ok(SettingValue(v.to_string()))
            }
            fn visit_f64<E>(self, v: f64) -> Result<SettingValue, E> {
                Ok(SettingValue(v.to_string()))
            }
            fn visit_bool<E>(self, v: bool) -> Result<SettingValue, E> {
                Ok(SettingValue(if v { "on" } else { "off" }.to_string()))
            }
        }
        d.deserialize_any(V)
    }
}

/// A server version constraint (`"15"`, `">=14, <17"`) and its text.
#[derive(Debug, Clone)]
pub struct VersionConstraint {
    pub req: semver::VersionReq,
    pub text: String,
}

impl VersionConstraint {
    pub fn read(value: &Spanned<String>) -> Result<VersionConstraint, SettingsError> {
        let text = value.get_ref();
        let req = semver::VersionReq::parse(text).map_err(|e| {
            SettingsError::at(
                value.span(),
                format!("`{text}` is not a version constraint: {e}"),
            )
            .hint("write a major version (`\"15\"`) or a range (`\">=14, <17\"`)")
        })?;
        Ok(VersionConstraint {
            req,
            text: text.clone(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Deserialize)]
    #[allow(dead_code)]
    struct Sample {
        alpha: Option<String>,
        beta: u16,
    }

    #[test]
    fn field_names_come_from_the_type() {
        assert_eq!(fields::<Sample>(), ["alpha", "beta"]);
    }

    #[test]
    fn errors_keep_the_span_of_the_offending_value() {
        let text = "alpha = \"a\"\nbeta = \"x\"\n";
        let table = toml::de::DeTable::parse(text).unwrap();
        let value = Spanned::new(table.span(), DeValue::Table(table.into_inner()));
        let e = read::<Sample>(value).err().unwrap();
        assert_eq!(&text[e.span.unwrap()], "\"x\"");
    }
}
