// LogiFlow stats page. Polls the JSON API and renders with DOM nodes only: every value that
// came from an event is set with textContent (never innerHTML), so markup in a truck id,
// a payload or a header shows as text.
"use strict";

const POLL_MS = 2000;
const HEALTH_MS = 5000;
const TOKEN_KEY = "logiflow.apiToken";
const INVOICE_ID = /^INV-[A-Z2-7]{20}$/;
const COLORS = ["#2f7ed8", "#e4572e", "#17a398", "#f3a712", "#8e44ad"];

const state = {
  readOnly: true,
  dlqSelected: null,
  truckQuery: "",
  dlqQuery: "",
  lastHealth: 0,
  busy: false,
};

// --- DOM helpers ---------------------------------------------------------------------------

function $(id) { return document.getElementById(id); }

function el(tag, props, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(props || {})) {
    if (value === undefined || value === null || value === false) continue;
    if (key === "class") node.className = value;
    else if (key === "text") node.textContent = String(value);
    else if (key.startsWith("on")) node.addEventListener(key.slice(2), value);
    else node.setAttribute(key, String(value));
  }
  for (const child of children) {
    if (child === undefined || child === null) continue;
    node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return node;
}

function fill(parent, nodes) {
  parent.replaceChildren(...nodes);
}

function setText(id, value) {
  const node = $(id);
  const text = value === undefined || value === null ? "–" : String(value);
  if (node.textContent !== text) node.textContent = text;
}

function cell(value) { return el("td", {}, value === undefined || value === null ? "–" : value); }

function emptyRow(columns, text) {
  return el("tr", {}, el("td", { colspan: columns, class: "muted" }, text));
}

function fmtTime(ms) {
  if (!ms) return "–";
  return new Date(ms).toISOString().replace("T", " ").replace(/\.\d+Z$/, "Z");
}

function fmtAge(seconds) {
  if (seconds === null || seconds === undefined) return "–";
  if (seconds < 90) return `${Math.round(seconds)} s`;
  if (seconds < 5400) return `${Math.round(seconds / 60)} min`;
  return `${(seconds / 3600).toFixed(1)} h`;
}

function fmtNum(n) { return n === null || n === undefined ? "–" : Number(n).toLocaleString("en"); }

function fmtSeconds(s) { return s === null || s === undefined ? "–" : `${Number(s).toFixed(2)} s`; }

function invoiceLink(invoiceId, label) {
  if (typeof invoiceId !== "string" || !INVOICE_ID.test(invoiceId)) return el("span", { class: "muted" }, "–");
  return el("a", { href: `/invoices/${invoiceId}.pdf`, download: `${invoiceId}.pdf`, class: "pdf" }, label || "PDF");
}

function truckLink(truckId) {
  return el("a", { href: `#truck=${encodeURIComponent(truckId)}`, class: "truck" }, truckId);
}

function badge(text, kind) { return el("span", { class: `badge ${kind || text}` }, text); }

// --- API -----------------------------------------------------------------------------------

class ApiError extends Error {
  constructor(status, body) {
    super((body && body.error) || `HTTP ${status}`);
    this.status = status;
    this.body = body;
  }
}

async function api(path, options) {
  const response = await fetch(path, { headers: { Accept: "application/json" }, ...options });
  let body = null;
  try { body = await response.json(); } catch (_) { body = null; }
  if (!response.ok) throw new ApiError(response.status, body);
  return body;
}

function token() { return sessionStorage.getItem(TOKEN_KEY) || ""; }

async function act(path, payload) {
  return api(path, {
    method: "POST",
    headers: { Accept: "application/json", "Content-Type": "application/json",
               Authorization: `Bearer ${token()}` },
    body: JSON.stringify(payload || {}),
  });
}

// --- overview ------------------------------------------------------------------------------

