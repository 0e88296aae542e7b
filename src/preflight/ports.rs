//! Is a port free, and if not, who holds it.
//!
//! The holder comes from `/proc/net/tcp{,6}` (the listening socket's inode)
//! and `/proc/<pid>/fd` (which process has that inode open). This is done
//! by hand because it is two small file formats; the crates that do it pull
//! in far more than berth needs. Processes of other users are only visible
//! to root, so the holder may be unknown.

use std::net::TcpListener;

use crate::plan::service_plan::LOOPBACK;

/// Whether berth could listen on the port on loopback now.
pub fn is_free(port: u16) -> bool {
    TcpListener::bind((LOOPBACK, port)).is_ok()
}

/// A description of the process listening on `port`, like
/// "`redis-server` (pid 4242)", when the OS tells.
pub fn holder(port: u16) -> Option<String> {
    let inodes = listening_inodes(port);
    if inodes.is_empty() {
        return None;
    }
    let pid = std::fs::read_dir("/proc")
        .ok()?
        .flatten()
        .find_map(|entry| {
            let pid: i32 = entry.file_name().to_str()?.parse().ok()?;
            let fds = std::fs::read_dir(entry.path().join("fd")).ok()?;
            fds.flatten()
                .filter_map(|fd| std::fs::read_link(fd.path()).ok())
                .any(|target| {
                    let t = target.to_string_lossy();
                    inodes.iter().any(|i| t == format!("socket:[{i}]"))
                })
                .then_some(pid)
        });
    Some(match pid {
        Some(pid) => {
            let name = process_name(pid).unwrap_or_else(|| "?".into());
            format!("`{name}` (pid {pid})")
        }
        None => {
            "a process berth cannot see (another user's; run `ss -ltnp` as root to find it)".into()
        }
    })
}

/// The name of a process (`/proc/<pid>/comm`).
fn process_name(pid: i32) -> Option<String> {
    std::fs::read_to_string(format!("/proc/{pid}/comm"))
        .ok()
        .map(|s| s.trim().to_string())
}

fn listening_inodes(port: u16) -> Vec<String> {
    let mut inodes = Vec::new();
    for table in ["/proc/net/tcp", "/proc/net/tcp6"] {
        let Ok(text) = std::fs::read_to_string(table) else {
            continue;
        };
        for line in text.lines().skip(1) {
            let fields: Vec<&str> = line.split_whitespace().collect();
            // local_address is "ADDR:PORT" in hex; state 0A is LISTEN.
            let (Some(local), Some(state), Some(inode)) =
                (fields.get(1), fields.get(3), fields.get(9))
            else {
                continue;
            };
            let listening_port = local
                .rsplit(':')
                .next()
                .and_then(|p| u16::from_str_radix(p, 16).ok());
            if *state == "0A" && listening_port == Some(port) && *inode != "0" {
                inodes.push(inode.to_string());
            }
        }
    }
    inodes
}

#[cfg(test)]
mod tests {
    #[test]
    fn names_the_holder_of_a_taken_port() {
        let l = std::net::TcpListener::bind(("127.0.0.1", 0)).unwrap();
        let port = l.local_addr().unwrap().port();
        assert!(!super::is_free(port));
        let holder = super::holder(port).expect("a holder");
        assert!(
            holder.contains(&format!("pid {}", std::process::id())),
            "{holder}"
        );
    }
}
