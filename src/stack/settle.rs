//! Ports and passwords the stack file leaves open, chosen once and kept in
//! the stack's state, so they are stable across restarts.

use std::net::TcpListener;

use crate::config::model::{PortSetting, StackConfig};
use crate::error::{IoContext, Result};
use crate::plan::service_plan::LOOPBACK;
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

/// Ask the OS for a free loopback port.
pub fn free_port() -> Result<u16> {
    let listener =
        TcpListener::bind((LOOPBACK, 0)).context(|| "could not find a free port".into())?;
    Ok(listener
        .local_addr()
        .context(|| "could not find a free port".into())?
        .port())
}
