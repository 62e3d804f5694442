"""The journal's order log: an order staged before its send survives SIGKILL, is committed
by the next commit or the next owner, and never lands on top of a newer state."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
from decimal import Decimal
from pathlib import Path

import pytest

import botkit.journal as journal_module
from botkit.journal import ORDER_LOG_CURSOR, Journal, JournalError
from botkit.model import Order, OrderStatus, OrderType, Side, TimeInForce

D = Decimal
S = OrderStatus
SYM = "BTC/USDT"
T0 = 1_700_000_000_000_000_000


def make_order(cid: str, **kw: object) -> Order:
    base: dict[str, object] = {
        "client_id": cid,
        "symbol": SYM,
        "side": Side.SELL,
        "type": OrderType.LIMIT,
        "size": D("0.00100"),
        "price": D("101.10"),
        "tif": TimeInForce.IOC,
        "strategy": "s1",
        "created_ns": T0,
        "updated_ns": T0,
    }
    base.update(kw)
    return Order(**base)  # type: ignore[arg-type]


def log_path(db: Path) -> Path:
    return Path(f"{db}-orders")


def test_staged_order_is_in_the_log_then_committed(tmp_path: Path) -> None:
    db = tmp_path / "j.sqlite"
    with Journal(db, synchronous="NORMAL", order_log=True) as j:
        order = make_order("c1", post_only=True, stop_price=D("99.5"), reason="why")
        j.stage_order(order)
        assert log_path(db).read_bytes().count(b"\n") == 1
        assert j._staged  # not committed yet...
        assert j.order("c1") == order  # ...until anything reads or writes orders
        assert not j._staged
        j.stage_order(make_order("c2"))
        j.set_cursor("x", 1)  # any commit takes the staged rows with it
        assert not j._staged and j.cursor(ORDER_LOG_CURSOR) == "2"
        j.stage_order(make_order("c3"))
    with Journal(db) as j:  # closing committed the last one
        assert [o.client_id for o in j.orders()] == ["c1", "c2", "c3"]


def test_full_or_no_order_log_commits_at_once(tmp_path: Path) -> None:
    for sync, log in (("FULL", True), ("NORMAL", False)):
        db = tmp_path / f"{sync}{log}.sqlite"
        with Journal(db, synchronous=sync, order_log=log) as j:  # type: ignore[arg-type]
            j.stage_order(make_order("c1"))
            assert not j._staged
            with Journal(db) as other:
                assert other.order("c1") == make_order("c1")
        assert not log_path(db).exists() or log_path(db).stat().st_size == 0


def test_a_replay_never_puts_an_older_state_over_a_newer_one(tmp_path: Path) -> None:
    db = tmp_path / "j.sqlite"
    j = Journal(db, synchronous="NORMAL", order_log=True)
    j.stage_order(make_order("c1"))
    newer = make_order("c1", status=S.CANCELED, venue_order_id="v1", updated_ns=T0 + 5)
    j.record_order(newer)  # commits the staged row, then the newer state on top
    j.stage_order(make_order("c2"))
    # A crash: the log still holds both lines, c1's already committed, c2's not.
    os.close(j._log_fd)  # type: ignore[arg-type]
    j._log_fd = None
    j._staged = []
    j._conn.close()
    assert log_path(db).read_bytes().count(b"\n") == 2
    with Journal(db, synchronous="NORMAL", order_log=True) as again:
        assert again.order("c1") == newer
        assert again.order("c2") == make_order("c2")
        assert log_path(db).stat().st_size == 0  # taken in, then emptied
        again.stage_order(make_order("c3"))  # numbered after what it took in
        assert again.cursor(ORDER_LOG_CURSOR) == "2"
    with Journal(db) as j:
        assert j.cursor(ORDER_LOG_CURSOR) == "3"


def test_a_line_cut_by_a_crash_is_ignored(tmp_path: Path) -> None:
    db = tmp_path / "j.sqlite"
    with Journal(db, synchronous="NORMAL", order_log=True) as j:
        pass
    whole = journal_module._log_line(1, journal_module._order_row(make_order("c1")))
    cut = journal_module._log_line(2, journal_module._order_row(make_order("c2")))[:-9]
    log_path(db).write_bytes(whole + cut)
    with Journal(db, create=False) as j:  # any journal that can take the log replays it
        assert [o.client_id for o in j.orders()] == ["c1"]
    assert log_path(db).stat().st_size == 0


def test_one_owner_at_a_time(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(journal_module, "_LOG_LOCK_WAIT_S", 0.1)
    db = tmp_path / "j.sqlite"
    with Journal(db, synchronous="NORMAL", order_log=True) as owner:
        owner.stage_order(make_order("c1"))
        with pytest.raises(JournalError, match="in use"):
            Journal(db, synchronous="NORMAL", order_log=True)
        # A reader (the CLI, the dashboard) neither replays nor empties the owner's log.
        with Journal(db, create=False) as reader:
            assert reader.orders() == []
        assert log_path(db).read_bytes().count(b"\n") == 1
    with Journal(db, create=False) as reader:
        assert [o.client_id for o in reader.orders()] == ["c1"]


CHILD = r"""
import sys
from decimal import Decimal as D
from botkit.journal import Journal
from botkit.model import Order, OrderType, Side

