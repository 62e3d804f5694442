// botkit dashboard: a virtual table for long tables (a backtest's fills). Only the rows
// in view exist in the page, so 10,000 or 100,000 rows scroll, sort and filter at once.
"use strict";
(function (BK) {
  BK.perf = BK.perf || {};

  BK.VirtualTable = class {
    // columns: names; rows: arrays of strings; numeric: names of numeric columns.
    constructor(container, opts) {
      const t0 = performance.now();
      this.container = container;
      this.columns = opts.columns;
      this.rows = opts.rows;
      this.rowHeight = opts.rowHeight || 24;
      this.height = opts.height || 432;
      this.numeric = new Set(opts.numeric || []);
      this.label = opts.label || "rows";
      this.view = this.rows.map((_, i) => i);
      this.sortCol = null;
      this.sortDir = 1;
      this.filterText = "";
      this.haystack = null;
      this.pool = [];
      this.timings = {};
      this.build();
      this.paint();
      this.container.offsetHeight; // lay the first screen out before the clock stops
      this.timings.render = performance.now() - t0;
      this.showCount();
    }

    widths() {
      const sample = this.rows.slice(0, 300);
      return this.columns.map((name, c) => {
        let w = name.length + 2;
        for (const r of sample) w = Math.max(w, String(r[c] ?? "").length + 1);
        // Pixels, not ch: a bold header's ch is wider than a row's, and columns must line up.
        return Math.round(Math.min(Math.max(w, 5), 34) * 7 + 14) + "px";
      });
    }

    build() {
      const c = BK.clear(this.container);
      c.classList.add("vt");
      c.style.setProperty("--cols", this.widths().join(" "));
      this.filterInput = BK.el("input", {type: "search", class: "vt-filter", placeholder:
        "filter: words to find, or column:value (side:buy strategy:trend)", "aria-label": "filter"});
      this.filterInput.addEventListener("input", () => this.setFilter(this.filterInput.value));
      this.countLabel = BK.el("span", {class: "vt-count muted small"});
      c.append(BK.el("div", {class: "vt-tools"}, this.filterInput, this.countLabel));
      this.head = BK.el("div", {class: "vt-row vt-head", role: "row"});
      this.columns.forEach((name, i) => {
        const th = BK.el("div", {class: "vt-cell" + (this.numeric.has(name) ? " num" : ""), role: "columnheader",
          "data-col": name, text: name, title: "sort by " + name});
        th.addEventListener("click", () => this.sortBy(i));
        this.head.append(th);
      });
      this.viewport = BK.el("div", {class: "vt-viewport", role: "table"});
      this.viewport.style.height = this.height + "px";
      this.spacer = BK.el("div", {class: "vt-spacer"});
      this.body = BK.el("div", {class: "vt-body"});
      this.spacer.append(this.body);
      this.viewport.append(this.head, this.spacer);
      this.viewport.addEventListener("scroll", () => {
        if (!this.pending) {
          this.pending = true;
          requestAnimationFrame(() => { this.pending = false; this.paint(); });
        }
      });
      c.append(this.viewport);
    }

    // Only the rows that show (and a few around them) are in the page.
    paint() {
      const rh = this.rowHeight;
      this.spacer.style.height = this.view.length * rh + "px";
      const top = Math.max(0, this.viewport.scrollTop - rh);
      const first = Math.floor(top / rh);
      const count = Math.min(this.view.length - first, Math.ceil(this.height / rh) + 6);
      while (this.pool.length < count) {
        const row = BK.el("div", {class: "vt-row", role: "row"});
        for (let i = 0; i < this.columns.length; i++) {
          row.append(BK.el("div", {class: "vt-cell" + (this.numeric.has(this.columns[i]) ? " num" : "")}));
        }
        this.pool.push(row);
        this.body.append(row);
      }
      this.body.style.transform = `translateY(${first * rh}px)`;
      for (let k = 0; k < this.pool.length; k++) {
        const row = this.pool[k];
        if (k >= count) { row.hidden = true; continue; }
        row.hidden = false;
        const index = this.view[first + k];
        const data = this.rows[index];
        row.dataset.index = index;
        const cells = row.children;
        for (let i = 0; i < cells.length; i++) {
          const v = data[i] ?? "";
          if (cells[i].textContent !== v) cells[i].textContent = v;
        }
        if (this.sideCol >= 0) cells[this.sideCol].className = "vt-cell " + (data[this.sideCol] || "");
      }
    }

    get sideCol() {
      if (this._sideCol === undefined) this._sideCol = this.columns.indexOf("side");
      return this._sideCol;
    }

    showCount() {
      const n = this.view.length, all = this.rows.length;
      const what = n === all ? `${all.toLocaleString("en-US")} ${this.label}`
        : `${n.toLocaleString("en-US")} of ${all.toLocaleString("en-US")} ${this.label}`;
      const t = this.timings;
      const last = t.filter !== undefined ? `filtered in ${t.filter.toFixed(1)} ms`
        : `rendered in ${t.render.toFixed(1)} ms`;
      this.countLabel.textContent = `${what} · ${last}`;
      BK.perf[this.label] = Object.assign({}, t, {rows: all, shown: n});
    }

    setFilter(text) {
      const t0 = performance.now();
      this.filterText = text.trim().toLowerCase();
      if (this.haystack === null) {
        this.haystack = this.rows.map((r) => r.join("\u0001").toLowerCase());
        this.lower = this.rows.map((r) => r.map((v) => String(v).toLowerCase()));
      }
      const terms = this.filterText.split(/\s+/).filter(Boolean).map((term) => {
        const m = term.match(/^([a-z_]+):(.*)$/);
        const col = m ? this.columns.indexOf(m[1]) : -1;
        return col >= 0 ? {col: col, text: m[2]} : {col: -1, text: term};
      });
      const keep = [];
      for (let i = 0; i < this.rows.length; i++) {
        let ok = true;
        for (const term of terms) {
          const where = term.col >= 0 ? this.lower[i][term.col] : this.haystack[i];
          if (where.indexOf(term.text) < 0) { ok = false; break; }
        }
        if (ok) keep.push(i);
      }
      this.view = keep;
      if (this.sortCol !== null) this.applySort();
      this.viewport.scrollTop = 0;
      this.paint();
      this.container.offsetHeight;
      this.timings.filter = performance.now() - t0;
      this.showCount();
      return this.timings.filter;
    }

    sortBy(col) {
      const t0 = performance.now();
      this.sortDir = this.sortCol === col ? -this.sortDir : 1;
      this.sortCol = col;
      this.applySort();
      for (const [i, th] of Array.from(this.head.children).entries()) {
        th.classList.toggle("asc", i === col && this.sortDir > 0);
        th.classList.toggle("desc", i === col && this.sortDir < 0);
      }
      this.paint();
      this.timings.sort = performance.now() - t0;
      this.showCount();
    }

    applySort() {
      const c = this.sortCol, dir = this.sortDir, rows = this.rows;
      if (this.numeric.has(this.columns[c])) {
        const key = new Float64Array(rows.length);
        for (let i = 0; i < rows.length; i++) key[i] = Number(rows[i][c]);
        this.view.sort((a, b) => (key[a] - key[b]) * dir || a - b);
      } else {
        this.view.sort((a, b) => (rows[a][c] < rows[b][c] ? -dir : rows[a][c] > rows[b][c] ? dir : a - b));
      }
    }
  };
})(window.BK);
