// The dashboard: log in with Keystone, then poll /_emulator/dashboard and redraw.
"use strict";

const TOKEN = "nova-emulator-token";
const POLL_MS = 1500;
const RESOURCES = [["VCPU", "VCPU"], ["MEMORY_MB", "RAM MB"], ["DISK_GB", "disk GB"]];
let timer = null;

const $ = (id) => document.getElementById(id);

function esc(value) {
  return String(value ?? "").replace(/[&<>"']/g, (c) => ({
    "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;"}[c]));
}

// Green (empty) to red (full).
function colour(fraction) {
  const f = Math.max(0, Math.min(1, fraction));
  return `hsl(${Math.round(120 * (1 - f))}, 65%, 42%)`;
}

function counted(list, what) {
  return list.shown < list.total ? `(first ${list.shown} of ${list.total} ${what})`
                                  : `(${list.total})`;
}

function rows(tbody, items, cells, rowClass) {
  $(tbody).querySelector("tbody").innerHTML = items.map((item) =>
    `<tr class="${rowClass ? rowClass(item) : ""}">` +
    cells(item).map((c) => `<td>${c}</td>`).join("") + "</tr>").join("");
}

function serverChip(s) {
  return `<span class="srv ${esc(s.status)}" data-server-name="${esc(s.name)}" ` +
         `data-server-id="${esc(s.id)}" title="${esc(s.status)} ${esc(s.id)}">` +
         `${esc(s.name)}</span>`;
}

function hostCard(host, servers) {
  const bars = RESOURCES.filter(([rc]) => host.resources[rc]).map(([rc, label]) => {
    const r = host.resources[rc];
    const f = r.capacity ? r.used / r.capacity : 0;
    return `<div class="bar" data-resource="${rc}"><span>${label}</span>` +
      `<span class="track"><span class="fill" style="display:block;width:${
        Math.min(100, 100 * f).toFixed(1)}%;background:${colour(f)}"></span></span>` +
      `<span class="num">${r.used}/${r.capacity}</span></div>`;
  }).join("");
  const state = !host.up ? "down" : !host.enabled ? "disabled" : "";
  const more = host.servers - servers.length;
  return `<div class="host ${state ? "down" : ""}" data-host="${esc(host.name)}" ` +
    `style="border-color:${colour(host.utilisation)}">` +
    `<h3><span>${esc(host.name)}</span><small>${esc(host.zone)} ${state}</small></h3>` +
    bars + `<div class="servers">${servers.map(serverChip).join("")}` +
    (more > 0 ? `<span class="more">+${more} more</span>` : "") + "</div></div>";
}

function drawPlacement(data) {
  const byHost = {};
  const unplaced = [];
  for (const s of data.servers.items) {
    if (s.host) (byHost[s.host] = byHost[s.host] || []).push(s); else unplaced.push(s);
  }
  let html = data.hosts.items.map((h) => hostCard(h, byHost[h.name] || [])).join("");
  if (unplaced.length) {
    html += `<div class="host" data-host="" style="border-color:#999">` +
      `<h3><span>not placed</span><small>no host</small></h3>` +
      `<div class="servers">${unplaced.map(serverChip).join("")}</div></div>`;
  }
  $("placement").innerHTML = html;
  $("hosts-count").textContent = counted(data.hosts, "hosts");
}

function quota(q) {
  return q ? `${q.in_use} / ${q.limit < 0 ? "∞" : q.limit}` : "";
}

function drawRateLimits(rl) {
  if (!rl.installed || !rl.enabled) {
    $("ratelimits").innerHTML = `<p class="legend">${rl.installed ? "installed, off"
      : "not installed ([ratelimit] enabled = false)"}</p>`;
    return;
  }
  $("ratelimits").innerHTML = `<p class="legend">store ${esc(rl.store)}</p><table>` +
    "<tr><th>limit</th><th>verb</th><th>uri</th><th>allowance</th><th>keys: remaining</th></tr>" +
    rl.limits.map((l) => `<tr><td>${esc(l.name)}</td><td>${esc(l.verb)}</td>` +
      `<td>${esc(l.uri)}</td><td>${l.value}/${esc(l.unit)}</td><td>${
        Object.entries(l.keys || {}).map(([k, v]) => `${esc(k)}: ${v.remaining}`).join(", ")
      }</td></tr>`).join("") + "</table>";
}

