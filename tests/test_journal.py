"""The journal: exact round trips, dedupe across restarts, atomic writes, nonces, crash safety."""

from __future__ import annotations

import itertools
import os
import random
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import fields
from decimal import Decimal
from pathlib import Path

import pytest

from botkit import Instrument, OrderType, Place, Side, TimeInForce
from botkit.execution import ExecutionRouter
from botkit.journal import (
    _FILL_COLUMNS,
    _MIGRATIONS,
    _ORDER_COLUMNS,
    SCHEMA_VERSION,
    Journal,
    JournalError,
    _migrate,
)
from botkit.model import Fill, Liquidity, Order, OrderStatus, Position

D = Decimal
S = OrderStatus
SYM = "BTC/USDT"
T0 = 1_700_000_000_000_000_000


def make_order(cid: str = "c1", **kw: object) -> Order:
    base: dict[str, object] = {
        "client_id": cid,
        "symbol": SYM,
        "side": Side.BUY,
        "type": OrderType.LIMIT,
        "size": D("1.000"),
        "price": D("100.10"),
        "strategy": "s1",
        "created_ns": T0,
        "updated_ns": T0,
    }
    base.update(kw)
    return Order(**base)  # type: ignore[arg-type]


def make_fill(tid: str = "t1", cid: str = "c1", **kw: object) -> Fill:
    base: dict[str, object] = {
        "trade_id": tid,
        "client_id": cid,
        "symbol": SYM,
        "side": Side.BUY,
        "price": D("100.10"),
        "size": D("0.250"),
        "fee": D("0.02502500"),
        "fee_asset": "USDT",
        "liquidity": Liquidity.MAKER,
        "ts_ns": T0,
        "strategy": "s1",
    }
    base.update(kw)
    return Fill(**base)  # type: ignore[arg-type]


@pytest.fixture
def jpath(tmp_path: Path) -> Path:
    return tmp_path / "state" / "journal.db"


@pytest.fixture
def journal(jpath: Path) -> Iterator[Journal]:
    # NORMAL keeps the unit tests fast; durability itself is covered by the crash test.
    with Journal(jpath, venue="sim", synchronous="NORMAL") as j:
        yield j


# ----- opening, schema ----------------------------------------------------------------


def test_open_creates_a_wal_journal_at_the_current_schema(jpath: Path) -> None:
    with Journal.open(jpath) as j:
        assert jpath.exists()
        assert j.schema_version() == SCHEMA_VERSION == 2
        conn = j._conn
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        assert conn.execute("PRAGMA synchronous").fetchone()[0] == 2  # FULL
        assert j.integrity_check() == ["ok"]
    with Journal(jpath, synchronous="normal") as j:
        assert j._conn.execute("PRAGMA synchronous").fetchone()[0] == 1  # NORMAL
        assert j.schema_version() == SCHEMA_VERSION


def test_bad_synchronous_is_refused(jpath: Path) -> None:
    with pytest.raises(ValueError, match="synchronous"):
        Journal(jpath, synchronous="OFF")  # type: ignore[arg-type]
    assert not jpath.exists()


def test_create_false_refuses_a_missing_or_empty_file(tmp_path: Path) -> None:
    missing = tmp_path / "nope.db"
    with pytest.raises(JournalError, match="no journal"):
        Journal(missing, create=False)
    assert not missing.exists()
    empty = tmp_path / "empty.db"
    empty.touch()
    with pytest.raises(JournalError, match="empty"):
        Journal(empty, create=False)


def test_a_file_that_is_not_a_journal_is_refused_and_left_alone(tmp_path: Path) -> None:
    junk = tmp_path / "junk.db"
    junk.write_bytes(b"this is not an sqlite file at all" * 100)
    before = junk.read_bytes()
    with pytest.raises(JournalError, match=r"cannot read .* as a botkit journal"):
        Journal(junk)
    assert junk.read_bytes() == before

    other = tmp_path / "other.db"
    conn = sqlite3.connect(other)
    conn.execute("CREATE TABLE t (x)")
    conn.commit()
    conn.close()
    with pytest.raises(JournalError, match="not a botkit journal"):
        Journal(other)


