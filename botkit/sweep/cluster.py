"""Where sweep runs execute: a Dask cluster (local or remote), and the progress line.

:func:`connect` gives a ``distributed.Client``: to a new ``LocalCluster`` of
``workers`` processes, one thread each, bound to 127.0.0.1 with no dashboard, or
to the scheduler at ``scheduler`` (``tcp://host:8786``). A :class:`DaskPool`
submits :class:`~botkit.sweep.tasks.RunSpec` s to it and yields the outcomes as
they complete (runs may be added while it yields: walk-forward submits a test
window once its train runs are in). :class:`InProcessPool` runs the same specs
one by one in this process, with the same interface (for comparison and
debugging; ``--workers 0``).

A run that dies with its worker (``KilledWorker``, a lost connection) comes back
as a failed outcome; the sweep goes on.
"""

from __future__ import annotations

import logging
import os
import sys
import time
import uuid
from collections import deque
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any, Protocol, TextIO

from botkit.sweep.tasks import RunOutcome, RunSpec, botkit_version, run_task

if TYPE_CHECKING:
    from distributed import Client

log = logging.getLogger(__name__)


class Pool(Protocol):
    """Runs specs; ``slots`` is how many run at once."""

    slots: int
    where: str

    def submit(self, spec: RunSpec) -> None: ...

    def results(self) -> Iterator[RunOutcome]: ...

    def cancel(self) -> None: ...


def failed(spec: RunSpec, error: str) -> RunOutcome:
    """An outcome for a run that never reported (its worker died, it was refused)."""
    return RunOutcome(
        run_id=spec.run_id,
        params=dict(spec.params),
        summary=None,
        error=error,
        wall_s=0.0,
        version=botkit_version(),
        worker="",
        seed=spec.seed,
        tag=dict(spec.tag),
    )


class InProcessPool:
    """Runs each spec in this process, in the order submitted."""

    slots = 1
    where = "this process"

    def __init__(self) -> None:
        self._queue: deque[RunSpec] = deque()

    def submit(self, spec: RunSpec) -> None:
        self._queue.append(spec)

    def results(self) -> Iterator[RunOutcome]:
        while self._queue:
            yield run_task(self._queue.popleft())

    def cancel(self) -> None:
        self._queue.clear()


class DaskPool:
    """Runs specs as Dask tasks; only the spec (config text and params) is shipped."""

    def __init__(self, client: Client) -> None:
        from distributed import as_completed

        self.client = client
        self._done = as_completed()
        self._specs: dict[Any, RunSpec] = {}
        self._futures: dict[Any, Any] = {}
        self._token = uuid.uuid4().hex[:8]
        self._count = 0
        info = client.scheduler_info()
        workers = info.get("workers", {})
        self.slots = max(1, sum(int(w.get("nthreads", 1)) for w in workers.values()))
        self.where = f"{len(workers)} Dask worker(s) at {info.get('address', '?')}"

    def submit(self, spec: RunSpec) -> None:
        # A key names one submission: Dask answers a known key from its own memory.
        self._count += 1
        key = f"botkit-run-{self._token}-{self._count}-{spec.run_id}"
        future = self.client.submit(run_task, spec, key=key, pure=False, retries=0)
        self._specs[future.key] = spec
        self._futures[future.key] = future
        self._done.add(future)

    def results(self) -> Iterator[RunOutcome]:
        for future in self._done:
            spec = self._specs.pop(future.key)
            self._futures.pop(future.key, None)
            try:
                outcome: RunOutcome = future.result()
            except Exception as exc:  # the worker died, the connection broke
                outcome = failed(spec, f"{type(exc).__name__}: {exc}")
            future.release()
            yield outcome

    def cancel(self) -> None:
        futures = list(self._futures.values())
        self._futures.clear()
        self._specs.clear()
        if futures:
            self.client.cancel(futures)
        self._done.clear()


