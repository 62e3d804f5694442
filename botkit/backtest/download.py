"""``botkit data download``: Binance's public data archives, fetched, verified and imported.

Binance publishes its market data as zipped CSV files (binance/binance-public-data,
served from data.binance.vision), one archive per symbol, data type and day or month::

    data/spot/daily/trades/BTCUSDT/BTCUSDT-trades-2024-08-01.zip
    data/spot/monthly/aggTrades/BTCUSDT/BTCUSDT-aggTrades-2024-08.zip
    data/spot/daily/klines/BTCUSDT/1m/BTCUSDT-1m-2024-08-01.zip
    data/futures/um/daily/trades/BTCUSDT/BTCUSDT-trades-2024-08-01.zip   (USD-M futures)

and beside each archive ``<archive>.CHECKSUM``, a ``sha256sum`` line: the hex
SHA-256 of the archive and its file name.

What :func:`download` does for every archive of the range:

- **Plan.** The whole months inside ``[start, end)`` come as monthly archives, the
  other days as daily ones; a monthly archive that is not there (404: a month
  Binance has not packed yet) is replaced by its daily archives.
- **Fetch**, at most ``parallel`` at a time, with a timeout on the connection and
  on every read. The bytes go to ``<archive>.part`` in the cache folder; a fetch
  that stops (a reset, a timeout, a 5xx, a killed process) leaves the ``.part``,
  and the next attempt asks only for the rest (``Range: bytes=<size>-``). A
  server that ignores the range sends the whole file, which then replaces the
  ``.part``.
- **Verify.** The ``.part`` becomes the archive only once its SHA-256 equals the
  one its ``.CHECKSUM`` states. A mismatch is refused: the file is deleted,
  nothing of it is imported, and the report names it (a resumed file is fetched
  once more from the start first: its first part may be of an older version). An
  archive already in the cache whose checksum still matches is not fetched again.
- **Import** it with the importer of its format (``binance-trades``,
  ``binance-aggtrades``, ``binance-klines``) under ``venue`` and the catalog symbol
  (``BTCUSDT`` -> ``BTC/USDT``), spot as ``spot`` and USD-M as ``perpetual``. An
  archive imported before into the same venue and symbol, whose catalog files are
  still there, is not imported again (``reimport`` to force it).
- A missing archive (404) is reported, not fatal; every other failure (a checksum
  mismatch, a refused import, a network error after the retries) is reported with
  the archive's name, and the other archives go on.
"""

from __future__ import annotations

import asyncio
import calendar
import contextlib
import hashlib
import json
import os
import re
import zipfile
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any, NamedTuple

from botkit.backtest.catalog import Catalog, CatalogError
from botkit.backtest.importers import ImportRefused, ImportResult, import_file, parse_interval
from botkit.backtest.importers.instrument import Wanted, split_symbol

if TYPE_CHECKING:  # aiohttp is imported when a download starts: `botkit` starts faster
    import aiohttp

BASE_URL = "https://data.binance.vision"
# The data types this command fetches, and the importer of each.
KINDS: dict[str, str] = {
    "trades": "binance-trades",
    "aggTrades": "binance-aggtrades",
    "klines": "binance-klines",
}
MARKETS: dict[str, str] = {"spot": "data/spot", "usdm": "data/futures/um"}
# Kline intervals Binance publishes that the catalog can hold (not 1mo: months vary).
INTERVALS = ("1s", "1m", "3m", "5m", "15m", "30m", "1h", "2h", "4h", "6h", "8h", "12h", "1d")

_CHUNK = 1 << 16
_SHA256 = re.compile(r"^[0-9a-fA-F]{64}$")
_DATED = re.compile(r"^(.+)_(\d{6})$")


class Missing(Exception):
    """The server has no such file (HTTP 404)."""


class Failed(Exception):
    """The archive could not be fetched, verified or imported; the message says why."""