function renderOverview(o) {
  setText("worker-id", o.worker.workerId);
  setReadOnly(o.readOnly);
  const c = o.covers;
  const others = c.allWorkers.filter((w) => w.url !== o.worker.url).map((w) => w.url);
  if (o.worker.role === "all") {
    $("covers").textContent = `Totals cover this worker (${o.worker.workerId}): partitions `
      + `${c.tablePartitions.join(", ") || "none"} of ${c.partitionsTotal}`
      + (others.length ? `; other workers: ${others.join(", ")}` : "; no other workers");
    renderTotals(o.totals);
  }  // a worker of one role holds only its tables: the totals come from /api/system instead
  setText("latency", `${fmtSeconds(o.latency.lastS)} / ${o.latency.p95S === null ? "–" : "≤ " + o.latency.p95S + " s"}`);
  setText("lag-total", fmtNum(o.lagTotal));

  const agents = Object.keys(o.processed).sort();
  const failed = {};
  for (const [key, n] of Object.entries(o.deadLettered)) {
    const agent = key.split(":")[0];
    failed[agent] = (failed[agent] || 0) + n;
  }
  fill($("agents"), agents.map((a) => el("tr", {},
    cell(a),
    el("td", { id: `processed-${a}`, class: "num" }, fmtNum(o.processed[a])),
    el("td", { id: `failed-${a}`, class: "num" }, fmtNum(failed[a] || 0)),
    el("td", { class: "num" }, fmtNum(o.retries[a] || 0)))));

  fill($("breakers"), o.breakers.map((b) => el("li", { id: `breaker-${b.name}` },
    badge(b.state, b.state === "closed" ? "ok" : "bad"), " ", b.name,
    el("span", { class: "muted" }, ` opened ${b.timesOpened}×`))));

  fill($("lag"), o.lag.length ? o.lag.map((r) => el("tr", {},
    cell(r.topic), el("td", { class: "num" }, r.partition), el("td", { class: "num" }, fmtNum(r.highwater)),
    el("td", { class: "num" }, fmtNum(r.position)), el("td", { class: "num" }, fmtNum(r.committed)),
    el("td", { class: "num" + (r.lag ? " warn" : "") }, fmtNum(r.lag)))) : [emptyRow(6, "no partitions assigned")]);

  drawChart(o.rates);
}

function renderTotals(t) {
  setText("total-trucks", fmtNum(t.trucks));
  setText("total-routes", fmtNum(t.routes));
  setText("total-km", fmtNum(t.km));
  setText("total-invoices", fmtNum(t.invoices));
  setText("total-revenue", `${Number(t.revenue).toLocaleString("en", { minimumFractionDigits: 2 })} ${t.currency}`);
}

function drawChart(rates) {
  const canvas = $("rate-chart");
  const ratio = window.devicePixelRatio || 1;
  const width = canvas.clientWidth || 640;
  const height = canvas.clientHeight || 180;
  if (canvas.width !== width * ratio) { canvas.width = width * ratio; canvas.height = height * ratio; }
  const g = canvas.getContext("2d");
  g.setTransform(ratio, 0, 0, ratio, 0, 0);
  g.clearRect(0, 0, width, height);
  const agents = Object.keys(rates.series).sort();
  const left = 36, bottom = 20, top = 8, right = 8;
  const plotW = width - left - right, plotH = height - top - bottom;
  let peak = 0;
  for (const a of agents) for (const v of rates.series[a]) peak = Math.max(peak, v);
  const max = 4 * niceCeil(Math.max(1, peak / 4));  // four whole-number steps
  g.font = "11px system-ui, sans-serif";
  g.fillStyle = "#6b7280";
  g.strokeStyle = "#e5e7eb";
  g.lineWidth = 1;
  for (let i = 0; i <= 4; i++) {
    const y = top + plotH - (plotH * i) / 4;
    g.beginPath(); g.moveTo(left, y); g.lineTo(width - right, y); g.stroke();
    const tick = (max * i) / 4;
    g.fillText(Number.isInteger(tick) ? String(tick) : tick.toFixed(1), 4, y + 4);
  }
  g.fillText(`-${rates.windowS}s`, left, height - 5);
  g.fillText("now", width - right - 22, height - 5);
  agents.forEach((a, i) => {
    const values = rates.series[a];
    const n = values.length;
    g.strokeStyle = COLORS[i % COLORS.length];
    g.lineWidth = 2;
    g.beginPath();
    values.forEach((v, x) => {
      const px = left + (plotW * x) / Math.max(1, n - 1);
      const py = top + plotH - (plotH * v) / max;
      if (x === 0) g.moveTo(px, py); else g.lineTo(px, py);
    });
    g.stroke();
  });
  setText("chart-window", `(last ${rates.windowS} s)`);
  fill($("chart-legend"), agents.map((a, i) => {
    const values = rates.series[a];
    const recent = values.slice(-10);
    const avg = recent.reduce((s, v) => s + v, 0) / Math.max(1, recent.length);
    const swatch = el("span", { class: "swatch" });
    swatch.style.background = COLORS[i % COLORS.length];  // CSSOM: allowed by the page's CSP
    return el("li", {}, swatch, `${a}: ${avg.toFixed(1)}/s`);
  }));
}