def test_a_journal_from_a_newer_botkit_is_refused(jpath: Path) -> None:
    Journal(jpath).close()
    conn = sqlite3.connect(jpath)
    conn.execute("UPDATE schema_version SET version = 99")
    conn.commit()
    conn.close()
    with pytest.raises(JournalError, match="schema version 99"):
        Journal(jpath)


def test_migrations_run_in_order_from_the_stored_version(tmp_path: Path) -> None:
    conn = sqlite3.connect(tmp_path / "m.db", isolation_level=None)
    n = len(_MIGRATIONS)
    assert _migrate(conn, _MIGRATIONS) == n
    conn.execute("INSERT INTO cursors VALUES ('s', 'v', 0)")
    v2 = (*_MIGRATIONS, ("ALTER TABLE cursors ADD COLUMN note TEXT DEFAULT 'x'",))
    assert _migrate(conn, v2) == n + 1
    assert conn.execute("SELECT value, note FROM cursors").fetchall() == [("v", "x")]
    assert _migrate(conn, v2) == n + 1  # already there: nothing runs twice

    # A failing step leaves the journal exactly at the version it was.
    broken = (*v2, ("CREATE TABLE extra (x)", "THIS IS NOT SQL"))
    with pytest.raises(sqlite3.OperationalError):
        _migrate(conn, broken)
    assert conn.execute("SELECT version FROM schema_version").fetchone()[0] == n + 1
    tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")}
    assert "extra" not in tables
    assert not conn.in_transaction
    conn.close()


def test_the_row_mappings_cover_every_model_field() -> None:
    # A field added to Order or Fill must be added to the journal, not dropped silently.
    assert {f.name for f in fields(Order)} == set(_ORDER_COLUMNS)
    assert set(Fill._fields) == set(_FILL_COLUMNS)


def test_memory_journal_works_for_tests_and_backtests() -> None:
    with Journal(":memory:") as j:
        assert j.record_fill(make_fill())
        assert j.fill_count() == 1


# ----- orders ---------------------------------------------------------------------------


def test_order_round_trips_every_field_exactly(journal: Journal) -> None:
    o = make_order(
        "c1",
        side=Side.SELL,
        type=OrderType.STOP_LIMIT,
        size=D("0.0010"),
        price=D("65000.50"),
        tif=TimeInForce.IOC,
        post_only=True,
        reduce_only=True,
        stop_price=D("64999.99"),
        status=S.PARTIALLY_FILLED,
        filled=D("0.0004"),
        avg_price=D("65000.5000000000000000000001"),
        fees=D("0.026"),
        venue_order_id="v-9",
        created_ns=T0 + 1,
        updated_ns=T0 + 2,
        reason="why",
        code="some_code",
    )
    journal.record_order(o)
    back = journal.order("c1")
    assert back == o
    assert str(back.size) == "0.0010"  # trailing zeros survive: stored as text
    assert journal.order("nope") is None

    bare = make_order("c2", price=None, type=OrderType.MARKET)
    journal.record_order(bare)
    assert journal.order("c2") == bare


def test_record_order_upserts_every_field(journal: Journal) -> None:
    o = make_order("c1")
    journal.record_order(o)
    o.status = S.FILLED
    o.filled = D("1.000")
    o.avg_price = D("100.05")
    o.fees = D("0.1")
    o.venue_order_id = "v1"
    o.updated_ns = T0 + 5
    o.reason, o.code = "done", "x"
    o.price = D("100.20")
    journal.record_order(o)
    assert journal.order("c1") == o
    assert len(journal.orders()) == 1


def test_orders_filters_and_order(journal: Journal) -> None:
    journal.record_order(make_order("c3", created_ns=T0 + 3, strategy="s2"))
    journal.record_order(make_order("c1", created_ns=T0 + 1, status=S.FILLED))
    journal.record_order(make_order("c2", created_ns=T0 + 2, symbol="ETH/USDT"))
    journal.record_order(make_order("c4", created_ns=T0 + 4, status=S.CANCELED))
    journal.record_order(make_order("c5", created_ns=T0 + 5, status=S.UNKNOWN))
    assert [o.client_id for o in journal.orders()] == ["c1", "c2", "c3", "c4", "c5"]
    assert [o.client_id for o in journal.orders(strategy="s2")] == ["c3"]
    assert [o.client_id for o in journal.orders(symbol="ETH/USDT")] == ["c2"]
    assert [o.client_id for o in journal.orders(open_only=True)] == ["c2", "c3", "c5"]
    assert [o.client_id for o in journal.orders("s1", SYM, open_only=True)] == ["c5"]


