//! `berth dashboard`: a local web page showing the stack live, the way
//! Supabase Studio and the .NET Aspire dashboard do, without a JavaScript
//! build: three plain files (`page/`) embedded in the binary.
//!
//! It listens on 127.0.0.1 only, and every request must carry the random
//! token of this run (in the URL berth prints, then in each request the
//! page makes): another local user or a web page in the browser cannot
//! read the connection values or press the buttons.
//!
//! Updates are server-sent events on `/events`: `overview` every second
//! ([`live::overview`]), `migrations` every five, and `log` for each new
//! line of a service's log. The buttons are POSTs ([`actions`]).

mod actions;
mod live;

use std::io::Write;
use std::time::{Duration, Instant};

use serde_json::json;
use tiny_http::{Header, Method, Request, Response, Server};

use crate::error::{Error, Result};
use crate::interrupt::Interrupt;
use crate::kind::contract::SecretForm;
use crate::lifecycle::inspect::{self, Logs};
use crate::lifecycle::status::CpuRates;
use crate::stack::resolved::Stack;

use super::context::Context;
use super::log_follower::Follower;

const PAGE: &str = include_str!("page/index.html");
const SCRIPT: &str = include_str!("page/app.js");
const STYLE: &str = include_str!("page/style.css");

/// How many lines of each log a page starts with.
const LOG_BACKLOG: usize = 200;

/// A running dashboard: where, and its token.
pub struct Dashboard {
    server: Server,
    token: String,
    pub url: String,
}

impl Dashboard {
    /// Listen on 127.0.0.1:`port` (0: any free port).
    pub fn bind(port: u16) -> Result<Dashboard> {
        let server = Server::http(("127.0.0.1", port)).map_err(|e| Error::Preflight {
            service: None,
            message: format!("the dashboard could not listen on 127.0.0.1:{port}: {e}"),
            hint: Some("choose another `--port`, or leave it out for a free one".into()),
        })?;
        let port = server.server_addr().to_ip().map_or(port, |a| a.port());
        let token = crate::secret::generate(SecretForm::Password)?;
        let url = format!("http://127.0.0.1:{port}/?token={token}");
        Ok(Dashboard { server, token, url })
    }

    /// Answer requests, each on a thread of its own, until `interrupt`.
    pub fn serve(self, ctx: &Context, interrupt: &Interrupt) -> Result<()> {
        std::thread::scope(|scope| {
            while !interrupt.requested() {
                let request = match self.server.recv_timeout(Duration::from_millis(200)) {
                    Ok(Some(r)) => r,
                    Ok(None) => continue,
                    Err(e) => return Err(Error::io("the dashboard stopped listening", e)),
                };
                let token = self.token.as_str();
                scope.spawn(move || handle(ctx, token, request, interrupt));
            }
            Ok(())
        })
    }
}

/// The value of `key` in a query string, decoded.
fn query_value(url: &str, key: &str) -> Option<String> {
    let query = url.split_once('?')?.1;
    url::form_urlencoded::parse(query.as_bytes())
        .find(|(k, _)| k == key)
        .map(|(_, v)| v.into_owned())
}

/// Whether the request carries this run's token (header, else query),
/// compared in constant time.
fn authorized(request: &Request, token: &str) -> bool {
    let given = request
        .headers()
        .iter()
        .find(|h| h.field.equiv("X-Berth-Token"))
        .map(|h| h.value.as_str().to_string())
        .or_else(|| query_value(request.url(), "token"));
    let Some(given) = given else {
        return false;
    };
    given.len() == token.len()
        && given
            .bytes()
            .zip(token.bytes())
            .fold(0u8, |acc, (a, b)| acc | (a ^ b))
            == 0
}

fn header(name: &str, value: &str) -> Header {
    // Names and values here are constants or generated ASCII.
    Header::from_bytes(name.as_bytes(), value.as_bytes())
        .unwrap_or_else(|_| Header::from_bytes("X-Invalid", "1").expect("a valid header"))
}

fn text(status: u16, content_type: &str, body: String) -> Response<std::io::Cursor<Vec<u8>>> {
    Response::from_string(body)
        .with_status_code(status)
        .with_header(header("Content-Type", content_type))
        .with_header(header("Cache-Control", "no-store"))
        .with_header(header("X-Content-Type-Options", "nosniff"))
}

fn json_response(status: u16, value: serde_json::Value) -> Response<std::io::Cursor<Vec<u8>>> {
    text(status, "application/json", value.to_string())
}

