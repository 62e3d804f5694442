// botkit dashboard: charts drawn as SVG by hand (line charts with a time axis, trade
// markers, a heatmap). No library: a chart is a few paths, axes and labels.
"use strict";
(function (BK) {
  const NS = "http://www.w3.org/2000/svg";
  function svgEl(tag, attrs, text) {
    const node = document.createElementNS(NS, tag);
    for (const [k, v] of Object.entries(attrs || {})) {
      if (v !== null && v !== undefined) node.setAttribute(k, v);
    }
    if (text !== undefined) node.textContent = text;
    return node;
  }
  BK.svgEl = svgEl;

  // Round tick values covering [lo, hi].
  function ticks(lo, hi, n) {
    if (!(hi > lo)) { const d = Math.abs(lo) || 1; lo -= d * 0.01; hi += d * 0.01; }
    const raw = (hi - lo) / n;
    const mag = Math.pow(10, Math.floor(Math.log10(raw)));
    const step = [1, 2, 2.5, 5, 10].map((m) => m * mag).find((s) => s >= raw) || raw;
    const out = [];
    for (let v = Math.ceil(lo / step) * step; v <= hi + step * 1e-9; v += step) out.push(v);
    return {values: out, step: step};
  }
  BK.ticks = ticks;

  function timeLabel(ms, span) {
    const iso = new Date(ms).toISOString();
    if (span > 3 * 86400e3) return iso.slice(0, 10);
    if (span > 86400e3) return iso.slice(5, 16).replace("T", " ");
    if (span > 600e3) return iso.slice(11, 16);
    return iso.slice(11, 19);
  }

  function shortNumber(v, step) {
    const a = Math.abs(v);
    if (a >= 1e6) return (v / 1e6).toFixed(step >= 1e6 ? 0 : 2) + "M";
    if (a >= 1e4) return (v / 1e3).toFixed(step >= 1e3 ? 0 : 1) + "k";
    const digits = step >= 1 ? 0 : Math.min(6, Math.ceil(-Math.log10(step)));
    return v.toFixed(digits);
  }

  // lineChart(container, {series: [{name, points: [[x, y]...], cls}], height, yFormat,
  //   markers: [{x, y, cls, title}], area: "below" | null, id}) draws into container.
  BK.lineChart = function (container, opts) {
    const draw = () => {
      BK.clear(container);
      const width = Math.max(320, container.clientWidth || 800);
      const height = opts.height || 220;
      const pad = {l: 64, r: 12, t: 10, b: 24};
      const series = (opts.series || []).filter((s) => s.points && s.points.length);
      const markers = opts.markers || [];
      let x0 = Infinity, x1 = -Infinity, y0 = Infinity, y1 = -Infinity;
      for (const s of series) {
        for (const p of s.points) {
          if (p[1] === null || p[1] === undefined) continue;
          if (p[0] < x0) x0 = p[0];
          if (p[0] > x1) x1 = p[0];
          if (p[1] < y0) y0 = p[1];
          if (p[1] > y1) y1 = p[1];
        }
      }
      for (const m of markers) {
        if (m.y < y0) y0 = m.y;
        if (m.y > y1) y1 = m.y;
      }
      const svg = svgEl("svg", {
        class: "chart-svg", width: width, height: height, viewBox: `0 0 ${width} ${height}`,
        id: opts.id, role: "img", "aria-label": opts.label || "chart",
      });
      container.append(svg);
      if (!isFinite(x0)) {
        svg.append(svgEl("text", {x: width / 2, y: height / 2, class: "empty", "text-anchor": "middle"},
          opts.empty || "no data yet"));
        return svg;
      }
      if (opts.area === "below") y1 = Math.max(y1, 0);
      const yt = ticks(y0, y1, 4);
      const ylo = Math.min(y0, yt.values[0]), yhi = Math.max(y1, yt.values[yt.values.length - 1]);
      const xs = (x) => pad.l + (x1 > x0 ? (x - x0) / (x1 - x0) : 0.5) * (width - pad.l - pad.r);
      const ys = (y) => pad.t + (yhi > ylo ? (yhi - y) / (yhi - ylo) : 0.5) * (height - pad.t - pad.b);
      const axes = svgEl("g", {class: "axes"});
      for (const v of yt.values) {
        const y = ys(v).toFixed(1);
        axes.append(svgEl("line", {x1: pad.l, x2: width - pad.r, y1: y, y2: y, class: "grid"}));
        axes.append(svgEl("text", {x: pad.l - 6, y: Number(y) + 4, "text-anchor": "end"},
          opts.yFormat ? opts.yFormat(v) : shortNumber(v, yt.step)));
      }
      const span = x1 - x0;
      for (let i = 0; i <= 4; i++) {
        const t = x0 + (span * i) / 4;
        axes.append(svgEl("text", {x: xs(t), y: height - 6, "text-anchor": i === 0 ? "start" : i === 4 ? "end" : "middle"},
          opts.xFormat ? opts.xFormat(t) : timeLabel(t, span)));
      }
      svg.append(axes);
      for (const s of series) {
        const pts = s.points.filter((p) => p[1] !== null && p[1] !== undefined);
        let d = "";
        for (let i = 0; i < pts.length; i++) {
          d += (i ? "L" : "M") + xs(pts[i][0]).toFixed(1) + " " + ys(pts[i][1]).toFixed(1);
        }
        if (opts.area === "below" && pts.length) {
          const base = ys(0).toFixed(1);
          const area = d + "L" + xs(pts[pts.length - 1][0]).toFixed(1) + " " + base +
            "L" + xs(pts[0][0]).toFixed(1) + " " + base + "Z";
          svg.append(svgEl("path", {d: area, class: "area " + (s.cls || "")}));
        }
        svg.append(svgEl("path", {d: d, class: "line " + (s.cls || ""), "data-points": pts.length,
          "data-series": s.name}));
      }
      if (markers.length) {
        const g = svgEl("g", {class: "markers"});
        for (const m of markers) {
          const x = xs(m.x), y = ys(m.y);
          const d = m.cls === "sell"
            ? `M${(x - 4).toFixed(1)} ${(y - 4).toFixed(1)}h8l-4 7z`
            : `M${(x - 4).toFixed(1)} ${(y + 4).toFixed(1)}h8l-4 -7z`;
          const mark = svgEl("path", {d: d, class: "marker " + m.cls});
          if (m.title) mark.append(svgEl("title", {}, m.title));
          g.append(mark);
        }
        svg.append(g);
      }
      if (series.length > 1 || opts.legend) {
        const g = svgEl("g", {class: "legend"});
        let x = pad.l + 8;
        for (const s of series) {
          g.append(svgEl("line", {x1: x, x2: x + 14, y1: pad.t + 8, y2: pad.t + 8, class: "line " + (s.cls || "")}));
          const label = svgEl("text", {x: x + 18, y: pad.t + 12}, s.name);
          g.append(label);
          x += 26 + 7 * s.name.length;
        }
        svg.append(g);
      }
      return svg;
    };
    draw();
    if (window.ResizeObserver && !container._bkObserved) {
      container._bkObserved = true;
      let last = container.clientWidth;
      new ResizeObserver(() => {
        if (Math.abs(container.clientWidth - last) > 20 && container._bkDraw) {
          last = container.clientWidth;
          container._bkDraw();
        }
      }).observe(container);
    }
    container._bkDraw = draw;
  };

  // A colour for value v on [lo, hi]: red to green through white when the range spans
  // zero, light to dark blue otherwise.
  function colour(v, lo, hi) {
    if (v === null || v === undefined || !isFinite(v)) return "#e5e7eb";
    const mix = (a, b, t) => a.map((c, i) => Math.round(c + (b[i] - c) * t));
    let rgb;
    if (lo < 0 && hi > 0) {
      const t = v < 0 ? Math.min(1, v / lo) : Math.min(1, v / hi);
      rgb = v < 0 ? mix([255, 255, 255], [200, 40, 40], t) : mix([255, 255, 255], [20, 140, 60], t);
    } else {
      const t = hi > lo ? (v - lo) / (hi - lo) : 1;
      rgb = mix([224, 236, 255], [30, 64, 175], t);
    }
    return `rgb(${rgb[0]},${rgb[1]},${rgb[2]})`;
  }

  // heatmap(container, {xs, ys, value(x, y), xLabel, yLabel, format}) draws a grid of cells.
  BK.heatmap = function (container, opts) {
    BK.clear(container);
    const xs = opts.xs, ys = opts.ys;
    const cell = Math.max(18, Math.min(64, Math.floor(640 / Math.max(xs.length, ys.length, 1))));
    const pad = {l: 90, t: 16, b: 44, r: 16};
    const width = pad.l + cell * xs.length + pad.r, height = pad.t + cell * ys.length + pad.b;
    const svg = svgEl("svg", {class: "heatmap", width: width, height: height, viewBox: `0 0 ${width} ${height}`, id: opts.id});
    const values = [];
    for (const x of xs) for (const y of ys) { const v = opts.value(x, y); if (v !== null && isFinite(v)) values.push(v); }
    const lo = Math.min(...values), hi = Math.max(...values);
    const fmt = opts.format || ((v) => shortNumber(v, Math.abs(hi - lo) / 10 || 1));
    ys.forEach((y, j) => {
      const row = ys.length - 1 - j; // the smallest y at the bottom
      svg.append(svgEl("text", {x: pad.l - 6, y: pad.t + row * cell + cell / 2 + 4, "text-anchor": "end"}, String(y)));
      xs.forEach((x, i) => {
        const v = opts.value(x, y);
        const rect = svgEl("rect", {
          x: pad.l + i * cell, y: pad.t + row * cell, width: cell - 1, height: cell - 1,
          fill: colour(v, lo, hi), class: "cell", "data-x": x, "data-y": y,
          "data-value": v === null ? "" : v,
        });
        rect.append(svgEl("title", {}, `${opts.xLabel}=${x}, ${opts.yLabel}=${y}: ${v === null ? "no run" : fmt(v)}`));
        svg.append(rect);
        if (cell >= 40 && v !== null) {
          svg.append(svgEl("text", {x: pad.l + i * cell + cell / 2, y: pad.t + row * cell + cell / 2 + 4,
            "text-anchor": "middle", class: "cell-label"}, fmt(v)));
        }
      });
    });
    xs.forEach((x, i) => {
      svg.append(svgEl("text", {x: pad.l + i * cell + cell / 2, y: pad.t + ys.length * cell + 14, "text-anchor": "middle"}, String(x)));
    });
    svg.append(svgEl("text", {x: pad.l + (cell * xs.length) / 2, y: height - 6, "text-anchor": "middle", class: "axis-label"}, opts.xLabel));
    svg.append(svgEl("text", {x: 12, y: pad.t + (cell * ys.length) / 2, class: "axis-label",
      transform: `rotate(-90 12 ${pad.t + (cell * ys.length) / 2})`, "text-anchor": "middle"}, opts.yLabel));
    container.append(svg);
    if (values.length) {
      container.append(BK.el("p", {class: "muted small",
        text: `${opts.metricLabel || "value"}: ${fmt(lo)} (${lo < 0 && hi > 0 ? "red" : "light"}) to ${fmt(hi)} (${lo < 0 && hi > 0 ? "green" : "dark"}); grey: no run`}));
    }
    return svg;
  };
})(window.BK);
