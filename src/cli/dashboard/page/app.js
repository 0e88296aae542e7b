// The berth dashboard: renders the events of /events, sends the buttons'
// presses. Plain JavaScript, no build step; every request carries the
// token the page was served with.
"use strict";

const token = document.querySelector('meta[name="berth-token"]').content;
const $ = (selector) => document.querySelector(selector);
const MAX_LOG_LINES = 2000;
const logLines = [];
const revealed = new Map(); // variable -> its real value, while shown

function cell(row, text, className) {
  const td = row.insertCell();
  td.textContent = text === null || text === undefined ? "-" : String(text);
  if (className) td.className = className;
  return td;
}

function button(label, onClick) {
  const b = document.createElement("button");
  b.type = "button";
  b.textContent = label;
  b.addEventListener("click", onClick);
  return b;
}

function bytes(n) {
  if (n === null || n === undefined) return "-";
  const units = ["B", "KB", "MB", "GB"];
  let i = 0;
  while (n >= 1000 && i < units.length - 1) { n /= 1000; i++; }
  return (i === 0 ? n : n.toFixed(1)) + " " + units[i];
}

function say(text, isError) {
  const toast = $("#toast");
  toast.textContent = text;
  toast.className = isError ? "error" : "";
}

async function act(path, what) {
  const buttons = document.querySelectorAll("button");
  buttons.forEach((b) => (b.disabled = true));
  say(what + " …", false);
  try {
    const response = await fetch(path, { method: "POST", headers: { "X-Berth-Token": token } });
    const answer = await response.json();
    if (answer.ok) say(answer.message, false);
    else say("error: " + answer.error + (answer.hint ? " (" + answer.hint + ")" : ""), true);
  } catch (e) {
    say("error: the dashboard did not answer (" + e + ")", true);
  } finally {
    buttons.forEach((b) => (b.disabled = false));
  }
}

function renderServices(services) {
  const body = $("#services tbody");
  body.replaceChildren();
  for (const s of services) {
    const row = body.insertRow();
    row.dataset.service = s.service;
    row.dataset.health = s.health;
    cell(row, s.service);
    cell(row, s.kind);
    cell(row, s.runtime);
    cell(row, s.endpoint);
    const state = cell(row, s.health + (s.problem ? " (" + s.problem + ")" : ""), "state");
    state.classList.add(s.health);
    cell(row, s.pid, "pid");
    cell(row, s.ready_in_ms === null ? null : s.ready_in_ms + " ms");
    cell(row, s.cpu_percent === null || s.cpu_percent === undefined ? null : s.cpu_percent.toFixed(1) + "%", "cpu");
    cell(row, bytes(s.memory_bytes), "memory");
    row.insertCell().append(
      button("Restart", () => act("/api/restart?service=" + encodeURIComponent(s.service), "restarting " + s.service)),
    );
  }
  const filter = $("#log-filter");
  for (const s of services) {
    if (![...filter.options].some((o) => o.value === s.service)) {
      filter.add(new Option(s.service, s.service));
    }
  }
}

function renderConnection(values) {
  const body = $("#connection-values tbody");
  body.replaceChildren();
  for (const v of values) {
    const row = body.insertRow();
    row.dataset.name = v.name;
    cell(row, v.name);
    const shown = revealed.get(v.name);
    cell(row, shown === undefined ? v.value : shown, "value");
    const actions = row.insertCell();
    if (v.secret) {
      actions.append(
        button(shown === undefined ? "Reveal" : "Hide", async () => {
          if (revealed.has(v.name)) {
            revealed.delete(v.name);
          } else {
            const r = await fetch("/api/reveal?name=" + encodeURIComponent(v.name), { headers: { "X-Berth-Token": token } });
            const answer = await r.json();
            if (r.ok) revealed.set(v.name, answer.value);
            else say("error: " + answer.error, true);
          }
          renderConnection(values);
        }),
      );
    }
  }
}

function renderSnapshots(snapshots) {
  const body = $("#snapshots tbody");
  body.replaceChildren();
  for (const s of snapshots) {
    const row = body.insertRow();
    row.dataset.snapshot = s.name;
    cell(row, s.name);
    cell(row, new Date(s.created).toLocaleString());
    cell(row, s.services.join(", "));
    cell(row, s.automatic || "");
    row.insertCell().append(
      button("Restore", () => {
        if (confirm("Restore snapshot " + s.name + "? The data it replaces is snapshotted first.")) {
          act("/api/snapshot/restore?name=" + encodeURIComponent(s.name), "restoring " + s.name);
        }
      }),
    );
  }
}

function renderMigrations(databases) {
  const body = $("#migrations tbody");
  body.replaceChildren();
  if (databases.error) {
    say("error: " + databases.error, true);
    return;
  }
  for (const d of databases) {
    const row = body.insertRow();
    row.dataset.service = d.service;
    cell(row, d.service);
    cell(row, d.database);
    cell(row, d.checked ? d.applied : "server down", "applied");
    cell(row, d.checked ? d.pending : (d.files === undefined ? null : d.files + " file(s)"), "pending");
    cell(row, (d.problems || []).join("; "), "problems");
  }
}

function renderLogs() {
  const filter = $("#log-filter").value;
  const pre = $("#logs");
  const atBottom = pre.scrollTop + pre.clientHeight >= pre.scrollHeight - 4;
  const width = Math.max(0, ...logLines.map((l) => l.service.length));
  pre.textContent = logLines
    .filter((l) => !filter || l.service === filter)
    .map((l) => (filter ? "" : l.service.padEnd(width) + " | ") + l.line)
    .join("\n");
  if (atBottom) pre.scrollTop = pre.scrollHeight;
}

let logsPending = false;
function logLater() {
  if (logsPending) return;
  logsPending = true;
  requestAnimationFrame(() => { logsPending = false; renderLogs(); });
}

function connect() {
  const events = new EventSource("/events?token=" + encodeURIComponent(token));
  events.addEventListener("open", () => {
    $("#connection").textContent = "live";
    $("#connection").className = "badge live";
    logLines.length = 0;
  });
  events.addEventListener("error", () => {
    $("#connection").textContent = "reconnecting";
    $("#connection").className = "badge lost";
  });
  events.addEventListener("overview", (e) => {
    const data = JSON.parse(e.data);
    if (data.error) {
      say("error: " + data.error + (data.hint ? " (" + data.hint + ")" : ""), true);
      return;
    }
    $("#stack").textContent = data.stack;
    document.title = "berth: " + data.stack;
    renderServices(data.services);
    renderConnection(data.connection);
    renderSnapshots(data.snapshots);
  });
  events.addEventListener("migrations", (e) => renderMigrations(JSON.parse(e.data)));
  events.addEventListener("log", (e) => {
    logLines.push(JSON.parse(e.data));
    if (logLines.length > MAX_LOG_LINES) logLines.splice(0, logLines.length - MAX_LOG_LINES);
    logLater();
  });
}

$("#up").addEventListener("click", () => act("/api/up", "bringing the stack up"));
$("#down").addEventListener("click", () => {
  if (confirm("Stop the stack? Its data is kept.")) act("/api/down", "stopping the stack");
});
$("#snapshot-save").addEventListener("click", () => {
  const name = prompt("Snapshot name (empty: the time)", "");
  if (name !== null) act("/api/snapshot/save?name=" + encodeURIComponent(name), "saving a snapshot");
});
$("#log-filter").addEventListener("change", renderLogs);
connect();