fn handle(ctx: &Context, token: &str, request: Request, interrupt: &Interrupt) {
    if !authorized(&request, token) {
        let _ = request.respond(text(
            403,
            "text/plain; charset=utf-8",
            "berth dashboard: this request lacks the token; open the URL `berth dashboard` printed\n"
                .into(),
        ));
        return;
    }
    let url = request.url().to_string();
    let path = url.split('?').next().unwrap_or("/").to_string();
    let method = request.method().clone();
    let response = match (&method, path.as_str()) {
        (Method::Get, "/") => text(
            200,
            "text/html; charset=utf-8",
            PAGE.replace("{{token}}", token),
        )
        .with_header(header(
            "Content-Security-Policy",
            "default-src 'self'; style-src 'self'; script-src 'self'; connect-src 'self'; img-src 'self' data:",
        )),
        (Method::Get, "/app.js") => text(200, "text/javascript; charset=utf-8", SCRIPT.into()),
        (Method::Get, "/style.css") => text(200, "text/css; charset=utf-8", STYLE.into()),
        (Method::Get, "/events") => return stream(ctx, request, interrupt),
        (Method::Get, "/api/reveal") => match query_value(&url, "name") {
            None => json_response(400, json!({ "error": "which value? `name` is missing" })),
            Some(name) => match live::reveal(ctx, &name) {
                Ok(Some(value)) => json_response(200, json!({ "name": name, "value": value })),
                Ok(None) => json_response(404, json!({ "error": format!("no value `{name}`") })),
                Err(e) => json_response(500, json!({ "error": e.to_string() })),
            },
        },
        (Method::Post, _) => match actions::Action::parse(&path, &|k| query_value(&url, k)) {
            None => json_response(404, json!({ "error": format!("no action `{path}`") })),
            Some(action) => match actions::perform(ctx, action) {
                Ok(message) => json_response(200, json!({ "ok": true, "message": message })),
                Err(e) => json_response(
                    409,
                    json!({ "ok": false, "error": e.to_string(), "hint": e.hint() }),
                ),
            },
        },
        _ => text(404, "text/plain; charset=utf-8", format!("no page `{path}`\n")),
    };
    let _ = request.respond(response);
}

/// The event stream of one page, until it goes away or the dashboard
/// stops. Written by hand on the connection: each event must leave at
/// once, which a buffered chunked body would not do.
fn stream(ctx: &Context, request: Request, interrupt: &Interrupt) {
    let mut out = request.into_writer();
    let head = "HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nCache-Control: no-store\r\nConnection: close\r\n\r\n";
    if out
        .write_all(head.as_bytes())
        .and_then(|()| out.flush())
        .is_err()
    {
        return;
    }
    let send = |out: &mut dyn Write, event: &str, data: &serde_json::Value| -> bool {
        write!(out, "event: {event}\ndata: {data}\n\n")
            .and_then(|()| out.flush())
            .is_ok()
    };
    let mut cpu = CpuRates::default();
    let mut logs: Option<LogStream> = None;
    let mut overview_at: Option<Instant> = None;
    let mut migrations_at: Option<Instant> = None;
    while !interrupt.requested() {
        if overview_at.is_none_or(|t| t.elapsed() >= Duration::from_secs(1)) {
            overview_at = Some(Instant::now());
            let data = live::overview(ctx, &mut cpu)
                .unwrap_or_else(|e| json!({ "error": e.to_string(), "hint": e.hint() }));
            if !send(&mut *out, "overview", &data) {
                return;
            }
        }
        if migrations_at.is_none_or(|t| t.elapsed() >= Duration::from_secs(5)) {
            migrations_at = Some(Instant::now());
            let data = live::migrations(ctx).unwrap_or_else(|e| json!({ "error": e.to_string() }));
            if !send(&mut *out, "migrations", &data) {
                return;
            }
        }
        if logs.is_none() {
            logs = LogStream::start(ctx, &mut *out, &send);
        }
        if let Some(stream) = &mut logs {
            let mut alive = true;
            stream.poll(&mut |service, line| {
                alive &= send(
                    &mut *out,
                    "log",
                    &json!({ "service": service, "line": line }),
                );
            });
            if !alive {
                return;
            }
        }
        std::thread::sleep(Duration::from_millis(250));
    }
}

/// One page's logs: the stack as it was opened (the logs' files do not
/// move while the page watches), followed on from each log's last lines.
struct LogStream {
    stack: Stack,
    logs: Logs,
    follower: Follower,
}

impl LogStream {
    /// Send each log's last lines, and follow on from there.
    fn start(
        ctx: &Context,
        out: &mut dyn Write,
        send: &dyn Fn(&mut dyn Write, &str, &serde_json::Value) -> bool,
    ) -> Option<LogStream> {
        let (config, dir) = ctx.load().ok()?;
        let stack = inspect::open(config, dir).ok()?;
        let logs = Logs::new(&stack);
        let services: Vec<_> = stack.services.iter().collect();
        let files = logs.files(&services).ok()?;
        let mut offsets = Vec::new();
        for (service, path) in &files {
            for line in crate::fsutil::tail_lines(path, LOG_BACKLOG) {
                send(out, "log", &json!({ "service": service, "line": line }));
            }
            offsets.push(std::fs::metadata(path).map_or(0, |m| m.len()));
        }
        let follower = Follower::new(&files, offsets);
        Some(LogStream {
            stack,
            logs,
            follower,
        })
    }

    fn poll(&mut self, line: &mut dyn FnMut(&str, &str)) {
        let services: Vec<_> = self.stack.services.iter().collect();
        let _ = self.follower.poll(&self.logs, &services, line);
    }
}
