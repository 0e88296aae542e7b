//! Small file-system helpers with the durability berth promises: a file is
//! either its old or its new content, never partial, and a rename survives a
//! crash.

use std::fs::{self, File, OpenOptions};
use std::io::Write;
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::Path;

use crate::error::{IoContext, Result};

/// Write `contents` to `path` atomically: a temporary file in the same
/// directory, fsync, rename over the target, fsync the directory. What is
/// at `path` is replaced, never followed: a symbolic link planted there
/// is replaced by the file, its target untouched. For a path the user
/// chose, which may name a device, see [`write_output`].
pub fn write_atomic(path: &Path, contents: &[u8], mode: u32) -> Result<()> {
    // A bare file name's parent is the empty path, which cannot be opened
    // (to sync it): it is the current directory.
    let dir = path
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("file");
    let tmp = dir.join(format!(".{name}.tmp-{}-{}", std::process::id(), unique()));
    let write = || -> std::io::Result<()> {
        let mut f = OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(mode)
            .open(&tmp)?;
        f.set_permissions(fs::Permissions::from_mode(mode))?;
        f.write_all(contents)?;
        f.sync_all()?;
        fs::rename(&tmp, path)?;
        sync_dir(dir)
    };
    write()
        .inspect_err(|_| {
            let _ = fs::remove_file(&tmp);
        })
        .context(|| format!("could not write `{}`", path.display()))
}

/// Write a file the user named (`--output`, an export): as
/// [`write_atomic`], except that what is not a file (`/dev/null`,
/// `/dev/stdout`, a pipe) is written to, not replaced: a rename would put
/// a file where the device was.
pub fn write_output(path: &Path, contents: &[u8], mode: u32) -> Result<()> {
    if fs::metadata(path).is_ok_and(|m| !m.is_file() && !m.is_dir()) {
        return OpenOptions::new()
            .write(true)
            .open(path)
            .and_then(|mut f| f.write_all(contents))
            .context(|| format!("could not write `{}`", path.display()));
    }
    write_atomic(path, contents, mode)
}

/// Refuse a symbolic link at `path`. berth follows none in its state
/// directory: whoever can write there (a shared checkout, a CI cache
/// restored from elsewhere) could otherwise point one at any file that a
/// berth run as root would then write, hand to the servers' user, or
/// delete.
pub fn refuse_link(path: &Path) -> Result<()> {
    match fs::symlink_metadata(path) {
        Ok(meta) if meta.file_type().is_symlink() => {
            let target = fs::read_link(path)
                .map(|t| format!(" (to `{}`)", t.display()))
                .unwrap_or_default();
            Err(crate::error::Error::Preflight {
                service: None,
                message: format!(
                    "`{}` is a symbolic link{target}; berth follows no link in its state directory",
                    path.display()
                ),
                hint: Some(format!(
                    "berth did not make it: remove it (`rm {}`) and run the command again",
                    path.display()
                )),
            })
        }
        _ => Ok(()),
    }
}

/// Open `path` to append to it, creating it with `mode`, without
/// following a link there (a server's log, berth's notes in it).
pub fn open_append(path: &Path, mode: u32) -> Result<File> {
    refuse_link(path)?;
    OpenOptions::new()
        .create(true)
        .append(true)
        .mode(mode)
        .custom_flags(libc::O_NOFOLLOW)
        .open(path)
        .context(|| format!("could not open `{}`", path.display()))
}

pub fn sync_dir(dir: &Path) -> std::io::Result<()> {
    File::open(dir)?.sync_all()
}

/// Replace the contents of `path` in place (a copy refreshed often, where
/// a reader may see it partial), creating it with `mode`, without
/// following a link there.
pub fn overwrite(path: &Path, contents: &[u8], mode: u32) -> Result<()> {
    refuse_link(path)?;
    OpenOptions::new()
        .create(true)
        .write(true)
        .truncate(true)
        .mode(mode)
        .custom_flags(libc::O_NOFOLLOW)
        .open(path)
        .and_then(|mut f| f.write_all(contents))
        .context(|| format!("could not write `{}`", path.display()))
}

