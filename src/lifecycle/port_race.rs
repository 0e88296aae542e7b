//! A port berth chose, taken between the choosing and the server's own
//! bind: `up`'s preflight finds it free, and a moment later another
//! program (another berth choosing at the same time, a container the
//! engine is starting) holds it. berth cannot hold a port for a server it
//! has not started yet, so when the runtime says a start failed that way
//! (`Runtime::lost_port`, in its engine's or server's words), `up` moves
//! the port and tries once more.

use crate::config::model::{PortSetting, StackConfig};

/// Whether `service`'s port is berth's to move: chosen by berth, not fixed
/// by the stack file or the environment.
pub fn chosen(config: &StackConfig, service: &str) -> bool {
    config
        .service(service)
        .is_some_and(|c| c.port == PortSetting::Auto && c.port_from_env.is_none())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::load;
    use crate::config::model::LoadOptions;

    #[test]
    fn only_a_port_berth_chose_is_moved() {
        let text = "name = \"race\"\n[services.db]\nkind = \"postgres\"\nport = 5439\n[services.cache]\nkind = \"redis\"\nport = \"auto\"\n";
        let config = load::parse(
            std::path::Path::new("/race/berth.toml"),
            text.to_string(),
            &LoadOptions::default(),
            &|_| None,
        )
        .unwrap();
        assert!(chosen(&config, "cache"));
        assert!(!chosen(&config, "db"));
        assert!(!chosen(&config, "absent"));
    }
}