def test_float_money_is_stored_as_the_decimal_it_prints_as(journal: Journal) -> None:
    o = make_order("c1", size=0.1)  # a caller that slipped a float through
    journal.record_order(o)
    assert journal.order("c1").size == D("0.1")  # type: ignore[union-attr]
    with pytest.raises(ValueError):
        journal.record_order(make_order("c2", price=D("NaN")))
    assert journal.order("c2") is None


# ----- fills ------------------------------------------------------------------------------


def test_duplicate_fill_is_refused_and_writes_nothing(journal: Journal) -> None:
    f = make_fill("t1")
    assert journal.record_fill(f) is True
    assert journal.record_fill(make_fill("t1", price=D("1"), size=D("9"))) is False
    assert journal.fills() == [f]
    assert journal.fill_count() == 1
    assert journal.has_fill("t1") and not journal.has_fill("t2")
    # The key is (venue, trade id): the same id on another venue is another trade.
    assert journal.record_fill(make_fill("t1"), venue="alp") is True
    assert journal.fill_count() == 2
    assert journal.has_fill("t1", venue="alp")
    assert journal.fills(venue="sim") == [f]


def test_dedupe_survives_a_restart(jpath: Path) -> None:
    with Journal(jpath, venue="sim") as j:
        assert j.record_fill(make_fill("t1"))
    with Journal(jpath, venue="sim") as j:
        assert j.has_fill("t1")
        assert j.record_fill(make_fill("t1")) is False
        assert j.fill_count() == 1


def test_fills_in_time_order_with_filters(journal: Journal) -> None:
    journal.record_fill(make_fill("b", ts_ns=T0 + 20))
    journal.record_fill(make_fill("a", ts_ns=T0 + 10, symbol="ETH/USDT", strategy="s2"))
    journal.record_fill(make_fill("z", ts_ns=T0 + 20))  # same time: recorded order wins
    journal.record_fill(make_fill("c", ts_ns=T0 + 30))
    assert [f.trade_id for f in journal.fills()] == ["a", "b", "z", "c"]
    assert [f.trade_id for f in journal.fills(since_ns=T0 + 20)] == ["b", "z", "c"]
    assert [f.trade_id for f in journal.fills(strategy="s2")] == ["a"]
    assert [f.trade_id for f in journal.fills(symbol=SYM, since_ns=T0 + 21)] == ["c"]


def test_a_fill_is_attributed_to_its_orders_strategy(journal: Journal) -> None:
    journal.record_order(make_order("c1", strategy="mm", venue_order_id="v1"))
    journal.record_fill(make_fill("t1", cid="c1", strategy=""))
    journal.record_fill(make_fill("t2", cid="", venue_order_id="v1", strategy=""))
    journal.record_fill(make_fill("t3", cid="other", strategy="orphan"))
    got = {f.trade_id: f.strategy for f in journal.fills()}
    assert got == {"t1": "mm", "t2": "mm", "t3": "orphan"}


def test_fill_and_order_land_together(journal: Journal) -> None:
    o = make_order("c1")
    journal.record_order(o)
    f = make_fill("t1")
    o.filled, o.status, o.avg_price, o.fees = f.size, S.PARTIALLY_FILLED, f.price, f.fee
    assert journal.record_fill_and_order(f, o) is True
    assert journal.fills() == [f]
    assert journal.order("c1") == o

    # A duplicate changes neither the fills nor the order.
    o2 = make_order("c1", status=S.FILLED, filled=D("1.000"))
    assert journal.record_fill_and_order(make_fill("t1"), o2) is False
    assert journal.order("c1") == o
    assert journal.fill_count() == 1


def test_fill_and_order_are_rolled_back_together(journal: Journal) -> None:
    journal.record_order(make_order("c1"))
    # SQLite refuses this timestamp only after the fill row was written in the
    # same transaction: the fill must go as well.
    bad = make_order("c1", status=S.FILLED, updated_ns=2**70)
    with pytest.raises(OverflowError):
        journal.record_fill_and_order(make_fill("t1"), bad)
    assert journal.fill_count() == 0
    assert journal.order("c1").status is S.PENDING_NEW  # type: ignore[union-attr]
    # Nothing was left open: the next write commits on its own.
    assert journal.record_fill(make_fill("t1"))
    assert journal.fill_count() == 1


