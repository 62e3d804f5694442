// botkit dashboard: the page's routes (#/bots/<id>, #/backtests, #/runs/<id>,
// #/compare/<a>/<b>, #/sweeps/<id>) and start-up.
"use strict";
(function (BK) {
  const $ = (id) => document.getElementById(id);

  async function route() {
    const parts = location.hash.replace(/^#\/?/, "").split("/").map(decodeURIComponent);
    const [what, ...rest] = parts;
    const backtests = ["backtests", "runs", "compare", "sweeps"].includes(what);
    $("view-bots").hidden = backtests;
    $("view-backtests").hidden = !backtests;
    $("nav-bots").classList.toggle("active", !backtests);
    $("nav-backtests").classList.toggle("active", backtests);
    try {
      if (what === "runs") await BK.showRun(rest.join("/"));
      else if (what === "compare") await BK.showCompare(rest[0], rest.slice(1).join("/"));
      else if (what === "sweeps") await BK.showSweep(rest.join("/"));
      else if (what === "backtests") await BK.showRuns();
      else BK.showBot(what === "bots" && rest.length ? rest.join("/") : null);
    } catch (err) {
      const box = backtests ? $("bt-run") : $("bot-detail");
      box.hidden = false;
      box.prepend(BK.el("p", {class: "error", text: String(err.message || err)}));
    }
  }

  document.addEventListener("DOMContentLoaded", () => {
    BK.startLive();
    BK.startBacktests();
    window.addEventListener("hashchange", route);
    route();
  });
})(window.BK);