@contextmanager
def connect(scheduler: str | None = None, workers: int | None = None) -> Iterator[Client]:
    """A client of the scheduler at ``scheduler``, or of a new ``LocalCluster`` with
    ``workers`` processes (default: one per core), shut down on exit."""
    from distributed import Client, LocalCluster

    # distributed logs every connection at info level; a sweep's own output says enough.
    for name in ("distributed", "distributed.scheduler", "distributed.nanny", "distributed.core"):
        logger = logging.getLogger(name)
        if logger.getEffectiveLevel() < logging.WARNING:
            logger.setLevel(logging.WARNING)
    if scheduler is not None:
        client = Client(scheduler, timeout="10s")
        try:
            yield client
        finally:
            client.close()
        return
    import dask

    n = workers if workers is not None else (os.cpu_count() or 1)
    # Every address on the loopback: the scheduler, the workers, and the scheduler's small
    # HTTP server (health and metrics only: no dashboard).
    # A worker's own timers take the GIL from the running backtest each time they fire;
    # on a busy machine each handover can cost a time slice. The statistical profiler
    # (every 10 ms) is off, the event-loop tick (20 ms) and the memory check (100 ms) are
    # slower. The nannies take this config as they start.
    quiet = {
        "distributed.worker.profile.enabled": False,
        "distributed.admin.tick.interval": "500ms",
        "distributed.worker.memory.monitor-interval": "1s",
    }
    with dask.config.set(quiet):
        cluster = LocalCluster(
            n_workers=n,
            threads_per_worker=1,
            processes=True,
            host="127.0.0.1",
            dashboard_address=None,
            # No dashboard; the health/metrics server on a free port (not 8787, which
            # another cluster on this machine may hold).
            scheduler_kwargs={"dashboard": False, "dashboard_address": "127.0.0.1:0"},
            silence_logs=logging.ERROR,
        )
    client = Client(cluster)
    try:
        yield client
    finally:
        client.close()
        cluster.close()


@contextmanager
def open_pool(scheduler: str | None = None, workers: int | None = None) -> Iterator[Pool]:
    """:class:`InProcessPool` for ``workers == 0``, else a :class:`DaskPool` on :func:`connect`."""
    if workers == 0 and scheduler is None:
        yield InProcessPool()
        return
    with connect(scheduler, workers) as client:
        pool = DaskPool(client)
        try:
            yield pool
        finally:
            pool.cancel()


def _is_tty(stream: TextIO) -> bool:
    try:
        return bool(stream.isatty())
    except (AttributeError, ValueError, OSError):
        return False


class SweepProgress:
    """One status line on stderr, redrawn as runs complete: done/total, failures, the
    best value so far and the ETA. Disabled (silent) unless stderr is a terminal or
    ``enabled`` is True."""

    def __init__(
        self, total: int, enabled: bool | None = None, stream: TextIO | None = None
    ) -> None:
        self.stream: TextIO = stream if stream is not None else sys.stderr
        self.enabled = _is_tty(self.stream) if enabled is None else enabled
        self.total = total
        self.done = 0
        self.failed = 0
        self.best: str | None = None
        self._start = time.monotonic()
        self._last_len = 0

    def add(self, n: int) -> None:
        """``n`` more runs to do (the clock starts with the first: not at cluster start-up)."""
        if self.total == 0 and self.done == 0:
            self._start = time.monotonic()
        self.total += n
        self._draw()

    def update(self, outcome: RunOutcome, best: str | None = None) -> None:
        self.done += 1
        self.failed += 0 if outcome.ok else 1
        if best is not None:
            self.best = best
        self._draw()

    def render(self) -> str:
        elapsed = time.monotonic() - self._start
        frac = self.done / self.total if self.total else 1.0
        width = 24
        bar = "#" * int(frac * width) + "." * (width - int(frac * width))
        parts = [f"sweep [{bar}] {self.done}/{self.total} runs"]
        if self.failed:
            parts.append(f"{self.failed} failed")
        if self.best:
            parts.append(f"best {self.best}")
        if 0 < self.done < self.total:
            eta = elapsed / self.done * (self.total - self.done)
            parts.append(f"ETA {int(eta) // 60}:{int(eta) % 60:02d}")
        else:
            parts.append(f"{elapsed:.1f} s")
        return "  ".join(parts)

    def _draw(self) -> None:
        if not self.enabled:
            return
        line = self.render()
        pad = " " * max(self._last_len - len(line), 0)
        self._last_len = len(line)
        self.stream.write("\r" + line + pad)
        self.stream.flush()

    def close(self) -> None:
        if self.enabled:
            self._draw()
            self.stream.write("\n")
            self.stream.flush()
            self.enabled = False


__all__ = ["DaskPool", "InProcessPool", "Pool", "SweepProgress", "connect", "failed", "open_pool"]