function niceCeil(v) {
  const p = Math.pow(10, Math.floor(Math.log10(v)));
  for (const m of [1, 2, 5, 10]) if (v <= m * p) return m * p;
  return 10 * p;
}

// --- deployment: every role's group, from any worker --------------------------------------

function roleTotals(role, t) {
  if (role === "routing") return `${fmtNum(t.trucks)} trucks, ${fmtNum(t.routes)} routes, ${fmtNum(t.km)} km`;
  if (role === "invoicing") return `${fmtNum(t.invoices)} invoices, ${t.revenue || "0.00"} ${t.currency || ""}`;
  return `DLQ: ${fmtNum(t.entries)} in the index, ${fmtNum(t.depth)} open`;
}

function renderSystem(s) {
  const t = s.totals;
  if (s.worker.role !== "all") {
    $("covers").textContent = `Totals cover the whole system: every role's workers (see Deployment); `
      + `this worker (${s.worker.workerId}) runs ${s.worker.role}`;
    renderTotals(t);
  }
  $("system-note").textContent = `Whole system (asked of ${s.worker.workerId}, role ${s.worker.role}): `
    + `${fmtNum(t.routes)} routes, ${fmtNum(t.invoices)} invoices, ${fmtNum(t.dlqDepth)} open DLQ entries, `
    + `backlog ${fmtNum(t.lagTotal)}`;
  fill($("system-rows"), Object.entries(s.roles).map(([role, r]) => el("tr", { id: `role-${role}` },
    cell(role),
    el("td", {}, r.group, " ", badge(r.state, r.state === "Stable" ? "ok" : "warn")),
    el("td", {}, r.workers.length
      ? r.workers.map((w) => `${w.url}: ${w.partitions.join(", ") || "none"}`
        + (w.recovering ? " (recovering tables)" : w.rebalancing ? " (rebalancing)" : "")).join("; ")
      : el("span", { class: "muted" }, "no worker")),
    el("td", { class: "num" + (r.lagTotal ? " warn" : "") }, fmtNum(r.lagTotal)),
    el("td", { class: "num" }, r.drainRatePerS === null ? "–" : `${fmtNum(r.drainRatePerS)}/s`),
    el("td", { class: "num" }, fmtAge(r.drainSeconds)),
    el("td", {}, roleTotals(role, r.totals), r.complete ? "" : el("span", { class: "muted" }, " (partial)")))));
}

// --- trucks --------------------------------------------------------------------------------

function renderTrucks(data) {
  $("truck-count").textContent = `${data.matched} truck(s) on this worker's partitions`
    + (data.role && data.role !== "all" ? ` (its ${data.role} table only: open a truck for all of it)` : "")
    + (data.matched > data.trucks.length ? `, first ${data.trucks.length} shown` : "");
  fill($("truck-rows"), data.trucks.length ? data.trucks.map((t) => el("tr", {},
    el("td", {}, truckLink(t.truckId)), el("td", { class: "num" }, fmtNum(t.routes)),
    el("td", { class: "num" }, fmtNum(t.km)), cell(t.lastDestination), cell(t.eta),
    el("td", { class: "num" }, fmtNum(t.invoices)),
    el("td", { class: "num" }, t.currency ? `${t.revenue} ${t.currency}` : "–"))) : [emptyRow(7, "no trucks")]);
}

