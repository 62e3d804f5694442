// botkit dashboard: small helpers shared by the other scripts (no libraries).
"use strict";
window.BK = window.BK || {};
(function (BK) {
  const meta = document.querySelector('meta[name="csrf-token"]');
  BK.csrf = meta ? meta.content : "";

  // el("td", {class: "num", text: "1.5"}, child...) builds an element.
  BK.el = function (tag, attrs, ...children) {
    const node = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) {
      if (v === null || v === undefined || v === false) continue;
      if (k === "text") node.textContent = v;
      else if (k === "class") node.className = v;
      else if (k.startsWith("on")) node.addEventListener(k.slice(2), v);
      else node.setAttribute(k, v === true ? "" : v);
    }
    for (const c of children) if (c !== null && c !== undefined) node.append(c);
    return node;
  };

  BK.clear = function (node) {
    while (node.firstChild) node.removeChild(node.firstChild);
    return node;
  };

  BK.getJSON = async function (url) {
    const r = await fetch(url, {credentials: "same-origin", headers: {Accept: "application/json"}});
    if (r.status === 401) { location.href = "/login"; throw new Error("logged out"); }
    const body = await r.json();
    if (!r.ok) throw new Error(body.error || r.statusText);
    return body;
  };

  // State-changing requests carry the session's CSRF token.
  BK.postJSON = async function (url, data) {
    const r = await fetch(url, {
      method: "POST",
      credentials: "same-origin",
      headers: {"Content-Type": "application/json", "X-CSRF-Token": BK.csrf},
      body: JSON.stringify(data),
    });
    let body = {};
    try { body = await r.json(); } catch (e) { body = {error: r.statusText}; }
    return {status: r.status, body: body};
  };

  const grouping = new Intl.NumberFormat("en-US", {maximumFractionDigits: 2});
  BK.num = function (v, digits) {
    if (v === null || v === undefined || v === "") return "–";
    const x = Number(v);
    if (!isFinite(x)) return String(v);
    if (digits !== undefined) return x.toLocaleString("en-US", {minimumFractionDigits: digits, maximumFractionDigits: digits});
    return grouping.format(x);
  };
  // An exact decimal string rounded to as many decimals as ``reference`` has (a price on
  // its grid), for display; the exact value stays in the cell's title.
  BK.likeGrid = function (value, reference) {
    if (value === null || value === undefined) return "–";
    const ref = String(reference || "");
    const digits = ref.includes(".") ? ref.length - ref.indexOf(".") - 1 : reference ? 0 : 8;
    const x = Number(value);
    return isFinite(x) ? x.toFixed(Math.min(digits, 12)) : String(value);
  };
  BK.pct = function (v, digits) {
    if (v === null || v === undefined) return "–";
    return (Number(v) * 100).toFixed(digits === undefined ? 2 : digits) + "%";
  };
  BK.signClass = function (v) {
    const x = Number(v);
    return x > 0 ? "pos" : x < 0 ? "neg" : "";
  };
  BK.time = function (iso) {
    if (!iso) return "–";
    return String(iso).replace("T", " ").replace(/\.\d+Z$/, "Z");
  };
  BK.ago = function (s) {
    if (s === null || s === undefined) return "–";
    if (s < 1) return "<1 s";
    if (s < 120) return Math.round(s) + " s";
    return Math.round(s / 60) + " min";
  };

  // A confirmation for destructive actions: resolves true when confirmed.
  BK.confirm = function (title, text) {
    const dialog = document.getElementById("confirm");
    document.getElementById("confirm-title").textContent = title;
    document.getElementById("confirm-text").textContent = text;
    return new Promise((resolve) => {
      dialog.addEventListener("close", () => resolve(dialog.returnValue === "ok"), {once: true});
      dialog.returnValue = "";
      dialog.showModal();
      document.getElementById("confirm-cancel").focus();
    });
  };

  // A table from rows of cells: [{text, class}] or plain strings.
  BK.fillTable = function (table, header, rows) {
    BK.clear(table);
    const thead = BK.el("thead", {}, BK.el("tr", {}, ...header.map((h) => BK.el("th", {text: h}))));
    const tbody = BK.el("tbody");
    for (const row of rows) {
      const tr = BK.el("tr", row.attrs || {});
      for (const cell of row.cells || row) {
        tr.append(typeof cell === "object" && cell !== null
          ? BK.el("td", {class: cell.class, text: cell.text, title: cell.title})
          : BK.el("td", {text: cell}));
      }
      tbody.append(tr);
    }
    table.append(thead, tbody);
  };
})(window.BK);
