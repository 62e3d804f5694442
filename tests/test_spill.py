"""Fills and closed orders spilled to Parquet (botkit.backtest.spill): exact round trips,
list behaviour, the router's archive of closed orders, and a backtest whose report is
the same whether it spilled or not."""

from __future__ import annotations

import gc
import json
import re
from decimal import Decimal
from pathlib import Path

import pyarrow as pa
import pytest

from botkit.backtest.runner import run_backtest
from botkit.backtest.spill import (
    FILL_CODEC,
    ORDER_CODEC,
    OrderArchive,
    Scratch,
    SpillChain,
    SpillLog,
    field_values,
    fill_log,
    in_time_order,
    last_in_time_order,
    orders_in_order,
)
from botkit.config.loading import load_config
from botkit.execution.router import ExecutionRouter
from botkit.intents import Place
from botkit.model import (
    Fill,
    Instrument,
    Liquidity,
    Order,
    OrderStatus,
    OrderType,
    Side,
    TimeInForce,
)

ROOT = Path(__file__).resolve().parents[1]
D = Decimal

# Decimals whose digits and exponent must come back as they were.
AWKWARD = [D("0"), D("0E-8"), D("1.2300"), D("-0.00000001"), D("12345678901234567890.123456789")]


def _fill(i: int, ts: int) -> Fill:
    return Fill(
        f"t{i}",
        f"c{i}",
        "BTC/USDT",
        Side.BUY if i % 2 else Side.SELL,
        AWKWARD[i % len(AWKWARD)] + i,
        AWKWARD[(i + 1) % len(AWKWARD)],
        AWKWARD[(i + 2) % len(AWKWARD)],
        "USDT" if i % 3 else "BNB",
        Liquidity.MAKER if i % 2 else Liquidity.TAKER,
        ts,
        None if i % 4 == 0 else f"v{i}",
        f"s{i % 3}",
    )


def _order(i: int, created: int) -> Order:
    return Order(
        f"c{i:04d}",
        "BTC/USDT",
        Side.SELL if i % 2 else Side.BUY,
        OrderType.MARKET if i % 5 == 0 else OrderType.LIMIT,
        AWKWARD[i % len(AWKWARD)] + 1,
        None if i % 5 == 0 else AWKWARD[(i + 1) % len(AWKWARD)] + 100,
        TimeInForce.IOC if i % 3 == 0 else TimeInForce.GTC,
        post_only=i % 2 == 0,
        reduce_only=i % 7 == 0,
        stop_price=None if i % 4 else D("99.50"),
        strategy=f"s{i % 3}",
        status=OrderStatus.FILLED if i % 2 else OrderStatus.CANCELED,
        filled=AWKWARD[(i + 2) % len(AWKWARD)],
        avg_price=None if i % 6 == 0 else D("100.10"),
        fees=AWKWARD[(i + 3) % len(AWKWARD)],
        venue_order_id=None if i % 4 == 0 else f"v{i}",
        created_ns=created,
        updated_ns=created + 5,
        reason=None if i % 2 else "why, with a comma",
        code=None if i % 3 else "post_only_would_cross",
        attempt=1 + i % 3,
    )


def _same(a: object, b: object) -> bool:
    """Equal, and every Decimal with the same digits and exponent (str)."""
    fields = a if isinstance(a, tuple) else [getattr(a, n) for n in a.__slots__]  # type: ignore[attr-defined]
    others = b if isinstance(b, tuple) else [getattr(b, n) for n in b.__slots__]  # type: ignore[attr-defined]
    return a == b and [str(x) for x in fields] == [str(y) for y in others]


def test_codecs_round_trip_decimals_enums_and_nones_exactly() -> None:
    fills = [_fill(i, 1_000 + i) for i in range(40)]
    orders = [_order(i, 2_000 + i) for i in range(40)]
    for codec, items in ((FILL_CODEC, fills), (ORDER_CODEC, orders)):
        cols = codec.encode(items)
        cols["seq"] = list(range(len(items)))
        back = codec.decode(pa.Table.from_pydict(cols, schema=codec.schema))
        assert all(_same(a, b) for a, b in zip(items, back, strict=True))
        assert all(type(x.side) is Side for x in back)  # type: ignore[attr-defined]


