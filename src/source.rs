//! The stack file's text, kept so that any later error (a dependency cycle
//! found long after parsing, a template naming an unknown service) can point
//! at the offending text with file, line, column and a caret.

use std::ops::Range;
use std::path::{Path, PathBuf};

pub type Span = Range<usize>;

#[derive(Debug, Clone)]
pub struct SourceFile {
    pub path: PathBuf,
    pub text: String,
}

/// A resolved position in a file, ready to render.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SourceLocation {
    pub path: PathBuf,
    /// 1-based.
    pub line: usize,
    /// 1-based, in characters.
    pub column: usize,
    pub line_text: String,
    /// How many characters to underline (at least 1).
    pub width: usize,
}

impl SourceFile {
    pub fn new(path: &Path, text: String) -> SourceFile {
        SourceFile {
            path: path.to_path_buf(),
            text,
        }
    }

    pub fn locate(&self, span: &Span) -> SourceLocation {
        let start = clamp_to_char_boundary(&self.text, span.start.min(self.text.len()));
        let line_start = self.text[..start].rfind('\n').map_or(0, |i| i + 1);
        let line_end = self.text[start..]
            .find('\n')
            .map_or(self.text.len(), |i| start + i);
        let line_text = self.text[line_start..line_end].trim_end_matches('\r');
        let line = self.text[..start].matches('\n').count() + 1;
        let column = self.text[line_start..start].chars().count() + 1;
        let end = clamp_to_char_boundary(&self.text, span.end.clamp(start, line_end));
        let width = self.text[start..end].chars().count().max(1);
        SourceLocation {
            path: self.path.clone(),
            line,
            column,
            line_text: line_text.to_string(),
            width,
        }
    }
}

fn clamp_to_char_boundary(text: &str, mut i: usize) -> usize {
    while i > 0 && !text.is_char_boundary(i) {
        i -= 1;
    }
    i
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn locates_line_and_column() {
        let f = SourceFile::new(Path::new("b.toml"), "a = 1\nbb = \"x\"\n".into());
        let loc = f.locate(&(11..14));
        assert_eq!((loc.line, loc.column, loc.width), (2, 6, 3));
        assert_eq!(loc.line_text, "bb = \"x\"");
    }
}
