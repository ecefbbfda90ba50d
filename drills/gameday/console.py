"""The GameDay's web console at ``/``: server-rendered HTML (the state when the page was
asked for) and a little plain JavaScript that polls the API every second and sends the
operators' actions with ``fetch``. No build step, no framework."""

from __future__ import annotations

from html import escape
from typing import Any

from drills.gameday.session import Session

_STYLE = """
body{font:14px system-ui,sans-serif;margin:0;background:#f6f7f9;color:#1d232b}
header{background:#1d2b3a;color:#fff;padding:10px 18px;display:flex;gap:18px;align-items:center;flex-wrap:wrap}
header h1{font-size:17px;margin:0}#clock{font:600 20px ui-monospace,monospace}
main{display:grid;grid-template-columns:minmax(0,1fr) minmax(0,1fr);gap:14px;padding:14px}
section{background:#fff;border:1px solid #d7dce2;border-radius:6px;padding:10px 12px}
section.wide{grid-column:1/3}h2{font-size:15px;margin:2px 0 8px}
table{border-collapse:collapse;width:100%}td,th{border-bottom:1px solid #eceff3;padding:4px 6px;text-align:left;
vertical-align:top}th{font-size:12px;color:#5a6573}.critical{color:#b3261e;font-weight:600}.warning{color:#a15c00}
.new{font-weight:600}button{cursor:pointer}input{font:inherit;padding:2px 4px}#status{min-height:1.2em}
pre{background:#f0f2f5;padding:8px;overflow:auto;max-height:320px;font-size:12px;white-space:pre-wrap;
overflow-wrap:anywhere}td.id{word-break:break-all;min-width:9em}button{white-space:nowrap}.muted{color:#6b7480}
form{display:flex;gap:6px;flex-wrap:wrap;align-items:center;margin:4px 0}
"""

_SCRIPT = """
const $ = (id) => document.getElementById(id);
const esc = (v) => String(v ?? '').replace(/[&<>"']/g, (c) => ({'&':'&amp;','<':'&lt;','>':'&gt;','"':'&quot;',"'":'&#39;'}[c]));
async function call(method, path, body) {
  const options = {method, headers: {'content-type': 'application/json', 'x-beamdrill-actor': $('actor').value || 'operator'}};
  if (body !== undefined) options.body = JSON.stringify(body);
  const response = await fetch(path, options);
  const data = await response.json().catch(() => ({}));
  $('status').textContent = `${method} ${path}: ${response.status} ${data.errorCode || ''} ${data.error || ''}`;
  refresh();
  return data;
}
function clock(t) {
  const s = Math.floor(t), h = Math.floor(s / 3600), m = Math.floor(s % 3600 / 60);
  return `t=${h}:${String(m).padStart(2, '0')}:${String(s % 60).padStart(2, '0')}`;
}
const shown = {};
function rows(id, html) {  // replace a table's rows only when they changed, so a button is not swapped under a click
  html = html || '<tr><td class="muted" colspan="9">none</td></tr>';
  if (shown[id] !== html) { shown[id] = html; $(id).innerHTML = html; }
}
async function refresh() {
  const get = async (path) => (await fetch(path)).json();
  const [state, alerts, inbox, dead] = await Promise.all([get('/api/gameday'), get('/observability/alerts'),
    get('/admin/operator-notifications'), get('/v1/beam/dead-letter')]);
  $('clock').textContent = clock(state.virtualTime);
  $('pace').textContent = `${state.paused ? 'paused' : 'x' + state.speed} · ends ${clock(state.end)}${state.over ? ' · over' : ''}`;
  rows('alerts', alerts.alerts.map((a) => `<tr><td class="${a.severity}">${esc(a.severity)}</td><td>${esc(a.id)}</td>
    <td>${esc(a.message)}</td><td>${esc(a.notificationStatus)}</td></tr>`).join(''));
  rows('inbox', inbox.notifications.map((n) => `<tr data-id="${n.id}"><td>${n.id}</td><td class="${n.severity}">${esc(n.severity)}</td>
    <td>${esc(n.title)}</td><td class="${n.status} item-status">${esc(n.status)}</td><td>${esc(n.owner)}</td><td>${esc(n.nextAction)}</td>
    <td>${n.status === 'new' ? `<button class="ack" onclick="ack(${n.id})">Acknowledge</button>` : ''}</td></tr>`).join(''));
  rows('dead', dead.rows.map((d) => `<tr data-id="${esc(d.id)}"><td class="id">${esc(d.id)}</td><td class="id"><a href="#" onclick="trace('${esc(d.nonce)}');return false">${esc(d.nonce)}</a></td>
    <td class="id">${esc(d.recipient)}</td><td>${d.retry_count}</td><td>${esc(d.error)}</td><td>${esc(d.hint)}</td>
    <td><button class="requeue" onclick="requeue('${esc(d.id)}')">Requeue</button></td></tr>`).join(''));
  $('dead-count').textContent = dead.count;
  rows('faults', state.faults.map((f) => `<tr><td>${f.index}</td><td>${esc(f.name)}</td><td>${esc(f.kind)}</td>
    <td>${f.active ? 'active' : f.at <= state.virtualTime ? 'ended' : 'scheduled'}</td><td>${f.revertible ? `<button onclick="call('POST','/api/gameday/faults/${f.index}/revert')">Fix (revert)</button>` : ''}</td></tr>`).join(''));
}
function ack(id) { return call('PATCH', `/admin/operator-notifications/${id}`, {status: 'acknowledged', owner: $('actor').value || 'operator'}); }
function requeue(id) { return call('POST', `/v1/beam/dead-letter/${encodeURIComponent(id)}/requeue`); }
async function trace(nonce) {
  $('nonce').value = nonce;
  const response = await fetch(`/observability/intents/${encodeURIComponent(nonce)}`);
  const data = await response.json();
  const stages = (data.stages || []).map((s) => `t=${s.t}s  ${s.path.padEnd(9)} ${s.state}${s.code ? '  ' + s.code : ''}`);
  $('trace').textContent = response.ok ? `${data.status}: ${data.guidance}\\n\\n${stages.join('\\n')}`
    : `${response.status} ${data.errorCode}: ${data.error}`;
}
function form(id, handler) { $(id).addEventListener('submit', (e) => { e.preventDefault(); handler(new FormData(e.target)); }); }
form('act-form', (f) => call('PATCH', `/admin/operator-notifications/${f.get('id')}`, {status: f.get('status'), owner: f.get('owner'), nextAction: f.get('nextAction')}));
form('trace-form', (f) => trace(f.get('nonce')));
form('acl-form', (f) => call(f.get('op'), '/acl', {targetBeamId: f.get('target'), intentType: f.get('intent'), allowedFrom: f.get('from')}));
form('export-form', () => call('POST', '/observability/export', {datasets: ['intents', 'errors', 'audit', 'alerts', 'dead_letters']}));
form('speed-form', (f) => call('POST', '/api/gameday/speed', {speed: Number(f.get('speed'))}));
setInterval(refresh, 1000);
"""


