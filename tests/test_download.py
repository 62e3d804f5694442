"""``botkit data download`` against a loopback server laid out as data.binance.vision.

The server (aiohttp on 127.0.0.1, a free port) serves small archives written here
in Binance's documented CSV layouts, at the paths Binance documents
(binance/binance-public-data README: ``data/spot/daily/trades/<SYMBOL>/...``,
``data/futures/um/...``, klines under ``klines/<SYMBOL>/<interval>/``, each with a
``.CHECKSUM`` of ``<sha256>  <file name>``). It honours ``Range`` and counts the
bytes it sends. No test reaches beyond 127.0.0.1.
"""

from __future__ import annotations

import asyncio
import hashlib
import re
import threading
from collections import Counter
from collections.abc import Iterator
from datetime import date
from pathlib import Path

import pytest
from aiohttp import web
from import_fixtures import binance_aggtrades, binance_klines, binance_trades, save

from botkit.backtest.catalog import Catalog, replay
from botkit.backtest.data_cli import main as data_main
from botkit.backtest.download import Request, download
from botkit.events import Bar, Trade

AUG1 = 1_722_470_400  # 2024-08-01 00:00:00 UTC, in seconds
DAY = 86_400
S = 1_000_000_000


class ArchiveServer:
    """Serves the files under ``root`` by path; 404 for the others. ``Range: bytes=N-``
    gets a 206 with the rest (416 past the end). ``sent`` counts body bytes per path,
    ``requests`` lists (path, Range header); ``drop_after[path] = n`` makes the next
    answer for ``path`` stop after n bytes, the connection closed."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.sent: Counter[str] = Counter()
        self.requests: list[tuple[str, str | None]] = []
        self.drop_after: dict[str, int] = {}
        self.url = ""

    async def handle(self, request: web.Request) -> web.StreamResponse:
        path = request.match_info["path"]
        wanted = request.headers.get("Range")
        self.requests.append((path, wanted))
        file = self.root / path
        if not file.is_file():
            return web.Response(status=404, text="Not Found")
        data = file.read_bytes()
        start, status, headers = 0, 200, {}
        if wanted:
            m = re.fullmatch(r"bytes=(\d+)-", wanted)
            assert m, wanted
            start = int(m.group(1))
            if start >= len(data):
                return web.Response(status=416, headers={"Content-Range": f"bytes */{len(data)}"})
            status = 206
            headers["Content-Range"] = f"bytes {start}-{len(data) - 1}/{len(data)}"
        body = data[start:]
        cut = self.drop_after.pop(path, None)
        if cut is not None:
            headers["Content-Length"] = str(len(body))
            resp = web.StreamResponse(status=status, headers=headers)
            await resp.prepare(request)
            await resp.write(body[:cut])
            self.sent[path] += cut
            assert request.transport is not None
            request.transport.close()
            return resp
        self.sent[path] += len(body)
        return web.Response(body=body, status=status, headers=headers)

    def zip_requests(self) -> list[tuple[str, str | None]]:
        return [(p, r) for p, r in self.requests if p.endswith(".zip")]


@pytest.fixture
def server(tmp_path: Path) -> Iterator[ArchiveServer]:
    """The archive server, run on its own event loop in a thread (the code under test
    runs its own loop, as the command does)."""
    srv = ArchiveServer(tmp_path / "published")
    loop = asyncio.new_event_loop()
    thread = threading.Thread(target=loop.run_forever, daemon=True)
    thread.start()
    app = web.Application()
    app.router.add_get("/{path:.*}", srv.handle)
    runner = web.AppRunner(app)

    async def start() -> str:
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        host, port = runner.addresses[0][:2]
        return f"http://{host}:{port}"

    srv.url = asyncio.run_coroutine_threadsafe(start(), loop).result(10)
    try:
        yield srv
    finally:
        asyncio.run_coroutine_threadsafe(runner.cleanup(), loop).result(10)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(10)
        loop.close()


def publish(
    server: ArchiveServer, path: str, lines: list[str], checksum: str | None = None
) -> bytes:
    """Put an archive (a zip of one CSV, as Binance packs them) and its .CHECKSUM at
    ``path``; ``checksum`` overrides the digest written. Returns the archive's bytes."""
    file = save(server.root / path, lines)
    data = file.read_bytes()
    digest = checksum or hashlib.sha256(data).hexdigest()
    file.with_name(file.name + ".CHECKSUM").write_text(f"{digest}  {file.name}\n")
    return data


