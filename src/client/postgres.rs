//! PostgreSQL: connections with the stack's own credentials, the readiness
//! probe (a login and `SELECT 1`), and the server's errors in its own words.

use std::time::Duration;

use postgres::{Client, Config, NoTls};

use super::endpoint::Endpoint;

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

/// The most a probe waits, connection, login and query together.
pub const PROBE_TIMEOUT: Duration = Duration::from_secs(2);

/// A login and `SELECT 1`, within [`PROBE_TIMEOUT`] whatever the server
/// does (see [`super::deadline`]).
pub fn probe(endpoint: &Endpoint, login: &Login) -> Result<(), String> {
    let endpoint = endpoint.clone();
    let (user, password, database) = (
        login.user.to_string(),
        login.password.map(str::to_string),
        login.database.to_string(),
    );
    super::deadline::within(PROBE_TIMEOUT, move || {
        let login = Login {
            user: &user,
            password: password.as_deref(),
            database: &database,
        };
        let mut client = connect(&endpoint, &login, PROBE_TIMEOUT).map_err(|e| {
            if e.code() == Some(&postgres::error::SqlState::INVALID_PASSWORD) {
                format!("{}: {}", super::CREDENTIALS_REFUSED, describe(&e))
            } else {
                describe(&e)
            }
        })?;
        client.simple_query("SELECT 1").map_err(|e| describe(&e))?;
        Ok(())
    })
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

/// A database error as the cause of one of berth's errors (`Caused by:`),
/// shown in the server's words.
#[derive(Debug)]
pub struct DatabaseError(pub postgres::Error);

impl std::fmt::Display for DatabaseError {
    fn fmt(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.write_str(&describe(&self.0))
    }
}

impl std::error::Error for DatabaseError {}

/// `"name"`, with embedded quotes doubled.
pub fn quote_ident(s: &str) -> String {
    format!("\"{}\"", s.replace('"', "\"\""))
}

/// `'text'`, with embedded quotes doubled.
pub fn quote_literal(s: &str) -> String {
    format!("'{}'", s.replace('\'', "''"))
}