# ---- what to fetch ------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Archive:
    """One archive: ``market`` spot or usdm, ``kind`` trades/aggTrades/klines, the
    exchange's ``symbol`` (BTCUSDT), ``period`` a day (``2024-08-01``) or a month
    (``2024-08``), and the kline ``interval``."""

    market: str
    kind: str
    symbol: str
    period: str
    interval: str | None = None

    @property
    def monthly(self) -> bool:
        return len(self.period) == 7

    @property
    def name(self) -> str:
        label = self.interval if self.kind == "klines" else self.kind
        return f"{self.symbol}-{label}-{self.period}.zip"

    @property
    def path(self) -> str:
        """Where it lies under the base URL (and in the cache)."""
        parts = [MARKETS[self.market], "monthly" if self.monthly else "daily", self.kind]
        parts.append(self.symbol)
        if self.kind == "klines":
            parts.append(str(self.interval))
        return "/".join([*parts, self.name])

    def days(self) -> list[Archive]:
        """A monthly archive's daily archives."""
        year, month = int(self.period[:4]), int(self.period[5:])
        n = calendar.monthrange(year, month)[1]
        return [
            Archive(self.market, self.kind, self.symbol, f"{self.period}-{d:02d}", self.interval)
            for d in range(1, n + 1)
        ]


def periods(start: date, end: date) -> list[str]:
    """The months (``2024-08``) wholly inside ``[start, end)`` and the days around them."""
    out: list[str] = []
    d = start
    while d < end:
        nxt = _next_month(d)
        if d.day == 1 and nxt <= end:
            out.append(d.strftime("%Y-%m"))
            d = nxt
        else:
            out.append(d.isoformat())
            d += timedelta(days=1)
    return out


