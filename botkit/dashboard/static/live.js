// botkit dashboard: the live bots. One websocket brings the bot list and, for the bot
// being watched, a snapshot and then every change as the bot publishes it (pushed by
// the server, never polled). Controls are posted with the session's CSRF token.
"use strict";
(function (BK) {
  const $ = (id) => document.getElementById(id);
  const MAX_FILL_ROWS = 200;
  const live = {ws: null, bots: [], sources: [], watching: null, view: null, dirty: new Set(), frame: 0};
  BK.live = live;

  function connect() {
    const scheme = location.protocol === "https:" ? "wss:" : "ws:";
    const ws = new WebSocket(`${scheme}//${location.host}/ws?csrf=${encodeURIComponent(BK.csrf)}`);
    live.ws = ws;
    ws.addEventListener("open", () => {
      $("link-state").textContent = "live";
      $("link-state").className = "link-state ok";
      if (live.watching) ws.send(JSON.stringify({watch: live.watching}));
    });
    ws.addEventListener("close", (ev) => {
      $("link-state").textContent = "disconnected: reconnecting…";
      $("link-state").className = "link-state bad";
      if (ev.code === 4401) { location.href = "/login"; return; }
      setTimeout(connect, 1000);
    });
    ws.addEventListener("message", (ev) => receive(JSON.parse(ev.data)));
  }

  function receive(msg) {
    if (msg.type === "bots" || msg.type === "tick") {
      live.bots = msg.bots;
      live.sources = msg.sources || [];
      mark("list");
      if (msg.health && live.view) { live.view.health = msg.health; mark("health"); }
    } else if (msg.type === "snapshot" && msg.bot === live.watching) {
      live.view = msg.view;
      ["head", "positions", "orders", "fills", "pnl", "rejects", "health", "logs"].forEach(mark);
    } else if (msg.type === "update" && msg.bot === live.watching && live.view) {
      apply(live.view, msg.change);
    }
  }

  // The same changes the server's BotView made, applied to the page's copy.
  function apply(v, ch) {
    if (ch.status) { v.status = ch.status; mark("head"); mark("health"); }
    if (ch.rejects) { v.rejects = ch.rejects; mark("rejects"); }
    if (ch.reject) { v.recent_rejects.push(ch.reject); mark("rejects"); }
    if (ch.fill) { v.fills.push(ch.fill); if (v.fills.length > 500) v.fills.shift(); mark("fills"); }
    if (ch.order) {
      const o = ch.order;
      const open = !["filled", "canceled", "rejected", "expired", "closed"].includes(o.status);
      v.orders = v.orders.filter((x) => x.client_id !== o.client_id);
      if (open) v.orders.push(o);
      mark("orders");
    }
    if (ch.positions) { v.positions = ch.positions; mark("positions"); }
    if (ch.pnl) { v.pnl.push(ch.pnl); if (v.pnl.length > 4000) v.pnl.shift(); v.pnl_last = ch.pnl_last; mark("pnl"); }
    if (ch.log) { v.logs.push(ch.log); if (v.logs.length > 50) v.logs.shift(); mark("logs"); }
  }

  // Changes are drawn once per frame, however many arrive.
  function mark(part) {
    live.dirty.add(part);
    if (!live.frame) live.frame = requestAnimationFrame(draw);
  }

  function draw() {
    live.frame = 0;
    const parts = live.dirty;
    live.dirty = new Set();
    if (parts.has("list")) drawList();
    const v = live.view;
    if (!v) return;
    if (parts.has("head")) drawHead(v);
    if (parts.has("health")) drawHealth(v);
    if (parts.has("positions")) drawPositions(v);
    if (parts.has("orders")) drawOrders(v);
    if (parts.has("fills")) drawFills(v);
    if (parts.has("pnl")) drawPnl(v);
    if (parts.has("rejects")) drawRejects(v);
    if (parts.has("logs")) drawLogs(v);
  }

  function drawList() {
    const ul = BK.clear($("bot-list"));
    if (!live.bots.length) ul.append(BK.el("li", {class: "muted", text: "no bots yet: none has published a status"}));
    for (const b of live.bots) {
      const li = BK.el("li", {class: "bot" + (b.id === live.watching ? " active" : ""), "data-bot": b.id},
        BK.el("a", {href: "#/bots/" + encodeURIComponent(b.id), text: b.id}),
        BK.el("span", {class: "state " + b.state, text: b.state}),
        BK.el("div", {class: "muted small", text: [b.mode, b.venue, (b.strategies || []).join(", ")].filter(Boolean).join(" · ")}));
      ul.append(li);
    }
    const box = BK.clear($("sources"));
    for (const s of live.sources) {
      const what = s.kind === "mqtt" ? `broker ${s.broker} (${s.prefix}/…)${s.signed ? ", commands signed" : ""}` : `journal ${s.journal}`;
      box.append(BK.el("div", {text: `${what}: ${s.connected ? "connected" : "not connected"}${s.last_error ? " — " + s.last_error : ""}`}));
    }
    if (live.view) {
      const me = live.bots.find((b) => b.id === live.watching);
      if (me) { live.view.summary = me; drawHead(live.view); }
    }
  }

  function drawHead(v) {
    const s = v.status || {};
    const summary = v.summary || {};
    $("bot-title").textContent = summary.id || live.watching;
    const state = s.state || summary.state || "unknown";
    $("bot-state").textContent = state;
    $("bot-state").className = "state " + state;
    const meta = [s.mode, s.venue, s.version ? "botkit " + s.version : null,
      s.uptime_s !== undefined ? "up " + BK.ago(s.uptime_s) : null,
      s.paused_strategies && s.paused_strategies.length ? "paused: " + s.paused_strategies.join(", ") : null];
    $("bot-meta").textContent = meta.filter(Boolean).join(" · ");
    const can = summary.controllable !== false && v.summary && v.summary.source !== "journal";
    for (const b of $("controls").querySelectorAll("button")) b.disabled = !can;
    $("controls-note").textContent = can ? "" : "read from a journal: no broker to send commands";
  }

  function drawHealth(v) {
    const h = v.health || {};
    const ws = h.websocket || {};
    const tel = h.telemetry || {};
    const rows = [
      ["market data websocket", ws.connected === undefined ? "–" : ws.connected ? "connected" : "DISCONNECTED", ws.connected === false ? "bad" : "ok"],
      ["last market message", ws.last_message_age_s === undefined ? "–" : BK.ago(ws.last_message_age_s) + " ago"],
      ["feed reconnects / errors", ws.reconnects === undefined ? "–" : `${ws.reconnects} / ${ws.errors}`],
      ["last message from the bot", h.last_message_age_s === null || h.last_message_age_s === undefined ? "–" : BK.ago(h.last_message_age_s) + " ago",
        h.last_message_age_s > 15 ? "bad" : ""],
      ["bot → broker", tel.connected === undefined ? "–" : (tel.connected ? "connected" : "DISCONNECTED") + `, ${tel.reconnects} reconnects`],
      ["queued / published", tel.queued === undefined ? "–" : `${BK.num(tel.queued)} / ${BK.num(tel.published)}`],
      ["queue loss (dropped by the bot)", tel.dropped === undefined ? "–" : String(tel.dropped) +
        (tel.dropped ? " (" + Object.entries(tel.dropped_by_topic || {}).map(([k, n]) => `${k}: ${n}`).join(", ") + ")" : ""),
        tel.dropped ? "bad" : ""],
      ["lost on the way (seq gaps)", String(h.lost || 0) +
        (h.lost ? " (" + Object.entries(h.gaps).map(([k, n]) => `${k}: ${n}`).join(", ") + ")" : ""), h.lost ? "bad" : ""],
    ];
    const dl = BK.clear($("health"));
    for (const [k, val, cls] of rows) dl.append(BK.el("dt", {text: k}), BK.el("dd", {text: val, class: cls || null}));
  }

  function drawPositions(v) {
    const rows = (v.positions || []).map((p) => [p.strategy, p.symbol,
      {text: p.size, class: "num " + BK.signClass(p.size)}, {text: BK.likeGrid(p.avg_price, p.mark), class: "num", title: p.avg_price},
      {text: p.mark || "–", class: "num"},
      {text: BK.num(p.realized_pnl, 4), class: "num " + BK.signClass(p.realized_pnl)},
      {text: BK.num(p.unrealized_pnl, 4), class: "num " + BK.signClass(p.unrealized_pnl)}]);
    BK.fillTable($("positions"), ["strategy", "symbol", "size", "avg price", "mark", "realised", "unrealised"],
      rows.length ? rows : [[{text: "no positions", class: "muted"}]]);
  }

  function drawOrders(v) {
    const orders = (v.orders || []).slice().sort((a, b) => (a.event_ts < b.event_ts ? 1 : -1));
    const status = v.status || {};
    $("orders-count").textContent = `${orders.length} seen open` +
      (status.orders_open !== undefined && status.orders_open !== orders.length ? ` (the bot counts ${status.orders_open})` : "");
    BK.fillTable($("orders"), ["client id", "strategy", "symbol", "side", "type", "price", "size", "filled", "status"],
      orders.map((o) => ({attrs: {"data-client-id": o.client_id}, cells: [o.client_id, o.strategy, o.symbol,
        {text: o.side, class: o.side}, o.type, {text: o.price || "market", class: "num"}, {text: o.size, class: "num"},
        {text: o.filled, class: "num"}, o.status]})));
  }

  function drawFills(v) {
    const fills = v.fills.slice(-MAX_FILL_ROWS).reverse();
    // The status counts every fill of the run, but comes every mqtt.interval: never less than seen.
    const total = Math.max((v.status || {}).fills || 0, v.fills.length);
    $("fills-count").textContent = `${BK.num(total)} in all; the last ${fills.length} shown, newest first`;
    BK.fillTable($("fills"), ["time", "strategy", "symbol", "side", "price", "size", "fee", "liquidity", "fill id"],
      fills.map((f) => ({attrs: {"data-fill-id": f.fill_id, "data-event-ts": f.event_ts}, cells: [
        BK.time(f.event_ts), f.strategy, f.symbol, {text: f.side, class: f.side}, {text: f.price, class: "num"},
        {text: f.size, class: "num"}, {text: `${f.fee} ${f.fee_asset}`, class: "num"}, f.liquidity, f.fill_id]})));
  }

  function drawPnl(v) {
    const last = v.pnl_last;
    $("pnl-now").textContent = last ? `${BK.num(last.total, 4)} ${last.quote || ""} (realised ${BK.num(last.realized, 4)}, unrealised ${BK.num(last.unrealized, 4)}, fees ${BK.num(last.fees, 4)})` : "";
    const points = v.pnl.map((p) => [Date.parse(p[0]), p[1]]);
    BK.lineChart($("pnl-chart"), {series: [{name: "strategy PnL", points: points, cls: "equity"}],
      height: 200, id: "pnl-svg", label: "PnL over time", empty: "no PnL published yet"});
  }

  function drawRejects(v) {
    const box = BK.clear($("rejects"));
    const entries = Object.entries(v.rejects || {}).sort((a, b) => b[1] - a[1]);
    if (!entries.length) { box.append(BK.el("p", {class: "muted", text: "none"})); return; }
    const most = entries[0][1] || 1;
    for (const [code, n] of entries) {
      const bar = BK.el("span", {class: "bar"});
      bar.style.width = Math.max(2, (100 * n) / most) + "%";
      box.append(BK.el("div", {class: "bar-row", "data-code": code},
        BK.el("span", {class: "bar-label", text: code}), BK.el("span", {class: "bar-track"}, bar),
        BK.el("span", {class: "num", text: BK.num(n)})));
    }
    const last = v.recent_rejects[v.recent_rejects.length - 1];
    if (last) box.append(BK.el("p", {class: "muted small", text: `last: ${last.code} — ${last.reason} (${last.strategy}, ${BK.time(last.event_ts)})`}));
  }

  function drawLogs(v) {
    const ul = BK.clear($("logs"));
    const logs = v.logs.slice(-20).reverse();
    if (!logs.length) ul.append(BK.el("li", {class: "muted", text: "none"}));
    for (const l of logs) ul.append(BK.el("li", {class: l.level, text: `${BK.time(l.ts)} ${l.level} ${l.logger}: ${l.message}`}));
  }

  const LABELS = {pause: "Pause", resume: "Resume", cancel_all: "Cancel all orders", flatten: "Flatten", halt: "Halt"};
  const WARN = {
    cancel_all: "Every open order of the bot is cancelled.",
    flatten: "Every open order is cancelled and every position closed at market; the bot then only reduces until Resume.",
    halt: "The kill switch: every open order is cancelled and nothing new is sent until Resume.",
  };

  async function send(command) {
    const bot = live.watching;
    if (!bot) return;
    const destructive = command in WARN;
    if (destructive && !(await BK.confirm(`${LABELS[command]} ${bot}?`, WARN[command]))) return;
    const box = $("reply");
    box.hidden = false;
    box.className = "reply pending";
    box.textContent = `${command}: sent, waiting for the bot's reply…`;
    const {status, body} = await BK.postJSON(`/api/bots/${encodeURIComponent(bot)}/control`,
      {command: command, confirm: destructive});
    const reply = body.reply;
    if (reply) {
      box.className = "reply " + (reply.ok ? "ok" : "bad");
      const head = reply.ok ? `${command}: done — the bot is ${reply.state}` :
        `${command}: refused (${reply.error && reply.error.code}) — ${reply.error && reply.error.message}`;
      box.replaceChildren(BK.el("strong", {text: head}),
        BK.el("pre", {text: JSON.stringify(reply, null, 2)}));
    } else {
      box.className = "reply bad";
      box.textContent = `${command}: ${status} — ${body.error || "no reply"}`;
    }
    box.dataset.command = command;
    box.dataset.ok = reply ? String(reply.ok) : "false";
  }

  BK.showBot = function (bot) {
    live.watching = bot;
    live.view = null;
    $("bot-empty").hidden = !!bot;
    $("bot-main").hidden = !bot;
    $("reply").hidden = true;
    if (live.ws && live.ws.readyState === WebSocket.OPEN) live.ws.send(JSON.stringify({watch: bot}));
    mark("list");
  };

  BK.startLive = function () {
    for (const b of $("controls").querySelectorAll("button")) {
      b.addEventListener("click", () => send(b.dataset.command));
    }
    connect();
  };
})(window.BK);