def test_spill_log_behaves_as_the_list_it_replaces(tmp_path: Path) -> None:
    # Times out of order, with ties, so the parts' sort and the merge both matter.
    fills = [_fill(i, (i * 7919) % 50) for i in range(103)]
    log = fill_log(tmp_path, rows=10)
    for f in fills:
        log.append(f)
    assert log.parts == 10 and len(log) == len(fills)
    assert sorted(p.name for p in tmp_path.iterdir())[0] == "fills-000000.parquet"
    assert all(_same(a, b) for a, b in zip(log, fills, strict=True))
    merged = list(log.in_order())
    expected = sorted(fills, key=lambda f: f.ts_ns)  # stable: ties in append order
    assert [f.trade_id for f in merged] == [f.trade_id for f in expected]
    assert list(in_time_order(log)) == list(in_time_order(fills)) == expected
    for n in (0, 1, 3, 10, 11, 103, 500):
        assert last_in_time_order(log, n) == last_in_time_order(fills, n) == expected[-n:] * (n > 0)
    for index in (0, 9, 10, 57, 99, 100, 102, -1, -103):
        assert _same(log[index], fills[index])
    for cut in (slice(5, 25), slice(95, None), slice(None, None, -7), slice(-4, -1), slice(3, 3)):
        assert log[cut] == fills[cut]
    with pytest.raises(IndexError):
        log[103]
    # Replacing an item on disk and one in memory (the router does so adopting a fill).
    log[12] = fills[12]._replace(strategy="adopted")
    log[101] = fills[101]._replace(strategy="adopted too")
    assert log[12].strategy == "adopted" and log[101].strategy == "adopted too"
    assert [f.strategy for f in log if f.strategy.startswith("adopted")] == [
        "adopted",
        "adopted too",
    ]
    assert sum(f.strategy.startswith("adopted") for f in log.in_order()) == 2
    for name in ("strategy", "price", "side", "liquidity", "venue_order_id", "ts_ns"):
        want = [getattr(f, name) for f in log]
        assert list(field_values(log, name)) == list(field_values(list(log), name)) == want


