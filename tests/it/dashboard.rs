//! `berth dashboard` in a real headless browser (Debian's Chromium, driven
//! over the DevTools protocol): the page loads and shows the services, it
//! updates when a service stops behind its back, its buttons work, and the
//! server refuses every request without the run's token.
//!
//! `BERTH_DASHBOARD_SCREENSHOTS=DIR` also saves screenshots there (how
//! `docs/dashboard-*.png` were made).

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;

use base64::Engine;
use serde_json::{json, Value};

use super::*;

/// One plain HTTP request to the dashboard; returns the status code.
fn http_status(port: u16, method: &str, target: &str) -> u16 {
    let mut s = TcpStream::connect(("127.0.0.1", port)).unwrap();
    write!(
        s,
        "{method} {target} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    let mut head = [0u8; 12];
    s.read_exact(&mut head).unwrap();
    String::from_utf8_lossy(&head[9..12]).parse().unwrap()
}

/// The DevTools WebSocket of Chromium's page showing the dashboard, once
/// it has one (none while it starts, or if it answers nothing useful).
fn page_target(port: u16) -> Option<String> {
    let mut s = TcpStream::connect(("127.0.0.1", port)).ok()?;
    write!(
        s,
        "GET /json/list HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n\r\n"
    )
    .ok()?;
    // Read to the end of the body its Content-Length gives (it keeps the
    // connection open).
    let mut bytes = Vec::new();
    let mut buf = [0u8; 8192];
    loop {
        let n = s.read(&mut buf).ok()?;
        if n == 0 {
            return None;
        }
        bytes.extend_from_slice(&buf[..n]);
        let text = String::from_utf8_lossy(&bytes);
        let Some((head, body)) = text.split_once("\r\n\r\n") else {
            continue;
        };
        let length: usize = head.lines().find_map(|l| {
            l.to_ascii_lowercase()
                .strip_prefix("content-length:")
                .map(|v| v.trim().parse().ok())
        })??;
        if body.len() >= length {
            break;
        }
    }
    let text = String::from_utf8_lossy(&bytes);
    let body = text.split_once("\r\n\r\n")?.1;
    let targets: Vec<Value> = serde_json::from_str(body).ok()?;
    targets
        .iter()
        .find(|t| {
            t["type"] == "page"
                && t["url"]
                    .as_str()
                    .is_some_and(|u| u.starts_with("http://127.0.0.1"))
        })
        .and_then(|t| t["webSocketDebuggerUrl"].as_str().map(String::from))
}

/// A headless Chromium, one page, and a DevTools connection to it.
struct Chromium {
    child: std::process::Child,
    page: tungstenite::WebSocket<TcpStream>,
    next_id: u64,
    _profile: tempfile::TempDir,
}

impl Chromium {
    fn open(url: &str) -> Chromium {
        let profile = tempfile::tempdir().unwrap();
        let mut child = Command::new("chromium")
            .args([
                "--headless=new",
                "--no-sandbox",
                "--disable-gpu",
                "--no-first-run",
                "--hide-scrollbars",
                "--window-size=1400,1100",
                "--remote-debugging-port=0",
            ])
            .arg(format!("--user-data-dir={}", profile.path().display()))
            .arg(url)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("chromium runs (scripts/setup --all installs it)");
        let mut lines = BufReader::new(child.stderr.take().unwrap()).lines();
        let port: u16 = loop {
            let line = lines
                .next()
                .expect("chromium says where DevTools listen")
                .unwrap();
            if let Some(rest) = line.strip_prefix("DevTools listening on ws://127.0.0.1:") {
                break rest.split('/').next().unwrap().parse().unwrap();
            }
        };
        // Keep reading its chatter, so it never blocks on a full pipe.
        std::thread::spawn(move || for _ in lines {});
        let mut page_ws = None;
        wait_until("chromium's page target", Duration::from_secs(30), || {
            page_ws = page_target(port);
            page_ws.is_some()
        });
        let ws_url = page_ws.unwrap();
        let stream = TcpStream::connect(("127.0.0.1", port)).unwrap();
        let (page, _) = tungstenite::client(ws_url.as_str(), stream).expect("DevTools handshake");
        Chromium {
            child,
            page,
            next_id: 1,
            _profile: profile,
        }
    }

    /// A DevTools command; its result.
    fn call(&mut self, method: &str, params: Value) -> Value {
        let id = self.next_id;
        self.next_id += 1;
        let message = json!({ "id": id, "method": method, "params": params });
        self.page
            .send(tungstenite::Message::text(message.to_string()))
            .unwrap();
        loop {
            let reply = self.page.read().unwrap();
            let Ok(text) = reply.to_text() else { continue };
            let v: Value = serde_json::from_str(text).unwrap();
            if v["id"] == id {
                assert!(v.get("error").is_none(), "{method}: {v}");
                return v["result"].clone();
            }
        }
    }

    /// Evaluate JavaScript in the page; its value.
    fn eval(&mut self, expression: &str) -> Value {
        let r = self.call(
            "Runtime.evaluate",
            json!({ "expression": expression, "returnByValue": true, "awaitPromise": true }),
        );
        assert!(r.get("exceptionDetails").is_none(), "{expression}: {r}");
        r["result"]["value"].clone()
    }

    /// Wait until `expression` is true in the page.
    fn wait_for(&mut self, what: &str, expression: &str) {
        let began = std::time::Instant::now();
        while self.eval(expression) != json!(true) {
            assert!(
                began.elapsed() < Duration::from_secs(45),
                "timed out waiting for {what}; the page shows:\n{}",
                self.eval("document.body.innerText")
            );
            std::thread::sleep(Duration::from_millis(200));
        }
    }

    fn screenshot(&mut self, name: &str) {
        let Ok(dir) = std::env::var("BERTH_DASHBOARD_SCREENSHOTS") else {
            return;
        };
        let shot = self.call("Page.captureScreenshot", json!({ "format": "png" }));
        let png = base64::engine::general_purpose::STANDARD
            .decode(shot["data"].as_str().unwrap())
            .unwrap();
        std::fs::write(Path::new(&dir).join(format!("dashboard-{name}.png")), png).unwrap();
    }
}

impl Drop for Chromium {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// `berth ARGS` (a dashboard) started, and the URL it printed.
fn start_dashboard(s: &Sandbox, args: &[&str]) -> (std::process::Child, String) {
    let mut dashboard = s
        .cmd(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut url = String::new();
    BufReader::new(dashboard.stdout.take().unwrap())
        .read_line(&mut url)
        .unwrap();
    (dashboard, url.trim().to_string())
}

/// Ctrl-C, as in its terminal: it ends, successfully.
fn stop_dashboard(mut dashboard: std::process::Child) {
    unsafe { libc::kill(dashboard.id() as i32, libc::SIGINT) };
    let mut status = None;
    wait_until("the dashboard to stop", Duration::from_secs(15), || {
        status = dashboard.try_wait().unwrap();
        status.is_some()
    });
    assert!(status.unwrap().success());
}

/// The text of `selector` in the row of `table` for `key`.
fn in_row(table: &str, attr: &str, key: &str, selector: &str) -> String {
    format!("(document.querySelector('#{table} tr[data-{attr}=\"{key}\"] {selector}') || {{}}).textContent")
}

#[test]
fn the_dashboard_shows_the_stack_live_in_a_browser_and_refuses_requests_without_its_token() {
    let s = Sandbox::new(&pg_redis_stack("dash", true));
    std::fs::create_dir_all(s.path().join("migrations/db")).unwrap();
    std::fs::write(
        s.path().join("migrations/db/001_items.sql"),
        "CREATE TABLE items (id int);\n",
    )
    .unwrap();
    s.ok(&["up"]);
    let env = s.env(".env");

    let (dashboard, url) = start_dashboard(&s, &["dashboard"]);
    let port: u16 = url
        .strip_prefix("http://127.0.0.1:")
        .and_then(|r| r.split('/').next())
        .and_then(|p| p.parse().ok())
        .unwrap_or_else(|| panic!("a dashboard URL: {url:?}"));
    let token = url.split_once("token=").unwrap().1.to_string();

    // Nothing without the token: not the page, not the events, not a button.
    assert_eq!(http_status(port, "GET", "/"), 403);
    assert_eq!(http_status(port, "GET", "/?token=wrong"), 403);
    assert_eq!(http_status(port, "GET", "/events"), 403);
    assert_eq!(
        http_status(port, "GET", "/api/reveal?name=DATABASE_URL"),
        403
    );
    assert_eq!(http_status(port, "POST", "/api/down"), 403);
    assert_eq!(
        http_status(port, "POST", &format!("/api/down?token={}x", &token[1..])),
        403
    );
    assert_eq!(http_status(port, "GET", &format!("/?token={token}")), 200);
    let out = s.ok(&["status", "--json"]);
    assert!(
        stdout(&out).matches("\"ready\"").count() == 2,
        "a refused request changed nothing"
    );

    let mut page = Chromium::open(&url);
    page.wait_for(
        "both services ready",
        "document.querySelectorAll('#services tr[data-health=\"ready\"]').length === 2",
    );
    // The page's confirmations and prompt, answered as a person would.
    page.eval("window.confirm = () => true; window.prompt = () => 'from-page'; true");
    let endpoint = page.eval(&in_row("services", "service", "cache", "td:nth-child(4)"));
    assert_eq!(endpoint, json!(format!("127.0.0.1:{}", env["REDIS_PORT"])));
    page.wait_for(
        "the servers' use",
        &format!(
            "/ MB$/.test({}) && /%$/.test({})",
            in_row("services", "service", "db", ".memory"),
            in_row("services", "service", "db", ".cpu")
        ),
    );
    page.wait_for(
        "postgres's log lines",
        "document.querySelector('#logs').textContent.includes('db    | ')",
    );
    page.wait_for(
        "the migration applied",
        &format!(
            "{} === '1' && {} === '0'",
            in_row("migrations", "service", "db", ".applied"),
            in_row("migrations", "service", "db", ".pending")
        ),
    );
    page.screenshot("running");

    // Masked, then revealed on request.
    let masked = page.eval(&in_row(
        "connection-values",
        "name",
        "DATABASE_URL",
        ".value",
    ));
    assert!(masked.as_str().unwrap().contains("****"), "{masked}");
    page.eval("document.querySelector('#connection-values tr[data-name=\"DATABASE_URL\"] button').click(); true");
    page.wait_for(
        "the revealed URL",
        &format!(
            "{} === {}",
            in_row("connection-values", "name", "DATABASE_URL", ".value"),
            json!(env["DATABASE_URL"])
        ),
    );
    page.eval("document.querySelector('#connection-values tr[data-name=\"DATABASE_URL\"] button').click(); true");
    page.wait_for(
        "the URL masked again",
        &format!(
            "{}.includes('****')",
            in_row("connection-values", "name", "DATABASE_URL", ".value")
        ),
    );

    // A new migration file shows as pending.
    std::fs::write(
        s.path().join("migrations/db/002_more.sql"),
        "ALTER TABLE items ADD COLUMN name text;\n",
    )
    .unwrap();
    page.wait_for(
        "the new migration pending",
        &format!(
            "{} === '1'",
            in_row("migrations", "service", "db", ".pending")
        ),
    );

    // Stopped behind the page's back: it shows.
    s.ok(&["down"]);
    page.wait_for(
        "both services stopped",
        "document.querySelectorAll('#services tr[data-health=\"stopped\"]').length === 2",
    );
    page.screenshot("stopped");

    // The buttons: up, restart one service, save a snapshot.
    page.eval("document.querySelector('#up').click(); true");
    page.wait_for(
        "both services ready again",
        "document.querySelectorAll('#services tr[data-health=\"ready\"]').length === 2",
    );
    let pid = page.eval(&in_row("services", "service", "cache", ".pid"));
    page.eval(
        "document.querySelector('#services tr[data-service=\"cache\"] button').click(); true",
    );
    page.wait_for(
        "the cache restarted",
        &format!(
            "{} !== {pid} && document.querySelector('#services tr[data-service=\"cache\"]').dataset.health === 'ready'",
            in_row("services", "service", "cache", ".pid")
        ),
    );
    assert!(page
        .eval("document.querySelector('#toast').textContent")
        .as_str()
        .unwrap()
        .contains("restarted"),);
    page.eval("document.querySelector('#snapshot-save').click(); true");
    page.wait_for(
        "the snapshot listed",
        "!!document.querySelector('#snapshots tr[data-snapshot=\"from-page\"]')",
    );
    let listed = stdout(&s.ok(&["snapshot", "list"]));
    assert!(listed.contains("from-page"), "{listed}");
    page.screenshot("snapshot");
    // The key written before is still there after restart and snapshot.
    drop(page);

    stop_dashboard(dashboard);
    // Ctrl-C stops the dashboard, not the stack.
    let out = s.ok(&["status", "--json"]);
    assert_eq!(stdout(&out).matches("\"ready\"").count(), 2);
}

#[test]
fn open_hands_the_url_to_the_browser_the_user_chose() {
    let s = Sandbox::new(&pg_redis_stack("dashopen", false));
    let seen = s.path().join("opened");
    let browser = s.path().join("browser");
    std::fs::write(
        &browser,
        format!("#!/bin/sh\nprintf '%s' \"$1\" > {}\n", seen.display()),
    )
    .unwrap();
    std::fs::set_permissions(
        &browser,
        std::os::unix::fs::PermissionsExt::from_mode(0o755),
    )
    .unwrap();
    s.set_env("BROWSER", browser.to_str().unwrap());
    let (dashboard, url) = start_dashboard(&s, &["dashboard", "--open"]);
    wait_until(
        "the browser to be handed the URL",
        Duration::from_secs(10),
        || std::fs::read_to_string(&seen).is_ok_and(|u| u == url),
    );
    stop_dashboard(dashboard);
}