def test_fill_for_another_order_is_refused(journal: Journal) -> None:
    with pytest.raises(ValueError, match="not to order"):
        journal.record_fill_and_order(make_fill("t1", cid="c1"), make_order("c2"))
    assert journal.fill_count() == 0
    # Matched through the venue's order id when the fill carries no client id.
    o = make_order("c2", venue_order_id="v2")
    assert journal.record_fill_and_order(make_fill("t2", cid="", venue_order_id="v2"), o)


# ----- transactions -----------------------------------------------------------------------


def test_transaction_commits_all_or_nothing(journal: Journal) -> None:
    with pytest.raises(RuntimeError), journal.transaction():
        journal.record_fill(make_fill("t1"))
        journal.set_cursor("s", 1)
        raise RuntimeError("boom")
    assert journal.fill_count() == 0 and journal.cursor("s") is None

    with journal.transaction():
        journal.record_fill(make_fill("t1"))
        with pytest.raises(RuntimeError), journal.transaction():
            journal.record_fill(make_fill("t2"))
            raise RuntimeError("inner only")
        journal.set_cursor("s", 1)
    assert [f.trade_id for f in journal.fills()] == ["t1"]
    assert journal.cursor("s") == "1"


# ----- cursors and nonces -------------------------------------------------------------------


def test_cursors_persist(jpath: Path) -> None:
    with Journal(jpath) as j:
        assert j.cursor("blocktrade.user_trades") is None
        j.set_cursor("blocktrade.user_trades", 1_700_000_000_123)
        j.set_cursor("alp.poll", "page-7")
        j.set_cursor("alp.poll", "page-8")
        with pytest.raises(TypeError):
            j.set_cursor("x", True)  # type: ignore[arg-type]
    with Journal(jpath) as j:
        assert j.cursor("blocktrade.user_trades") == "1700000000123"
        assert j.cursor("alp.poll") == "page-8"


def test_nonce_is_max_of_candidate_and_last_plus_one(jpath: Path) -> None:
    with Journal(jpath, synchronous="NORMAL") as j:
        assert j.last_nonce("k") == 0
        assert j.reserve_nonce("k", 1000) == 1000
        assert j.reserve_nonce("k", 1000) == 1001  # the clock repeated
        assert j.reserve_nonce("k", 5) == 1002  # the clock went backwards
        assert j.reserve_nonce("k", 5000) == 5000
        assert j.reserve_nonce("other", 1) == 1  # keys are independent
        assert j.last_nonce("k") == 5000
        with pytest.raises(TypeError):
            j.reserve_nonce("k", True)  # type: ignore[arg-type]
        with pytest.raises(OverflowError):
            j.reserve_nonce("k", 2**63)
        assert j.last_nonce("k") == 5000
    with Journal(jpath) as j:
        assert j.reserve_nonce("k", 0) == 5001  # a restart never goes lower


def test_nonce_block(journal: Journal) -> None:
    assert journal.reserve_nonce_block("k", 10, candidate=100) == range(100, 110)
    assert journal.last_nonce("k") == 109
    assert journal.reserve_nonce("k", 0) == 110
    assert journal.reserve_nonce_block("k", 3) == range(111, 114)
    with pytest.raises(ValueError):
        journal.reserve_nonce_block("k", 0)


def test_nonces_are_unique_across_threads_and_connections(jpath: Path) -> None:
    a = Journal(jpath, synchronous="NORMAL")
    b = Journal(jpath, synchronous="NORMAL")  # another process sharing the key
    got: list[list[int]] = [[] for _ in range(4)]

    def worker(i: int) -> None:
        j = a if i % 2 else b
        for _ in range(50):
            got[i].append(j.reserve_nonce("k", 0))

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    a.close()
    b.close()
    everything = [n for g in got for n in g]
    assert sorted(everything) == list(range(1, 201))
    assert all(g == sorted(g) for g in got)


def test_concurrent_fills_from_threads(journal: Journal) -> None:
    def worker(i: int) -> None:
        for k in range(40):
            journal.record_fill(make_fill(f"t{k}"))  # every thread sends the same trades
            journal.record_fill(make_fill(f"t{i}-{k}"))

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert journal.fill_count() == 40 + 4 * 40


