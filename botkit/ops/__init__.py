"""Operations: watching and steering a running bot from elsewhere, over MQTT.

A paper or live run with an ``mqtt:`` section in bot.yaml publishes what it
does and takes commands; ``botkit feed`` publishes a venue's market data once
for any number of bots (``data.source: mqtt``); ``botkit status`` shows a bot
from its journal and retained status (docs/operations.md). One module per job:

- ``topics``: the topic names under ``<prefix>/<bot_id>/``;
- ``payloads``: each topic's JSON payload (exact decimal strings), and
  ``schemas/``: a JSON Schema file per topic, shipped with the package;
- ``publisher``: the bounded outgoing queue and the broker connection (never
  blocks the trading loop, survives broker restarts, counts what it drops);
- ``client``: an aiomqtt client from the config (credentials, TLS, last will);
- ``telemetry``: what the engine's updates become on the topics;
- ``signing``: HMAC-SHA256 command signatures with a timestamp;
- ``control``: reading a command (size, JSON, signature, timestamp window,
  replays) and its reply; ``commands``: what each command does to the engine;
- ``gate``: pause and resume, enforced where the engine applies intents;
- ``status``: the run's state and the retained status payload;
- ``loghandler``: warnings and errors to the ``log`` topic, secrets scrubbed;
- ``health``: the market data feed's health, for the status and the status line;
- ``service``: all of it wired for one run (what ``botkit.node`` uses), the
  daily report's publishing included;
- ``feed``: ``botkit feed``, a venue's market data on ``<prefix>/feed/<venue>/``
  with sequence numbers, answering book snapshot requests;
  ``feedpayloads``: its JSON payloads both ways;
- ``marketdata``: a bot's side of it (``data.source: mqtt``): the same event
  objects for ``Engine.dispatch``, gaps detected by sequence, books re-snapshot;
- ``statusview``: ``botkit status``;
- ``ctl``: ``botkit ctl``; ``localbroker``: a broker on 127.0.0.1 for tests
  and benchmarks (mosquitto, else amqtt).

Importing this package loads no MQTT client: ``service``, ``feed``,
``marketdata`` and ``ctl`` do, when a run or a command needs one.
"""