def spot_day(server: ArchiveServer, symbol: str, day: int, n: int = 40) -> None:
    """``symbol``'s trades and 1m klines of 2024-08-0<day>, as data.binance.vision has them."""
    t0 = AUG1 + (day - 1) * DAY
    name = f"2024-08-{day:02d}"
    publish(
        server,
        f"data/spot/daily/trades/{symbol}/{symbol}-trades-{name}.zip",
        binance_trades(n, t0_s=t0, first_id=1000 + 100 * day),
    )
    publish(
        server,
        f"data/spot/daily/klines/{symbol}/1m/{symbol}-1m-{name}.zip",
        binance_klines(10, t0_s=t0),
    )


def request(server: ArchiveServer, **kw: object) -> Request:
    fields: dict[str, object] = {
        "venue": "binance",
        "market": "spot",
        "symbols": ("BTCUSDT",),
        "kinds": ("trades",),
        "start": date(2024, 8, 1),
        "end": date(2024, 8, 3),
        "base_url": server.url,
        "retry_wait_s": 0.01,
        "timeout_s": 10.0,
    }
    fields.update(kw)
    return Request(**fields)  # type: ignore[arg-type]


def trades(cat: Catalog, symbol: str, venue: str = "binance") -> list[Trade]:
    return [e for b in replay(cat, venue, [symbol], kinds=("trades",)) for e in b]


# ---- a normal download ---------------------------------------------------------------------


def test_download_fetches_verifies_and_imports_each_day(
    tmp_path: Path, server: ArchiveServer, capsys: pytest.CaptureFixture[str]
) -> None:
    for symbol in ("BTCUSDT", "ETHUSDT"):
        for day in (1, 2):
            spot_day(server, symbol, day)
    catalog = tmp_path / "catalog"
    argv = ["data", "download", "--venue", "binance", "--market", "spot"]
    argv += ["--symbols", "BTCUSDT,ETHUSDT", "--kinds", "trades,klines", "--interval", "1m"]
    argv += ["--start", "2024-08-01", "--end", "2024-08-03", "--catalog", str(catalog)]
    argv += ["--base-url", server.url, "--no-progress"]
    assert data_main(argv) == 0
    out = capsys.readouterr().out
    assert "archives: 8: 8 fetched" in out and "0 missing, 0 failed" in out
    assert "rows imported into binance: bars_1m 40, trades 160; skipped rows: 0" in out
    assert "imported BTCUSDT-trades-2024-08-02.zip" in out

    cat = Catalog(catalog)
    assert cat.symbols("binance") == ["BTC/USDT", "ETH/USDT"]
    btc = trades(cat, "BTC/USDT")
    assert len(btc) == 80
    assert btc[0].ts_ns == AUG1 * S and btc[0].trade_id == 1100
    assert btc[-1].ts_ns == (AUG1 + DAY) * S + 39 * 250_000_000 and btc[-1].trade_id == 1239
    bars = [e for b in replay(cat, "binance", ["ETH/USDT"], kinds=("bars",)) for e in b]
    assert all(isinstance(b, Bar) for b in bars) and len(bars) == 20
    assert bars[0].ts_ns == (AUG1 + 60) * S  # stored at the kline's close
    inst = cat.instrument("binance", "BTC/USDT")
    assert inst is not None
    assert (inst["kind"], inst["base"], inst["quote"]) == ("spot", "BTC", "USDT")
    assert inst["exchange_symbol"] == "BTCUSDT"
    # Every archive and its checksum were asked for once, each at its documented path.
    assert len(server.zip_requests()) == 8
    assert ("data/spot/daily/klines/ETHUSDT/1m/ETHUSDT-1m-2024-08-02.zip", None) in server.requests

    # Again: nothing is fetched, nothing imported twice.
    server.requests.clear()
    assert data_main(argv) == 0
    out = capsys.readouterr().out
    assert server.requests == []
    assert "archives: 8: 0 fetched (0 B), 8 already downloaded" in out
    assert out.count("already imported") == 8
    assert len(trades(Catalog(catalog), "BTC/USDT")) == 80


