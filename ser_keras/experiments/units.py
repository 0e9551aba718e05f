"""The (row, fold) units of a replication run on two threads, so both cores stay busy.

Not a paper section: it schedules the units of SHORT Table 1 (:mod:`ser_keras.experiments.short`)
and ELOR Table 5 (:mod:`ser_keras.experiments.elor_table5`). The main thread takes the heavy
end of the work (network rows, heaviest first, so the ETA is paced by the rows that set the
wall time from the first epoch on); a second thread first takes rows of its own (SHORT's
scikit-learn rows, mostly one core per fit), then the light end of the network rows, lightest
first, until the two meet. TensorFlow runs its ops with the GIL released, so two trainings, or
a training beside a scikit-learn fit, fill the cores one alone leaves idle (small networks,
tracing, evaluation, saving).

A unit must give the same result whichever thread computes it and whatever runs beside it:
scikit-learn rows take explicit seeds, network units draw from their own
:class:`~ser_keras.seeding.UnitSeeds`, and shared inputs are prepared before the threads start.
"""

import concurrent.futures
import resource
import sys
import threading
import time

import keras

from ser_keras.training import execution


class _OtherThreadFailed(Exception):
    """Raised before a unit when the other thread of :func:`run_units` has failed."""


class UnitQueue:
    """The (row, fold) units of one run, claimed from two ends (thread-safe): the heavy end
    hands out the ``networks`` in their order (heaviest first); the light end the ``beside``
    rows first, then the ``networks`` from the last one back, except those ``main_only``
    (rows whose units share lazily computed inputs). A row's folds are handed out in fold
    order, so two threads can share a row."""

    def __init__(self, networks, beside, folds, *, main_only=()):
        self._networks = [(row, list(folds)) for row in networks]
        self._beside = [(row, list(folds)) for row in beside]
        self._shared = [(row, folds) for row, folds in self._networks if row not in set(main_only)]
        self._lock = threading.Lock()

    @staticmethod
    def _next(rows):
        for row, folds in rows:
            if folds:
                return row, folds.pop(0)
        return None

    def claim_from_heavy_end(self):
        """The next ``(row, fold)`` for the main thread, or None when the networks are all claimed."""
        with self._lock:
            return self._next(self._networks)

    def claim_from_light_end(self):
        """The next ``(row, fold)`` for the second thread, or None when every unit is claimed."""
        with self._lock:
            return self._next(self._beside) or self._next(reversed(self._shared))


def heaviest_first(networks, heaviest, finished):
    """``networks`` in the main thread's order: finished ones first (resumed, they cost
    nothing), then in the order of ``heaviest`` (the registry's networks, heaviest first), then
    the others (plug-ins: their cost is unknown before they train) in the order given.
    ``finished(network)`` tells whether every fold of a network is in the run folder."""
    rank = {network: index for index, network in enumerate(heaviest)}

    def order(network):
        return (0, 0) if finished(network) else (1, rank[network]) if network in rank else (2, 0)

    return sorted(networks, key=order)


def run_units(networks, beside, folds, compute, *, main_only=()):
    """Compute every unit of ``networks`` and ``beside`` (row names) × ``folds`` (fold names)
    on two threads (:class:`UnitQueue`; ``main_only`` networks on the main thread alone):
    ``{(row, fold): compute(row, fold, before_unit)}``.

    ``compute`` loads or trains one unit and calls ``before_unit()`` before it trains: that
    raises once a unit on the other thread has failed, so a failure stops both threads before
    their next unit (finished units stay saved for ``--resume``) and its error is raised.
    Keras keeps its dtype policy per thread: the second thread gets the caller's
    (``--mixed-precision``).
    """
    units = UnitQueue(networks, beside, folds, main_only=main_only)
    failed = threading.Event()
    dtype_policy = keras.config.dtype_policy()

    def before_unit():
        if failed.is_set():
            raise _OtherThreadFailed

    def work_through(claim):
        results = {}
        try:
            while (unit := claim()) is not None:
                results[unit] = compute(*unit, before_unit)
        except BaseException:
            failed.set()
            raise
        return results

    def second_thread():
        keras.config.set_dtype_policy(dtype_policy)
        return work_through(units.claim_from_light_end)

    with concurrent.futures.ThreadPoolExecutor(1, thread_name_prefix="second-thread") as pool:
        beside_results = pool.submit(second_thread)
        try:
            results = work_through(units.claim_from_heavy_end)
            results.update(beside_results.result())
        except _OtherThreadFailed:
            concurrent.futures.wait([beside_results])
            raise beside_results.exception() from None
    return results


class UnitMeter:
    """What one (row, fold) unit cost, for the run's compute ledger (:mod:`ser_keras.report`):
    started when the unit starts, :meth:`read` when its part is done.

    Two threads train units at once (:func:`run_units`), so ``cpu_s`` is the process's CPU
    seconds during the unit (its own work and whatever ran beside it), not the unit's share,
    and ``peak_rss_mb`` the process's peak resident memory by the unit's end."""

    def __init__(self):
        self._wall, self._cpu = time.perf_counter(), time.process_time()

    def read(self, *, network):
        """``{"wall_s", "cpu_s", "peak_rss_mb", "device"}``; ``network``: whether the unit
        trained a network (on the GPUs TensorFlow sees, if any) or fitted on the CPU."""
        device = ", ".join(execution.current().gpus if network else ()) or "CPU"
        return {
            "wall_s": round(time.perf_counter() - self._wall, 3),
            "cpu_s": round(time.process_time() - self._cpu, 3),
            "peak_rss_mb": round(_peak_rss_bytes() / 2**20, 1),
            "device": device,
        }


def _peak_rss_bytes():
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak if sys.platform == "darwin" else peak * 1024  # ru_maxrss is KiB on Linux, bytes on macOS