function draw(data) {
  const c = data.clock;
  const projects = Object.fromEntries(data.projects.items.map((p) => [p.id, p.name]));
  const project = (id) => esc(id ? projects[id] || id : "");
  $("clock").textContent = `${data.backend}` +
    (c ? ` · clock ${c.mode} t=${c.now.toFixed(1)} s · ${c.waiting} waiting` : "") +
    ` · ${data.time}`;
  drawPlacement(data);
  rows("servers", data.servers.items, (s) => [esc(s.name), esc(s.status),
    esc(s.task_state || ""), esc(s.host || ""), project(s.project_id),
    `<span class="mono">${esc(s.id)}</span>`],
    (s) => (s.status === "ERROR" ? "err" : ""));
  $("servers-count").textContent = counted(data.servers, "servers");
  rows("groups", data.server_groups.items, (g) => [esc(g.name), esc(g.policy),
    g.members.length, project(g.project_id)]);
  $("groups-count").textContent = counted(data.server_groups, "groups");
  rows("aggregates", data.aggregates.items, (a) => [esc(a.name),
    esc(a.availability_zone || ""), esc(a.hosts.join(", "))]);
  $("aggregates-count").textContent = counted(data.aggregates, "aggregates");
  rows("quotas", data.projects.items, (p) => [esc(p.name), quota(p.quotas.instances),
    quota(p.quotas.cores), quota(p.quotas.ram), quota(p.quotas.server_groups),
    quota(p.quotas.key_pairs)]);
  $("projects-count").textContent = counted(data.projects, "projects");
  drawRateLimits(data.ratelimits);
  const recent = data.requests.items.slice().reverse();
  rows("requests", recent, (r) => [esc(r.time.slice(11, 23)),
    `<span class="mono">${esc(r.request_id)}</span>`, project(r.project_id),
    esc(r.method), esc(`${r.service} ${r.route === "-" ? r.path : r.route}`), r.status,
    r.latency_ms.toFixed(1),
    esc(r.fault ? `${r.fault.name || ""}: ${r.fault.message || ""}` : "")],
    (r) => (r.status >= 400 ? "err" : ""));
  $("requests-count").textContent =
    `(last ${recent.length}; the recorder keeps ${data.requests.kept} of ${data.requests.size})`;
}

function showLogin(message) {
  clearTimeout(timer);
  sessionStorage.removeItem(TOKEN);
  $("board").hidden = true;
  $("logout").hidden = true;
  $("login-section").hidden = false;
  $("login-error").textContent = message || "";
  $("clock").textContent = "not logged in";
}

async function poll() {
  const token = sessionStorage.getItem(TOKEN);
  if (!token) { showLogin(); return; }
  try {
    const answer = await fetch("/_emulator/dashboard",
                               {headers: {"X-Auth-Token": token, "Accept": "application/json"}});
    if (answer.status === 401 || answer.status === 403) {
      showLogin(answer.status === 403 ? "That account is not an admin." : "Token expired.");
      return;
    }
    if (!answer.ok) throw new Error(`HTTP ${answer.status}`);
    draw(await answer.json());
    $("status").textContent = `updated ${new Date().toLocaleTimeString()}`;
  } catch (err) {
    $("status").textContent = `poll failed: ${err.message}`;
  }
  timer = setTimeout(poll, POLL_MS);
}

function start() {
  $("login-section").hidden = true;
  $("board").hidden = false;
  $("logout").hidden = false;
  poll();
}

async function logIn(event) {
  event.preventDefault();
  const form = event.target;
  const body = {auth: {
    identity: {methods: ["password"], password: {user: {
      name: form.username.value, password: form.password.value,
      domain: {name: "Default"}}}},
    scope: {project: {name: form.project.value, domain: {name: "Default"}}}}};
  $("login-error").textContent = "";
  const answer = await fetch("/identity/v3/auth/tokens", {
    method: "POST", headers: {"Content-Type": "application/json"}, body: JSON.stringify(body)});
  const token = answer.headers.get("X-Subject-Token");
  if (answer.status !== 201 || !token) {
    $("login-error").textContent = `Keystone refused: HTTP ${answer.status}`;
    return;
  }
  sessionStorage.setItem(TOKEN, token);
  start();
}

document.addEventListener("DOMContentLoaded", () => {
  $("login").addEventListener("submit", logIn);
  $("logout").addEventListener("click", () => showLogin());
  if (sessionStorage.getItem(TOKEN)) start();
});
