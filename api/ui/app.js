// The shelfsync status page. Talks to the engine's own HTTP API with the
// bearer token the operator enters; the token lives in this tab's
// sessionStorage only and goes out in the Authorization header, never in a
// URL and never to the console. Every value from the API is put into the
// page as text (textContent), never as HTML.
"use strict";

const TOKEN_KEY = "shelfsync.token";
const REFRESH_MS = 5000;
const PAGE = 25;

const $ = (id) => document.getElementById(id);

let timer = null;
let shops = [];
// The deliveries list: its cursor stack, so that "Next" goes on and a
// refresh reloads the page shown.
const del = { cursors: [""], next: null };
const search = { next: null, chosen: null };

function token() { return sessionStorage.getItem(TOKEN_KEY) || ""; }

class ApiError extends Error {
  constructor(status, message) { super(message); this.status = status; }
}

async function api(path, options = {}) {
  const headers = { Authorization: "Bearer " + token() };
  const res = await fetch(path, { ...options, headers, cache: "no-store" });
  let body = null;
  try { body = await res.json(); } catch (e) { body = null; }
  if (res.status === 401) { loggedOut("The token was refused; enter it again."); }
  if (!res.ok) {
    throw new ApiError(res.status, (body && body.error) || res.status + " " + res.statusText);
  }
  return body;
}

function el(tag, text, cls) {
  const e = document.createElement(tag);
  if (text !== undefined && text !== null) e.textContent = String(text);
  if (cls) e.className = cls;
  return e;
}

function cell(row, text, cls) { const td = el("td", text, cls); row.appendChild(td); return td; }

function when(t) {
  if (!t) return "—";
  const d = new Date(t);
  if (isNaN(d)) return t;
  const ago = Math.round((Date.now() - d.getTime()) / 1000);
  const rel = ago < 60 ? ago + " s ago" : ago < 3600 ? Math.round(ago / 60) + " min ago"
            : ago < 86400 ? Math.round(ago / 3600) + " h ago" : Math.round(ago / 86400) + " d ago";
  return d.toISOString().replace("T", " ").replace(/\.\d+Z$/, "Z") + " (" + rel + ")";
}

// -- login --------------------------------------------------------------------

function loggedOut(message) {
  sessionStorage.removeItem(TOKEN_KEY);
  if (timer) { clearInterval(timer); timer = null; }
  $("main").hidden = true;
  $("forget").hidden = true;
  $("login").hidden = false;
  $("login-error").textContent = message || "";
  $("token").value = "";
  $("token").focus();
}

async function loggedIn() {
  $("login").hidden = true;
  $("main").hidden = false;
  $("forget").hidden = false;
  await refresh(true);
  if (!timer) timer = setInterval(() => refresh(false), REFRESH_MS);
}

// -- health ---------------------------------------------------------------------

async function health() {
  const badge = $("health");
  try {
    const res = await fetch("/readyz", { cache: "no-store" });
    const body = await res.json();
    badge.textContent = res.ok ? "ready" : "not ready: " + (body.reason || res.status);
    badge.className = "badge " + (res.ok ? "ok" : "bad");
  } catch (e) {
    badge.textContent = "unreachable";
    badge.className = "badge bad";
  }
}

// -- shops ------------------------------------------------------------------------

function budget(s) {
  if (s.budget) {
    const b = s.budget;
    return Math.floor(b.available) + " / " + b.maximum + " points (+" + b.restore_rate + "/s)";
  }
  if (s.channel === "amazon") {
    let t = (s.feeds_in_flight || []).length + " feed(s) processing";
    if (s.metrics && s.metrics.throttled) t += ", throttled " + s.metrics.throttled + "×";
    if (s.next_batch_at) t += "; next feed " + new Date(s.next_batch_at).toLocaleTimeString();
    return t;
  }
  return "—";
}

function resyncCell(row, s) {
  const td = cell(row, "");
  const box = el("div", null, "resync");
  const r = s.resync;
  if (r) {
    const scanned = r.scanned || 0, delivered = r.delivered || 0, queued = r.queued || 0;
    const line = el("div", null, "bar");
    if (r.state === "running") {
      const p = el("progress");
      p.max = Math.max(queued, 1); p.value = delivered;
      p.title = delivered + " of " + queued + " queued delivered";
      line.appendChild(p);
    }
    line.appendChild(el("span", r.state + (r.finished_at ? " " + when(r.finished_at) : ""), "small"));
    box.appendChild(line);
    box.appendChild(el("span", scanned + " scanned · " + queued + " queued · " + delivered + " delivered",
                       "small muted"));
  }
  const b = el("button", "Resync");
  b.type = "button";
  b.dataset.resync = s.id;
  b.disabled = !!(r && r.state === "running");
  b.addEventListener("click", () => startResync(s.id, b));
  box.appendChild(b);
  td.appendChild(box);
}

