#include "gateway/dashboard_page.h"

namespace cortex::gateway {
namespace {

// Everything the page draws comes from the stream and goes into the DOM as text
// (textContent), never as markup: engine names and ledger reasons are the operator's words.
constexpr std::string_view kPage = R"html(<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Cortex runtime</title>
<style>
  :root { --bg:#0f1115; --panel:#171a21; --line:#262b36; --text:#e6e9ef; --dim:#8b93a7;
          --ok:#3ecf8e; --warn:#f5a524; --bad:#f06262; --free:#232833; }
  * { box-sizing: border-box; }
  body { margin:0; font:14px/1.45 system-ui, sans-serif; background:var(--bg); color:var(--text); }
  header { display:flex; align-items:center; gap:16px; padding:12px 20px;
           border-bottom:1px solid var(--line); }
  header h1 { font-size:16px; margin:0; font-weight:600; }
  #conn { font-size:12px; padding:2px 8px; border-radius:10px; background:var(--free); }
  #conn.live { color:var(--ok); } #conn.down { color:var(--bad); }
  #age { color:var(--dim); font-size:12px; margin-left:auto; }
  main { padding:16px 20px; display:grid; gap:16px; grid-template-columns: 1fr 1fr; }
  section { background:var(--panel); border:1px solid var(--line); border-radius:8px; padding:14px; }
  section.wide { grid-column: 1 / -1; }
  h2 { font-size:13px; text-transform:uppercase; letter-spacing:.06em; color:var(--dim);
       margin:0 0 10px; font-weight:600; }
  table { width:100%; border-collapse:collapse; font-variant-numeric: tabular-nums; }
  th, td { text-align:left; padding:5px 8px; border-bottom:1px solid var(--line); white-space:nowrap; }
  th { color:var(--dim); font-weight:500; font-size:12px; }
  td.num, th.num { text-align:right; }
  #poolbar { display:flex; height:28px; border-radius:6px; overflow:hidden; background:var(--free);
             border:1px solid var(--line); }
  #poolbar div { height:100%; min-width:2px; border-right:1px solid var(--bg); font-size:11px;
                 overflow:hidden; white-space:nowrap; padding:6px 6px 0; color:#0b0d12; }
  #legend { display:flex; flex-wrap:wrap; gap:12px; margin-top:8px; color:var(--dim); font-size:12px; }
  .swatch { display:inline-block; width:10px; height:10px; border-radius:2px; margin-right:4px; }
  .state-ready, .state-up { color:var(--ok); }
  .state-starting, .state-stopping, .state-sleeping, .state-waking, .state-paused,
  .state-degraded, .state-restarting { color:var(--warn); }
  .state-failed, .state-down, .state-stopped { color:var(--bad); }
  .warn { color:var(--warn); }
  button { background:#2a3142; color:var(--text); border:1px solid #394257; border-radius:5px;
           padding:3px 10px; cursor:pointer; font:inherit; font-size:12px; }
  button:hover { background:#343c50; } button:disabled { opacity:.5; cursor:default; }
  #burst-line { display:flex; align-items:center; gap:12px; }
  #keyform { display:none; grid-column:1 / -1; }
  #keyform input { background:var(--bg); color:var(--text); border:1px solid var(--line);
                   border-radius:5px; padding:5px 8px; width:320px; }
  #message { color:var(--warn); font-size:12px; min-height:1em; }
  @media (max-width: 900px) { main { grid-template-columns: 1fr; } }
</style>
</head>
<body>
<header>
  <h1>Cortex runtime</h1>
  <span id="conn">connecting</span>
  <span id="message"></span>
  <span id="age"></span>
</header>
<main>
  <section id="keyform">
    <h2>Admin key</h2>
    <form id="key"><input id="keyinput" type="password" placeholder="gateway.admin_key" autocomplete="off">
      <button type="submit">Connect</button></form>
  </section>
  <section class="wide">
    <h2>Memory pool</h2>
    <div id="poolbar"></div>
    <div id="legend"></div>
  </section>
  <section class="wide">
    <h2>Engines</h2>
    <table id="engines"><thead><tr>
      <th>engine</th><th>state</th><th>profile</th><th class="num">planned</th>
      <th class="num">ledger</th><th class="num">actual</th><th class="num">in flight</th>
      <th class="num">waiting</th><th class="num">restarts</th><th>pid</th><th></th>
    </tr></thead><tbody></tbody></table>
  </section>
  <section>
    <h2>Lanes</h2>
    <table id="lanes"><thead><tr>
      <th>lane</th><th>engine</th><th>state</th><th class="num">in flight</th><th class="num">queue</th>
    </tr></thead><tbody></tbody></table>
  </section>
  <section>
    <h2>Burst</h2>
    <div id="burst-line"><span id="burst">off</span><button id="burstbtn">Burst on</button></div>
    <h2 style="margin-top:16px">Machine</h2>
    <table id="machine"><tbody></tbody></table>
  </section>
  <section class="wide">
    <h2>Ledger events</h2>
    <table id="ledger"><thead><tr>
      <th class="num">seq</th><th>kind</th><th>engine</th><th>profile</th><th class="num">bytes</th>
      <th class="num">committed after</th><th>reason</th>
    </tr></thead><tbody></tbody></table>
  </section>
</main>
<script>
"use strict";
const COLORS = ["#6ea8fe", "#3ecf8e", "#f5a524", "#c084fc", "#f472b6", "#22d3ee", "#a3e635"];
const KEY = "cortex-admin-key";
let last = null, lastAt = 0, backoff = 500, controller = null;

function gib(b) {
  if (b === null || b === undefined) return "—";
  if (b >= 1 << 30) return (b / (1 << 30)).toFixed(2) + " GiB";
  return (b / (1 << 20)).toFixed(0) + " MiB";
}
function el(tag, text, cls) {
  const e = document.createElement(tag);
  if (text !== undefined && text !== null) e.textContent = String(text);
  if (cls) e.className = cls;
  return e;
}
function row(cells) {
  const tr = document.createElement("tr");
  for (const c of cells) tr.appendChild(c instanceof Node ? c : el("td", c));
  return tr;
}
function num(v) { return el("td", v, "num"); }
function fill(id, rows) { const b = document.querySelector("#" + id + " tbody"); b.replaceChildren(...rows); }
function headers(extra) {
  const h = Object.assign({}, extra || {});
  const k = sessionStorage.getItem(KEY);
  if (k) h["Authorization"] = "Bearer " + k;
  return h;
}
function say(text) { document.getElementById("message").textContent = text || ""; }

async function admin(path, body) {
  const r = await fetch(path, { method: "POST", headers: headers({ "Content-Type": "application/json" }),
                                body: body === undefined ? "" : JSON.stringify(body) });
  if (!r.ok) {
    let m = r.status + "";
    try { m += ": " + (await r.json()).error.message; } catch (e) {}
    say(path + " failed (" + m + ")");
  } else {
    say("");
  }
}

function render(s) {
  last = s; lastAt = Date.now();
  const pool = s.ledger.pool_bytes || 1;
  const bar = document.getElementById("poolbar"), legend = document.getElementById("legend");
  const segs = [], keys = [];
  s.engines.forEach((e, i) => {
    const color = COLORS[i % COLORS.length];
    if (e.ledger_bytes > 0) {
      const d = el("div", e.name);
      d.style.width = (100 * e.ledger_bytes / pool) + "%";
      d.style.background = color;
      d.title = e.name + ": " + gib(e.ledger_bytes) + " in the ledger";
      d.dataset.engine = e.name;
      segs.push(d);
    }
    const k = el("span");
    const sw = el("span", null, "swatch"); sw.style.background = color;
    k.append(sw, document.createTextNode(e.name + " " + gib(e.ledger_bytes)));
    keys.push(k);
  });
  const free = Math.max(0, pool - s.ledger.committed_bytes);
  const k = el("span");
  const sw = el("span", null, "swatch"); sw.style.background = "var(--free)";
  k.append(sw, document.createTextNode("free " + gib(free) + " of " + gib(pool)));
  keys.push(k);
  bar.replaceChildren(...segs);
  legend.replaceChildren(...keys);

  fill("engines", s.engines.map(e => {
    const actual = num(gib(e.actual_bytes));
    if (e.memory_warning) { actual.classList.add("warn"); actual.title = e.memory_warning; }
    const act = el("td");
    for (const a of ["start", "stop", "restart"]) {
      const b = el("button", a);
      b.dataset.action = a;
      b.onclick = () => admin("/admin/engines/" + encodeURIComponent(e.name) + "/" + a);
      act.append(b, document.createTextNode(" "));
    }
    const tr = row([el("td", e.name), el("td", e.state + (e.paused ? " (paused)" : ""), "state-" + e.state),
                    el("td", e.profile), num(gib(e.planned_bytes)), num(gib(e.ledger_bytes)), actual,
                    num(e.in_flight), num(e.waiting), num(e.restarts), el("td", e.pid ?? "—"), act]);
    tr.dataset.engine = e.name;
    if (e.failure) tr.title = e.failure;
    return tr;
  }));
  fill("lanes", s.lanes.map(l => {
    const tr = row([el("td", l.name), el("td", l.engine), el("td", l.state, "state-" + l.state),
                    num(l.in_flight), num(l.queue_depth)]);
    tr.dataset.lane = l.name;
    return tr;
  }));
  const b = s.burst;
  document.getElementById("burst").textContent = b.active
      ? "on for " + b.engine + (b.settled ? "" : " (moving memory)") +
        (b.held_by.length ? " — held by " + b.held_by.join(", ") : "")
      : "off";
  document.getElementById("burstbtn").textContent = b.active ? "Burst off" : "Burst on";
  const m = s.machine, rows = [];
  if (m.meminfo && m.meminfo.present) {
    rows.push(row([el("td", "memory available"), num(gib(m.meminfo.available_bytes) + " of " + gib(m.meminfo.total_bytes))]));
  }
  if (m.amdgpu && m.amdgpu.present) {
    rows.push(row([el("td", "GTT used (" + m.amdgpu.card + ")"), num(gib(m.amdgpu.gtt_used_bytes) + " of " + gib(m.amdgpu.gtt_total_bytes))]));
    rows.push(row([el("td", "VRAM carve-out used"), num(gib(m.amdgpu.vram_used_bytes) + " of " + gib(m.amdgpu.vram_total_bytes))]));
    if (m.amdgpu.busy_percent !== null) rows.push(row([el("td", "GPU busy"), num(m.amdgpu.busy_percent + " %")]));
  }
  if (m.gpu_page_limit && m.gpu_page_limit.present && m.gpu_page_limit.ttm_bytes !== null) {
    rows.push(row([el("td", "GPU page limit"), num(gib(m.gpu_page_limit.ttm_bytes))]));
  }
  rows.push(row([el("td", "swaps"), num(s.swaps)]));
  fill("machine", rows);
  fill("ledger", s.ledger_events.slice().reverse().map(e =>
      row([num(e.seq), el("td", e.kind), el("td", e.engine), el("td", e.profile), num(gib(e.bytes)),
           num(gib(e.committed_after)), el("td", e.reason)])));
}

function setConn(text, cls) { const c = document.getElementById("conn"); c.textContent = text; c.className = cls || ""; }

async function connect() {
  controller = new AbortController();
  let watchdog = null;
  const arm = () => { clearTimeout(watchdog); watchdog = setTimeout(() => controller.abort(), 5000); };
  try {
    arm();
    const r = await fetch("/admin/events", { headers: headers({ Accept: "text/event-stream" }),
                                             signal: controller.signal, cache: "no-store" });
    if (r.status === 401) {
      clearTimeout(watchdog);
      setConn("admin key needed", "down");
      document.getElementById("keyform").style.display = "block";
      return;
    }
    if (!r.ok) throw new Error("HTTP " + r.status);
    document.getElementById("keyform").style.display = "none";
    setConn("live", "live");
    backoff = 500;
    const reader = r.body.getReader(), decoder = new TextDecoder();
    let buf = "";
    for (;;) {
      const { value, done } = await reader.read();
      if (done) break;
      arm();
      buf += decoder.decode(value, { stream: true });
      let at;
      while ((at = buf.indexOf("\n\n")) >= 0) {
        const block = buf.slice(0, at); buf = buf.slice(at + 2);
        let data = "";
        for (const line of block.split("\n")) if (line.startsWith("data:")) data += line.slice(5).trim();
        if (data) render(JSON.parse(data));
      }
    }
  } catch (e) {
    // a dropped stream, a restarting cortex, the watchdog: all reconnect below
  }
  clearTimeout(watchdog);
  setConn("reconnecting in " + (backoff / 1000).toFixed(1) + " s", "down");
  setTimeout(connect, backoff);
  backoff = Math.min(5000, backoff * 2);
}

document.getElementById("key").onsubmit = (ev) => {
  ev.preventDefault();
  sessionStorage.setItem(KEY, document.getElementById("keyinput").value);
  connect();
};
document.getElementById("burstbtn").onclick = () => {
  // Off without a reason lets every holder go, as `cortex burst off` does.
  admin("/admin/burst", last && last.burst.active ? { on: false } : { on: true, reason: "dashboard" });
};
setInterval(() => {
  if (lastAt) document.getElementById("age").textContent =
      "updated " + Math.round((Date.now() - lastAt) / 1000) + " s ago";
}, 1000);
connect();
</script>
</body>
</html>
)html";

}  // namespace

std::string_view DashboardPage() {
  return kPage;
}

}  // namespace cortex::gateway
