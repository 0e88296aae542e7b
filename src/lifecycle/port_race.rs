//! A port berth chose, taken between the choosing and the server's own
//! bind: `up`'s preflight finds it free, and a moment later another
//! program (another berth choosing at the same time, a container the
//! engine is starting) holds it. berth cannot hold a port for a server it
//! has not started yet, so `up` recognizes the failure by what the engine
//! or the server says, moves the port and tries once more.

use crate::config::model::{PortSetting, StackConfig};
use crate::error::Error;

/// What the engine and the servers say when a port is taken: the kernel's
/// `EADDRINUSE` (a server's own bind, Docker's userland proxy) and
/// Docker's port allocator.
const TAKEN: [&str; 2] = ["address already in use", "port is already allocated"];

/// The service whose chosen port was taken as it started, if that is what
/// `error` says. A port the stack file or the environment fixed is not
/// berth's to move.
pub fn lost_at_start(error: &Error, config: &StackConfig) -> Option<String> {
    let (service, mut said) = match error {
        Error::Service { service, .. } => (service, String::new()),
        Error::ServiceExited {
            service, log_tail, ..
        } => (service, log_tail.join("\n")),
        _ => return None,
    };
    let mut cause: Option<&dyn std::error::Error> = Some(error);
    while let Some(e) = cause {
        said.push('\n');
        said.push_str(&e.to_string());
        cause = e.source();
    }
    let said = said.to_lowercase();
    let chosen = config
        .service(service)
        .is_some_and(|c| c.port == PortSetting::Auto && c.port_from_env.is_none());
    (chosen && TAKEN.iter().any(|t| said.contains(t))).then(|| service.clone())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::load;
    use crate::config::model::LoadOptions;

    fn config() -> StackConfig {
        let text = "name = \"race\"\n[services.db]\nkind = \"postgres\"\nport = 5439\n[services.cache]\nkind = \"redis\"\nport = \"auto\"\n";
        load::parse(
            std::path::Path::new("/race/berth.toml"),
            text.to_string(),
            &LoadOptions::default(),
            &|_| None,
        )
        .unwrap()
    }

    fn start_failed(service: &str, engine_said: &str) -> Error {
        Error::Service {
            service: service.into(),
            message: "could not start its container".into(),
            hint: None,
            source: crate::error::cause(std::io::Error::other(engine_said.to_string())),
        }
    }

    // The engine's and the servers' words, as they were seen.
    const PROXY: &str = "Docker responded with status code 500: driver failed programming external connectivity on endpoint berth-race-cache (60540e41): Error starting userland proxy: listen tcp4 127.0.0.1:40341: bind: address already in use";
    const ALLOCATOR: &str = "Docker responded with status code 500: driver failed programming external connectivity on endpoint berth-race-cache (60540e41): Bind for 127.0.0.1:24809 failed: port is already allocated";

    #[test]
    fn a_chosen_port_taken_at_start_is_recognized_from_the_engine_or_the_log() {
        let config = config();
        for said in [PROXY, ALLOCATOR] {
            assert_eq!(
                lost_at_start(&start_failed("cache", said), &config).as_deref(),
                Some("cache"),
                "{said}"
            );
        }
        let exited = Error::ServiceExited {
            service: "cache".into(),
            status: "exit code 1".into(),
            log: "/race/.berth/race/logs/cache.log".into(),
            log_tail: vec![
                "# Warning: Could not create server TCP listening socket 127.0.0.1:24809: bind: Address already in use".into(),
                "# Failed listening on port 24809 (tcp), aborting.".into(),
            ],
        };
        assert_eq!(lost_at_start(&exited, &config).as_deref(), Some("cache"));
    }

    #[test]
    fn a_fixed_port_or_another_failure_is_not_moved() {
        let config = config();
        assert_eq!(lost_at_start(&start_failed("db", PROXY), &config), None);
        assert_eq!(
            lost_at_start(&start_failed("cache", "no such image"), &config),
            None
        );
        assert_eq!(lost_at_start(&Error::Interrupted, &config), None);
    }
}
