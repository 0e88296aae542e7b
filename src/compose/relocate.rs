//! A stack file written somewhere other than its project's root keeps
//! naming the same files: the stack an export carries (`x-berth`) sits
//! beside the export, and `import compose -o PATH` writes where the user
//! says. Every key that names a file or directory of the project, by
//! kind, is listed here and rebased; the defaults that name one
//! (`migrations/<service>`) are written out when their directory exists,
//! so that they still find it.

use std::path::{Component, Path, PathBuf};

/// The path from the directory `from` to `to` (both absolute):
/// `../project` from `/p/out` to `/p/project`.
pub fn relative(from: &Path, to: &Path) -> PathBuf {
    let (from, to) = (normal(from), normal(to));
    let from: Vec<Component> = from.components().collect();
    let to: Vec<Component> = to.components().collect();
    let common = from.iter().zip(&to).take_while(|(a, b)| a == b).count();
    let mut out = PathBuf::new();
    for _ in common..from.len() {
        out.push("..");
    }
    for c in &to[common..] {
        out.push(c.as_os_str());
    }
    out
}

/// `path` without `.`, each `..` taken out with the name it undoes.
fn normal(path: &Path) -> PathBuf {
    let mut out = PathBuf::new();
    for c in path.components() {
        match c {
            Component::CurDir => {}
            // `..` undoes a name before it; at the start it stays.
            Component::ParentDir => {
                if matches!(out.components().next_back(), Some(Component::Normal(_))) {
                    out.pop();
                } else {
                    out.push("..");
                }
            }
            other => out.push(other.as_os_str()),
        }
    }
    out
}

/// A place a stack file moves from and to (absolute directories).
#[derive(Debug, Clone)]
pub struct Move<'a> {
    pub from: &'a Path,
    pub to: &'a Path,
}

impl Move<'_> {
    fn stays(&self) -> bool {
        normal(self.from) == normal(self.to)
    }

    /// `path` (relative to `from`) as seen from `to`.
    pub fn path(&self, path: &str) -> String {
        if Path::new(path).is_absolute() || path.starts_with('~') {
            return path.to_string();
        }
        let text = relative(self.to, &self.from.join(path))
            .display()
            .to_string();
        if text.is_empty() {
            ".".to_string()
        } else {
            text
        }
    }

    /// A bind mount's source: it keeps a leading `.`, by which a mount is
    /// told from a named volume.
    pub fn mount(&self, source: &str) -> String {
        let moved = self.path(source);
        if moved.starts_with('.') || moved.starts_with('/') {
            moved
        } else {
            format!("./{moved}")
        }
    }
}

/// Rebase the paths of a stack file's table for its move.
pub fn rebase(table: &mut toml::Table, moved: &Move) {
    if moved.stays() {
        return;
    }
    if let Some(toml::Value::Array(files)) = table.get_mut("dotenv") {
        for f in files.iter_mut() {
            if let Some(text) = f.as_str() {
                *f = toml::Value::String(moved.path(text));
            }
        }
    }
    if let Some(toml::Value::Table(services)) = table.get_mut("services") {
        for (name, svc) in services.iter_mut() {
            if let toml::Value::Table(svc) = svc {
                rebase_service(name, svc, moved);
            }
        }
    }
    if let Some(toml::Value::Table(profiles)) = table.get_mut("profiles") {
        for (_, profile) in profiles.iter_mut() {
            if let Some(toml::Value::Table(services)) = profile.get_mut("services") {
                for (name, svc) in services.iter_mut() {
                    if let toml::Value::Table(svc) = svc {
                        rebase_service(name, svc, moved);
                    }
                }
            }
        }
    }
}