def test_usdm_archives_come_from_futures_um_and_import_as_a_perpetual(
    tmp_path: Path, server: ArchiveServer
) -> None:
    publish(
        server,
        "data/futures/um/daily/aggTrades/BTCUSDT/BTCUSDT-aggTrades-2024-08-01.zip",
        binance_aggtrades(12, "usdm", t0_s=AUG1),
    )
    cat = Catalog(tmp_path / "catalog")
    req = request(
        server, venue="binance-usdm", market="usdm", kinds=("aggTrades",), end=date(2024, 8, 2)
    )
    report = download(cat, req)
    assert [o.status for o in report.outcomes] == ["imported"]
    assert report.rows == {"trades": 12}
    inst = cat.instrument("binance-usdm", "BTC/USDT")
    assert inst is not None and inst["kind"] == "perpetual"
    assert [t.trade_id for t in trades(cat, "BTC/USDT", "binance-usdm")][:2] == [700, 701]


def test_a_whole_month_comes_as_its_monthly_archive_else_as_its_days(
    tmp_path: Path, server: ArchiveServer
) -> None:
    july = AUG1 - 31 * DAY
    publish(
        server,
        "data/spot/monthly/klines/BTCUSDT/1h/BTCUSDT-1h-2024-07.zip",
        binance_klines(31 * 24, t0_s=july, minutes=60),
    )
    # August is not packed yet: its days are fetched instead.
    for day in (1, 2):
        publish(
            server,
            f"data/spot/daily/klines/BTCUSDT/1h/BTCUSDT-1h-2024-08-{day:02d}.zip",
            binance_klines(24, t0_s=AUG1 + (day - 1) * DAY, minutes=60),
        )
    cat = Catalog(tmp_path / "catalog")
    req = request(
        server,
        kinds=("klines",),
        interval="1h",
        start=date(2024, 7, 1),
        end=date(2024, 9, 1),
    )
    report = download(cat, req)
    names = [o.archive.name for o in report.by_status("imported")]
    assert names == [
        "BTCUSDT-1h-2024-07.zip",
        "BTCUSDT-1h-2024-08-01.zip",
        "BTCUSDT-1h-2024-08-02.zip",
    ]
    assert len(report.by_status("missing")) == 29  # 2024-08-03 .. 2024-08-31
    assert report.exit_code == 0
    assert report.rows == {"bars_1h": 31 * 24 + 48}
    assert ("data/spot/monthly/klines/BTCUSDT/1h/BTCUSDT-1h-2024-08.zip.CHECKSUM", None) in (
        server.requests
    )


# ---- what goes wrong ---------------------------------------------------------------------------


def test_a_checksum_mismatch_is_refused_and_nothing_of_it_imported(
    tmp_path: Path, server: ArchiveServer, capsys: pytest.CaptureFixture[str]
) -> None:
    spot_day(server, "BTCUSDT", 1)
    good = binance_trades(40, t0_s=AUG1 + DAY, first_id=1200)
    path = "data/spot/daily/trades/BTCUSDT/BTCUSDT-trades-2024-08-02.zip"
    publish(server, path, good, checksum=hashlib.sha256(b"another file").hexdigest())
    catalog = tmp_path / "catalog"
    argv = ["data", "download", "--venue", "binance", "--symbols", "BTCUSDT"]
    argv += ["--start", "2024-08-01", "--end", "2024-08-03", "--catalog", str(catalog)]
    argv += ["--base-url", server.url, "--no-progress"]
    assert data_main(argv) == 1
    out = capsys.readouterr().out
    assert (
        "FAILED BTCUSDT-trades-2024-08-02.zip: checksum mismatch: the downloaded file's sha256 is"
        in out
    )
    assert "BTCUSDT-trades-2024-08-02.zip.CHECKSUM says" in out and "nothing of it imported" in out
    assert "1 fetched" in out and "1 failed" in out
    cat = Catalog(catalog)
    assert [str(d) for d in cat.days("binance", "BTC/USDT", "trades")] == ["2024-08-01"]
    assert len(trades(cat, "BTC/USDT")) == 40
    cached = catalog / ".download" / path
    assert not cached.exists() and not cached.with_name(cached.name + ".part").exists()


