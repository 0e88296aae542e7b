//! "did you mean ...?" for misspelt names.

/// The candidate closest to `word`, when it is close enough to be a likely
/// typo (edit distance, a swap of neighbours counting once, at most a third of the word, and at least 1).
pub fn closest<'a>(word: &str, candidates: impl IntoIterator<Item = &'a str>) -> Option<&'a str> {
    let limit = (word.chars().count() / 3).max(1);
    candidates
        .into_iter()
        .map(|c| (strsim::osa_distance(word, c), c))
        .filter(|(d, _)| *d <= limit)
        .min_by_key(|(d, _)| *d)
        .map(|(_, c)| c)
}

pub fn did_you_mean<'a>(
    word: &str,
    candidates: impl IntoIterator<Item = &'a str>,
) -> Option<String> {
    closest(word, candidates).map(|c| format!("did you mean `{c}`?"))
}

/// `` `a`, `b`, `c` ``: names listed for a hint.
pub fn list<S: AsRef<str>>(items: &[S]) -> String {
    items
        .iter()
        .map(|s| format!("`{}`", s.as_ref()))
        .collect::<Vec<_>>()
        .join(", ")
}

#[cfg(test)]
mod tests {
    #[test]
    fn finds_typos_not_strangers() {
        assert_eq!(
            super::closest("postgress", ["postgres", "redis"]),
            Some("postgres")
        );
        assert_eq!(super::closest("prot", ["port", "user"]), Some("port"));
        assert_eq!(super::closest("mysql", ["postgres", "redis"]), None);
    }
}