async function startResync(id, button) {
  if (!confirmResync(id)) return;
  button.disabled = true;
  try {
    await api("/v1/shops/" + encodeURIComponent(id) + "/resync", { method: "POST" });
    $("shops-error").textContent = "";
  } catch (e) {
    $("shops-error").textContent = "resync of " + id + ": " + e.message;
  }
  await loadShops();
}

// A resync pushes every product again: asked once per click.
function confirmResync(id) {
  return window.confirm("Push every product's current numbers to " + id + " again?");
}

async function loadShops() {
  const body = await api("/v1/shops");
  shops = body.shops;
  const tbody = $("shops").querySelector("tbody");
  tbody.replaceChildren();
  for (const s of shops) {
    const row = el("tr");
    row.dataset.shop = s.id;
    const name = cell(row, s.id, "mono nowrap");
    if (s.problem) name.appendChild(el("div", s.problem, "small errtext"));
    cell(row, s.channel);
    const sync = cell(row, "");
    sync.appendChild(el("span", s.stock_sync ? "on" : "off", "badge " + (s.stock_sync ? "ok" : "warn")));
    cell(row, s.pending, "num");
    cell(row, s.in_flight, "num");
    cell(row, budget(s), "small");
    cell(row, when(s.last_success), "small");
    cell(row, s.last_error || "—", "small" + (s.last_error ? " errtext" : " muted"));
    resyncCell(row, s);
    tbody.appendChild(row);
  }
  fillShopSelect($("del-shop"));
  fillShopSelect($("explain-shop"));
}

function fillShopSelect(select) {
  const ids = shops.map((s) => s.id);
  const current = [...select.options].map((o) => o.value);
  if (ids.join("\n") === current.join("\n")) return;
  const chosen = select.value;
  select.replaceChildren(...ids.map((id) => { const o = el("option", id); o.value = id; return o; }));
  if (ids.includes(chosen)) select.value = chosen;
}

// -- deliveries ----------------------------------------------------------------------

async function loadDeliveries() {
  const shop = $("del-shop").value;
  if (!shop) return;
  const state = $("del-state").value;
  const cursor = del.cursors[del.cursors.length - 1];
  let q = "state=" + encodeURIComponent(state) + "&limit=" + PAGE;
  if (cursor) q += "&cursor=" + encodeURIComponent(cursor);
  try {
    const body = await api("/v1/shops/" + encodeURIComponent(shop) + "/deliveries?" + q);
    $("del-error").textContent = "";
    const tbody = $("deliveries").querySelector("tbody");
    tbody.replaceChildren();
    for (const entry of body.entries) {
      for (const loc of entry.locations) {
        const row = el("tr");
        row.dataset.product = entry.product;
        cell(row, entry.product, "mono nowrap");
        cell(row, loc.sku !== undefined ? "SKU " + loc.sku : loc.location, "mono small nowrap");
        cell(row, loc.value, "num");
        cell(row, loc.desired === undefined || loc.desired === null ? "—" : loc.desired, "num");
        cell(row, when(loc.since), "small");
        const e = loc.error;
        cell(row, e ? e.code + (e.permanent ? " (permanent)" : "") + ": " + e.message : "—",
             "small" + (e ? " errtext" : " muted"));
        tbody.appendChild(row);
      }
    }
    $("del-empty").hidden = body.entries.length > 0;
    del.next = body.next_cursor;
    $("del-next").disabled = !del.next;
    $("del-page").textContent = "page " + del.cursors.length;
  } catch (e) {
    $("del-error").textContent = e.message;
  }
}

function firstDeliveries() { del.cursors = [""]; loadDeliveries(); }

// -- products ------------------------------------------------------------------------

async function runSearch(more) {
  const prefix = $("search").value;
  let q = "prefix=" + encodeURIComponent(prefix) + "&limit=" + PAGE;
  if (more && search.next) q += "&cursor=" + encodeURIComponent(search.next);
  try {
    const body = await api("/v1/products?" + q);
    $("search-error").textContent = "";
    const list = $("results");
    if (!more) list.replaceChildren();
    for (const p of body.entries) {
      const li = el("li", p.product, "mono");
      li.dataset.product = p.product;
      li.addEventListener("click", () => showProduct(p.product));
      list.appendChild(li);
    }
    if (!more && body.entries.length === 0) list.appendChild(el("li", "no product starts with that", "muted"));
    search.next = body.next_cursor;
    $("search-next").disabled = !search.next;
  } catch (e) {
    $("search-error").textContent = e.message;
  }
}