def test_a_partial_download_goes_on_from_where_it_stopped(
    tmp_path: Path, server: ArchiveServer
) -> None:
    path = "data/spot/daily/trades/BTCUSDT/BTCUSDT-trades-2024-08-01.zip"
    data = publish(server, path, binance_trades(2000, t0_s=AUG1))
    half = len(data) // 2
    catalog = tmp_path / "catalog"
    part = catalog / ".download" / (path + ".part")
    part.parent.mkdir(parents=True)
    part.write_bytes(data[:half])  # what an interrupted run left

    report = download(Catalog(catalog), request(server, end=date(2024, 8, 2)))
    (outcome,) = report.outcomes
    assert outcome.status == "imported" and outcome.fetched == len(data) - half
    assert server.zip_requests() == [(path, f"bytes={half}-")]
    assert server.sent[path] == len(data) - half  # only the rest was sent
    assert not part.exists() and (catalog / ".download" / path).read_bytes() == data
    assert len(trades(Catalog(catalog), "BTC/USDT")) == 2000


def test_a_connection_lost_mid_file_is_resumed_with_a_range_request(
    tmp_path: Path, server: ArchiveServer
) -> None:
    path = "data/spot/daily/trades/BTCUSDT/BTCUSDT-trades-2024-08-01.zip"
    data = publish(server, path, binance_trades(3000, t0_s=AUG1))
    server.drop_after[path] = 10_000
    report = download(Catalog(tmp_path / "c"), request(server, end=date(2024, 8, 2)))
    assert [o.status for o in report.outcomes] == ["imported"]
    assert server.zip_requests() == [(path, None), (path, "bytes=10000-")]
    assert server.sent[path] == len(data)  # no byte sent twice
    assert report.rows == {"trades": 3000}


def test_a_missing_day_is_reported_and_the_rest_imported(
    tmp_path: Path, server: ArchiveServer, capsys: pytest.CaptureFixture[str]
) -> None:
    spot_day(server, "BTCUSDT", 1)
    spot_day(server, "BTCUSDT", 3)
    catalog = tmp_path / "catalog"
    argv = ["data", "download", "--venue", "binance", "--symbols", "BTCUSDT", "--kinds", "trades"]
    argv += ["--start", "2024-08-01", "--end", "2024-08-04", "--catalog", str(catalog)]
    argv += ["--base-url", server.url, "--no-progress"]
    assert data_main(argv) == 0
    out = capsys.readouterr().out
    assert (
        "missing data/spot/daily/trades/BTCUSDT/BTCUSDT-trades-2024-08-02.zip (404: not published)"
        in out
    )
    assert "archives: 3: 2 fetched" in out and "1 missing, 0 failed" in out
    days = Catalog(catalog).days("binance", "BTC/USDT", "trades")
    assert [str(d) for d in days] == ["2024-08-01", "2024-08-03"]


def test_nothing_to_import_exits_2(
    tmp_path: Path, server: ArchiveServer, capsys: pytest.CaptureFixture[str]
) -> None:
    argv = ["data", "download", "--venue", "binance", "--symbols", "BTCUSDT"]
    argv += ["--start", "2024-08-01", "--catalog", str(tmp_path / "c"), "--base-url", server.url]
    assert data_main([*argv, "--no-progress"]) == 2
    captured = capsys.readouterr()
    assert "missing data/spot/daily/trades/BTCUSDT/BTCUSDT-trades-2024-08-01.zip" in captured.out
    assert "error: nothing was imported" in captured.err


@pytest.mark.parametrize(
    ("flags", "message"),
    [
        (["--kinds", "trades,aggTrades"], "both become the catalog's trades"),
        (["--kinds", "klines"], "--kinds klines needs --interval"),
        (["--kinds", "bookTicker"], "--kinds 'bookTicker': expected trades, aggTrades, klines"),
        (["--end", "2024-07-01"], "must be after --start"),
        (["--symbols", "BTC-USDT!"], "is not a symbol such as BTCUSDT"),
    ],
)
def test_a_request_that_cannot_run_exits_2_before_any_fetch(
    flags: list[str],
    message: str,
    tmp_path: Path,
    server: ArchiveServer,
    capsys: pytest.CaptureFixture[str],
) -> None:
    argv = ["data", "download", "--venue", "binance", "--symbols", "BTCUSDT"]
    argv += ["--start", "2024-08-01", "--catalog", str(tmp_path), "--base-url", server.url]
    assert data_main([*argv, *flags]) == 2
    assert message in capsys.readouterr().err
    assert server.requests == []