# ----- positions and balances from fills alone -------------------------------------------------


def test_positions_rebuilt_from_fills(journal: Journal) -> None:
    fee = D(0)
    journal.record_fill(make_fill("3", side=Side.SELL, price=D(120), size=D(3), ts_ns=T0 + 3))
    journal.record_fill(make_fill("1", side=Side.BUY, price=D(100), size=D(1), ts_ns=T0 + 1))
    journal.record_fill(make_fill("2", side=Side.BUY, price=D(110), size=D(1), ts_ns=T0 + 2))
    journal.record_fill(make_fill("x", strategy="s2", size=D("0.5"), fee=fee))
    pos = journal.positions()
    # Replayed in time order whatever the arrival order: 2 @ 105, then sell 3 @ 120.
    assert pos[("s1", SYM)] == Position(SYM, D(-1), D(120), D(30))
    assert pos[("s2", SYM)] == Position(SYM, D("0.5"), D("100.10"), D(0))
    assert set(journal.positions("s2")) == {("s2", SYM)}


def test_balances_delta(journal: Journal, btc: Instrument) -> None:
    journal.record_fill(make_fill("1", price=D("100"), size=D("2"), fee=D("0.2")))
    journal.record_fill(
        make_fill(
            "2", side=Side.SELL, price=D("110"), size=D("1"), fee=D("0.0001"), fee_asset="BTC"
        )
    )
    journal.record_fill(make_fill("3", symbol="ETH-USDT", price=D("10"), size=D("1"), fee=D(0)))
    assert journal.balances_delta() == {
        "BTC": D("-0.0001") + D(1),
        "USDT": D(-200) + D(110) - D("0.2") - D(10),
        "ETH": D(1),
    }
    journal.record_fill(make_fill("4", symbol="XBTEUR"))
    with pytest.raises(ValueError, match="XBTEUR"):
        journal.balances_delta()
    xbt = Instrument("sim", "XBTEUR", "XBT", "EUR", tick_size="0.01", lot_size="0.001")
    assert journal.balances_delta({"XBTEUR": xbt, SYM: btc})["XBT"] == D("0.250")


def test_journal_agrees_with_the_router(journal: Journal, btc: Instrument) -> None:
    """Hooked behind the router, the journal rebuilds the router's positions and balances."""

    class Venue:
        supports_edit = False

        def submit(self, order: Order, now_ns: int) -> None:
            journal.record_order(order)  # write-ahead: before the order leaves

        def cancel(self, order: Order, now_ns: int) -> None: ...

        def edit(self, order: Order, price: Decimal, size: Decimal, now_ns: int) -> None: ...

    start = {"USDT": D(1000), "BTC": D(0)}
    r = ExecutionRouter({SYM: btc}, balances=dict(start))
    r.attach(Venue())
    rng = random.Random(7)
    ts = T0
    for k in range(30):
        side = Side.BUY if rng.random() < 0.55 else Side.SELL
        size = D(rng.randint(1, 5)) * D("0.001")
        price = D(rng.randint(9000, 11000)) * D("0.01")
        o = r.place("s1", Place(SYM, side, size, price, OrderType.LIMIT, TimeInForce.GTC), ts)
        r.on_ack(o.client_id, f"v{k}", ts)
        journal.record_order(o)
        left = size
        for part in range(2):
            ts += 1
            take = left if part else btc.size_down(left / 2) or left
            if not take:
                continue
            left -= take
            f = Fill(
                f"t{k}-{part}", o.client_id, SYM, side, price, take,
                (price * take * btc.maker_fee), "USDT", Liquidity.MAKER, ts,
            )  # fmt: skip
            for _ in range(2):  # every fill arrives twice
                r.on_fill(f)
                journal.record_fill_and_order(f, o)
    assert journal.fill_count() == len(r.fills)
    assert journal.positions() == r.positions
    delta = journal.balances_delta({SYM: btc})
    assert {a: start.get(a, D(0)) + d for a, d in delta.items()} == r.balances
    for o in r.all_orders():
        assert journal.order(o.client_id) == o


# ----- crash safety ---------------------------------------------------------------------------

