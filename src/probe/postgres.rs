//! PostgreSQL: log in with the stack's own credentials and run `SELECT 1`.

use std::time::Duration;

use postgres::{Client, Config, NoTls};

use crate::kind::Endpoint;

pub struct Login<'a> {
    pub user: &'a str,
    pub password: Option<&'a str>,
    pub database: &'a str,
}

pub fn connect(
    endpoint: &Endpoint,
    login: &Login,
    timeout: Duration,
) -> Result<Client, postgres::Error> {
    let mut config = Config::new();
    config
        .host(&endpoint.host)
        .port(endpoint.port)
        .user(login.user)
        .dbname(login.database)
        .application_name("berth")
        .connect_timeout(timeout);
    if let Some(p) = login.password {
        config.password(p);
    }
    config.connect(NoTls)
}

pub fn probe(endpoint: &Endpoint, login: &Login) -> Result<(), String> {
    let mut client = connect(endpoint, login, Duration::from_secs(2)).map_err(|e| describe(&e))?;
    client.simple_query("SELECT 1").map_err(|e| describe(&e))?;
    Ok(())
}

/// The server's own words when it sent an error, else the client's.
pub fn describe(e: &postgres::Error) -> String {
    match e.as_db_error() {
        Some(db) => {
            let mut s = format!("{}: {}", db.severity(), db.message());
            if let Some(d) = db.detail() {
                s.push_str(&format!(" ({d})"));
            }
            s
        }
        None => {
            let mut s = e.to_string();
            let mut source = std::error::Error::source(e);
            while let Some(inner) = source {
                s.push_str(&format!(": {inner}"));
                source = inner.source();
            }
            s
        }
    }
}