/// Create `dir` (and parents) and set its mode, whatever the umask. A
/// symbolic link at `dir` itself is refused, not followed: the mode (and
/// the owner a caller hands it to next) would be its target's.
pub fn create_dir(dir: &Path, mode: u32) -> Result<()> {
    refuse_link(dir)?;
    fs::create_dir_all(dir).context(|| format!("could not create `{}`", dir.display()))?;
    // Created between the check and here, or anything else.
    refuse_link(dir)?;
    fs::set_permissions(dir, fs::Permissions::from_mode(mode))
        .context(|| format!("could not set the mode of `{}`", dir.display()))
}

/// Remove a directory tree; absent is fine. A symbolic link is removed,
/// not followed.
pub fn remove_dir(dir: &Path) -> Result<()> {
    if dir.is_symlink() {
        return fs::remove_file(dir).context(|| format!("could not remove `{}`", dir.display()));
    }
    match fs::remove_dir_all(dir) {
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
            Err(e).context(|| format!("could not remove `{}`", dir.display()))
        }
        _ => Ok(()),
    }
}

/// Remove a directory tree so that a crash midway leaves it whole or gone,
/// never half: it is renamed aside first (`.<name>.removing-<pid>`), then
/// deleted. [`remove_leftovers`] finishes what a crash interrupted.
pub fn remove_dir_atomically(dir: &Path) -> Result<()> {
    if dir.is_symlink() {
        return fs::remove_file(dir).context(|| format!("could not remove `{}`", dir.display()));
    }
    if !dir.exists() {
        return Ok(());
    }
    let parent = dir.parent().unwrap_or(Path::new("."));
    let name = dir.file_name().and_then(|n| n.to_str()).unwrap_or("dir");
    let aside = parent.join(format!(
        ".{name}{REMOVING}{}-{}",
        std::process::id(),
        unique()
    ));
    fs::rename(dir, &aside).context(|| format!("could not remove `{}`", dir.display()))?;
    sync_dir(parent).context(|| format!("could not sync `{}`", parent.display()))?;
    // Named without numbers (a data generation's, a process id: `db.g3`
    // is `db.gN`), so a test's list of points holds from run to run.
    crate::kill_point::reached(|| {
        let mut stable = String::new();
        for c in name.chars() {
            match (c.is_ascii_digit(), stable.ends_with('N')) {
                (true, true) => {}
                (true, false) => stable.push('N'),
                (false, _) => stable.push(c),
            }
        }
        format!("removing {stable}")
    });
    remove_dir(&aside)
}

/// What marks a directory being removed by [`remove_dir_atomically`].
const REMOVING: &str = ".removing-";

/// Delete what interrupted [`remove_dir_atomically`] calls left in
/// `parent`, a directory that is berth's throughout.
pub fn remove_leftovers(parent: &Path) -> Result<()> {
    remove_leftovers_where(parent, |name| {
        name.starts_with('.') && name.contains(REMOVING)
    })
}

/// Delete what an interrupted [`remove_dir_atomically`] of `parent/name`
/// left, and nothing else of `parent`, which may hold anything.
pub fn remove_leftovers_of(parent: &Path, name: &str) -> Result<()> {
    let prefix = format!(".{name}{REMOVING}");
    remove_leftovers_where(parent, |n| n.starts_with(&prefix))
}

fn remove_leftovers_where(parent: &Path, ours: impl Fn(&str) -> bool) -> Result<()> {
    let Ok(entries) = fs::read_dir(parent) else {
        return Ok(());
    };
    for entry in entries.flatten() {
        if ours(&entry.file_name().to_string_lossy()) {
            remove_dir(&entry.path())?;
        }
    }
    Ok(())
}

/// The last `n` lines of a text file (empty when it cannot be read).
pub fn tail_lines(path: &Path, n: usize) -> Vec<String> {
    let Ok(bytes) = fs::read(path) else {
        return Vec::new();
    };
    let start = bytes.len().saturating_sub(64 * 1024);
    last_lines(&String::from_utf8_lossy(&bytes[start..]), n)
}

/// The last `n` lines of `text` (a program's output, for an error).
pub fn last_lines(text: &str, n: usize) -> Vec<String> {
    let lines: Vec<&str> = text.lines().collect();
    lines[lines.len().saturating_sub(n)..]
        .iter()
        .map(|l| l.to_string())
        .collect()
}

fn unique() -> u64 {
    use std::sync::atomic::{AtomicU64, Ordering};
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    COUNTER.fetch_add(1, Ordering::Relaxed)
}