async function refreshTruckPage(truckId) {
  $("truck-title").textContent = truckId;
  let t;
  try {
    t = await api(`/api/trucks/${encodeURIComponent(truckId)}`);
  } catch (err) {
    const box = $("truck-error");
    box.hidden = false;
    box.textContent = err.status === 404 ? "No such truck." : `Could not load the truck: ${err.message}`;
    fill($("truck-cards"), []); fill($("truck-routes"), []); fill($("truck-invoices"), []);
    return;
  }
  $("truck-error").hidden = true;
  const parts = t.parts ? Object.entries(t.parts).map(([name, p]) => (p.error
    ? `${name}: unavailable (${p.error})` : `${name} from ${p.servedBy}`)).join("; ") : "";
  $("truck-served").textContent = `partition ${t.partition}, answered by ${t.servedBy}`
    + (parts ? ` (${parts})` : "");
  const card = (label, value, id) => el("div", { class: "card" }, el("span", { class: "label" }, label),
    el("span", { class: "value", id }, value));
  fill($("truck-cards"), [
    card("Routes", fmtNum(t.routes), "truck-routes-count"), card("Kilometres", fmtNum(t.km)),
    card("Last destination", t.lastDestination || "–", "truck-destination"), card("ETA", t.eta || "–"),
    card("Invoices", fmtNum(t.invoices), "truck-invoices-count"),
    card("Revenue", t.currency ? `${t.revenue} ${t.currency}` : "–"),
  ]);
  fill($("truck-routes"), t.recentRoutes.length ? t.recentRoutes.map((r) => el("tr", {},
    cell(r.routeId), cell(r.origin), cell(r.destination), el("td", { class: "num" }, fmtNum(r.distanceKm)),
    cell(r.eta), cell(fmtTime(r.timestamp)))) : [emptyRow(6, "no routes")]);
  fill($("truck-invoices"), t.recentInvoices.length ? t.recentInvoices.map((i) => el("tr", {},
    cell(i.invoiceNumber), el("td", { class: "num" }, `${i.gross} ${i.currency}`), cell(fmtTime(i.timestamp)),
    el("td", {}, invoiceLink(i.invoiceId)))) : [emptyRow(4, "no invoices")]);
}

// --- invoices ------------------------------------------------------------------------------

function renderInvoices(data) {
  fill($("invoice-rows"), data.invoices.length ? data.invoices.map((i) => el("tr", {},
    cell(i.invoiceNumber), el("td", {}, i.truckId ? truckLink(i.truckId) : "–"),
    el("td", { class: "num" }, `${i.gross} ${i.currency}`), cell(fmtTime(i.issuedAt)),
    el("td", {}, invoiceLink(i.invoiceId)))) : [emptyRow(5, "no invoices yet")]);
}

// --- dead-letter queue ---------------------------------------------------------------------

function renderDlqSummary(s) {
  setText("dlq-depth", fmtNum(s.depth));
  setText("dlq-statuses", Object.entries(s.statuses).map(([k, v]) => `${k} ${v}`).join(" · "));
  const rows = (group) => {
    const names = Object.keys(group).sort();
    return names.length ? names.map((n) => el("tr", {}, cell(n), el("td", { class: "num" }, group[n].depth),
      cell(fmtAge(group[n].oldestAgeS)))) : [emptyRow(3, "nothing open")];
  };
  fill($("dlq-by-class"), rows(s.byErrorClass));
  fill($("dlq-by-topic"), rows(s.byTopic));
}

function dlqQuery() {
  const q = new URLSearchParams();
  const add = (name, id) => { const v = $(id).value.trim(); if (v) q.set(name, v); };
  add("status", "dlq-status"); add("topic", "dlq-topic"); add("errorClass", "dlq-error"); add("truck", "dlq-truck");
  q.set("limit", "100");
  return q.toString();
}

function renderDlqList(data) {
  $("dlq-count").textContent = `${data.matched} matching`;
  fill($("dlq-rows"), data.entries.length ? data.entries.map((e) => el("tr", {
    class: e.id === state.dlqSelected ? "selected" : "", "data-entry": e.id },
    el("td", {}, el("a", { href: "#dlq", class: "entry", onclick: (ev) => { ev.preventDefault(); selectDlq(e.id); } }, e.id)),
    el("td", { class: "status" }, badge(e.status)), cell(`${e.sourceTopic}/${e.sourcePartition}@${e.sourceOffset}`),
    cell(e.agent), cell(e.reason), cell(e.errorClass), cell(e.truckId),
    el("td", { class: "num" }, e.replayCount), cell(fmtTime(e.lastFailure)))) : [emptyRow(9, "no entries")]);
}

function selectDlq(id) {
  state.dlqSelected = id;
  $("dlq-action-result").textContent = "";
  refreshDlqDetail();
}

function payloadText(p) {
  if (!p) return "(none)";
  if (p.encoding === "json") return JSON.stringify(p.json, null, 2);
  return p.text;
}