@pytest.mark.parametrize("rows", [1, 4, 10, 1000])
def test_fills_in_time_order_with_ties_across_parts(tmp_path: Path, rows: int) -> None:
    # As a backtest appends them: in time order, many at one time, parts split within a
    # run of ties (the parts follow each other and are not merged item by item).
    fills = [_fill(i, i // 6) for i in range(40)]
    log = fill_log(tmp_path, rows=rows)
    log.extend(fills)
    assert list(log.in_order()) == fills
    assert log.last_in_order(7) == fills[-7:]
    # One fill out of order in the tail: merged into its place, after its equals.
    late = _fill(99, 2)
    log.append(late)
    expected = sorted([*fills, late], key=lambda f: f.ts_ns)
    assert list(log.in_order()) == expected
    assert log.last_in_order(30) == expected[-30:]


def test_order_archive_finds_orders_by_client_id_and_lists_them_as_orders_csv(
    tmp_path: Path,
) -> None:
    orders = [_order(i, 3_000 - (i % 9) * 10) for i in range(45)]
    archive = OrderArchive(tmp_path, rows=8)
    for o in orders:
        archive.append(o)
    assert archive.parts == 5
    for o in orders:
        assert o.client_id in archive
        assert _same(archive.get(o.client_id), o)
    assert archive.get("nobody") is None and "nobody" not in archive
    rest = [_order(i, 2_900) for i in range(45, 50)]
    chain = SpillChain(archive, rest)
    assert len(chain) == 50 and chain[47] is rest[2] and _same(chain[3], orders[3])
    assert list(field_values(chain, "avg_price")) == [o.avg_price for o in orders + rest]
    expected = sorted(orders + rest, key=lambda o: (o.created_ns, o.client_id))
    assert [o.client_id for o in orders_in_order(chain)] == [o.client_id for o in expected]
    assert [o.client_id for o in chain.last_in_order(12)] == [o.client_id for o in expected[-12:]]


@pytest.mark.parametrize("cached", [0, 3])
def test_order_archive_reads_one_order_back_from_a_large_part(tmp_path: Path, cached: int) -> None:
    # Parts of several row groups: the lookup reads the one row group that holds it.
    orders = [_order(i, 10_000 - i) for i in range(11_000)]
    archive = OrderArchive(tmp_path, rows=5_000, cached=cached)
    archive.extend(orders)
    assert archive.parts == 2
    for i in (0, 4_095, 4_096, 4_999, 5_000, 9_500, 10_999, 4_096, 0):
        assert _same(archive.get(orders[i].client_id), orders[i])
    assert archive.get("c99999") is None


def test_router_archives_closed_orders_and_still_finds_them(tmp_path: Path) -> None:
    inst = Instrument("sim", "BTC/USDT", "BTC", "USDT", tick_size="0.01", lot_size="0.001")
    router = ExecutionRouter({"BTC/USDT": inst}, {"USDT": D(10_000)})

    class Venue:
        supports_edit = True

        def submit(self, order: Order, now_ns: int) -> None:
            router.on_ack(order.client_id, f"v-{order.client_id}", now_ns)

        def cancel(self, order: Order, now_ns: int) -> None:
            router.on_canceled(order.client_id, now_ns)

        def edit(self, order: Order, price: Decimal, size: Decimal, now_ns: int) -> None:
            raise AssertionError("not used")

    router.attach(Venue())
    archive = OrderArchive(tmp_path, rows=4)
    router.archive_closed(archive, keep=3)
    ids = []
    for n in range(20):
        place = Place("BTC/USDT", Side.BUY, D("0.01"), D(100 + n), client_id=f"o{n}")
        router.place("s", place, n)
        ids.append(f"o{n}")
        if n % 4:
            router.cancel("s", f"o{n}", n)
    closed = [i for n, i in enumerate(ids) if n % 4]
    still_open = [i for n, i in enumerate(ids) if n % 4 == 0]
    # All but the three newest closed orders left memory, and their venue ids with them.
    assert sorted(dict.keys(router.orders)) == sorted(still_open + closed[-3:])
    assert len(archive) == len(closed) - 3 and archive.parts >= 2
    assert len(router._by_venue_id) == len(still_open) + 3
    for cid in closed:
        found = router.orders.get(cid)
        assert found is not None and found.status is OrderStatus.CANCELED and cid in router.orders
    assert router.orders.get("nobody") is None and "nobody" not in router.orders
    assert sorted(o.client_id for o in router.all_orders()) == sorted(ids)
    assert [o.client_id for o in router.open_orders("s")] == still_open


def _without_timing(text: str) -> str:
    # Wall time and events/s are the only numbers that differ from one run to the next.
    text = re.sub(r'"(wall_s|events_per_s)": [0-9.e+-]+', r'"\1": 0', text)
    return re.sub(r"(Wall time|Events/s)</td><td>[^<]*", r"\1</td><td>", text)


def test_a_backtest_that_spills_reports_what_one_that_does_not_reports(tmp_path: Path) -> None:
    """The shipped bot.yaml (three strategies, edits, cancels) with a spill every 25 rows:
    many Parquet parts of fills and of orders, and the very same report."""
    config = load_config(ROOT / "bot.yaml")
    kept, kept_summary = run_backtest(config, tmp_path / "kept", progress=False, spill_rows=10**9)
    spilled, summary = run_backtest(config, tmp_path / "spilled", progress=False, spill_rows=25)
    assert isinstance(kept.fills, SpillLog) and kept.fills.parts == 0
    assert isinstance(spilled.fills, SpillLog) and spilled.fills.parts >= 10
    assert isinstance(spilled.orders, SpillChain) and spilled.orders.log.parts >= 10
    scratch = spilled.fills.folder
    assert scratch.parent == tmp_path / "spilled" and scratch.name.startswith(".spill-")
    assert len(list(scratch.glob("orders-*.parquet"))) == spilled.orders.log.parts
    assert summary["fills"] == kept_summary["fills"] > 25 * 10
    for name in ("fills.csv", "orders.csv", "equity.png", "price.png"):
        assert (tmp_path / "spilled" / name).read_bytes() == (tmp_path / "kept" / name).read_bytes()
    for name in ("summary.json", "report.html"):
        a = (tmp_path / "spilled" / name).read_text(encoding="utf-8")
        b = (tmp_path / "kept" / name).read_text(encoding="utf-8")
        assert _without_timing(a) == _without_timing(b)
    assert json.loads(_without_timing((tmp_path / "spilled" / "summary.json").read_text()))
    # The spill folder goes with the result that reads it.
    del spilled
    gc.collect()
    assert not scratch.exists()


def test_scratch_without_a_parent_uses_the_temporary_folder() -> None:
    scratch = Scratch()
    log = fill_log(scratch, rows=1)
    log.append(_fill(1, 1))
    assert log.folder.is_dir() and log.folder.name.startswith(".spill-")
    folder = log.folder
    del log, scratch
    gc.collect()
    assert not folder.exists()
