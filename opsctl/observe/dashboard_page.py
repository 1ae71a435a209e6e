"""The dashboard's one page: a constant, filled only with the topology SVG and a nonce.

Everything that comes from the fleet (names, versions, log lines, who deployed) reaches the page as
JSON and is put into the DOM with textContent, never as HTML.
"""

from __future__ import annotations

import html

from opsctl.observe import lights
from opsctl.observe.graph_render import PALETTE

_LIGHT_CSS = "\n".join(
    f".light-{name} > polygon, .light-{name} > path, .light-{name} > ellipse {{ fill: {fill}; stroke: {stroke}; }}\n"
    f".lamp.light-{name}, .light-{name} > text.badge {{ color: {stroke}; fill: {stroke}; }}"
    for name, (stroke, fill) in PALETTE.items()
)
SYMBOLS = {name: symbol for name, (_, symbol) in lights.LIGHTS.items()}

_STYLE = """
body { font: 14px/1.4 -apple-system, Helvetica, Arial, sans-serif; margin: 0; color: #222; background: #fafafa; }
header { padding: 10px 16px; background: #263238; color: #fff; display: flex; gap: 16px; align-items: baseline; }
header h1 { font-size: 18px; margin: 0; }
#summary { font-weight: 600; }
#deploy { padding: 6px 16px; background: #fff3c4; display: none; }
main { display: grid; grid-template-columns: minmax(0, 3fr) minmax(0, 2fr); gap: 12px; padding: 12px; }
section { background: #fff; border: 1px solid #ddd; border-radius: 6px; padding: 8px 12px; overflow: auto; }
h2 { font-size: 15px; margin: 4px 0 8px; }
#topology svg { max-width: 100%; height: auto; }
table { border-collapse: collapse; width: 100%; }
td, th { text-align: left; padding: 2px 6px; border-bottom: 1px solid #eee; white-space: nowrap; }
.lamp { font-weight: 700; }
.badge { font: bold 16px sans-serif; }
#logs { font: 12px/1.35 monospace; max-height: 420px; overflow: auto; white-space: pre-wrap; }
#logs .prefix { color: #00838f; }
#error { color: #b71c1c; }
.wide { grid-column: 1 / -1; }
"""