async function refreshDlqDetail() {
  const id = state.dlqSelected;
  if (!id) { $("dlq-detail").hidden = true; return; }
  let e;
  try {
    e = await api(`/api/dlq/${encodeURIComponent(id)}`);
  } catch (err) {
    $("dlq-action-result").textContent = `Could not load ${id}: ${err.message}`;
    return;
  }
  if (state.dlqSelected !== id) return;
  $("dlq-detail").hidden = false;
  $("dlq-detail-id").textContent = e.id;
  const status = $("dlq-detail-status");
  status.textContent = e.status;
  status.className = `badge ${e.status}`;
  const meta = [["Source", `${e.sourceTopic} / partition ${e.sourcePartition} @ offset ${e.sourceOffset}`],
    ["Agent", e.agent], ["Kind / reason", `${e.kind}: ${e.reason}`], ["Error", `${e.errorClass}: ${e.errorMessage}`],
    ["Truck", e.truckId], ["Attempts", e.attempts], ["Failures", e.failures], ["Replays", e.replayCount],
    ["First failure", fmtTime(e.firstFailure)], ["Last failure", fmtTime(e.lastFailure)],
    ["Consumer group", e.group], ["LogiFlow version", e.version], ["DLQ record", `partition ${e.dlqPartition} @ ${e.dlqOffset}`]];
  fill($("dlq-meta"), meta.flatMap(([k, v]) => [el("dt", {}, k), el("dd", {}, v === null || v === undefined ? "–" : v)]));
  $("dlq-payload-info").textContent = `(${e.payload.encoding}, ${e.payloadBytes} bytes`
    + (e.truncated ? ", truncated in the DLQ" : "") + (e.previewBytes < e.payloadBytes ? `, first ${e.previewBytes} shown` : "") + ")";
  $("dlq-payload").textContent = payloadText(e.payload);
  $("dlq-key").textContent = payloadText(e.key);
  fill($("dlq-headers"), e.headers.length ? e.headers.map((h) => el("tr", {}, cell(h.name),
    el("td", { class: h.encoding === "hex" ? "mono muted" : "mono" }, h.value))) : [emptyRow(2, "no headers of its own")]);
  $("dlq-stacktrace").textContent = e.stacktrace || "(none)";
  fill($("dlq-history"), e.history.map((h) => el("tr", {}, cell(fmtTime(h.at)), cell(h.action), cell(h.by), cell(h.detail))));
  $("dlq-replay").disabled = state.readOnly || !e.actions.replay;
  $("dlq-discard").disabled = state.readOnly || !e.actions.discard;
}

async function dlqAction(kind) {
  const id = state.dlqSelected;
  if (!id) return;
  const out = $("dlq-action-result");
  if (!token()) { out.textContent = "Enter the API token first."; $("token").focus(); return; }
  out.textContent = kind === "replay" ? "replaying…" : "discarding…";
  try {
    const payload = kind === "discard" ? { reason: $("dlq-discard-reason").value } : {};
    const r = await act(`/api/dlq/${encodeURIComponent(id)}/${kind}`, payload);
    out.textContent = `${r.action}: ${r.detail}`;
  } catch (err) {
    out.textContent = err.status === 401 ? "Wrong or missing token." : `Failed: ${err.message}`;
  }
  refresh();
}

// --- health --------------------------------------------------------------------------------

function renderHealth(h) {
  setText("worker-id", h.worker.workerId);
  setReadOnly(h.readOnly);
  const parts = Object.entries(h.assignedPartitions).map(([t, p]) => `${t}: ${p.join(",")}`);
  const items = [
    ["Status", badge(h.status, h.status === "ok" ? "ok" : "bad")],
    ["Broker", `${h.broker.reachable ? "reachable" : "unreachable"} (${h.broker.bootstrapServers}, ${h.broker.brokers} broker(s))`
      + (h.broker.error ? ` ${h.broker.error}` : "")],
    ["Worker", h.worker.workerId], ["Role", h.worker.role], ["App id (consumer group)", h.worker.appId],
    ["Process", h.worker.pid],
    ["Partitions assigned", parts.length ? el("ul", { class: "plain" }, ...parts.map((p) => el("li", {}, p))) : "none"],
    ["Rebalancing", h.rebalancing ? "yes" : "no"],
    ["LogiFlow version", h.version], ["Kafka version", h.kafkaVersion],
    ["PDF renderers", h.renderer.workers === 0 ? "none (this role does not invoice)"
      : `${h.renderer.alive ?? "–"} of ${h.renderer.workers ?? "–"} alive`],
    ["Mode", h.readOnly ? "read-only (no API token set)" : "replay/discard enabled with the API token"],
    ["Uptime", fmtAge(h.uptimeS)],
  ];
  fill($("health-list"), items.flatMap(([k, v]) => [el("dt", {}, k), el("dd", {}, v)]));
  $("health-list").dataset.brokerReachable = String(h.broker.reachable);
}

