//! The user servers run as. PostgreSQL refuses to run as root, and a dev
//! database has no business running as root anyway, so when berth runs as
//! root it starts servers as `BERTH_SERVICE_USER`, else the user who ran
//! `sudo`, else `nobody`. Otherwise servers run as berth's own user.

use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::Path;

use crate::error::{Error, Result};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServiceUser {
    pub name: String,
    pub uid: u32,
    pub gid: u32,
    /// Whether berth must switch to this user (it runs as root).
    pub switch: bool,
}

impl ServiceUser {
    pub fn choose() -> Result<ServiceUser> {
        // SAFETY: geteuid cannot fail.
        let euid = unsafe { libc::geteuid() };
        if euid != 0 {
            let mut me = lookup_uid(euid).unwrap_or(ServiceUser {
                name: euid.to_string(),
                uid: euid,
                gid: unsafe { libc::getegid() },
                switch: false,
            });
            me.switch = false;
            return Ok(me);
        }
        let (name, source) = match std::env::var("BERTH_SERVICE_USER") {
            Ok(n) if !n.is_empty() => (n, "BERTH_SERVICE_USER"),
            _ => match std::env::var("SUDO_USER") {
                Ok(n) if !n.is_empty() && n != "root" => (n, "SUDO_USER"),
                _ => ("nobody".to_string(), "the default for root"),
            },
        };
        let user = lookup_name(&name).ok_or_else(|| Error::Preflight {
            service: None,
            message: format!("user `{name}` ({source}) does not exist on this machine"),
            hint: Some("set `BERTH_SERVICE_USER` to an existing unprivileged user; servers do not run as root".into()),
        })?;
        if user.uid == 0 {
            return Err(Error::Preflight {
                service: None,
                message: format!("user `{name}` ({source}) is root; servers do not run as root"),
                hint: Some("set `BERTH_SERVICE_USER` to an unprivileged user".into()),
            });
        }
        Ok(ServiceUser {
            switch: true,
            ..user
        })
    }

    /// Make `path` belong to this user (only when switching users). A
    /// link there is refused, not followed: its target would be handed
    /// over.
    pub fn own(&self, path: &Path) -> Result<()> {
        if self.switch {
            crate::fsutil::refuse_link(path)?;
            std::os::unix::fs::lchown(path, Some(self.uid), Some(self.gid)).map_err(|e| {
                Error::io(
                    format!(
                        "could not hand `{}` to user `{}`",
                        path.display(),
                        self.name
                    ),
                    e,
                )
            })?;
        }
        Ok(())
    }

    /// Why servers could not enter `path`: berth runs as root, they as an
    /// unprivileged user, and a directory on the way is closed to it.
    pub fn shut_out_of(path: &Path) -> Option<String> {
        let user = ServiceUser::choose().ok().filter(|u| u.switch)?;
        let blocked = user.blocked_at(path)?;
        Some(user.cannot_enter(&blocked))
    }

    /// "servers run as user `x` (berth runs as root), who cannot enter `dir`"
    pub fn cannot_enter(&self, blocked: &Path) -> String {
        format!(
            "servers run as user `{}` (berth runs as root), who cannot enter `{}`",
            self.name,
            blocked.display()
        )
    }

    /// The first directory on the way to `path` that this user cannot
    /// enter, if any.
    pub fn blocked_at(&self, path: &Path) -> Option<std::path::PathBuf> {
        if !self.switch {
            return None;
        }
        for dir in path.ancestors().collect::<Vec<_>>().into_iter().rev() {
            let Ok(meta) = std::fs::metadata(dir) else {
                continue;
            };
            let mode = meta.permissions().mode();
            let can = if meta.uid() == self.uid {
                mode & 0o100 != 0
            } else if meta.gid() == self.gid {
                mode & 0o010 != 0
            } else {
                mode & 0o001 != 0
            };
            if !can {
                return Some(dir.to_path_buf());
            }
        }
        None
    }
}

fn lookup_name(name: &str) -> Option<ServiceUser> {
    crate::os_user::by_name(name).map(ServiceUser::from)
}

fn lookup_uid(uid: u32) -> Option<ServiceUser> {
    crate::os_user::by_uid(uid).map(ServiceUser::from)
}

impl From<crate::os_user::Account> for ServiceUser {
    fn from(a: crate::os_user::Account) -> ServiceUser {
        ServiceUser {
            name: a.name,
            uid: a.uid,
            gid: a.gid,
            switch: false,
        }
    }
}
