//! A database to migrate: where it answers, how to log in, where its files
//! are.

use std::time::Duration;

use postgres::Client;

use super::files::SqlDir;
use crate::client::endpoint::Endpoint;
use crate::client::postgres::{self as pg, DatabaseError, Login};
use crate::error::{cause, Error, Result};

#[derive(Debug, Clone)]
pub struct Target {
    pub service: String,
    /// On TCP, where anyone with the password gets in.
    pub endpoint: Endpoint,
    /// The server's Unix socket directory (as the host) and port, when
    /// this process's account logs in over it by peer authentication:
    /// quicker, with no password exchanged. See [`Target::reach`].
    pub local: Option<Endpoint>,
    pub user: String,
    pub password: Option<String>,
    pub database: String,
    pub migrations: SqlDir,
    pub seeds: SqlDir,
}

impl Target {
    /// The same service, another database (a test's template, say).
    pub fn with_database(&self, database: &str) -> Target {
        Target {
            database: database.to_string(),
            ..self.clone()
        }
    }

    /// Where berth's own connections go: the socket when there is one
    /// for this process, else TCP.
    pub fn reach(&self) -> &Endpoint {
        self.local.as_ref().unwrap_or(&self.endpoint)
    }

    /// Its credentials, for `database` on the same server.
    pub fn login_to<'a>(&'a self, database: &'a str) -> Login<'a> {
        Login {
            user: &self.user,
            password: self.password.as_deref(),
            database,
        }
    }

    pub fn connect(&self) -> Result<Client> {
        let login = self.login_to(&self.database);
        pg::connect(self.reach(), &login, Duration::from_secs(5)).map_err(|e| Error::Migrate {
            service: self.service.clone(),
            message: format!(
                "database `{}` at {} did not answer",
                self.database, self.endpoint
            ),
            hint: Some("start the stack with `berth up`".into()),
            source: cause(DatabaseError(e)),
        })
    }
}

/// A database error while migrating `service`: the server's words are
/// the cause.
pub fn database_error(service: &str, e: postgres::Error) -> Error {
    Error::Migrate {
        service: service.to_string(),
        message: "its database failed a request".into(),
        hint: None,
        source: cause(DatabaseError(e)),
    }
}
