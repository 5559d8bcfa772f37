// The dashboard page (http_dashboard.h): HTML, CSS and JavaScript in one string, served at "/";
// no external asset (no CDN): the proxy may run where the browser cannot reach the internet.
#include "http_dashboard.h"

namespace shardproxy::proxy {

namespace {

constexpr std::string_view kPage = R"PAGE(<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>shardproxy</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<style>
body { font: 14px system-ui, sans-serif; margin: 16px 24px; color: #1d2433; background: #f7f8fa; }
h1 { font-size: 20px; margin: 0 0 4px; } h2 { font-size: 16px; margin: 24px 0 8px; }
.muted { color: #6b7385; } .card { background: #fff; border: 1px solid #dde1e8; border-radius: 6px; padding: 12px 16px; margin-bottom: 12px; }
table { border-collapse: collapse; width: 100%; } th, td { text-align: left; padding: 4px 8px; border-bottom: 1px solid #eceff4; vertical-align: top; }
th { font-weight: 600; color: #4a5263; } td.num { text-align: right; font-variant-numeric: tabular-nums; }
code { font: 12px ui-monospace, monospace; }
.pill { display: inline-block; padding: 0 6px; border-radius: 9px; font-size: 12px; }
.up { background: #d8f3dc; color: #1b5e20; } .down { background: #ffd7d7; color: #8b0000; } .unknown { background: #eceff4; }
.bar { height: 10px; background: #eceff4; border-radius: 5px; overflow: hidden; width: 240px; display: inline-block; vertical-align: middle; }
.bar > span { display: block; height: 100%; background: #3f7fd8; }
svg text { font: 11px system-ui, sans-serif; fill: #4a5263; }
</style></head>
<body>
<h1>shardproxy</h1><div class="muted" id="status">loading…</div>
<h2>Shard map</h2><div id="shardmap"></div>
<h2>Statements per second, per shard (last 10 minutes)</h2>
<div class="card"><svg id="chart" width="960" height="260" data-series=""></svg><div id="legend"></div></div>
<h2>Top statements</h2><div class="card"><table id="digests"><thead><tr><th>keyspace</th><th>statement</th><th>count</th><th>total ms</th><th>p99 ms</th><th>scatter</th><th>errors</th></tr></thead><tbody></tbody></table></div>
<h2>Migrations</h2><div class="card" id="migrations"><span class="muted">none</span></div>
<script>
"use strict";
const COLORS = ["#3f7fd8", "#e07b39", "#3aa57a", "#c2477f", "#8c6bd8", "#c9a227", "#4fb3c8", "#7a7f8c"];
const el = (tag, attrs = {}, text) => { const e = document.createElement(tag); for (const [k, v] of Object.entries(attrs)) e.setAttribute(k, v); if (text !== undefined) e.textContent = text; return e; };
const svgEl = (tag, attrs = {}) => { const e = document.createElementNS("http://www.w3.org/2000/svg", tag); for (const [k, v] of Object.entries(attrs)) e.setAttribute(k, v); return e; };
async function get(path) { const r = await fetch(path, {cache: "no-store"}); if (!r.ok) throw new Error(path + ": " + r.status); return r.json(); }

function renderShardMap(m) {
  const root = document.getElementById("shardmap"); root.replaceChildren();
  for (const ks of m.keyspaces) {
    const card = el("div", {class: "card keyspace", "data-keyspace": ks.name});
    card.append(el("b", {}, ks.name), el("span", {class: "muted"}, ks.sharded ? "  sharded, " + ks.shards.length + " shards" : "  unsharded"));
    // Serving shards on the first lane; shards not serving (a migration's targets, which cover
    // the same ranges as its sources) on a second one below.
    const idle = ks.shards.some(s => !s.serving);
    const W = 900, H = 30, lanes = idle ? 2 : 1, svg = svgEl("svg", {class: "ranges", width: W + 100, height: lanes * (H + 4) + 16});
    if (idle) { const lab = svgEl("text", {x: W + 8, y: H + 4 + H / 2 + 4}); lab.textContent = "not serving"; svg.append(lab); }
    ks.shards.forEach((s, i) => {
      const x = 1 + s.start * W, w = Math.max(2, (s.end - s.start) * W), y = s.serving ? 1 : H + 5;
      const r = svgEl("rect", {x, y, width: w - 1, height: H, rx: 3, fill: s.serving ? COLORS[i % COLORS.length] : "#b8bec9", "data-shard": s.name});
      const title = svgEl("title"); title.textContent = ks.name + "/" + s.name + (s.serving ? "" : " (not serving)"); r.append(title);
      const t = svgEl("text", {x: x + 4, y: y + H / 2 + 4, fill: "#fff"}); t.textContent = s.name; t.style.fill = "#fff";
      svg.append(r, t);
    });
    const base = lanes * (H + 4) + 12;
    const axis = svgEl("text", {x: 1, y: base}); axis.textContent = "keyspace ID 0x00…"; svg.append(axis);
    const axis2 = svgEl("text", {x: W - 36, y: base}); axis2.textContent = "0xff…"; svg.append(axis2);
    card.append(el("div"), svg);
    const table = el("table", {class: "backends"});
    table.append(el("tr")); table.rows[0].append(el("th", {}, "shard"), el("th", {}, "backend"), el("th", {}, "role"), el("th", {}, "state"), el("th", {}, "health"), el("th", {}, "lag s"));
    for (const s of ks.shards) for (const b of s.backends) {
      const tr = el("tr", {"data-backend": b.address});
      const health = b.up === null ? ["unknown", "not probed"] : b.up ? ["up", "up"] : ["down", "down"];
      const h = el("td"); h.append(el("span", {class: "pill " + health[0]}, health[1]));
      tr.append(el("td", {}, s.name), el("td", {}, b.address), el("td", {}, b.role), el("td", {}, b.state), h, el("td", {class: "num"}, b.lag_seconds === null ? "" : String(b.lag_seconds)));
      table.append(tr);
    }
    card.append(table); root.append(card);
  }
}

function renderChart(t) {
  const svg = document.getElementById("chart"); svg.replaceChildren();
  const W = 960, H = 260, L = 48, B = 24, T = 8, R = 8;
  const pts = t.points, names = t.shards;
  svg.setAttribute("data-series", names.join(","));
  svg.setAttribute("data-points", String(pts.length));
  let max = 1; for (const p of pts) for (const n of names) max = Math.max(max, p.rates[n] || 0);
  const t0 = pts.length ? pts[0].t : 0, t1 = pts.length ? pts[pts.length - 1].t : 1, span = Math.max(1, t1 - t0);
  const X = tt => L + (W - L - R) * (tt - t0) / span, Y = v => T + (H - T - B) * (1 - v / max);
  for (let i = 0; i <= 4; i++) {
    const v = max * i / 4, y = Y(v);
    svg.append(svgEl("line", {x1: L, x2: W - R, y1: y, y2: y, stroke: "#eceff4"}));
    const lab = svgEl("text", {x: 4, y: y + 4}); lab.textContent = v >= 100 ? v.toFixed(0) : v.toFixed(1); svg.append(lab);
  }
  const legend = document.getElementById("legend"); legend.replaceChildren();
  names.forEach((n, i) => {
    const c = COLORS[i % COLORS.length];
    if (pts.length > 0) {
      const d = pts.map((p, j) => (j ? "L" : "M") + X(p.t).toFixed(1) + "," + Y(p.rates[n] || 0).toFixed(1)).join(" ");
      svg.append(svgEl("path", {d, fill: "none", stroke: c, "stroke-width": 2, class: "series", "data-shard": n}));
    }
    const item = el("span", {style: "margin-right:16px"}); item.append(el("span", {style: "color:" + c}, "■ "), document.createTextNode(n)); legend.append(item);
  });
  if (!pts.length) { const m = svgEl("text", {x: L + 8, y: H / 2}); m.textContent = "collecting samples…"; svg.append(m); }
  else {
    const a = svgEl("text", {x: L, y: H - 6}); a.textContent = "-" + Math.round(span / 1000) + " s"; svg.append(a);
    const b = svgEl("text", {x: W - R - 24, y: H - 6}); b.textContent = "now"; svg.append(b);
  }
}

function renderDigests(d) {
  const body = document.querySelector("#digests tbody"); body.replaceChildren();
  for (const g of d.digests) {
    const tr = el("tr"); const code = el("td"); code.append(el("code", {}, g.text));
    tr.append(el("td", {}, g.keyspace), code, el("td", {class: "num"}, String(g.count)), el("td", {class: "num"}, g.total_ms.toFixed(1)), el("td", {class: "num"}, g.p99_ms.toFixed(2)), el("td", {class: "num"}, String(g.scatter)), el("td", {class: "num"}, String(g.errors)));
    body.append(tr);
  }
}

function renderMigrations(m) {
  const root = document.getElementById("migrations"); root.replaceChildren();
  if (!m.migrations.length) { root.append(el("span", {class: "muted"}, "none")); return; }
  const table = el("table"); table.append(el("tr")); table.rows[0].append(el("th", {}, "id"), el("th", {}, "keyspace"), el("th", {}, "phase"), el("th", {}, "progress"), el("th", {}, "rows"), el("th", {}, "ETA s"), el("th", {}, "lag s"));
  for (const g of m.migrations) {
    const tr = el("tr", {"data-migration": String(g.id)}); const bar = el("td"); const b = el("span", {class: "bar"}); const fill = el("span"); fill.style.width = g.progress_pct.toFixed(1) + "%"; b.append(fill); bar.append(b, document.createTextNode(" " + g.progress_pct.toFixed(1) + "%"));
    tr.append(el("td", {}, String(g.id)), el("td", {}, g.keyspace), el("td", {}, g.phase), bar, el("td", {class: "num"}, g.rows_copied + " / " + g.rows_estimated), el("td", {class: "num"}, g.eta_seconds === null ? "" : g.eta_seconds.toFixed(0)), el("td", {class: "num"}, g.lag_seconds === null ? "" : g.lag_seconds.toFixed(1)));
    table.append(tr);
  }
  root.append(table);
}

async function refresh() {
  try {
    const [m, t, d, g] = await Promise.all([get("/api/shardmap"), get("/api/traffic"), get("/api/digests?limit=10"), get("/api/migrations")]);
    renderShardMap(m); renderChart(t); renderDigests(d); renderMigrations(g);
    document.getElementById("status").textContent = "catalog version " + m.version + " · updated " + new Date().toLocaleTimeString();
    document.body.setAttribute("data-loaded", "1");
  } catch (e) { document.getElementById("status").textContent = "error: " + e.message; }
}
refresh(); setInterval(refresh, 2000);
</script></body></html>
)PAGE";

}  // namespace

std::string_view dashboardPage() {
  return kPage;
}

}  // namespace shardproxy::proxy
