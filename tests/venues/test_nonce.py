"""NonceSource: strictly increasing across same-tick calls, clock steps and restarts; the
journal-backed source recovering from a venue's nonce refusal in live mode."""

from __future__ import annotations

import itertools
import os
import random
import signal
import subprocess
import sys
import threading
import time
from decimal import Decimal
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from botkit.execution import ExecutionRouter
from botkit.execution.live import LiveGateway
from botkit.intents import Place
from botkit.journal import Journal
from botkit.model import OrderStatus, Side
from botkit.simulator.server import running_simulator
from botkit.venues.blocktrade import BlockTradeAdapter
from botkit.venues.kit.nonce import ClockNonce, NonceSource, advance_past_refusal

from .suite import connection_for, until

SYM = "BTC/USDT"

MS = 1_000_000


class FakeClock:
    def __init__(self, ns: int) -> None:
        self.ns = ns

    def __call__(self) -> int:
        return self.ns


def test_follows_the_clock_in_ms() -> None:
    clock = FakeClock(1_700_000_000_123 * MS + 456_789)
    src = ClockNonce(clock=clock)
    assert src.next() == 1_700_000_000_123
    clock.ns += 5 * MS
    assert src.next() == 1_700_000_000_128
    assert src.last == 1_700_000_000_128


def test_microseconds() -> None:
    clock = FakeClock(1_700_000_000_123_456_789)
    assert ClockNonce(unit="us", clock=clock).next() == 1_700_000_000_123_456


def test_same_millisecond_still_increases() -> None:
    src = ClockNonce(clock=FakeClock(1_000 * MS))
    assert [src.next() for _ in range(4)] == [1000, 1001, 1002, 1003]


def test_clock_stepping_backwards_never_repeats() -> None:
    clock = FakeClock(5_000 * MS)
    src = ClockNonce(clock=clock)
    assert src.next() == 5000
    clock.ns = 1_000 * MS  # NTP step back by four seconds
    assert src.next() == 5001
    assert src.next() == 5002
    clock.ns = 9_000 * MS
    assert src.next() == 9000


def test_restart_from_persisted_value_never_goes_back() -> None:
    clock = FakeClock(1_000 * MS)
    first = ClockNonce(clock=clock)
    for _ in range(3):
        first.next()
    persisted = first.last
    clock.ns = 10 * MS  # the machine came back with a wrong clock
    second = ClockNonce(last=persisted, clock=clock)
    assert second.next() == persisted + 1


def test_persisted_value_ahead_of_clock() -> None:
    src = ClockNonce(last=10**15, clock=FakeClock(1_000 * MS))
    assert src.next() == 10**15 + 1


def test_unit_change_ms_to_us_and_back() -> None:
    clock = FakeClock(2_000 * MS)
    ms = ClockNonce(clock=clock)
    a = ms.next()
    us = ClockNonce(last=a, unit="us", clock=clock)
    b = us.next()
    assert b == 2_000_000 > a
    back = ClockNonce(last=b, unit="ms", clock=clock)
    assert back.next() == b + 1


def test_advance_to() -> None:
    src = ClockNonce(clock=FakeClock(100 * MS))
    src.advance_to(500)
    assert src.next() == 501
    src.advance_to(3)  # never lowers
    assert src.next() == 502


def test_default_clock_is_wall_clock() -> None:
    before = time.time_ns() // MS
    value = ClockNonce().next()
    assert before <= value <= time.time_ns() // MS


@pytest.mark.parametrize(
    "kwargs,exc",
    [
        ({"last": -1}, ValueError),
        ({"last": 1.5}, TypeError),
        ({"last": True}, TypeError),
        ({"unit": "s"}, ValueError),
    ],
)
def test_rejects_bad_arguments(kwargs: dict[str, object], exc: type[Exception]) -> None:
    with pytest.raises(exc):
        ClockNonce(**kwargs)  # type: ignore[arg-type]