_SCRIPT = """
const SYMBOLS = __SYMBOLS__;
const base = location.pathname.replace(/\\/$/, "");
let logs = [];
function el(tag, text, cls) { const e = document.createElement(tag); if (text !== undefined) e.textContent = text; if (cls) e.className = cls; return e; }
function lamp(light) { return el("span", (SYMBOLS[light] || "·") + " " + light, "lamp light-" + light); }
function paint(id, light, note) {
  const g = document.getElementById(id);
  if (!g) return;
  const kind = g.getAttribute("class").split(" ")[0];
  g.setAttribute("class", kind + " light-" + light);
  g.setAttribute("data-light", light);
  let badge = g.querySelector("text.badge");
  if (!badge) {
    badge = document.createElementNS("http://www.w3.org/2000/svg", "text");
    badge.setAttribute("class", "badge");
    const box = g.getBBox();
    badge.setAttribute("x", box.x + 2); badge.setAttribute("y", box.y + 15);
    g.appendChild(badge);
  }
  badge.textContent = SYMBOLS[light] || "·";
  let title = g.querySelector("title");
  if (title && note !== undefined) title.textContent = note;
}
function rows(tbody, list, cells) {
  tbody.replaceChildren(...list.map(item => { const tr = el("tr"); cells(item).forEach(c => { const td = el("td"); if (typeof c === "string") td.textContent = c; else td.appendChild(c); tr.appendChild(td); }); return tr; }));
}
function showLogs() {
  const box = document.getElementById("logs"), q = document.getElementById("filter").value;
  let test = () => true;
  if (q) { try { const re = new RegExp(q, "i"); test = l => re.test(l.message) || re.test(l.host + "/" + l.container); } catch (e) { const s = q.toLowerCase(); test = l => l.message.toLowerCase().includes(s); } }
  const stick = box.scrollTop + box.clientHeight >= box.scrollHeight - 20;
  box.replaceChildren(...logs.filter(test).map(l => { const d = el("div", undefined, "line"); d.appendChild(el("span", l.host + "/" + l.container + " ", "prefix")); d.appendChild(el("span", (l.time || "").slice(11, 23) + " ", "time")); d.appendChild(el("span", l.message, "message")); return d; }));
  if (stick) box.scrollTop = box.scrollHeight;
}
async function refresh() {
  try {
    const r = await fetch(base + "/state", {cache: "no-store"});
    const s = await r.json();
    document.getElementById("summary").replaceChildren(lamp(s.overall), document.createTextNode(" " + s.summary));
    document.getElementById("summary").setAttribute("data-light", s.overall);
    document.getElementById("taken").textContent = s.taken_at ? "read " + s.taken_at.slice(11, 19) + " UTC" : "reading the fleet...";
    document.getElementById("error").textContent = s.error || "";
    for (const [id, light] of Object.entries(s.lights)) paint(id, light, s.notes[id]);
    rows(document.querySelector("#hosts tbody"), s.containers, c => [lamp(c.light), c.host, c.service, c.name, c.version || "-", c.release || "-", c.note || ""]);
    rows(document.querySelector("#releases tbody"), s.releases, r => ["#" + r.number, r.title, r.version, r.who, (r.when || "").replace("T", " ").slice(0, 19), r.status, r.duration == null ? "" : r.duration + " s"]);
    const banner = document.getElementById("deploy");
    banner.style.display = s.deploy ? "block" : "none";
    banner.textContent = s.deploy || "";
    logs = s.logs; showLogs();
    document.body.setAttribute("data-updated", String(Date.now()));
  } catch (e) { document.getElementById("error").textContent = "dashboard server unreachable: " + e; }
}
document.getElementById("filter").addEventListener("input", showLogs);
refresh(); setInterval(refresh, __POLL_MS__);
"""

_BODY = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>opsctl: __TITLE__</title>
<style>__STYLE__</style></head>
<body>
<header><h1>opsctl __TITLE__</h1><span id="summary" data-light="unknown">reading the fleet...</span><span id="taken"></span></header>
<div id="deploy"></div>
<div id="error"></div>
<main>
<section id="topology"><h2>Topology</h2>__SVG__</section>
<section><h2>Containers</h2><table id="hosts"><thead><tr><th></th><th>host</th><th>service</th><th>container</th><th>version</th><th>release</th><th></th></tr></thead><tbody></tbody></table></section>
<section class="wide"><h2>Releases</h2><table id="releases"><thead><tr><th>#</th><th>what</th><th>version</th><th>who</th><th>when (UTC)</th><th>status</th><th>took</th></tr></thead><tbody></tbody></table></section>
<section class="wide"><h2>Logs <input id="filter" placeholder="filter (regex)" size="40"></h2><div id="logs"></div></section>
</main>
<script nonce="__NONCE__">__SCRIPT__</script>
</body></html>
"""


def page(title: str, svg: str, nonce: str, poll_ms: int) -> str:
    import json

    script = _SCRIPT.replace("__SYMBOLS__", json.dumps(SYMBOLS)).replace("__POLL_MS__", str(int(poll_ms)))
    # Graphviz escapes the labels it writes; the SVG's own prolog would be invalid inside HTML.
    svg = svg[svg.find("<svg"):] if "<svg" in svg else "<p>(no drawing)</p>"
    return (
        _BODY.replace("__STYLE__", _STYLE + _LIGHT_CSS)
        .replace("__SCRIPT__", script)
        .replace("__NONCE__", nonce)
        .replace("__SVG__", svg)
        .replace("__TITLE__", html.escape(title))
    )
