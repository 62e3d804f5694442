// botkit dashboard: the backtest browser — runs with their summary, the equity curve
// against buy-and-hold, the drawdown, the trades on the price, the fills table, the
// params; two runs side by side; a sweep's ranked table and heatmap.
"use strict";
(function (BK) {
  const $ = (id) => document.getElementById(id);
  const NUMERIC_FILL_COLUMNS = ["ts_ns", "price", "size", "fee", "notional"];
  const bt = {listing: null, picked: []};
  BK.bt = bt;

  function show(part) {
    for (const id of ["bt-list", "bt-run", "bt-compare-view", "bt-sweep"]) $(id).hidden = id !== part;
  }

  const money = (v, q) => (v === null || v === undefined ? "–" : `${BK.num(v, 2)} ${q || ""}`);

  BK.showRuns = async function () {
    show("bt-list");
    bt.listing = await BK.getJSON("/api/runs");
    const L = bt.listing;
    $("bt-root").textContent = L.root ? `in ${L.root}/` : "no reports folder (start with --reports DIR)";
    BK.fillTable($("runs"), ["", "run", "start", "end", "strategies", "fills", "strategy PnL", "return", "buy & hold", "max DD", "Sharpe"],
      L.runs.map((r) => ({attrs: {"data-run": r.id}, cells: [
        {text: "", class: "pick"}, {text: r.id + (r.partial ? " (partial)" : ""), class: "link"}, BK.time(r.start), BK.time(r.end),
        (r.strategies || []).join(", "), {text: BK.num(r.fills), class: "num"},
        {text: money(r.strategy_pnl, r.quote), class: "num " + BK.signClass(r.strategy_pnl)},
        {text: BK.pct(r.return), class: "num " + BK.signClass(r.return)}, {text: BK.pct(r.buy_and_hold_return), class: "num"},
        {text: BK.pct(r.max_drawdown), class: "num"}, {text: r.sharpe === null ? "–" : BK.num(r.sharpe, 2), class: "num"}]})));
    for (const tr of $("runs").querySelectorAll("tbody tr")) {
      const id = tr.dataset.run;
      const box = BK.el("input", {type: "checkbox", "aria-label": "compare " + id});
      box.checked = bt.picked.includes(id);
      box.addEventListener("click", (ev) => {
        ev.stopPropagation();
        bt.picked = box.checked ? [...bt.picked.filter((x) => x !== id), id].slice(-2) : bt.picked.filter((x) => x !== id);
        for (const other of $("runs").querySelectorAll("input[type=checkbox]")) {
          other.checked = bt.picked.includes(other.closest("tr").dataset.run);
        }
        $("bt-compare").disabled = bt.picked.length !== 2;
      });
      tr.firstChild.append(box);
      tr.addEventListener("click", () => { location.hash = "#/runs/" + encodeURIComponent(id); });
    }
    BK.fillTable($("sweeps"), ["sweep", "runs", "columns"], L.sweeps.map((s) => ({attrs: {"data-sweep": s.id},
      cells: [{text: s.id, class: "link"}, {text: BK.num(s.rows), class: "num"}, {text: String(s.columns), class: "num"}]})));
    for (const tr of $("sweeps").querySelectorAll("tbody tr")) {
      tr.addEventListener("click", () => { location.hash = "#/sweeps/" + encodeURIComponent(tr.dataset.sweep); });
    }
    if (!L.sweeps.length) BK.fillTable($("sweeps"), ["sweep"], [[{text: "no results.csv found", class: "muted"}]]);
  };

  function summaryTable(run) {
    const s = run.summary, q = s.quote_asset || "";
    const bh = (s.benchmark || {}).buy_and_hold;
    const dd = s.max_drawdown || {};
    const rows = [
      ["period", `${BK.time(s.start)} → ${BK.time(s.end)}`],
      ["strategy PnL", money((s.strategy_pnl || {}).total, q)],
      ["equity change", `${money(s.equity_change, q)} (${BK.pct(s.return)})`],
      ["buy and hold", bh ? `${money(bh.pnl, q)} (${BK.pct(bh.return)}) in ${bh.symbol}` : "–"],
      ["max drawdown", `${BK.pct(dd.fraction)} (${money(dd.absolute, q)})`],
      ["Sharpe", s.sharpe === null ? (s.sharpe_caveat || "–") : BK.num(s.sharpe, 2)],
      ["fills / orders", `${BK.num(s.fills)} / ${BK.num(s.orders)}`],
      ["fees", money(s.fees, q)],
      ["rejects", `${BK.num((s.rejects || {}).total)}` + Object.entries((s.rejects || {}).by_reason || {}).map(([k, n]) => ` · ${k}: ${n}`).join("")],
    ];
    if (s.partial) rows.unshift(["PARTIAL", "the run was interrupted: the numbers cover what was replayed"]);
    const dl = BK.el("dl", {class: "kv"});
    for (const [k, v] of rows) dl.append(BK.el("dt", {text: k}), BK.el("dd", {text: v}));
    return dl;
  }

  function paramsBlock(run) {
    const p = run.params || {};
    const box = BK.el("div", {class: "params"});
    if (p.sweep_params) {
      BK.fillTable(box.appendChild(BK.el("table", {class: "data"})), ["param", "value"],
        Object.entries(p.sweep_params).map(([k, v]) => [k, v]));
    } else {
      for (const st of p.strategies || []) {
        box.append(BK.el("h4", {text: `${st.name}` + (st.use ? ` (${st.use})` : "")}));
        if (st.params === null || st.params === undefined) {
          box.append(BK.el("p", {class: "muted small", text: "params not recorded for this run (no run.json)"}));
          continue;
        }
        BK.fillTable(box.appendChild(BK.el("table", {class: "data"})), ["param", "value"],
          Object.entries(st.params).map(([k, v]) => [k, typeof v === "object" ? JSON.stringify(v) : String(v)]));
      }
    }
    if (p.source) box.append(BK.el("p", {class: "muted small", text: "from " + p.source}));
    return box;
  }

  function equitySeries(run) {
    const q = run.summary.quote_asset || "";
    const series = [{name: `equity (${q})`, points: run.equity, cls: "equity"}];
    if (run.buy_and_hold.length) series.push({name: "buy and hold", points: run.buy_and_hold, cls: "bench"});
    if (run.held.length) series.push({name: "starting balances held", points: run.held, cls: "held"});
    return series;
  }

  function tradeMarkers(run, symbol) {
    const limit = 3000;
    const trades = run.trades.filter((t) => t[5] === symbol);
    const step = Math.max(1, Math.ceil(trades.length / limit));
    const out = [];
    for (let i = 0; i < trades.length; i += step) {
      const t = trades[i];
      out.push({x: t[0], y: t[1], cls: t[2], title: `${t[2]} ${t[3]} @ ${t[1]} (${t[4]})`});
    }
    return {markers: out, shown: out.length, total: trades.length};
  }

  BK.showRun = async function (id) {
    show("bt-run");
    const box = BK.clear($("bt-run"));
    box.append(BK.el("p", {class: "muted", text: "loading " + id + "…"}));
    const run = await BK.getJSON("/api/run?id=" + encodeURIComponent(id));
    BK.clear(box);
    box.dataset.run = run.id;
    box.append(BK.el("p", {}, BK.el("a", {href: "#/backtests", text: "← all runs"})),
      BK.el("h2", {text: run.id}));
    if (run.approximate) {
      box.append(BK.el("p", {class: "warn", text: "No equity.csv in this folder: the curves are rebuilt from fills.csv " +
        "(positions marked at fill prices), so they are approximate. `botkit backtest` writes the exact ones."}));
    }
    const top = BK.el("div", {class: "grid"});
    top.append(BK.el("div", {class: "card"}, BK.el("h3", {text: "Summary"}), summaryTable(run)),
      BK.el("div", {class: "card"}, BK.el("h3", {text: "Params"}), paramsBlock(run)));
    box.append(top);
    const eq = BK.el("div", {class: "chart", id: "equity-chart"});
    const dd = BK.el("div", {class: "chart", id: "drawdown-chart"});
    box.append(BK.el("div", {class: "card wide"}, BK.el("h3", {text: "Equity against buy-and-hold"}), eq),
      BK.el("div", {class: "card wide"}, BK.el("h3", {text: "Drawdown"}), dd));
    BK.lineChart(eq, {series: equitySeries(run), height: 260, id: "equity-svg", label: "equity curve"});
    BK.lineChart(dd, {series: [{name: "drawdown", points: run.drawdown, cls: "drawdown"}], height: 140,
      area: "below", id: "drawdown-svg", yFormat: (v) => (v * 100).toFixed(1) + "%", label: "drawdown"});
    for (const [symbol, points] of Object.entries(run.prices)) {
      const m = tradeMarkers(run, symbol);
      const chart = BK.el("div", {class: "chart price-chart", "data-symbol": symbol});
      box.append(BK.el("div", {class: "card wide"},
        BK.el("h3", {text: `${symbol}: trades on the price`},
          BK.el("span", {class: "muted small", text: ` ▲ buy ▼ sell · ${m.shown < m.total ? `${BK.num(m.shown)} of ` : ""}${BK.num(m.total)} fills`})),
        chart));
      BK.lineChart(chart, {series: [{name: symbol, points: points, cls: "price"}], markers: m.markers, height: 260,
        label: symbol + " price with trades"});
    }
    const fillsBox = BK.el("div", {id: "fills-table"});
    box.append(BK.el("div", {class: "card wide"}, BK.el("h3", {text: "Fills"}), fillsBox));
    fillsBox.append(BK.el("p", {class: "muted", text: "loading fills…"}));
    const fills = await BK.getJSON("/api/fills?id=" + encodeURIComponent(id));
    bt.fillsTable = new BK.VirtualTable(fillsBox, {columns: fills.columns, rows: fills.rows, label: "fills",
      numeric: fills.columns.filter((c) => NUMERIC_FILL_COLUMNS.includes(c))});
  };

  BK.showCompare = async function (a, b) {
    show("bt-compare-view");
    const box = BK.clear($("bt-compare-view"));
    const runs = await Promise.all([a, b].map((id) => BK.getJSON("/api/run?id=" + encodeURIComponent(id))));
    box.append(BK.el("p", {}, BK.el("a", {href: "#/backtests", text: "← all runs"})),
      BK.el("h2", {text: `${a} vs ${b}`}));
    // Both curves as returns on one chart, then each run in its own column.
    const both = BK.el("div", {class: "chart", id: "compare-chart"});
    box.append(BK.el("div", {class: "card wide"}, BK.el("h3", {text: "Return over time"}), both));
    const asReturn = (pts) => { const e0 = pts.length ? pts[0][1] : 1; return pts.map((p) => [p[0], p[1] / e0 - 1]); };
    BK.lineChart(both, {series: [{name: a, points: asReturn(runs[0].equity), cls: "equity"},
      {name: b, points: asReturn(runs[1].equity), cls: "other"}], height: 240, id: "compare-svg",
      yFormat: (v) => (v * 100).toFixed(2) + "%", xFormat: null, label: "both runs"});
    const cols = BK.el("div", {class: "side-by-side"});
    runs.forEach((run, i) => {
      const chart = BK.el("div", {class: "chart"});
      cols.append(BK.el("div", {class: "card", "data-run": run.id}, BK.el("h3", {text: run.id}), summaryTable(run),
        BK.el("h4", {text: "Equity"}), chart, BK.el("h4", {text: "Params"}), paramsBlock(run)));
      BK.lineChart(chart, {series: equitySeries(run), height: 200, id: "compare-svg-" + i});
    });
    box.append(cols);
  };

  BK.showSweep = async function (id) {
    show("bt-sweep");
    const box = BK.clear($("bt-sweep"));
    const sw = await BK.getJSON("/api/sweep?id=" + encodeURIComponent(id));
    box.append(BK.el("p", {}, BK.el("a", {href: "#/backtests", text: "← all runs"})),
      BK.el("h2", {text: `sweep ${sw.id}: ${BK.num(sw.rows.length)} runs`}));
    if (!sw.numeric.length) { box.append(BK.el("p", {class: "muted", text: "no numeric column in results.csv"})); return; }
    const pick = (label, options, value, id) => {
      const select = BK.el("select", {id: id, "aria-label": label});
      for (const o of options) select.append(BK.el("option", {value: o, text: o, selected: o === value}));
      return [BK.el("label", {text: label + " "}, select), select];
    };
    const params = sw.params.length ? sw.params : sw.numeric;
    const [lm, metric] = pick("metric", sw.numeric, sw.metric || sw.numeric[sw.numeric.length - 1], "sweep-metric");
    const [lx, xSel] = pick("x", params, params[0], "sweep-x");
    const [ly, ySel] = pick("y", params, params[1] || params[0], "sweep-y");
    const [lo, order] = pick("rank", ["highest first", "lowest first"], "highest first", "sweep-order");
    box.append(BK.el("div", {class: "tools"}, lm, lo, lx, ly));
    const heat = BK.el("div", {class: "card wide"}, BK.el("h3", {text: "Heatmap"}), BK.el("div", {id: "heatmap"}));
    const ranked = BK.el("div", {class: "card wide"}, BK.el("h3", {text: "Ranked"}), BK.el("div", {class: "scroll tall"}, BK.el("table", {id: "ranked", class: "data clickable"})));
    box.append(heat, ranked);
    const col = (name) => sw.columns.indexOf(name);
    const draw = () => {
      const m = col(metric.value), sign = order.value === "highest first" ? -1 : 1;
      const idx = sw.rows.map((_, i) => i).filter((i) => sw.rows[i][m] !== "" && isFinite(Number(sw.rows[i][m])));
      idx.sort((a, b) => sign * (Number(sw.rows[a][m]) - Number(sw.rows[b][m])));
      const shown = [metric.value, ...sw.params.filter((p) => p !== metric.value), ...sw.columns.filter((c) => c !== metric.value && !sw.params.includes(c))];
      BK.fillTable($("ranked"), ["#", ...shown], idx.map((i, rank) => ({
        attrs: {"data-row": i, "data-run": sw.runs[String(i)] || null},
        cells: [String(rank + 1), ...shown.map((c) => ({text: sw.rows[i][col(c)] ?? "", class: sw.numeric.includes(c) ? "num" : null}))]})));
      for (const tr of $("ranked").querySelectorAll("tbody tr[data-run]")) {
        tr.addEventListener("click", () => { location.hash = "#/runs/" + encodeURIComponent(tr.dataset.run); });
      }
      // The heatmap: the best value of the metric at each (x, y) across the other params.
      const xi = col(xSel.value), yi = col(ySel.value);
      const xs = [...new Set(sw.rows.map((r) => Number(r[xi])).filter(isFinite))].sort((a, b) => a - b);
      const ys = [...new Set(sw.rows.map((r) => Number(r[yi])).filter(isFinite))].sort((a, b) => a - b);
      const cells = new Map();
      for (const i of idx) {
        const key = Number(sw.rows[i][xi]) + "|" + Number(sw.rows[i][yi]);
        if (!cells.has(key)) cells.set(key, Number(sw.rows[i][m])); // idx is ranked: first is best
      }
      const hm = $("heatmap");
      if (xi === yi || xs.length > 200 || ys.length > 200) {
        BK.clear(hm).append(BK.el("p", {class: "muted", text: "choose two different params (each with at most 200 values)"}));
        return;
      }
      BK.heatmap(hm, {xs: xs, ys: ys, xLabel: xSel.value, yLabel: ySel.value, id: "heatmap-svg", metricLabel: metric.value,
        value: (x, y) => (cells.has(x + "|" + y) ? cells.get(x + "|" + y) : null)});
      if (cells.size < idx.length) {
        hm.append(BK.el("p", {class: "muted small", text: `${BK.num(idx.length)} runs on ${cells.size} cells: each cell shows the ${order.value === "highest first" ? "highest" : "lowest"} ${metric.value} across the other params`}));
      }
    };
    for (const s of [metric, xSel, ySel, order]) s.addEventListener("change", draw);
    draw();
  };

  BK.startBacktests = function () {
    $("bt-compare").addEventListener("click", () => {
      if (bt.picked.length === 2) location.hash = "#/compare/" + bt.picked.map(encodeURIComponent).join("/");
    });
  };
})(window.BK);