CHILD = r"""
import sys
from decimal import Decimal as D
from botkit.journal import Journal
from botkit.model import Fill, Liquidity, Order, OrderStatus, OrderType, Side

path, sync, grouped = sys.argv[1], sys.argv[2], sys.argv[3] == "grouped"
STREAM, KEY, REPLAY = "sim.user_trades", "sim:api-key", 4

def intended(i):
    k = i // 3
    side = Side.BUY if k % 4 < 2 else Side.SELL
    price = D("100.00") + D(i % 17) * D("0.01")
    size = D("0.001")
    return Fill(f"T{i}", f"C{k}", "BTC/USDT", side, price, size,
                price * size * D("0.001"), "USDT", Liquidity.MAKER,
                1_700_000_000_000_000_000 + i * 1000, None, "s1")

def say(*parts):
    print(*parts, flush=True)

j = Journal(path, venue="sim", synchronous=sync)
cur = j.cursor(STREAM)
start = 0 if cur is None else int(cur) + 1
say("START", start)
# A reconnect resumes a little before the cursor: the venue resends some trades.
for i in range(max(0, start - REPLAY), 10**9):
    f = intended(i)
    if j.order(f.client_id) is None:
        j.record_order(Order(f.client_id, f.symbol, f.side, OrderType.LIMIT, D("0.003"),
                             f.price, strategy="s1", created_ns=f.ts_ns, updated_ns=f.ts_ns))
        say("O", f.client_id)
    say("N", j.reserve_nonce(KEY, i))
    o = j.order(f.client_id)
    o.filled += f.size
    o.fees += f.fee
    o.status = OrderStatus.FILLED if o.filled == o.size else OrderStatus.PARTIALLY_FILLED
    o.updated_ns = f.ts_ns
    if grouped:  # fill, order and cursor in one commit
        with j.transaction():
            new = j.record_fill_and_order(f, o)
            if new:
                j.set_cursor(STREAM, i)
    else:  # fill and order in one commit, the cursor after it
        new = j.record_fill_and_order(f, o)
        if new:
            j.set_cursor(STREAM, i)
    say("F" if new else "D", i)
"""


def _intended(i: int) -> Fill:
    k = i // 3
    side = Side.BUY if k % 4 < 2 else Side.SELL
    price = D("100.00") + D(i % 17) * D("0.01")
    size = D("0.001")
    return Fill(
        f"T{i}", f"C{k}", SYM, side, price, size, price * size * D("0.001"), "USDT",
        Liquidity.MAKER, T0 + i * 1000, None, "s1",
    )  # fmt: skip


def _run_and_kill(
    script: Path, db: Path, sync: str, grouped: bool, rng: random.Random, log: Path
) -> list[tuple[str, str]]:
    """Start the child, SIGKILL it at a random moment, return the lines it acknowledged."""
    with log.open("w") as err:
        proc = subprocess.Popen(
            [sys.executable, str(script), str(db), sync, "grouped" if grouped else "single"],
            stdout=subprocess.PIPE,
            stderr=err,
            text=True,
        )
        lines: list[str] = []

        def read() -> None:
            assert proc.stdout is not None
            for line in proc.stdout:
                lines.append(line)

        reader = threading.Thread(target=read, daemon=True)
        reader.start()
        # Sometimes by the clock (may land in start-up or the migration), mostly
        # after a number of acknowledged writes plus a jitter that lands mid-commit.
        if rng.random() < 0.15:
            time.sleep(rng.uniform(0.0, 0.4))
        else:
            want = rng.randint(2, 25)
            deadline = time.monotonic() + 10
            while len(lines) < want and proc.poll() is None and time.monotonic() < deadline:
                time.sleep(0.0005)
            time.sleep(rng.uniform(0.0, 0.02))
        alive = proc.poll() is None
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        reader.join(5)
    assert alive, f"the child stopped on its own:\n{log.read_text()}"
    assert proc.returncode == -signal.SIGKILL
    # A line cut by the kill was never acknowledged.
    return [tuple(x.split(" ", 1)) for x in lines if x.endswith("\n")]  # type: ignore[misc]


