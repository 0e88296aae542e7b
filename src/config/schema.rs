//! The stack file's JSON Schema (`berth schema`), for editors that complete
//! and check TOML against one (taplo / Even Better TOML, and any
//! JSON-Schema-aware editor).
//!
//! A service's keys come from the very types berth reads them into (the
//! shared keys and each kind's settings type derive their schema, doc
//! comments included), so the schema cannot drift from the parser. The
//! top-level sections are parsed by hand for their spans; their keys here
//! are checked against the parser's lists by a test.
//!
//! A service is one of its possible kinds: its `kind`, or the kind its
//! name is (`[services.postgres]`), else generic. Within a profile a
//! service's table is an overlay, so there any kind's keys may appear
//! without `kind`.

use std::borrow::Cow;

use schemars::generate::SchemaSettings;
use schemars::{json_schema, JsonSchema, Schema, SchemaGenerator};
use serde_json::{json, Map, Value};

use super::model::PortSetting;
use super::service::shared_keys_schema;
use crate::kind::contract::ServiceKind;
use crate::kind::reading::SettingValue;
use crate::kind::ready::Ready;
use crate::kind::registry;
use crate::kind::s3::settings::BucketKey;
use crate::plan::runtime_kind::RuntimeKind;

/// The schema of `berth.toml`, as JSON (draft 07, which every editor
/// plugin reads).
pub fn stack_file() -> Value {
    let mut generator = SchemaSettings::draft07().into_generator();
    let mut kinds = Map::new();
    for kind in registry::all() {
        kinds.insert(
            definition_name(kind.name()),
            kind_definition(&mut generator, *kind),
        );
    }
    let named = service(Default::Named);
    let mut by_name = Map::new();
    for kind in registry::all().iter().filter(|k| k.name() != "generic") {
        by_name.insert(kind.name().to_string(), service(Default::Kind(kind.name())));
    }
    let services = json!({
        "description": "The services, by name (lower-case letters, digits, `-` and `_`).",
        "type": "object",
        "propertyNames": { "pattern": "^[a-z0-9][a-z0-9_-]{0,47}$" },
        "properties": by_name,
        "additionalProperties": named,
    });
    let overlay = service(Default::Any);
    let env = json!({
        "description": "The connection file berth writes for the application.",
        "type": "object",
        "properties": {
            "file": { "description": "Where it is written, from the stack file's directory; default `.env`.", "type": "string" },
            "outside_project": { "description": "Let `file` name a path outside the project directory (never under a system directory such as `/etc`).", "type": "boolean" },
            "vars": {
                "description": "The variables it holds, instead of each kind's defaults: `${service.key}` references (`${db.url}`) and `${NAME}` variables from the environment and `dotenv` files.",
                "type": "object",
                "additionalProperties": { "type": "string" },
            },
        },
        "additionalProperties": false,
    });
    let runtime = runtime_schema("The runtime of every service that names none; default `native`.");
    let mut root = json!({
        "$schema": "http://json-schema.org/draft-07/schema#",
        "title": "berth.toml",
        "description": "A berth stack: the local services an application needs.",
        "type": "object",
        "properties": {
            "name": { "description": "The stack's name; default: the directory's name.", "type": "string" },
            "runtime": runtime,
            "services": services,
            "env": env,
            "dotenv": {
                "description": "Files of the team's variables (Compose's `.env` format), read after the environment, later files over earlier ones: for `${NAME}` in `env.vars` and a generic service's `env` and `command`, `[overrides]` and `BERTH_<SERVICE>_<KEY>`. A missing file holds no variables.",
                "oneOf": [
                    { "type": "string" },
                    { "type": "array", "items": { "type": "string" } },
                ],
            },
            "overrides": {
                "description": "Environment variables that set a key: `VARIABLE = \"service.key\"`, or a list of keys the variable sets alike.",
                "type": "object",
                "additionalProperties": {
                    "oneOf": [
                        { "type": "string", "pattern": "^[^.]+\\.[^.]+$" },
                        { "type": "array", "items": { "type": "string", "pattern": "^[^.]+\\.[^.]+$" } },
                    ],
                },
            },
            "profiles": {
                "description": "Named variants (`--profile NAME`), laid over the stack.",
                "type": "object",
                "additionalProperties": {
                    "type": "object",
                    "properties": {
                        "name": { "description": "The stack's name under this profile.", "type": "string" },
                        "runtime": runtime_schema("The default runtime under this profile."),
                        "services": {
                            "description": "Keys laid over the services' own, and services of the profile's only.",
                            "type": "object",
                            "additionalProperties": overlay,
                        },
                        "env": env.clone(),
                    },
                    "additionalProperties": false,
                },
            },
            "snapshots": generator.subschema_for::<super::document::Snapshots>().to_value(),
        },
        "additionalProperties": false,
    });
    let mut definitions = generator.take_definitions(true);
    definitions.extend(kinds);
    root["definitions"] = Value::Object(definitions);
    drop_null_types(&mut root);
    root
}