def test_threads_never_share_a_value() -> None:
    src = ClockNonce(clock=FakeClock(1_000 * MS))
    seen: list[int] = []
    lock = threading.Lock()

    def worker() -> None:
        got = [src.next() for _ in range(500)]
        with lock:
            seen.extend(got)

    threads = [threading.Thread(target=worker) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(seen) == len(set(seen)) == 4000
    assert src.last == max(seen)


@settings(max_examples=100, deadline=None)
@given(
    start=st.integers(min_value=0, max_value=10**16),
    steps=st.lists(st.integers(min_value=-(10**12), max_value=10**12), max_size=40),
    unit=st.sampled_from(["ms", "us"]),
)
def test_strictly_increasing_under_any_clock(start: int, steps: list[int], unit: str) -> None:
    clock = FakeClock(10**18)
    src = ClockNonce(last=start, unit=unit, clock=clock)  # type: ignore[arg-type]
    previous = start
    for step in steps:
        clock.ns = max(0, clock.ns + step)
        value = src.next()
        assert value > previous
        assert value >= clock.ns // (MS if unit == "ms" else 1_000)
        previous = value


# ----- the journal-backed source, in live mode --------------------------------------------


def test_both_sources_are_nonce_sources(tmp_path: Path) -> None:
    with Journal(tmp_path / "j.sqlite", venue="blocktrade") as journal:
        source = journal.nonce_source("blocktrade:nonce")
        assert isinstance(source, NonceSource) and isinstance(ClockNonce(), NonceSource)
        first = source.next()
        source.advance_to(first + 1000)
        assert source.next() == first + 1001 and source.last == first + 1001
        advance_past_refusal(source, "Invalid nonce: must be greater than 99999999999999")
        assert source.next() == 100_000_000_000_000


def test_a_block_source_writes_once_per_block_and_restarts_above_it(tmp_path: Path) -> None:
    clock = FakeClock(1_700_000_000_000 * MS)
    path = tmp_path / "j.sqlite"
    with Journal(path, venue="blocktrade") as journal:
        source = journal.nonce_source("k", block=100)
        source._clock = clock  # type: ignore[attr-defined]
        first = source.next()
        assert first == 1_700_000_000_000
        assert journal.last_nonce("k") == first + 99  # the mark, stored before use
        got = [source.next() for _ in range(99)]  # the same millisecond: counts up
        assert got == list(range(first + 1, first + 100))
        assert journal.last_nonce("k") == first + 99  # no write within the block
        crossed = source.next()
        assert crossed == first + 100 and journal.last_nonce("k") == first + 199
        clock.ns += 5_000 * MS  # the clock jumps past the block: a new mark from there
        assert source.next() == first + 5_000
        assert journal.last_nonce("k") == first + 5_099
        source.advance_to(first + 6_000)  # above the mark: stored at once
        assert journal.last_nonce("k") == first + 6_000 and source.last == first + 6_000
        assert source.next() == first + 6_001 and journal.last_nonce("k") == first + 6_100
    with Journal(path, venue="blocktrade") as journal:  # a restart, the clock behind
        again = journal.nonce_source("k", block=100)
        again._clock = FakeClock(0)  # type: ignore[attr-defined]
        assert again.last == first + 6_100
        assert again.next() == first + 6_101
    with pytest.raises(ValueError, match="block"):
        Journal(path).nonce_source("k", block=0)


BLOCK_CHILD = r"""
import sys
from botkit.journal import Journal

journal = Journal(sys.argv[1], venue="blocktrade", synchronous=sys.argv[2])
source = journal.nonce_source("k", block=int(sys.argv[3]))
while True:
    print(source.next(), flush=True)
"""


@pytest.mark.parametrize("sync", ["NORMAL", "FULL"])
def test_block_nonces_are_never_reused_after_sigkill(tmp_path: Path, sync: str) -> None:
    """A process handing out block-reserved nonces is killed at random moments; every
    restart hands out only values above everything printed (used) before."""
    rng = random.Random(int(os.environ.get("BOTKIT_CRASH_SEED", random.randrange(2**32))))
    script = tmp_path / "child.py"
    script.write_text(BLOCK_CHILD)
    db = tmp_path / "nonces.sqlite"
    used: list[int] = []
    for _ in range(6):
        proc = subprocess.Popen(
            [sys.executable, str(script), str(db), sync, str(rng.choice((7, 50, 1000)))],
            stdout=subprocess.PIPE,
            text=True,
        )
        assert proc.stdout is not None
        want = rng.randint(1, 3000)
        lines = [proc.stdout.readline() for _ in range(want)]
        proc.send_signal(signal.SIGKILL)  # mid-stream: it keeps drawing until it dies
        proc.wait()
        lines += proc.stdout.read().splitlines(keepends=True)
        proc.stdout.close()
        # Every value written out was used; a line cut by the kill was not.
        printed = [int(x) for x in lines if x.endswith("\n")]
        assert printed, "the child printed nothing"
        assert all(a < b for a, b in itertools.pairwise(printed))
        assert not used or printed[0] > used[-1], "a nonce was handed out again"
        used.extend(printed)
    with Journal(db, venue="blocktrade") as journal:
        assert journal.last_nonce("k") >= used[-1]


async def test_a_nonce_refusal_in_live_mode_with_the_journal_nonce_recovers(
    tmp_path: Path,
) -> None:
    """Another process on the key put the venue's last nonce far ahead: the live place
    is refused once for its nonce, re-signed past the venue's, and goes through."""
    async with running_simulator("blocktrade", run_market=False) as sim:
        sim.exchange.step()
        journal = Journal(tmp_path / "journal.sqlite", venue="blocktrade")
        adapter = BlockTradeAdapter(
            connection_for(sim, nonce=journal.nonce_source("blocktrade:nonce"))
        )
        gateway: LiveGateway | None = None
        try:
            await adapter.connect()
            instruments = await adapter.instruments()
            router = ExecutionRouter(instruments, balances=await adapter.balances())
            gateway = LiveGateway(adapter, router, journal, request_timeout_s=3.0)
            router.attach(gateway)
            ahead = BlockTradeAdapter(connection_for(sim, nonce=ClockNonce(last=10**15)))
            try:
                await ahead.balances()  # the venue has now seen 10**15 + a few
            finally:
                await ahead.close()
            assert journal.last_nonce("blocktrade:nonce") < 10**15

            inst = instruments[SYM]
            bid = Decimal(repr(sim.exchange.books[SYM].best_bid))
            intent = Place(SYM, Side.BUY, inst.lot_size * 100, bid - 100 * inst.tick_size)
            order = router.place("s", intent, time.time_ns())
            await until(lambda: order.status is OrderStatus.OPEN, timeout_s=5)

            assert order.venue_order_id and sim.exchange.open_orders()
            assert journal.last_nonce("blocktrade:nonce") > 10**15  # stored past the venue's
            refused = [code for _, what, code, _ in sim.exchange.rejected]
            assert refused == ["invalid_nonce"]  # once, then it went through
            assert not gateway.counters.get("ambiguous_place")
        finally:
            if gateway is not None:
                await gateway.close()
            await adapter.close()
            journal.close()
