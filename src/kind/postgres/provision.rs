//! Setting up a ready PostgreSQL: roles, databases, extensions.
//!
//! Every step may find its work already done, or being done: by an earlier
//! `up` that was killed halfway, or by one whose `CREATE DATABASE` is still
//! committing in a server backend after its client died (a second one then
//! waits for it and fails as a duplicate). Each object is created only if
//! missing, and a duplicate is taken as what it is — the object exists — so
//! provisioning can be repeated and resumed at any point.

use std::time::Duration;

use postgres::error::SqlState;
use postgres::Client;
use serde::Deserialize;

use crate::client::endpoint::Endpoint;
use crate::client::postgres::{self as pg, quote_ident, quote_literal, DatabaseError, Login};
use crate::error::{cause, Error, Result};
use crate::kill_point;
use crate::kind::contract::ServiceContext;

/// The database probes and provisioning connect to; initdb always creates it.
pub const MAINTENANCE_DB: &str = "postgres";

/// How often a creation is retried after finding a duplicate (each retry
/// first checks whether the object now exists).
const ATTEMPTS: usize = 3;

/// A role the stack file asks for (`roles = [{ name = "reader", ... }]`).
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Role {
    pub name: String,
    pub password: Option<String>,
    #[serde(default = "yes")]
    pub login: bool,
    #[serde(default)]
    pub superuser: bool,
}

fn yes() -> bool {
    true
}

impl Role {
    /// `LOGIN NOSUPERUSER PASSWORD '...'`: what `CREATE`/`ALTER ROLE` says.
    fn options(&self) -> String {
        let mut options = vec![
            if self.login { "LOGIN" } else { "NOLOGIN" }.to_string(),
            if self.superuser {
                "SUPERUSER"
            } else {
                "NOSUPERUSER"
            }
            .to_string(),
        ];
        if let Some(pw) = &self.password {
            options.push(format!("PASSWORD {}", quote_literal(pw)));
        }
        options.join(" ")
    }
}

/// What to set up.
pub struct Wanted<'a> {
    pub user: &'a str,
    /// The SCRAM verifier to store for the user's password.
    pub verifier: Option<String>,
    pub database: &'a str,
    pub databases: &'a [String],
    pub extensions: &'a [String],
    pub roles: &'a [Role],
}

pub fn run(wanted: &Wanted, ctx: &ServiceContext, at: &Endpoint) -> Result<()> {
    let fail = |message: String, e: postgres::Error, hint: Option<String>| Error::Provision {
        service: ctx.name.to_string(),
        message,
        hint,
        source: cause(DatabaseError(e)),
    };
    let login = |database| Login {
        user: wanted.user,
        password: ctx.password,
        database,
    };
    let mut admin = pg::connect(at, &login(MAINTENANCE_DB), Duration::from_secs(5))
        .map_err(|e| fail("could not connect".into(), e, None))?;
    if let Some(verifier) = &wanted.verifier {
        kill_point::reached(|| format!("{}:verifier", ctx.name));
        // The same password, stored with berth's salt: a pooler holding the
        // verifier can then log in for the clients it authenticated.
        let sql = format!(
            "ALTER ROLE {} PASSWORD {}",
            quote_ident(wanted.user),
            quote_literal(verifier)
        );
        admin
            .batch_execute(&sql)
            .map_err(|e| fail("could not set the password's verifier".into(), e, None))?;
    }
    for role in wanted.roles {
        kill_point::reached(|| format!("{}:role {}", ctx.name, role.name));
        ensure_role(&mut admin, role).map_err(|e| {
            fail(
                format!("could not create or alter role `{}`", role.name),
                e,
                None,
            )
        })?;
    }
    for db in std::iter::once(wanted.database).chain(wanted.databases.iter().map(String::as_str)) {
        kill_point::reached(|| format!("{}:database {db}", ctx.name));
        ensure_database(&mut admin, db, wanted.user)
            .map_err(|e| fail(format!("could not create database `{db}`"), e, None))?;
    }
    drop(admin);
    if wanted.extensions.is_empty() {
        return Ok(());
    }
    let mut client =
        pg::connect(at, &login(wanted.database), Duration::from_secs(5)).map_err(|e| {
            fail(
                format!("could not connect to database `{}`", wanted.database),
                e,
                None,
            )
        })?;
    for ext in wanted.extensions {
        kill_point::reached(|| format!("{}:extension {ext}", ctx.name));
        if let Err(e) = ensure_extension(&mut client, ext) {
            let hint = (e.code() == Some(&SqlState::UNDEFINED_FILE)
                || pg::describe(&e).contains("is not available"))
            .then(|| {
                format!("install the extension's package for this PostgreSQL (on Debian: `apt-get install postgresql-<major>-{ext}` or `postgresql-contrib`)")
            });
            return Err(fail(format!("could not create extension `{ext}`"), e, hint));
        }
    }
    Ok(())
}