def _rows(cells: list[list[str]], columns: int) -> str:
    if not cells:
        return f'<tr><td class="muted" colspan="{columns}">none</td></tr>'
    return "".join("<tr>" + "".join(f"<td>{cell}</td>" for cell in row) + "</tr>" for row in cells)


def _clock(seconds: float) -> str:
    whole = int(seconds)
    return f"t={whole // 3600}:{whole % 3600 // 60:02d}:{whole % 60:02d}"


def console_html(session: Session) -> str:
    """The console page with the world as it is now."""
    world = session.world
    pace: Any = session.pace
    speed = "unpaced" if pace is None else ("paused" if pace.paused else f"x{pace.speed:g}")
    alerts = [[f'<span class="{escape(a.severity)}">{escape(a.severity)}</span>', escape(a.id), escape(a.message), ""]
              for a in world.alerts.latest]
    inbox = [[str(n.id), escape(n.severity), escape(n.title), escape(n.status), escape(n.owner or ""),
              escape(n.next_action or ""), ""] for n in world.inbox.items()]
    page = world.exports.dead_letters(limit=100)
    dead = [[escape(str(d["id"])), escape(str(d["nonce"])), escape(str(d["recipient"])), str(d["retry_count"]),
             escape(str(d["error"])), escape(str(d["hint"])), ""] for d in page.rows]
    faults = [[str(i), escape(f.name or ""), escape(f.kind), "active" if i in world.active_faults else "", ""]
              for i, f in enumerate(world.scenario.faults)]
    title = escape(session.loaded.drill.title)
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>GameDay: {title}</title><style>{_STYLE}</style></head>
<body>
<header><h1>GameDay · {escape(session.loaded.name)}</h1><span id="clock">{_clock(world.now)}</span>
<span id="pace">{speed} · ends {_clock(session.end)}</span>
<button onclick="call('POST','/api/gameday/pause')">Pause</button>
<button onclick="call('POST','/api/gameday/resume')">Resume</button>
<form id="speed-form"><input name="speed" size="4" value="{'' if pace is None else f'{pace.speed:g}'}"><button>Speed</button></form>
<label>actor <input id="actor" value="operator" size="10"></label>
<button onclick="if(confirm('Finish the GameDay now?'))call('POST','/api/gameday/finish')">Finish</button></header>
<div id="status" class="muted" style="padding:4px 18px"></div>
<main>
<section><h2>Alerts</h2><table><thead><tr><th>severity</th><th>id</th><th>message</th><th>inbox</th></tr></thead>
<tbody id="alerts">{_rows(alerts, 4)}</tbody></table></section>
<section><h2>Faults</h2><table><thead><tr><th>#</th><th>name</th><th>kind</th><th>state</th><th></th></tr></thead>
<tbody id="faults">{_rows(faults, 5)}</tbody></table></section>
<section class="wide"><h2>Inbox</h2><table><thead><tr><th>id</th><th>severity</th><th>title</th><th>status</th><th>owner</th>
<th>next action</th><th></th></tr></thead><tbody id="inbox">{_rows(inbox, 7)}</tbody></table>
<form id="act-form">item <input name="id" size="3"> <select name="status"><option>acknowledged</option><option>acted</option>
<option>new</option></select> owner <input name="owner" size="10"> next action <input name="nextAction" size="40">
<button>Record</button></form></section>
<section class="wide"><h2>Dead letters (<span id="dead-count">{page.count}</span>)</h2><table><thead><tr><th>id</th><th>nonce</th>
<th>recipient</th><th>retries</th><th>error</th><th>hint</th><th></th></tr></thead><tbody id="dead">{_rows(dead, 7)}</tbody></table>
<form id="export-form"><button>Export evidence</button><span class="muted">intents, errors, audit, alerts, dead letters</span></form>
</section>
<section><h2>Trace</h2><form id="trace-form"><input id="nonce" name="nonce" size="40" placeholder="nonce"><button>Open</button></form>
<pre id="trace" class="muted">search a nonce, or click one in the dead letters</pre></section>
<section><h2>ACL (one exact entry)</h2><form id="acl-form"><select name="op"><option value="POST">add</option>
<option value="DELETE">remove</option></select><input name="target" placeholder="target beam id" size="26">
<input name="intent" placeholder="intent" size="14"><input name="from" placeholder="allowed from" size="26"><button>Apply</button></form>
</section>
</main>
<script>{_SCRIPT}</script>
</body></html>"""