// --- mode, token, routing ------------------------------------------------------------------

function setReadOnly(readOnly) {
  state.readOnly = readOnly;
  $("readonly-banner").hidden = !readOnly;
  $("token-form").hidden = readOnly;
  const mode = $("mode");
  mode.textContent = readOnly ? "read-only" : "operations enabled";
  mode.className = `badge ${readOnly ? "readonly" : "ok"}`;
  if (readOnly) { $("dlq-replay").disabled = true; $("dlq-discard").disabled = true; }
  $("dlq-replay").hidden = readOnly;
  $("dlq-discard").hidden = readOnly;
  $("dlq-discard-reason").hidden = readOnly;
}

function showTokenState() {
  $("token-state").textContent = token() ? "token set for this tab" : "no token";
}

function route() {
  const hash = location.hash;
  if (hash.startsWith("#truck=")) {
    const truckId = decodeURIComponent(hash.slice("#truck=".length));
    $("main").hidden = true;
    $("truck-page").hidden = false;
    refreshTruckPage(truckId);
  } else {
    $("main").hidden = false;
    $("truck-page").hidden = true;
  }
}

function currentTruck() {
  const hash = location.hash;
  return hash.startsWith("#truck=") ? decodeURIComponent(hash.slice("#truck=".length)) : null;
}

// --- polling -------------------------------------------------------------------------------

async function refresh() {
  if (state.busy) return;
  state.busy = true;
  const errors = [];
  const guard = (p) => p.catch((err) => { errors.push(err.message); });
  try {
    const truckId = currentTruck();
    if (truckId !== null) {
      const jobs = [guard(refreshTruckPage(truckId))];
      if (Date.now() - state.lastHealth > HEALTH_MS) {
        state.lastHealth = Date.now();
        jobs.push(guard(api("/api/health").then(renderHealth)));
      }
      await Promise.all(jobs);
    } else {
      const q = state.truckQuery ? `?q=${encodeURIComponent(state.truckQuery)}` : "";
      const jobs = [
        guard(api("/api/overview").then(renderOverview)),
        guard(api("/api/system").then(renderSystem)),
        guard(api(`/api/trucks${q}`).then(renderTrucks)),
        guard(api("/api/invoices/recent?limit=15").then(renderInvoices)),
        guard(api("/api/dlq/summary").then(renderDlqSummary)),
        guard(api(`/api/dlq?${state.dlqQuery}`).then(renderDlqList)),
        guard(refreshDlqDetail()),
      ];
      if (Date.now() - state.lastHealth > HEALTH_MS) {
        state.lastHealth = Date.now();
        jobs.push(guard(api("/api/health").then(renderHealth)));
      }
      await Promise.all(jobs);
    }
  } finally {
    state.busy = false;
  }
  const status = $("status");
  status.textContent = errors.length ? `error: ${errors[0]}` : `updated ${new Date().toLocaleTimeString()}`;
  status.className = errors.length ? "error" : "muted";
}

function debounce(fn, ms) {
  let timer = null;
  return (...args) => { clearTimeout(timer); timer = setTimeout(() => fn(...args), ms); };
}

function init() {
  state.dlqQuery = dlqQuery();
  $("truck-search").addEventListener("input", debounce(() => {
    state.truckQuery = $("truck-search").value.trim();
    refresh();
  }, 250));
  $("dlq-filter").addEventListener("submit", (ev) => {
    ev.preventDefault();
    state.dlqQuery = dlqQuery();
    refresh();
  });
  $("dlq-status").addEventListener("change", () => { state.dlqQuery = dlqQuery(); refresh(); });
  $("token-form").addEventListener("submit", (ev) => {
    ev.preventDefault();
    const value = $("token").value.trim();
    if (value) sessionStorage.setItem(TOKEN_KEY, value);
    $("token").value = "";
    showTokenState();
    refreshDlqDetail();
  });
  $("token-forget").addEventListener("click", () => { sessionStorage.removeItem(TOKEN_KEY); showTokenState(); });
  $("dlq-replay").addEventListener("click", () => dlqAction("replay"));
  $("dlq-discard").addEventListener("click", () => dlqAction("discard"));
  window.addEventListener("hashchange", () => { route(); refresh(); });
  showTokenState();
  route();
  refresh();
  setInterval(refresh, POLL_MS);
}

document.addEventListener("DOMContentLoaded", init);
