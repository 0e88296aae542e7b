//! How to run a service as a container: the image and its contract (the
//! official image's environment variables, data path and arguments), and
//! the ports and volumes the container gets.

use std::path::{Path, PathBuf};

use super::stop::StopSignal;

#[derive(Debug, Clone)]
pub struct ContainerLaunch {
    /// The image as named (`postgres:15`): the kind's default unless the
    /// stack file names one.
    pub image: String,
    /// The image id `berth.lock` pins, which runs instead of the tag.
    pub pinned: Option<String>,
    pub env: Vec<(String, String)>,
    /// Arguments after the image's entrypoint; none keeps the image's own.
    pub args: Vec<String>,
    /// The port the server listens on inside the container.
    pub port: u16,
    /// More ports published on loopback.
    pub extra_ports: Vec<PortMapping>,
    /// Where the image keeps its data (a named volume when persistent).
    pub data_path: Option<&'static str>,
    /// More named volumes and bind mounts (generic services).
    pub volumes: Vec<Volume>,
    /// Files put into the container before it starts (configuration the
    /// image reads).
    pub files: Vec<ContainerFile>,
    pub stop_signal: StopSignal,
    /// An engine health check in the engine's form (`["CMD-SHELL", "..."]`),
    /// so `docker ps` shows health; berth itself never waits on it.
    pub health: Option<Vec<String>>,
    /// How a new data volume can be copied from one the image initialized
    /// once, instead of the image initializing every new volume.
    pub template: Option<VolumeTemplate>,
}

/// A kind's side of making a new data volume from a template: the image
/// initializes a template volume once (with a throwaway secret, which is
/// then removed), and every new data volume of the same image and settings
/// starts as a copy of it and gets its own secret before anything can log
/// in. Commands run inside the container, with its shell and tools.
#[derive(Debug, Clone)]
pub struct VolumeTemplate {
    /// The environment the template is initialized with: the launch's,
    /// its secret replaced by a throwaway one.
    pub env: Vec<(String, String)>,
    /// Which of `env` is the throwaway secret (left out of the labels).
    pub secret_var: &'static str,
    /// Succeeds when the image leaves the template as it would leave any
    /// new volume: fails for an image with init scripts of its own (they
    /// might depend on the secret, or on running per volume).
    pub usable: Vec<String>,
    /// Succeeds once the real server answers (not an init-time one).
    pub ready: Vec<String>,
    /// Removes the throwaway secret from the template.
    pub forget_secret: Vec<String>,
    /// Gives a new volume's server the stack's own secret.
    pub set_secret: Vec<String>,
}

impl ContainerLaunch {
    /// What the container runs: the pinned image id, else the named image.
    pub fn image_to_run(&self) -> &str {
        self.pinned.as_deref().unwrap_or(&self.image)
    }
}

/// A file put into a container before it starts.
#[derive(Debug, Clone)]
pub struct ContainerFile {
    /// Absolute, inside the container.
    pub path: String,
    pub contents: String,
    pub mode: u32,
}

/// `"HOST:CONTAINER"`: an extra port published on loopback.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PortMapping {
    pub host: u16,
    pub container: u16,
}

impl PortMapping {
    pub fn parse(text: &str) -> Result<PortMapping, String> {
        let bad = || {
            format!(
                "`{text}` is not a port mapping; write `\"HOST:CONTAINER\"`, like `\"9001:9001\"`"
            )
        };
        let (host, container) = text.split_once(':').ok_or_else(bad)?;
        let port = |p: &str| p.trim().parse::<u16>().ok().filter(|p| *p > 0);
        Ok(PortMapping {
            host: port(host).ok_or_else(bad)?,
            container: port(container).ok_or_else(bad)?,
        })
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum VolumeSource {
    /// A named volume berth creates, keeps on `down` and removes on `reset`.
    Named(String),
    /// A host path (absolute, or relative to the stack file), never removed.
    Bind(PathBuf),
}

/// `"NAME:/path"` or `"./dir:/path[:ro]"`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Volume {
    pub source: VolumeSource,
    pub target: String,
    pub read_only: bool,
}

impl Volume {
    /// Parse a volume; a relative host path is taken from `root`.
    pub fn parse(text: &str, root: &Path) -> Result<Volume, String> {
        let bad = |why: &str| {
            format!("`{text}` is not a volume: {why}; write `\"NAME:/path\"` for a named volume or `\"./dir:/path[:ro]\"` for a bind mount")
        };
        let parts: Vec<&str> = text.split(':').collect();
        let (source, target, read_only) = match parts.as_slice() {
            [s, t] => (*s, *t, false),
            [s, t, "ro"] => (*s, *t, true),
            [s, t, "rw"] => (*s, *t, false),
            [_, _, mode] => {
                return Err(bad(&format!("the mode `{mode}` is neither `ro` nor `rw`")))
            }
            _ => return Err(bad("expected SOURCE:TARGET")),
        };
        if !target.starts_with('/') {
            return Err(bad("the path inside the container must be absolute"));
        }
        let source = if source.starts_with('/')
            || source.starts_with('.')
            || source.starts_with('~')
        {
            let path = match source.strip_prefix("~/") {
                Some(rest) => std::env::var_os("HOME")
                    .map(PathBuf::from)
                    .unwrap_or_default()
                    .join(rest),
                None => root.join(source),
            };
            VolumeSource::Bind(path)
        } else if !source.is_empty()
            // The engines' rule: Nextcloud's examples name one `vhost.d`.
            && source
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_' || c == '.')
        {
            VolumeSource::Named(source.to_string())
        } else {
            return Err(bad("a volume name uses letters, digits, `-`, `_` and `.`; a host path starts with `/` or `.`"));
        };
        Ok(Volume {
            source,
            target: target.to_string(),
            read_only,
        })
    }
}

/// The image tag for a version constraint: its first number (`"15"`,
/// `">=15, <17"` → `15`), else `fallback`.
pub fn image_tag(version_text: Option<&str>, fallback: &str) -> String {
    version_text
        .and_then(|v| {
            let digits: String = v
                .chars()
                .skip_while(|c| !c.is_ascii_digit())
                .take_while(|c| c.is_ascii_digit())
                .collect();
            (!digits.is_empty()).then_some(digits)
        })
        .unwrap_or_else(|| fallback.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_volumes_and_ports() {
        let root = Path::new("/stack");
        let v = Volume::parse("./conf:/etc/app:ro", root).unwrap();
        assert_eq!(v.source, VolumeSource::Bind(PathBuf::from("/stack/./conf")));
        assert!(v.read_only);
        let v = Volume::parse("minio-data:/data", root).unwrap();
        assert_eq!(v.source, VolumeSource::Named("minio-data".into()));
        assert!(Volume::parse("data:relative", root).is_err());
        assert!(Volume::parse("data:/x:rx", root).is_err());
        assert_eq!(
            Volume::parse("vhost.d:/etc/nginx/vhost.d", root)
                .unwrap()
                .source,
            VolumeSource::Named("vhost.d".into()),
            "a name the engines take"
        );
        assert!(Volume::parse("a b:/x", root).is_err());
        assert_eq!(
            PortMapping::parse("9001:9000").unwrap(),
            PortMapping {
                host: 9001,
                container: 9000
            }
        );
        assert!(PortMapping::parse("9001").is_err());
        assert_eq!(image_tag(Some(">=15, <17"), "17"), "15");
        assert_eq!(image_tag(None, "17"), "17");
    }
}