/// Which kind a service is when its table names none.
#[derive(Clone, Copy)]
enum Default {
    /// The kind its name is: `[services.redis]`.
    Kind(&'static str),
    /// A name that is no kind's: generic.
    Named,
    /// A profile's overlay: any kind, named or not.
    Any,
}

/// One service: one of its kinds' key sets. Each set is defined once
/// (`#/definitions/<kind>-service`); a kind the service is not by default
/// must be named with `kind`.
fn service(default: Default) -> Value {
    let branches: Vec<Value> = registry::all()
        .iter()
        .map(|kind| {
            let name = kind.name();
            let reference = json!({ "$ref": format!("#/definitions/{}", definition_name(name)) });
            let implied = match default {
                Default::Kind(k) => k == name,
                Default::Named => name == "generic",
                Default::Any => true,
            };
            if implied {
                reference
            } else {
                json!({ "allOf": [reference, { "required": ["kind"] }] })
            }
        })
        .collect();
    json!({ "anyOf": branches })
}

fn definition_name(kind: &str) -> String {
    format!("{kind}-service")
}

/// A service of one kind: the shared keys and the kind's own, nothing else.
fn kind_definition(generator: &mut SchemaGenerator, kind: &dyn ServiceKind) -> Value {
    let name = kind.name();
    let mut definition = shared_keys_schema(generator).to_value();
    let own = kind.keys_schema(generator).to_value();
    if let (Some(into), Some(from)) = (
        definition["properties"].as_object_mut(),
        own["properties"].as_object(),
    ) {
        for (key, value) in from {
            into.insert(key.clone(), value.clone());
        }
    }
    definition["title"] = json!(format!("a {name} service"));
    definition["additionalProperties"] = json!(false);
    definition["properties"]["kind"] = json!({
        "description": "The kind of service; default: the kind the service's name is, else `generic` for one with `image` or `command`.",
        "const": name,
    });
    definition["properties"]["runtime"] =
        runtime_schema("`native` or `container`; default: the stack's `runtime`.");
    if let Some(obj) = definition.as_object_mut() {
        obj.remove("required");
    }
    definition
}

fn runtime_schema(description: &str) -> Value {
    let names: Vec<&str> = RuntimeKind::names().collect();
    json!({ "description": description, "type": "string", "enum": names })
}

/// schemars allows `null` for every optional key; TOML has no null.
fn drop_null_types(value: &mut Value) {
    match value {
        Value::Object(map) => {
            if let Some(Value::Array(types)) = map.get_mut("type") {
                types.retain(|t| t != "null");
                if types.len() == 1 {
                    let only = types[0].clone();
                    map.insert("type".into(), only);
                }
            }
            for v in map.values_mut() {
                drop_null_types(v);
            }
        }
        Value::Array(items) => items.iter_mut().for_each(drop_null_types),
        _ => {}
    }
}

impl JsonSchema for PortSetting {
    fn schema_name() -> Cow<'static, str> {
        "Port".into()
    }

    fn json_schema(_: &mut SchemaGenerator) -> Schema {
        json_schema!({
            "anyOf": [
                { "type": "integer", "minimum": 1, "maximum": 65535 },
                { "const": "auto" },
            ]
        })
    }
}

impl JsonSchema for SettingValue {
    fn schema_name() -> Cow<'static, str> {
        "SettingValue".into()
    }

    fn json_schema(_: &mut SchemaGenerator) -> Schema {
        json_schema!({ "type": ["string", "number", "boolean"] })
    }
}

impl JsonSchema for Ready {
    fn schema_name() -> Cow<'static, str> {
        "Ready".into()
    }

    fn json_schema(_: &mut SchemaGenerator) -> Schema {
        json_schema!({
            "anyOf": [
                { "enum": ["tcp", "postgres", "redis", "running"] },
                {
                    "type": "object",
                    "properties": { "http": { "type": "string", "pattern": "^/" } },
                    "required": ["http"],
                    "additionalProperties": false,
                },
                {
                    "type": "object",
                    "properties": { "exec": { "type": "array", "items": { "type": "string" }, "minItems": 1 } },
                    "required": ["exec"],
                    "additionalProperties": false,
                },
            ]
        })
    }
}

impl JsonSchema for BucketKey {
    fn schema_name() -> Cow<'static, str> {
        "Bucket".into()
    }

    fn json_schema(generator: &mut SchemaGenerator) -> Schema {
        let table = crate::kind::s3::settings::bucket_table_schema(generator);
        json_schema!({
            "anyOf": [ { "type": "string" }, table ]
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn keys(value: &Value) -> Vec<String> {
        let mut keys: Vec<String> = value["properties"]
            .as_object()
            .unwrap()
            .keys()
            .cloned()
            .collect();
        keys.sort();
        keys
    }

    fn sorted(list: &[&str]) -> Vec<String> {
        let mut v: Vec<String> = list.iter().map(|s| s.to_string()).collect();
        v.sort();
        v
    }

    /// The sections parsed by hand have the keys the parser accepts.
    #[test]
    fn the_top_level_keys_are_the_parsers() {
        let schema = stack_file();
        assert_eq!(keys(&schema), sorted(super::super::document::TOP_KEYS));
        let profile = &schema["properties"]["profiles"]["additionalProperties"];
        assert_eq!(keys(profile), sorted(super::super::document::PROFILE_KEYS));
        assert_eq!(
            keys(&schema["properties"]["env"]),
            sorted(super::super::document::ENV_KEYS)
        );
    }

    /// Every kind's branch has exactly the shared keys and the kind's.
    #[test]
    fn each_kind_has_its_own_keys_and_the_shared_ones() {
        let schema = stack_file();
        for kind in registry::all() {
            let branch = &schema["definitions"][definition_name(kind.name())];
            let mut expected: Vec<&str> = super::super::service::shared_keys().to_vec();
            expected.extend(kind.keys());
            assert_eq!(keys(branch), sorted(&expected), "kind {}", kind.name());
        }
    }
}