async function showProduct(code) {
  search.chosen = code;
  for (const li of $("results").children) li.classList.toggle("chosen", li.dataset.product === code);
  const shop = $("explain-shop").value;
  const box = $("product");
  try {
    const product = await api("/v1/products/" + encodeURIComponent(code));
    const x = shop ? await api("/v1/products/" + encodeURIComponent(code) +
                               "/explain?shop=" + encodeURIComponent(shop)) : null;
    box.replaceChildren(renderProduct(product, x));
    $("search-error").textContent = "";
  } catch (e) {
    $("search-error").textContent = code + ": " + e.message;
  }
}

function renderProduct(p, x) {
  const f = document.createDocumentFragment();
  f.appendChild(el("h3", p.product, "mono"));
  f.appendChild(el("h4", "Stock"));
  const t = el("table");
  const head = el("tr");
  for (const h of ["Warehouse", "On hand", "Reserved", "Available"]) head.appendChild(el("th", h));
  t.appendChild(head);
  for (const [wh, s] of Object.entries(p.warehouses)) {
    const r = el("tr");
    cell(r, wh, "mono"); cell(r, s.on_hand, "num"); cell(r, s.reserved, "num"); cell(r, s.available, "num");
    t.appendChild(r);
  }
  f.appendChild(t);
  if (!x) return f;
  f.appendChild(el("h4", "Explain for " + x.shop + " (" + x.channel + ")"));
  if (x.note) f.appendChild(el("p", x.note, "muted"));
  const r = x.rules || {};
  f.appendChild(el("p", "rules: buffer " + (r.buffer ?? "none") + ", percent " + (r.percent ?? "none") +
                        ", max " + (r.max ?? "none"), "small muted"));
  for (const n of x.numbers || []) {
    const where = n.location ? "location " + n.location : "quantity";
    f.appendChild(el("div", where + ": " + n.value, "mono"));
    const ol = el("ol", null, "small");
    for (const s of n.calculation || []) ol.appendChild(el("li", s.step + " → " + s.value + " (" + s.detail + ")"));
    f.appendChild(ol);
    const d = n.delivery || {};
    let text = "delivery: " + d.state + (d.confirmed !== undefined ? ", confirmed " + (d.confirmed ?? "none") : "");
    if (d.error) text += "; error " + d.error.code + ": " + d.error.message;
    f.appendChild(el("p", text, "small" + (d.error ? " errtext" : "")));
    if ((n.events || []).length) {
      const ev = n.events.map((e) => "seq " + e.seq + " " + e.type + " " + e.warehouse).join(" · ");
      f.appendChild(el("p", "events: " + ev, "small muted"));
    }
  }
  for (const w of x.excluded || []) f.appendChild(el("p", w.warehouse + " left out: " + w.reason, "small muted"));
  return f;
}

// -- refresh -------------------------------------------------------------------------

async function refresh(first) {
  await health();
  if (!token()) return;
  try {
    await loadShops();
    $("shops-error").textContent = "";
  } catch (e) {
    if (e.status !== 401) $("shops-error").textContent = e.message;
    return;
  }
  await loadDeliveries();
  $("updated").textContent = "updated " + new Date().toLocaleTimeString() + " · every " + REFRESH_MS / 1000 + " s";
}

// -- wiring --------------------------------------------------------------------------

document.addEventListener("DOMContentLoaded", () => {
  $("login-form").addEventListener("submit", (ev) => {
    ev.preventDefault();
    const t = $("token").value.trim();
    if (!t) { $("login-error").textContent = "Enter the API token."; return; }
    sessionStorage.setItem(TOKEN_KEY, t);
    $("token").value = "";
    loggedIn();
  });
  $("forget").addEventListener("click", () => loggedOut(""));
  $("del-shop").addEventListener("change", firstDeliveries);
  $("del-state").addEventListener("change", firstDeliveries);
  $("del-first").addEventListener("click", firstDeliveries);
  $("del-next").addEventListener("click", () => {
    if (!del.next) return;
    del.cursors.push(del.next);
    loadDeliveries();
  });
  $("search-form").addEventListener("submit", (ev) => { ev.preventDefault(); runSearch(false); });
  $("search-next").addEventListener("click", () => runSearch(true));
  $("explain-shop").addEventListener("change", () => { if (search.chosen) showProduct(search.chosen); });
  health();
  if (token()) loggedIn(); else loggedOut("");
});