def test_sigkill_at_random_moments_loses_nothing_and_double_counts_nothing(
    tmp_path: Path,
) -> None:
    seed = int(os.environ.get("BOTKIT_CRASH_SEED", random.randrange(2**32)))
    rng = random.Random(seed)
    script = tmp_path / "child.py"
    script.write_text(CHILD)
    db = tmp_path / "crash.db"
    acked_fills: list[int] = []
    seen_dups: list[int] = []
    nonces: list[int] = []
    acked_orders: set[str] = set()
    stored_before = 0
    rounds = 16
    for rnd in range(rounds):
        sync = "FULL" if rnd % 2 == 0 else "NORMAL"
        grouped = rnd % 3 == 2
        lines = _run_and_kill(script, db, sync, grouped, rng, tmp_path / f"child{rnd}.err")
        where = f"seed={seed} round={rnd} ({sync}, {'grouped' if grouped else 'single'})"
        for kind, value in lines:
            value = value.strip()
            if kind == "F":
                assert int(value) >= stored_before, f"{where}: fill {value} counted twice"
                acked_fills.append(int(value))
            elif kind == "D":
                assert int(value) < stored_before, f"{where}: new fill {value} called a dup"
                seen_dups.append(int(value))
            elif kind == "N":
                nonces.append(int(value))
            elif kind == "O":
                acked_orders.add(value)

        with Journal(db, venue="sim") as j:
            assert j.integrity_check() == ["ok"], where
            fills = j.fills()
            m = len(fills)
            # Exactly a prefix of what the child meant to write, each row whole.
            assert fills == [_intended(i) for i in range(m)], where
            # Everything acknowledged is there, each counted once; at most one more
            # (committed, then killed before the print: a later round sees it as a dup).
            assert len(set(acked_fills)) == len(acked_fills), where
            assert all(i < m for i in acked_fills), f"{where}: an acknowledged fill is lost"
            acked = max(acked_fills + seen_dups, default=-1) + 1
            assert m in (acked, acked + 1), f"{where}: stored {m}, acknowledged {acked}"
            # The cursor is at the last stored fill, or (written after it) one behind;
            # the replay from it turns the gap into a duplicate, never a loss. A
            # grouped round that stored a fill moved the cursor in the same commit.
            cursor = j.cursor("sim.user_trades")
            at = -1 if cursor is None else int(cursor)
            exact = grouped and m > stored_before
            assert at in ((m - 1,) if exact else (m - 1, m - 2)), f"{where}: cursor {at}"
            # Each order's fill state landed with its fills.
            orders = {o.client_id: o for o in j.orders()}
            assert acked_orders <= set(orders), where
            assert len(orders) in ((m + 2) // 3, (m + 2) // 3 + 1), where
            for cid, o in orders.items():
                mine = [f for f in fills if f.client_id == cid]
                assert o.filled == sum((f.size for f in mine), D(0)), f"{where}: {cid}"
                assert o.fees == sum((f.fee for f in mine), D(0)), f"{where}: {cid}"
                want = S.FILLED if o.filled == o.size else (
                    S.PARTIALLY_FILLED if mine else S.PENDING_NEW
                )  # fmt: skip
                assert o.status is want, f"{where}: {cid}"
            # A nonce never goes backwards, across every restart.
            assert all(a < b for a, b in itertools.pairwise(nonces)), where
            assert j.last_nonce("sim:api-key") >= (nonces[-1] if nonces else 0), where
            # Positions follow from the stored fills alone.
            expect: dict[tuple[str, str], Position] = {}
            for f in fills:
                expect[("s1", SYM)] = expect.get(("s1", SYM), Position(SYM)).apply(
                    f.side, f.price, f.size
                )
            assert j.positions() == expect, where
            stored_before = m
    assert stored_before > 0 and len(nonces) > rounds, f"seed={seed}: the child barely ran"


def test_fills_that_came_before_their_order_was_known_are_adopted(journal: Journal) -> None:
    # The fill came first, naming only the venue's order id; then the ack named it.
    journal.record_fill(make_fill("t1", cid="", venue_order_id="v1", strategy=""))
    journal.record_fill(make_fill("t2", cid="c9", venue_order_id="v9", strategy="other"))
    order = make_order("c1", strategy="mm", venue_order_id="v1")
    journal.record_order(order)
    assert journal.adopt_fills(order) == 1
    assert journal.adopt_fills(order) == 0  # once
    got = {f.trade_id: (f.client_id, f.strategy) for f in journal.fills()}
    assert got == {"t1": ("c1", "mm"), "t2": ("c9", "other")}
    assert journal.adopt_fills(make_order("c2")) == 0  # no venue id: nothing to match
