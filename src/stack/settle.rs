//! Ports and passwords the stack file leaves open, chosen once and kept in
//! the stack's state, so they are stable across restarts.

use std::net::TcpListener;

use crate::config::model::{PortSetting, StackConfig};
use crate::error::{IoContext, Result};
use crate::plan::service_plan::LOOPBACK;
use crate::preflight::ports;
use crate::secret::{generate, state_key};
use crate::state::State;

/// Choose and record what `state` lacks. Returns whether `state` changed.
pub fn settle(config: &StackConfig, state: &mut State) -> Result<bool> {
    let before = state.clone();
    for svc in &config.services {
        if svc.port == PortSetting::Auto && !state.ports.contains_key(&svc.name) {
            state.ports.insert(svc.name.clone(), free_port()?);
        }
        for secret in svc.settings.secrets() {
            let key = state_key(&svc.name, secret.name);
            if secret.configured.is_none() && !state.passwords.contains_key(&key) {
                state.passwords.insert(key, generate(secret.form)?);
            }
        }
    }
    Ok(*state != before)
}

/// Move a service's chosen port elsewhere (its port was taken meanwhile).
pub fn move_port(config: &StackConfig, state: &mut State, service: &str) -> Result<u16> {
    state.ports.remove(service);
    settle(config, state)?;
    Ok(state.ports.get(service).copied().unwrap_or(0))
}

/// Where chosen ports are drawn from: below the kernel's usual ephemeral
/// range, above most well-known servers' ports.
const CHOSEN_PORTS: std::ops::RangeInclusive<u16> = 15000..=29999;

/// Draws from [`CHOSEN_PORTS`] before leaving the choice to the kernel.
const DRAWS: usize = 64;

/// A free loopback port, outside the kernel's ephemeral range where it can
/// be. Every outgoing connection takes its local port from that range, and
/// one made between the choosing and the server's own bind (a test suite
/// makes thousands) would leave the server "address already in use"; a
/// port outside it is taken only by something that asks for it by number.
/// Drawn at random from [`CHOSEN_PORTS`] less the ephemeral range, then
/// checked free; the kernel's choice (from that range) when no draw is.
pub fn free_port() -> Result<u16> {
    let (low, high) = ephemeral_range();
    let span = CHOSEN_PORTS.end() - CHOSEN_PORTS.start() + 1;
    for _ in 0..DRAWS {
        let mut bytes = [0u8; 2];
        if getrandom::getrandom(&mut bytes).is_err() {
            break;
        }
        let port = CHOSEN_PORTS.start() + u16::from_le_bytes(bytes) % span;
        if !(low..=high).contains(&port) && ports::is_free(port) {
            return Ok(port);
        }
    }
    kernel_port()
}

/// The kernel's ephemeral port range (`ip_local_port_range`), or Linux's
/// default where it cannot be read.
fn ephemeral_range() -> (u16, u16) {
    let text =
        std::fs::read_to_string("/proc/sys/net/ipv4/ip_local_port_range").unwrap_or_default();
    let mut bounds = text.split_whitespace().filter_map(|n| n.parse().ok());
    match (bounds.next(), bounds.next()) {
        (Some(low), Some(high)) => (low, high),
        _ => (32768, 60999),
    }
}

/// A free loopback port of the kernel's choosing.
fn kernel_port() -> Result<u16> {
    let listener =
        TcpListener::bind((LOOPBACK, 0)).context(|| "could not find a free port".into())?;
    Ok(listener
        .local_addr()
        .context(|| "could not find a free port".into())?
        .port())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chosen_ports_are_free_and_outside_the_ephemeral_range() {
        let (low, high) = ephemeral_range();
        for _ in 0..20 {
            let port = free_port().unwrap();
            let outside = !(low..=high).contains(&port);
            // The kernel's choice only when the whole draw range is
            // ephemeral on this machine.
            let all_ephemeral = low <= *CHOSEN_PORTS.start() && high >= *CHOSEN_PORTS.end();
            assert!(outside || all_ephemeral, "{port} in {low}..={high}");
            assert!(
                TcpListener::bind((LOOPBACK, port)).is_ok(),
                "{port} is free"
            );
        }
    }
}