/// The same setup as SQL for a new cluster, for servers berth does not
/// start itself (an exported stack): the official image runs it once, as
/// `POSTGRES_USER` in `POSTGRES_DB`, after `initdb`.
pub fn init_sql(wanted: &Wanted) -> String {
    let mut sql = String::from(
        "-- Written by berth: what `berth up` sets up on a new server, for the image to run once.\n",
    );
    if let Some(verifier) = &wanted.verifier {
        sql.push_str(&format!(
            "ALTER ROLE {} PASSWORD {};\n",
            quote_ident(wanted.user),
            quote_literal(verifier)
        ));
    }
    for role in wanted.roles {
        sql.push_str(&format!(
            "CREATE ROLE {} WITH {};\n",
            quote_ident(&role.name),
            role.options()
        ));
    }
    for db in wanted
        .databases
        .iter()
        .filter(|d| d.as_str() != wanted.database)
    {
        sql.push_str(&format!(
            "CREATE DATABASE {} OWNER {};\n",
            quote_ident(db),
            quote_ident(wanted.user)
        ));
    }
    for ext in wanted.extensions {
        sql.push_str(&format!(
            "CREATE EXTENSION IF NOT EXISTS {};\n",
            quote_ident(ext)
        ));
    }
    sql
}

/// Whether an error says the object exists already (made meanwhile by
/// another session, or committed by a killed run's backend).
fn is_duplicate(e: &postgres::Error) -> bool {
    matches!(
        e.code(),
        Some(c) if *c == SqlState::DUPLICATE_DATABASE
            || *c == SqlState::DUPLICATE_OBJECT
            || *c == SqlState::UNIQUE_VIOLATION
    )
}

fn ensure_database(client: &mut Client, name: &str, owner: &str) -> Result<(), postgres::Error> {
    let sql = format!(
        "CREATE DATABASE {} OWNER {}",
        quote_ident(name),
        quote_ident(owner)
    );
    for attempt in 1.. {
        let exists = !client
            .query("SELECT 1 FROM pg_database WHERE datname = $1", &[&name])?
            .is_empty();
        if exists {
            return Ok(());
        }
        match client.batch_execute(&sql) {
            Err(e) if is_duplicate(&e) && attempt < ATTEMPTS => continue,
            done => return done,
        }
    }
    Ok(())
}

fn ensure_role(client: &mut Client, role: &Role) -> Result<(), postgres::Error> {
    let options = role.options();
    let name = quote_ident(&role.name);
    for attempt in 1.. {
        let exists = !client
            .query("SELECT 1 FROM pg_roles WHERE rolname = $1", &[&role.name])?
            .is_empty();
        // An existing role is brought to what the stack file says.
        let verb = if exists { "ALTER" } else { "CREATE" };
        match client.batch_execute(&format!("{verb} ROLE {name} WITH {options}")) {
            Err(e) if !exists && is_duplicate(&e) && attempt < ATTEMPTS => continue,
            done => return done,
        }
    }
    Ok(())
}

fn ensure_extension(client: &mut Client, name: &str) -> Result<(), postgres::Error> {
    let sql = format!("CREATE EXTENSION IF NOT EXISTS {}", quote_ident(name));
    for attempt in 1.. {
        // IF NOT EXISTS still fails as a duplicate when another session
        // creates it at the same moment; the next attempt finds it.
        match client.batch_execute(&sql) {
            Err(e) if is_duplicate(&e) && attempt < ATTEMPTS => continue,
            done => return done,
        }
    }
    Ok(())
}
