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
<link rel="icon" href="data:,">
<style>
  :root { --bg:#0f1115; --panel:#171a21; --line:#262b36; --text:#e6e9ef; --dim:#8b93a7;
          --ok:#3ecf8e; --warn:#f5a524; --bad:#f06262; --free:#a0cbe8;
          --weights:#4e79a7; --kv:#f28e2b; --compute:#b07aa1; --overhead:#9c755f; --reserve:#bab0ac; }
  * { box-sizing: border-box; }
  body { margin:0; font:14px/1.45 system-ui, sans-serif; background:var(--bg); color:var(--text); }
  header { display:flex; flex-wrap:wrap; align-items:center; gap:8px 16px; padding:12px 20px;
           border-bottom:1px solid var(--line); }
  header h1 { font-size:16px; margin:0; font-weight:600; }
  #conn { font-size:12px; padding:2px 8px; border-radius:10px; background:#232833; }
  #conn.live { color:var(--ok); } #conn.down { color:var(--bad); }
  #age { color:var(--dim); font-size:12px; margin-left:auto; }
  main { padding:16px 20px; display:grid; gap:16px; grid-template-columns: minmax(0,1fr) minmax(0,1fr); }
  section { background:var(--panel); border:1px solid var(--line); border-radius:8px; padding:14px;
            min-width:0; }
  section.wide { grid-column: 1 / -1; }
  .scroll { overflow-x:auto; }
  h2 { font-size:13px; text-transform:uppercase; letter-spacing:.06em; color:var(--dim);
       margin:0 0 10px; font-weight:600; }
  table { width:100%; border-collapse:collapse; font-variant-numeric: tabular-nums; }
  th, td { text-align:left; padding:5px 8px; border-bottom:1px solid var(--line); white-space:nowrap; }
  th { color:var(--dim); font-weight:500; font-size:12px; }
  td.num, th.num { text-align:right; }
  tr.clickable { cursor:pointer; } tr.clickable:hover td { background:#1d212a; }
  #poolbar { display:flex; height:34px; border-radius:6px; overflow:hidden; background:var(--free);
             border:1px solid var(--line); }
  #poolbar > div { height:100%; display:flex; border-right:2px solid var(--bg); position:relative; }
  #poolbar > div > span { height:100%; }
  #poolbar > div > b { position:absolute; left:4px; top:8px; font-size:11px; font-weight:600;
                       color:#0b0d12; white-space:nowrap; overflow:hidden; max-width:calc(100% - 6px); }
  #legend { display:flex; flex-wrap:wrap; gap:6px 14px; margin-top:8px; color:var(--dim); font-size:12px; }
  .swatch { display:inline-block; width:10px; height:10px; border-radius:2px; margin-right:4px;
            vertical-align:-1px; }
  .mini { position:relative; width:160px; height:14px; border:1px solid #5b6478; border-radius:3px;
          display:flex; overflow:visible; background:#1b1f28; }
  .mini span { height:100%; }
  .mini i { position:absolute; top:-3px; bottom:-3px; width:2px; background:var(--text); }
  .state-ready, .state-up { color:var(--ok); }
  .state-starting, .state-stopping, .state-sleeping, .state-waking, .state-paused,
  .state-degraded, .state-loading, .state-restarting, .state-queued, .state-unpacking,
  .state-packing, .state-counting, .state-prefilling, .state-generating,
  .state-waiting_for_memory { color:var(--warn); }
  .state-failed, .state-down, .state-stopped, .state-cancelled { color:var(--bad); }
  .state-completed { color:var(--ok); }
  .warn { color:var(--warn); } .dim { color:var(--dim); }
  button { background:#2a3142; color:var(--text); border:1px solid #394257; border-radius:5px;
           padding:3px 10px; cursor:pointer; font:inherit; font-size:12px; }
  button:hover { background:#343c50; }
  #burst-line { display:flex; flex-wrap:wrap; align-items:center; gap:12px; }
  #keyform { display:none; grid-column:1 / -1; }
  #keyform input { background:var(--bg); color:var(--text); border:1px solid var(--line);
                   border-radius:5px; padding:5px 8px; width:min(320px, 100%); }
  #message { color:var(--warn); font-size:12px; }
  #logs { display:none; } #logs pre { margin:0; font-size:12px; max-height:260px; overflow:auto;
                                      white-space:pre-wrap; word-break:break-all; color:#c9cfdb; }
  .progress { width:140px; height:8px; background:#232833; border-radius:4px; overflow:hidden;
              display:inline-block; vertical-align:middle; margin-right:6px; }
  .progress span { display:block; height:100%; background:var(--ok); }
  @media (max-width: 900px) { main { grid-template-columns: minmax(0,1fr); padding:10px; }
                              header { padding:10px; } }
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
  <section class="wide" id="pool">
    <h2>Memory</h2>
    <div id="poolbar"></div>
    <div id="legend"></div>
  </section>
  <section class="wide">
    <h2>Engines</h2>
    <div class="scroll"><table id="engines"><thead><tr>
      <th>engine</th><th>state</th><th>profile</th><th>plan within budget · actual</th>
      <th class="num">planned</th><th class="num">actual</th><th class="num">budget</th>
      <th class="num">in flight</th><th class="num">waiting</th><th class="num">restarts</th>
      <th class="num">uptime</th><th>pid</th><th></th>
    </tr></thead><tbody></tbody></table></div>
  </section>
  <section class="wide" id="logs">
    <h2 id="logs-title">Log</h2>
    <pre id="logtext"></pre>
  </section>
  <section class="wide">
    <h2>Lanes</h2>
    <div class="scroll"><table id="lanes"><thead><tr>
      <th>lane</th><th>engine</th><th>state</th><th class="num">in flight</th><th class="num">queued</th>
      <th class="num">requests</th><th class="num">errors</th><th class="num">TTFT</th>
      <th class="num">tokens/s</th><th class="num">target</th>
    </tr></thead><tbody></tbody></table></div>
  </section>
  <section>
    <h2>Burst</h2>
    <div id="burst-line"><span id="burst">off</span><button id="burstbtn">Burst on</button></div>
    <h2 style="margin-top:16px">Machine</h2>
    <table id="machine"><tbody></tbody></table>
  </section>
  <section>
    <h2>Ingest jobs</h2>
    <div class="scroll"><table id="jobs"><thead><tr>
      <th>job</th><th>status</th><th>lane</th><th>progress</th>
    </tr></thead><tbody></tbody></table></div>
  </section>
  <section class="wide">
    <h2>Ledger events</h2>
    <div class="scroll"><table id="ledger"><thead><tr>
      <th class="num">seq</th><th>kind</th><th>engine</th><th>profile</th><th class="num">bytes</th>
      <th class="num">committed after</th><th>reason</th>
    </tr></thead><tbody></tbody></table></div>
  </section>
</main>
<script>
"use strict";
const KEY = "cortex-admin-key";
const PARTS = [["weights_bytes", "weights", "var(--weights)"], ["kv_bytes", "KV cache", "var(--kv)"],
               ["compute_bytes", "compute + output", "var(--compute)"], ["overhead_bytes", "overhead", "var(--overhead)"]];
let last = null, lastAt = 0, backoff = 500, prevLanes = {}, logEngine = null;

function gib(b) {
  if (b === null || b === undefined) return "—";
  if (b >= 1 << 30) return (b / (1 << 30)).toFixed(2) + " GiB";
  return (b / (1 << 20)).toFixed(0) + " MiB";
}
function duration(ms) {
  const s = Math.max(0, Math.floor(ms / 1000));
  if (s < 60) return s + " s";
  if (s < 3600) return Math.floor(s / 60) + " min";
  return Math.floor(s / 3600) + " h " + Math.floor((s % 3600) / 60) + " min";
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
function cell(node) { const td = el("td"); td.appendChild(node); return td; }
function fill(id, rows) { document.querySelector("#" + id + " tbody").replaceChildren(...rows); }
function swatch(color, text) {
  const k = el("span"), sw = el("span", null, "swatch");
  sw.style.background = color;
  k.append(sw, document.createTextNode(text));
  return k;
}
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

async function showLog(name) {
  logEngine = name;
  const r = await fetch("/admin/engines/" + encodeURIComponent(name) + "/logs?lines=40", { headers: headers() });
  document.getElementById("logs").style.display = "block";
  document.getElementById("logs-title").textContent = "Log of " + name + " (last 40 lines)";
  document.getElementById("logtext").textContent = r.ok ? await r.text() : "HTTP " + r.status;
}

// The plan's parts of `bytes`, in the proportions the engine's plan gives them.
function partsOf(e, bytes) {
  const p = e.plan || {};
  const total = PARTS.reduce((a, [k]) => a + (p[k] || 0), 0) || 1;
  return PARTS.map(([k, label, color]) => [label, color, bytes * (p[k] || 0) / total]);
}

// The same drawing as `cortex plan --svg`, live: reserves, then each engine's ledger share split
// into weights, KV cache, compute and overhead, then what is free in the pool.
function drawPool(s) {
  const section = document.getElementById("pool");
  if (!s.ledger) { section.style.display = "none"; return; }
  section.style.display = "";
  const planned = (s.machine && s.machine.planned) || {};
  const reserves = (planned.reserve_os_bytes || 0) + (planned.reserve_backend_bytes || 0);
  const pool = s.ledger.pool_bytes || 1;
  const whole = reserves + pool;
  const segs = [];
  if (reserves > 0) {
    const d = el("div"); d.style.width = (100 * reserves / whole) + "%"; d.style.background = "var(--reserve)";
    d.title = "reserves (OS and backend) " + gib(reserves);
    d.appendChild(el("b", "reserves")); d.dataset.part = "reserves";
    segs.push(d);
  }
  for (const e of s.engines) {
    if (!(e.ledger_bytes > 0)) continue;
    const d = el("div");
    d.style.width = (100 * e.ledger_bytes / whole) + "%";
    d.dataset.engine = e.name;
    d.title = e.name + ": " + gib(e.ledger_bytes) + " in the ledger (" + e.profile + "), actual " + gib(e.actual_bytes);
    for (const [label, color, bytes] of partsOf(e, e.ledger_bytes)) {
      const sp = el("span"); sp.style.width = (100 * bytes / e.ledger_bytes) + "%"; sp.style.background = color;
      sp.title = e.name + " " + label + " " + gib(bytes);
      d.appendChild(sp);
    }
    d.appendChild(el("b", e.name));
    segs.push(d);
  }
  document.getElementById("poolbar").replaceChildren(...segs);
  const free = Math.max(0, pool - s.ledger.committed_bytes);
  document.getElementById("legend").replaceChildren(
      ...PARTS.map(([, label, color]) => swatch(color, label)),
      swatch("var(--reserve)", "reserves " + gib(reserves)),
      swatch("var(--free)", "free " + gib(free) + " of the " + gib(pool) + " pool"));
}

// Plan parts against the budget, and a line where the actual use is.
function mini(e) {
  const box = el("div", null, "mini");
  const budget = (e.plan && e.plan.budget_bytes) || e.planned_bytes || 1;
  const scale = Math.max(budget, e.planned_bytes || 0, e.actual_bytes || 0);
  for (const [label, color, bytes] of partsOf(e, e.planned_bytes || 0)) {
    const sp = el("span"); sp.style.width = (100 * bytes / scale) + "%"; sp.style.background = color;
    sp.title = label + " " + gib(bytes);
    box.appendChild(sp);
  }
  box.title = "plan " + gib(e.planned_bytes) + " of a " + gib(budget) + " budget; actual " + gib(e.actual_bytes);
  if (e.actual_bytes !== null && e.actual_bytes !== undefined) {
    const i = el("i"); i.style.left = "calc(" + Math.min(100, 100 * e.actual_bytes / scale) + "% - 1px)";
    box.appendChild(i);
  }
  return box;
}

function drawEngines(s) {
  fill("engines", s.engines.map(e => {
    const actual = num(gib(e.actual_bytes));
    if (e.memory_warning) { actual.classList.add("warn"); actual.title = e.memory_warning; }
    const act = el("td");
    for (const a of ["start", "stop", "restart"]) {
      const b = el("button", a);
      b.dataset.action = a;
      b.onclick = (ev) => { ev.stopPropagation(); admin("/admin/engines/" + encodeURIComponent(e.name) + "/" + a); };
      act.append(b, document.createTextNode(" "));
    }
    const up = e.started_at_ms ? duration(s.time_ms - e.started_at_ms) : "—";
    const tr = row([el("td", e.name), el("td", e.state + (e.paused ? " (paused)" : ""), "state-" + e.state),
                    el("td", e.profile), cell(mini(e)), num(gib(e.planned_bytes)), actual,
                    num(gib(e.plan ? e.plan.budget_bytes : null)), num(e.in_flight), num(e.waiting),
                    num(e.restarts), num(up), el("td", e.pid ?? "—"), act]);
    tr.dataset.engine = e.name;
    tr.className = "clickable";
    tr.title = e.failure ? e.failure : "show the last log lines";
    tr.onclick = () => showLog(e.name);
    return tr;
  }));
}

function drawLanes(s) {
  const now = {};
  fill("lanes", s.lanes.map(l => {
    // TTFT over the last interval when requests came in, else over the lane's life.
    const p = prevLanes[l.name];
    let ttft = null;
    if (p && l.ttft_count > p.ttft_count) ttft = (l.ttft_sum_s - p.ttft_sum_s) / (l.ttft_count - p.ttft_count);
    else if (l.ttft_count > 0) ttft = l.ttft_sum_s / l.ttft_count;
    now[l.name] = (p && l.ttft_count === p.ttft_count) ? p : l;
    const tps = num(l.tokens_per_second === null || l.tokens_per_second === undefined ? "—" : l.tokens_per_second.toFixed(1));
    if (l.tokens_per_second && l.tokens_per_second_target && l.tokens_per_second < l.tokens_per_second_target) {
      tps.classList.add("warn"); tps.title = "below the lane's target";
    }
    const errors = num(l.errors ?? 0);
    if (l.errors > 0) errors.classList.add("warn");
    const tr = row([el("td", l.name), el("td", l.engine), el("td", l.state, "state-" + l.state),
                    num(l.in_flight), num(l.queue_depth), num(l.requests ?? 0), errors,
                    num(ttft === null ? "—" : (ttft * 1000).toFixed(0) + " ms"), tps,
                    num(l.tokens_per_second_target ?? "—")]);
    tr.dataset.lane = l.name;
    return tr;
  }));
  prevLanes = now;
}

function drawJobs(s) {
  const ing = s.ingest || { enabled: false, jobs: [] };
  if (!ing.jobs.length) {
    const td = el("td", ing.enabled ? "no jobs yet (POST /v1/ingest)" : "ingest is not enabled", "dim");
    td.colSpan = 4;
    fill("jobs", [row([td])]);
    return;
  }
  fill("jobs", ing.jobs.map(j => {
    const pr = el("td");
    const p = j.progress;
    if (p && p.total > 0) {
      const bar = el("span", null, "progress"), inner = el("span");
      inner.style.width = Math.min(100, 100 * p.done / p.total) + "%";
      bar.appendChild(inner);
      pr.append(bar, document.createTextNode(p.stage + " " + p.done + "/" + p.total + " " + p.unit +
                                             (p.eta_s ? ", ~" + duration(p.eta_s * 1000) + " left" : "")));
    } else if (p) {
      pr.textContent = p.stage;
    }
    const tr = row([el("td", j.id), el("td", j.status, "state-" + j.status), el("td", j.lane ?? "—"), pr]);
    tr.dataset.job = j.id;
    if (j.error) tr.title = j.error.message;
    return tr;
  }));
}

function render(s) {
  last = s; lastAt = Date.now();
  drawPool(s);
  drawEngines(s);
  drawLanes(s);
  drawJobs(s);
  const b = s.burst || { active: false, held_by: [] };
  document.getElementById("burst").textContent = b.active
      ? "on for " + b.engine + (b.settled ? "" : " (moving memory)") +
        (b.held_by.length ? " — held by " + b.held_by.join(", ") : "")
      : "off";
  document.getElementById("burstbtn").textContent = b.active ? "Burst off" : "Burst on";
  const m = s.machine || {}, rows = [];
  if (m.meminfo && m.meminfo.present) {
    rows.push(row([el("td", "memory available"), num(gib(m.meminfo.available_bytes) + " of " + gib(m.meminfo.total_bytes))]));
  }
  if (m.amdgpu && m.amdgpu.present) {
    rows.push(row([el("td", "GTT used (" + m.amdgpu.card + ")"), num(gib(m.amdgpu.gtt_used_bytes) + " of " + gib(m.amdgpu.gtt_total_bytes))]));
    rows.push(row([el("td", "VRAM carve-out used"), num(gib(m.amdgpu.vram_used_bytes) + " of " + gib(m.amdgpu.vram_total_bytes))]));
    if (m.amdgpu.busy_percent !== null) rows.push(row([el("td", "GPU busy"), num(m.amdgpu.busy_percent + " %")]));
  } else if (m.amdgpu) {
    rows.push(row([el("td", "GPU"), num("no amdgpu device")]));
  }
  if (m.gpu_page_limit && m.gpu_page_limit.present && m.gpu_page_limit.ttm_bytes !== null) {
    rows.push(row([el("td", "GPU page limit (TTM)"), num(gib(m.gpu_page_limit.ttm_bytes))]));
  }
  if (s.swaps !== undefined) rows.push(row([el("td", "swaps"), num(s.swaps)]));
  fill("machine", rows);
  fill("ledger", (s.ledger_events || []).slice().reverse().map(e =>
      row([num(e.seq), el("td", e.kind), el("td", e.engine), el("td", e.profile), num(gib(e.bytes)),
           num(gib(e.committed_after)), el("td", e.reason)])));
}

function setConn(text, cls) { const c = document.getElementById("conn"); c.textContent = text; c.className = cls || ""; }

async function connect() {
  const controller = new AbortController();
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
  admin("/admin/burst", last && last.burst && last.burst.active ? { on: false } : { on: true, reason: "dashboard" });
};
setInterval(() => {
  if (lastAt) document.getElementById("age").textContent =
      "updated " + Math.round((Date.now() - lastAt) / 1000) + " s ago";
}, 1000);
setInterval(() => { if (logEngine) showLog(logEngine); }, 3000);
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