def _next_month(d: date) -> date:
    return date(d.year + d.month // 12, d.month % 12 + 1, 1)


def plan(
    market: str,
    symbols: Sequence[str],
    kinds: Sequence[str],
    start: date,
    end: date,
    interval: str | None = None,
) -> list[Archive]:
    """Every archive of the range, symbol by symbol, kind by kind, in time order."""
    spans = periods(start, end)
    return [
        Archive(market, kind, symbol, p, interval if kind == "klines" else None)
        for symbol in symbols
        for kind in kinds
        for p in spans
    ]


class Symbol(NamedTuple):
    """A symbol as Binance spells it (``exchange``), as the catalog files it, and its assets."""

    exchange: str
    catalog: str
    base: str
    quote: str


def catalog_symbol(symbol: str) -> Symbol:
    """``BTCUSDT`` or ``BTC/USDT`` -> (``BTCUSDT``, ``BTC/USDT``, ``BTC``, ``USDT``); a dated
    USD-M contract keeps its date: ``BTCUSDT_240927`` -> ``BTC/USDT_240927``."""
    text = symbol.strip().upper()
    if "/" in text:
        base, rest = text.split("/", 1)
        m = _DATED.match(rest)
        quote, suffix = (m.group(1), "_" + m.group(2)) if m else (rest, "")
        if not re.fullmatch(r"[A-Z0-9]+", base) or not re.fullmatch(r"[A-Z0-9]+", quote):
            raise ValueError(f"{symbol!r} is not a symbol such as BTCUSDT or BTC/USDT")
        return Symbol(base + quote + suffix, text, base, quote)
    m = _DATED.match(text)
    plain, suffix = (m.group(1), "_" + m.group(2)) if m else (text, "")
    if not re.fullmatch(r"[A-Z0-9]+", plain):
        raise ValueError(f"{symbol!r} is not a symbol such as BTCUSDT or BTC/USDT")
    base, quote = split_symbol(plain, None, Wanted())
    return Symbol(text, f"{base}/{quote}{suffix}", base, quote)


# ---- the request and the report ------------------------------------------------------


@dataclass(frozen=True)
class Request:
    """What to download and where to file it (the flags of ``botkit data download``)."""

    venue: str
    market: str
    symbols: tuple[str, ...]
    kinds: tuple[str, ...]
    start: date
    end: date
    interval: str | None = None
    base_url: str = BASE_URL
    parallel: int = 4
    timeout_s: float = 60.0
    retries: int = 3
    retry_wait_s: float = 1.0
    reimport: bool = False

    def check(self) -> None:
        """Raise ValueError for a request that cannot run."""
        if not self.venue or any(c in self.venue for c in "/\\") or self.venue in (".", ".."):
            raise ValueError(f"--venue {self.venue!r} is not a venue name such as binance")
        if self.market not in MARKETS:
            raise ValueError(f"--market {self.market!r}: expected spot or usdm")
        bad = [k for k in self.kinds if k not in KINDS]
        if bad or not self.kinds:
            raise ValueError(f"--kinds {','.join(bad)!r}: expected {', '.join(KINDS)}")
        if "trades" in self.kinds and "aggTrades" in self.kinds:
            raise ValueError(
                "--kinds trades and aggTrades both become the catalog's trades (keyed by "
                "trade id, and the ids of the two differ): download one of them, or file "
                "the other under another --venue"
            )
        if "klines" in self.kinds:
            if self.interval is None:
                raise ValueError("--kinds klines needs --interval (e.g. 1m, 1h)")
            if self.interval not in INTERVALS:
                raise ValueError(f"--interval {self.interval!r}: expected one of {INTERVALS}")
            parse_interval(self.interval)
        if not self.symbols:
            raise ValueError("--symbols names no symbol")
        for s in self.symbols:
            catalog_symbol(s)
        if self.end <= self.start:
            raise ValueError(f"--end {self.end} must be after --start {self.start}")
        if self.parallel < 1 or self.retries < 0 or self.timeout_s <= 0:
            raise ValueError("--parallel must be >= 1, --retries >= 0 and --timeout > 0")
        if not re.match(r"^https?://", self.base_url):
            raise ValueError(f"--base-url {self.base_url!r} is not an http(s) URL")


@dataclass
class Outcome:
    """What became of one archive.

    ``status``: ``imported``, ``already imported`` (before, into the same venue and
    symbol), ``missing`` (404) or ``failed`` (``error`` says why). ``fetched`` counts
    the bytes received for it in this run (0 when it was in the cache), ``size`` the
    archive's bytes.
    """

    archive: Archive
    status: str
    fetched: int = 0
    size: int = 0
    sha256: str = ""
    cached: bool = False
    error: str | None = None
    result: ImportResult | None = None
    rows: dict[str, int] = field(default_factory=dict)


@dataclass
class Report:
    """Every archive's outcome, in plan order, with the totals people read."""

    request: Request
    outcomes: list[Outcome] = field(default_factory=list)

    def by_status(self, status: str) -> list[Outcome]:
        return [o for o in self.outcomes if o.status == status]

    @property
    def rows(self) -> Counter[str]:
        total: Counter[str] = Counter()
        for o in self.by_status("imported"):
            total.update(o.rows)
        return total

    @property
    def skipped_rows(self) -> int:
        return sum(o.result.skipped_count for o in self.outcomes if o.result is not None)

    @property
    def fetched_bytes(self) -> int:
        return sum(o.fetched for o in self.outcomes)

    @property
    def exit_code(self) -> int:
        """0: every archive found is in the catalog; 1: some failed; 2: nothing imported."""
        done = self.by_status("imported") + self.by_status("already imported")
        if not done:
            return 2
        return 1 if self.by_status("failed") else 0

    def lines(self) -> list[str]:
        """The summary: one line per archive, then the totals."""
        out = []
        said: set[tuple[str, str]] = set()  # what an import inferred, once per symbol
        for o in self.outcomes:
            sym = catalog_symbol(o.archive.symbol).catalog
            if o.status == "imported":
                assert o.result is not None
                where = "cached" if o.cached else f"{_mb(o.fetched)} fetched"
                out.append(f"imported {o.archive.name} ({where}) -> {sym}: {o.result.summary()}")
                lines = o.result.report(limit=5)
                n_said = len(o.result.said)
                for line in lines[:n_said]:
                    if (sym, line) not in said:
                        said.add((sym, line))
                        out.append(f"  {line}")
                out += [f"  {line}" for line in lines[n_said:]]
            elif o.status == "already imported":
                out.append(f"already imported {o.archive.name} -> {sym}")
            elif o.status == "missing":
                out.append(f"missing {o.archive.path} (404: not published)")
            else:
                out.append(f"FAILED {o.archive.name}: {o.error}")
        n = len(self.outcomes)
        fetched = [o for o in self.outcomes if o.fetched]
        cached = [o for o in self.outcomes if o.cached]
        missing, failed = self.by_status("missing"), self.by_status("failed")
        out.append(
            f"archives: {n}: {len(fetched)} fetched ({_mb(self.fetched_bytes)}), "
            f"{len(cached)} already downloaded, {len(missing)} missing, {len(failed)} failed"
        )
        rows = ", ".join(f"{k} {v:,}" for k, v in sorted(self.rows.items())) or "nothing"
        out.append(
            f"rows imported into {self.request.venue}: {rows}; skipped rows: {self.skipped_rows:,}"
        )
        return out


def _mb(n: int) -> str:
    return f"{n / 1e6:.2f} MB" if n >= 10_000 else f"{n:,} B"


# ---- fetching -------------------------------------------------------------------------


def sha256_of(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as f:
        while chunk := f.read(1 << 20):
            h.update(chunk)
    return h.hexdigest()


def parse_checksum(text: str, name: str) -> str:
    """The hex digest in a ``.CHECKSUM`` file (``<sha256>  <file name>``) for ``name``."""
    parts = text.split()
    if not parts or not _SHA256.match(parts[0]):
        raise Failed(f"{name}.CHECKSUM is not a sha256sum line: {text[:80]!r}")
    if len(parts) > 1 and parts[1].lstrip("*") != name:
        raise Failed(f"{name}.CHECKSUM is the checksum of {parts[1]!r}, not of {name}")
    return parts[0].lower()


Tracker = Callable[[int, int], None]  # (bytes received, bytes now expected in all)


class _Fetcher:
    def __init__(self, session: aiohttp.ClientSession, request: Request, track: Tracker) -> None:
        self.session = session
        self.request = request
        self.track = track

    def url(self, path: str) -> str:
        return f"{self.request.base_url.rstrip('/')}/{path}"

    async def retrying(self, what: str, attempt: Callable[[], Any]) -> Any:
        """Run ``attempt`` again after a network error, a timeout or a 5xx, with backoff."""
        import aiohttp

        for n in range(self.request.retries + 1):
            try:
                return await attempt()
            except (aiohttp.ClientError, TimeoutError, _Retry) as exc:
                if n == self.request.retries:
                    why = str(exc) or type(exc).__name__
                    raise Failed(
                        f"{what}: {why} (after {self.request.retries + 1} attempts)"
                    ) from None
                await asyncio.sleep(self.request.retry_wait_s * 2**n)
        raise AssertionError("unreachable")

    async def text(self, path: str) -> str:
        async def attempt() -> str:
            async with self.session.get(self.url(path)) as resp:
                _status(resp, path)
                body: bytes = await resp.read()
                return body.decode("utf-8", errors="replace")

        result: str = await self.retrying(path.rsplit("/", 1)[-1], attempt)
        return result

    async def file(self, path: str, part: Path) -> tuple[int, bool]:
        """Fetch ``path`` into ``part``, going on from what ``part`` holds.
        Returns (bytes received, whether it went on from an earlier part)."""
        received = 0
        resumed = part.exists() and part.stat().st_size > 0

        async def attempt() -> None:
            nonlocal received
            have = part.stat().st_size if part.exists() else 0
            headers = {"Range": f"bytes={have}-"} if have else {}
            async with self.session.get(self.url(path), headers=headers) as resp:
                if resp.status == 416 and have:
                    return  # the part is whole already: the checksum will tell
                _status(resp, path)
                if resp.status == 206:
                    start = _range_start(resp.headers.get("Content-Range", ""))
                    if start != have:
                        raise Failed(
                            f"{path}: asked for bytes from {have}, the server sent from {start}"
                        )
                    mode = "ab"
                else:
                    have, mode = 0, "wb"
                length = resp.content_length
                if length is not None:
                    self.track(0, length)
                with part.open(mode) as f:
                    async for chunk in resp.content.iter_chunked(_CHUNK):
                        f.write(chunk)
                        received += len(chunk)
                        self.track(len(chunk), 0)

        await self.retrying(path.rsplit("/", 1)[-1], attempt)
        return received, resumed


class _Retry(Exception):
    pass


def _status(resp: aiohttp.ClientResponse, path: str) -> None:
    if resp.status == 404:
        raise Missing(path)
    if resp.status >= 500 or resp.status == 429:
        raise _Retry(f"HTTP {resp.status}")
    if resp.status not in (200, 206):
        raise Failed(f"{path}: HTTP {resp.status} {resp.reason or ''}".rstrip())


def _range_start(content_range: str) -> int | None:
    m = re.match(r"bytes (\d+)-", content_range)
    return int(m.group(1)) if m else None


# ---- the run ------------------------------------------------------------------------------


class _Run:
    def __init__(
        self,
        catalog: Catalog,
        request: Request,
        cache: Path,
        fetcher: _Fetcher,
    ) -> None:
        self.catalog = catalog
        self.request = request
        self.cache = cache
        self.fetcher = fetcher
        self.slots = asyncio.Semaphore(request.parallel)
        self.import_lock = asyncio.Lock()

    async def archive(self, archive: Archive) -> list[Outcome]:
        try:
            async with self.slots:
                outcome = await self._fetch(archive)
        except Missing:
            if archive.monthly:
                # Not packed yet (or never): the month's days may be there.
                days = await asyncio.gather(*(self.archive(d) for d in archive.days()))
                return [o for outcomes in days for o in outcomes]
            return [Outcome(archive, "missing")]
        except Failed as exc:
            return [Outcome(archive, "failed", error=str(exc))]
        except OSError as exc:  # the cache folder: no space, no permission
            return [Outcome(archive, "failed", error=f"cannot write the download: {exc}")]
        if outcome.status == "verified":
            async with self.import_lock:
                await asyncio.to_thread(self._import, outcome)
        return [outcome]

    async def _fetch(self, archive: Archive) -> Outcome:
        dest = self.cache / archive.path
        sums = dest.with_name(dest.name + ".CHECKSUM")
        part = dest.with_name(dest.name + ".part")
        if dest.is_file() and sums.is_file():
            expected = parse_checksum(sums.read_text(encoding="utf-8"), archive.name)
            if await asyncio.to_thread(sha256_of, dest) == expected:
                size = dest.stat().st_size
                return Outcome(archive, "verified", size=size, sha256=expected, cached=True)
            dest.unlink()  # damaged since, or replaced: fetch it again
        text = await self.fetcher.text(archive.path + ".CHECKSUM")
        expected = parse_checksum(text, archive.name)
        dest.parent.mkdir(parents=True, exist_ok=True)
        fetched, resumed = await self.fetcher.file(archive.path, part)
        digest = await asyncio.to_thread(sha256_of, part)
        if digest != expected and resumed:
            # The earlier part may be of a version of the file since replaced.
            part.unlink()
            again, _ = await self.fetcher.file(archive.path, part)
            fetched += again
            digest = await asyncio.to_thread(sha256_of, part)
        if digest != expected:
            part.unlink()
            raise Failed(
                f"checksum mismatch: the downloaded file's sha256 is {digest}, "
                f"{archive.name}.CHECKSUM says {expected}; the file was deleted and "
                "nothing of it imported"
            )
        os.replace(part, dest)
        sums.write_text(text, encoding="utf-8")
        size = dest.stat().st_size
        return Outcome(archive, "verified", fetched=fetched, size=size, sha256=expected)

    def _import(self, outcome: Outcome) -> None:
        archive = outcome.archive
        dest = self.cache / archive.path
        sym = catalog_symbol(archive.symbol)
        symbol = sym.catalog
        marker = dest.with_name(dest.name + ".imported")
        digest = outcome.sha256
        if not self.request.reimport and self._imported_before(marker, symbol, digest):
            outcome.status = "already imported"
            return
        options: dict[str, Any] = {"market": archive.market, "base": sym.base, "quote": sym.quote}
        if archive.kind == "klines":
            options["interval"] = archive.interval
        try:
            result = import_file(
                self.catalog, KINDS[archive.kind], dest, self.request.venue, symbol, **options
            )
        except ImportRefused as exc:
            outcome.status, outcome.error = "failed", f"import refused: {exc}"
            return
        except CatalogError as exc:
            outcome.status, outcome.error = "failed", f"the catalog is damaged: {exc}"
            return
        except (ValueError, OSError, EOFError, zipfile.BadZipFile) as exc:
            outcome.status, outcome.error = "failed", f"cannot import: {exc}"
            return
        outcome.status, outcome.result, outcome.rows = "imported", result, dict(result.rows)
        root = self.catalog.root
        record = {
            "venue": self.request.venue,
            "symbol": symbol,
            "catalog": str(root.resolve()),
            "sha256": digest,
            "paths": sorted({str(p.relative_to(root)) for p in result.paths}),
            "rows": result.rows,
        }
        with contextlib.suppress(OSError):  # without it, the next run imports it again
            marker.write_text(json.dumps(record, indent=1) + "\n", encoding="utf-8")

    def _imported_before(self, marker: Path, symbol: str, digest: str) -> bool:
        try:
            record = json.loads(marker.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return False
        root = self.catalog.root
        return (
            isinstance(record, dict)
            and record.get("venue") == self.request.venue
            and record.get("symbol") == symbol
            and record.get("catalog") == str(root.resolve())
            and record.get("sha256") == digest
            and bool(record.get("paths"))
            and all((root / p).is_file() for p in record["paths"])
        )


async def download_async(
    catalog: Catalog,
    request: Request,
    cache: str | os.PathLike[str] | None = None,
    progress: Any | None = None,
) -> Report:
    """Fetch, verify and import every archive of ``request`` (see the module docstring).

    ``cache`` is where archives are kept (default ``<catalog>/.download``, which the
    catalog does not list); ``progress`` is a :class:`~botkit.backtest.progress.Progress`
    (or None), counting bytes.
    """
    import aiohttp

    request.check()
    cache_dir = Path(cache) if cache is not None else catalog.root / ".download"
    symbols = [catalog_symbol(s).exchange for s in request.symbols]
    archives = plan(
        request.market, symbols, request.kinds, request.start, request.end, request.interval
    )
    expected = received = 0

    def track(got: int, more: int) -> None:
        nonlocal expected, received
        received += got
        expected += more
        if progress is not None:
            if expected > 0:
                progress.total = max(expected, received)
            progress.update(received)

    timeout = aiohttp.ClientTimeout(
        total=None,
        connect=request.timeout_s,
        sock_connect=request.timeout_s,
        sock_read=request.timeout_s,
    )
    connector = aiohttp.TCPConnector(limit=request.parallel)
    async with aiohttp.ClientSession(timeout=timeout, connector=connector) as session:
        run = _Run(catalog, request, cache_dir, _Fetcher(session, request, track))
        results = await asyncio.gather(*(run.archive(a) for a in archives))
    return Report(request, [o for outcomes in results for o in outcomes])


def download(
    catalog: Catalog,
    request: Request,
    cache: str | os.PathLike[str] | None = None,
    progress: Any | None = None,
) -> Report:
    """:func:`download_async` from synchronous code (it runs its own event loop)."""
    try:
        return asyncio.run(download_async(catalog, request, cache, progress))
    finally:
        if progress is not None:
            with contextlib.suppress(Exception):
                progress.close()


# ---- the command line ----------------------------------------------------------------------

_EPILOG = """\
examples:
  botkit data download --venue binance --market spot --symbols BTCUSDT,ETHUSDT \\
      --kinds trades,klines --interval 1m --start 2024-08-01 --end 2024-08-03
  botkit data download --venue binance-usdm --market usdm --symbols BTCUSDT \\
      --kinds aggTrades --start 2024-07-01 --end 2024-09-01

--end is exclusive: the example above fetches 2024-08-01 and 2024-08-02. Whole months
come as monthly archives. Exit 0 when every archive found is in the catalog (missing
days are listed), 1 when some failed, 2 when nothing was imported.
Details: docs/data.md."""


def register(sub: Any, default_catalog: str) -> None:
    """Add ``download`` to the ``botkit data`` subcommands."""
    import argparse

    dl = sub.add_parser(
        "download",
        help="download Binance's public data archives (checksummed, resumable) and import them",
        description=(
            "Download Binance's public data archives (data.binance.vision layout): trades, "
            "aggTrades or klines, spot or USD-M, day by day and month by month. Each archive's "
            "SHA-256 is checked against its .CHECKSUM; an interrupted download goes on where it "
            "stopped; each archive is then imported like `botkit data import`."
        ),
        epilog=_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    dl.add_argument("--venue", required=True, help="venue to file the data under (binance)")
    dl.add_argument("--market", choices=tuple(MARKETS), default="spot", help="(%(default)s)")
    dl.add_argument("--symbols", required=True, help="BTCUSDT,ETHUSDT (or BTC/USDT)")
    dl.add_argument("--kinds", default="trades", help="trades, aggTrades, klines (%(default)s)")
    dl.add_argument("--interval", help="kline interval: 1m, 5m, 1h, ... (with klines)")
    dl.add_argument("--start", required=True, type=_day, help="first day, YYYY-MM-DD (UTC)")
    dl.add_argument(
        "--end", type=_day, help="the day after the last, YYYY-MM-DD (default: start + 1 day)"
    )
    dl.add_argument("--catalog", default=default_catalog, help="catalog directory (%(default)s)")
    dl.add_argument("--cache", help="where the archives are kept (default: CATALOG/.download)")
    dl.add_argument("--base-url", default=BASE_URL, help="the archive server (%(default)s)")
    dl.add_argument("--parallel", type=int, default=4, help="downloads at once (%(default)s)")
    dl.add_argument(
        "--timeout", type=float, default=60.0, help="seconds to connect, and between reads (60)"
    )
    dl.add_argument("--retries", type=int, default=3, help="retries of a failed fetch (3)")
    dl.add_argument("--reimport", action="store_true", help="import archives imported before")
    dl.add_argument("--no-progress", action="store_true", help="no progress bar")
    dl.set_defaults(func=_cmd_download)


def _day(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        import argparse

        raise argparse.ArgumentTypeError(f"{text!r} is not a day such as 2024-08-01") from None


def _kind_names(text: str) -> tuple[str, ...]:
    by_lower = {k.lower(): k for k in KINDS}
    names = [t.strip() for t in text.split(",") if t.strip()]
    return tuple(by_lower.get(n.lower(), n) for n in names)


def _cmd_download(args: Any) -> int:
    import sys

    from botkit.backtest.progress import Progress

    request = Request(
        venue=args.venue,
        market=args.market,
        symbols=tuple(s.strip() for s in args.symbols.split(",") if s.strip()),
        kinds=_kind_names(args.kinds),
        start=args.start,
        end=args.end or args.start + timedelta(days=1),
        interval=args.interval,
        base_url=args.base_url,
        parallel=args.parallel,
        timeout_s=args.timeout,
        retries=args.retries,
        reimport=args.reimport,
    )
    try:
        request.check()
    except ValueError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    bar = Progress(None, enabled=False if args.no_progress else None, label="download", unit="B")
    report = download(Catalog(args.catalog), request, args.cache, bar)
    for line in report.lines():
        print(line)
    if report.exit_code == 2:
        print(
            "error: nothing was imported (every archive is missing or failed, listed above)",
            file=sys.stderr,
        )
    return report.exit_code


__all__ = [
    "BASE_URL",
    "INTERVALS",
    "KINDS",
    "MARKETS",
    "Archive",
    "Outcome",
    "Report",
    "Request",
    "Symbol",
    "catalog_symbol",
    "download",
    "download_async",
    "parse_checksum",
    "periods",
    "plan",
    "register",
    "sha256_of",
]
