//! `[env]`: the connection file berth writes and the variables in it.

use std::path::PathBuf;

use toml::de::DeTable;
use toml::Spanned;

use super::document::{self, entries};
use super::model::EnvConfig;
use super::origin::Origins;
use crate::error::Result;
use crate::kind::generic::valid_env_name;
use crate::template::Template;

/// A template of `[env.vars]` and where its text starts in the file, so a
/// reference inside it can be pointed at exactly.
pub struct Located {
    pub template: Template,
    /// The byte offset of the string's first character.
    pub text_start: usize,
}

pub fn read(
    origins: &Origins,
    env: Option<Spanned<DeTable<'_>>>,
) -> Result<(EnvConfig, Vec<Located>)> {
    let mut config = EnvConfig {
        file: PathBuf::from(".env"),
        vars: None,
    };
    let mut located = Vec::new();
    let Some(env) = env else {
        return Ok((config, located));
    };
    for (key, value) in entries(env.into_inner()) {
        match key.get_ref().as_str() {
            "file" => {
                let file: Spanned<String> = document::typed(origins, value)?;
                if file.get_ref().trim().is_empty() {
                    return Err(origins.error(&file.span(), "the env file path is empty", None));
                }
                config.file = PathBuf::from(file.into_inner());
            }
            "vars" => {
                let mut vars = Vec::new();
                for (var, text) in
                    entries(document::table(origins, value, "`env.vars`")?.into_inner())
                {
                    if !valid_env_name(var.get_ref()) {
                        return Err(origins.error(
                            &var.span(),
                            format!(
                                "`{}` is not a valid environment variable name",
                                var.get_ref()
                            ),
                            Some("use letters, digits and `_`, not starting with a digit".into()),
                        ));
                    }
                    let text: Spanned<String> = document::typed(origins, text)?;
                    // The span starts at the opening quote.
                    let text_start = text.span().start + 1;
                    let template = Template::parse(text.get_ref()).map_err(|e| {
                        let at = text_start + e.offset;
                        origins.error(&(at..at + 1), e.message, None)
                    })?;
                    located.push(Located {
                        template: template.clone(),
                        text_start,
                    });
                    vars.push((var.into_inner(), template));
                }
                config.vars = Some(vars);
            }
            _ => return Err(document::unknown_key(origins, &key, document::ENV_KEYS)),
        }
    }
    Ok((config, located))
}
