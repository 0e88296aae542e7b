//! Where a value came from: a place in the stack file, or an environment
//! variable. Values set from the environment are given spans past the end
//! of the file, one per variable, so that any error the typed parse finds
//! in them can name the variable instead of pointing into the file.

use crate::error::Error;
use crate::source::{SourceFile, Span};

pub struct Origins<'s> {
    source: &'s SourceFile,
    /// (span, variable, its text)
    vars: Vec<(Span, String, String)>,
}

impl<'s> Origins<'s> {
    pub fn new(source: &'s SourceFile) -> Origins<'s> {
        Origins {
            source,
            vars: Vec::new(),
        }
    }

    pub fn source(&self) -> &'s SourceFile {
        self.source
    }

    /// A span standing for the value of `var`.
    pub fn span_for(&mut self, var: &str, text: &str) -> Span {
        let start = self.source.text.len() + 1 + self.vars.len();
        let span = start..start + 1;
        self.vars
            .push((span.clone(), var.to_string(), text.to_string()));
        span
    }

    /// The variable a span stands for, with its text.
    pub fn var_at(&self, span: &Span) -> Option<(&str, &str)> {
        self.vars
            .iter()
            .find(|(s, _, _)| s.start <= span.start && span.start < s.end)
            .map(|(_, var, text)| (var.as_str(), text.as_str()))
    }

    /// An error about the value at `span`: located in the file, or naming
    /// the variable that set it.
    pub fn error(&self, span: &Span, message: impl Into<String>, hint: Option<String>) -> Error {
        let message = message.into();
        match self.var_at(span) {
            Some((var, _)) => Error::Config {
                message: format!("{message} (set by the environment variable `{var}`)"),
                location: None,
                hint,
            },
            None => Error::Config {
                message,
                location: Some(Box::new(self.source.locate(span))),
                hint,
            },
        }
    }

    /// A value of the wrong type or form, as the TOML reader says it: from
    /// the environment, the variable and what it should be instead.
    pub fn type_error(&self, span: &Span, toml_message: &str) -> Error {
        if let Some((var, text)) = self.var_at(span) {
            let expected = toml_message
                .split_once("expected ")
                .map_or(toml_message, |(_, e)| e)
                .trim();
            return Error::Config {
                message: format!("the environment variable `{var}` is `{text}`, not {expected}"),
                location: None,
                hint: Some(format!("set `{var}` to {expected}, or unset it")),
            };
        }
        self.error(span, toml_message.trim(), None)
    }
}