path, sync = sys.argv[1], sys.argv[2]
j = Journal(path, venue="sim", synchronous=sync, order_log=True)
start = len(j.orders())
for i in range(start, 10**9):
    o = Order(f"C{i}", "BTC/USDT", Side.BUY if i % 2 else Side.SELL, OrderType.LIMIT,
              D("0.001"), D("100.00") + D(i % 97) / 100, strategy="s1",
              created_ns=i, updated_ns=i)
    j.stage_order(o)
    print(o.client_id, flush=True)  # "sent": the venue may have it now
    if i % 7 == 0:
        j.set_cursor("other", i)  # some commit now and then, as the bot makes them
"""


@pytest.mark.parametrize("sync", ["NORMAL", "FULL"])
def test_sigkill_loses_no_staged_order(tmp_path: Path, sync: str) -> None:
    """Orders staged and then "sent" (printed) are all in the journal after SIGKILL at
    random moments, each exactly as staged, and restarts go on numbering past them."""
    rng = random.Random(int(os.environ.get("BOTKIT_CRASH_SEED", random.randrange(2**32))))
    script = tmp_path / "child.py"
    script.write_text(CHILD)
    db = tmp_path / "crash.sqlite"
    sent: list[str] = []
    for _ in range(5):
        proc = subprocess.Popen(
            [sys.executable, str(script), str(db), sync], stdout=subprocess.PIPE, text=True
        )
        assert proc.stdout is not None
        lines = [proc.stdout.readline() for _ in range(rng.randint(1, 400))]
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        lines += proc.stdout.read().splitlines(keepends=True)
        proc.stdout.close()
        sent += [x.strip() for x in lines if x.endswith("\n")]
        with Journal(db, synchronous="NORMAL", order_log=True) as j:
            ids = [o.client_id for o in j.orders()]
            assert j.integrity_check() == ["ok"]
        # Everything sent is there, in order, and at most one more (staged, then
        # killed before it was printed).
        assert ids[: len(sent)] == sent
        assert len(ids) - len(sent) in (0, 1)
        sent = ids
    with Journal(db) as j:
        for o in j.orders():
            i = int(o.client_id[1:])
            assert o.price == D("100.00") + D(i % 97) / 100 and o.created_ns == i


def test_a_short_write_is_cut_off_and_the_order_committed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A full disk writes part of a line: that piece must not swallow the next line."""
    db = tmp_path / "j.sqlite"
    j = Journal(db, synchronous="NORMAL", order_log=True)
    j.stage_order(make_order("c1"))
    real_write = os.write

    def short(fd: int, data: bytes) -> int:
        return real_write(fd, data[: len(data) // 2])

    monkeypatch.setattr(journal_module.os, "write", short)
    j.stage_order(make_order("c2"))  # half a line landed: cut off, c2 committed instead
    monkeypatch.setattr(journal_module.os, "write", real_write)
    j.stage_order(make_order("c3"))
    # A crash: c3 only in the log.
    os.close(j._log_fd)  # type: ignore[arg-type]
    j._log_fd = None
    j._staged = []
    j._conn.close()
    with Journal(db, synchronous="NORMAL", order_log=True) as again:
        assert [o.client_id for o in again.orders()] == ["c1", "c2", "c3"]