/// The keys of one service that name a project path, with the default
/// directory a kind reads when the key is not set.
fn rebase_service(name: &str, svc: &mut toml::Table, moved: &Move) {
    let kind = svc
        .get("kind")
        .and_then(|k| k.as_str())
        .unwrap_or(name)
        .to_string();
    let directories: &[(&str, Option<&str>)] = match kind.as_str() {
        "postgres" => &[
            ("init", None),
            ("migrations", Some("migrations")),
            ("seeds", Some("seeds")),
        ],
        "s3" => &[("seeds", Some("seeds"))],
        _ => &[],
    };
    for (key, default) in directories {
        match svc.get(*key).and_then(|v| v.as_str()).map(str::to_string) {
            Some(path) => {
                svc.insert(key.to_string(), moved.path(&path).into());
            }
            None => {
                let Some(default) = default else { continue };
                let path = format!("{default}/{name}");
                if moved.from.join(&path).is_dir() {
                    svc.insert(key.to_string(), moved.path(&path).into());
                }
            }
        }
    }
    // A generic service's bind mounts and a relative program.
    if let Some(toml::Value::Array(volumes)) = svc.get_mut("volumes") {
        for v in volumes.iter_mut() {
            let Some(text) = v.as_str() else { continue };
            if let Some((source, rest)) = text.split_once(':') {
                if source.starts_with('.') {
                    *v = format!("{}:{rest}", moved.mount(source)).into();
                }
            }
        }
    }
    if let Some(toml::Value::Array(command)) = svc.get_mut("command") {
        if let Some(first) = command.first_mut() {
            if let Some(program) = first
                .as_str()
                .filter(|p| p.starts_with("./") || p.starts_with("../"))
            {
                *first = moved.mount(program).into();
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_are_seen_from_the_new_place() {
        assert_eq!(
            relative(Path::new("/p/out"), Path::new("/p")),
            Path::new("..")
        );
        assert_eq!(
            relative(Path::new("/p"), Path::new("/p/compose/x")),
            Path::new("compose/x")
        );
        assert_eq!(relative(Path::new("/p"), Path::new("/p")), Path::new(""));
        let out = Move {
            from: Path::new("/p"),
            to: Path::new("/p/out"),
        };
        assert_eq!(out.path("initdb"), "../initdb");
        assert_eq!(out.path("./data"), "../data");
        assert_eq!(out.path("/abs"), "/abs");
        let back = Move {
            from: Path::new("/p/out"),
            to: Path::new("/p"),
        };
        assert_eq!(back.path("../x"), "x");
        assert_eq!(back.mount("../x"), "./x");
        let far = Move {
            from: Path::new("/tmp/t/out"),
            to: Path::new("/work/p"),
        };
        assert_eq!(
            far.path("../../../work/p/migrations"),
            "migrations",
            "no detour"
        );

        let root = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(root.path().join("migrations/db")).unwrap();
        let mut table: toml::Table = toml::from_str(
            "dotenv = [\".env\"]\n[services.db]\nkind = \"postgres\"\ninit = \"initdb\"\n[services.api]\nimage = \"x\"\nvolumes = [\"./src:/app\", \"cache:/cache\"]\ncommand = [\"./bin/api\", \"./arg\"]\n",
        )
        .unwrap();
        let to = root.path().join("out");
        rebase(
            &mut table,
            &Move {
                from: root.path(),
                to: &to,
            },
        );
        let db = table["services"]["db"].as_table().unwrap();
        assert_eq!(db["init"].as_str(), Some("../initdb"));
        assert_eq!(
            db["migrations"].as_str(),
            Some("../migrations/db"),
            "the default, written out: its directory exists"
        );
        assert!(db.get("seeds").is_none(), "no seeds directory, no key");
        let api = table["services"]["api"].as_table().unwrap();
        assert_eq!(api["volumes"][0].as_str(), Some("../src:/app"));
        assert_eq!(api["volumes"][1].as_str(), Some("cache:/cache"));
        assert_eq!(api["command"][0].as_str(), Some("../bin/api"));
        assert_eq!(
            api["command"][1].as_str(),
            Some("./arg"),
            "an argument is the program's"
        );
        assert_eq!(table["dotenv"][0].as_str(), Some("../.env"));
    }
}
