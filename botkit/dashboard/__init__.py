"""The dashboard: watch and steer running bots, and browse backtests, in the browser.

``botkit dashboard`` (docs/dashboard.md) is one aiohttp process serving a page
of its own HTML, CSS and JavaScript (``static/``, package data: no CDN, no
build step, works offline). One module per job:

- ``server``: the routes, the login, the CSRF and security headers, the
  websocket that pushes updates to the page;
- ``passwords``: scrypt password hashes (``botkit dashboard hash-password``);
- ``sessions``: sessions and their CSRF tokens; ``throttle``: failed logins
  rate-limited;
- ``hub``: the bots known and the browsers watching them;
  ``botview``: one bot's state, built from its messages;
- ``bridge``: the MQTT side (every bot's topics in; commands out as
  ``botkit ctl`` sends them); ``journalsource``: a bot read from its journal
  when there is no broker;
- ``reports``: backtest output folders and sweeps' ``results.csv``, read;
  ``runfiles``: the series ``botkit backtest`` writes beside its report for
  the charts (``equity.csv``, ``prices.csv``, ``run.json``);
- ``cli``: ``botkit dashboard``.

Importing this package loads nothing else.
"""
