"""openSMILE feature sets of SHORT §2.2–2.3 and ELOR §3 (FTR), extracted with the ``opensmile`` package.

* ``ComParE_2016_LLD``: 65 LLDs + 65 deltas = 130 per 10 ms frame (SHORT "COMPARE_LLD").
* ``ComParE_2016_functionals``: 6373 per turn (SHORT "COMPARE_LLD×F").
* ``eGeMAPSv01b_LLD``: 23 per 10 ms frame (SHORT "EGEMAPS"; eGeMAPSv02 would give 25).
* ``IS10_functionals``: 1582 per 6 s sample (ELOR FTR).

Stream alignment: openSMILE writes the ComParE delta stream with two more rows than the
LLD stream (the flush of its 5-frame delta window), and the last 2–6 rows of both carry
duplicated flush timestamps (e.g. LLD starts …1.93, 1.94, 1.94 vs deltas …1.93, 1.93,
1.93, 1.94, 1.94), so the streams cannot be joined on timestamps. Recomputing the delta
regression on 178 EmoDB files (opensmile 2.6.0) shows delta row ``i`` is the delta of LLD
row ``i`` in every file. The streams are therefore aligned by row position: the common
prefix of rows is kept and the extra trailing delta rows are dropped; any other length
difference than 0–2 rows raises, since it would mean a changed openSMILE layout.

openSMILE fills outputs with NaN for segments too short to analyse (e.g. 20 ms); such
values, and any Inf, are set to 0 and counted: each call logs "N values from M utterances
were NaN/Inf and set to 0". A signal shorter than one frame still yields one (zero) row.
Extraction runs over worker processes (``forkserver``/``spawn``, never ``fork`` of a
TensorFlow process), one ``opensmile.Smile`` per stream per worker, with a tqdm bar, and
goes through :class:`ser_keras.features.cache.FeatureCache` when one is given.
"""

import concurrent.futures
import enum
import functools
import logging
import multiprocessing
import os
import threading
import warnings
from collections.abc import Mapping, Sequence

import numpy as np
import opensmile
import tqdm

from ser_keras.data.audio import SAMPLE_RATE, AudioError, load_waveform

logger = logging.getLogger(__name__)

# Utterances per cache shard: bounds what a killed run loses and what one read holds.
SHARD_UTTERANCES = 256
# Extra trailing rows of the ComParE delta stream (see module docstring).
_DELTA_FLUSH_ROWS = 2


class FeatureSet(str, enum.Enum):
    """The paper's openSMILE feature sets; the value is the cache key stem."""

    ComParE_2016_LLD = "ComParE_2016_LLD"
    ComParE_2016_functionals = "ComParE_2016_functionals"
    eGeMAPSv01b_LLD = "eGeMAPSv01b_LLD"
    IS10_functionals = "IS10_functionals"

    @property
    def streams(self):
        """``(opensmile.FeatureSet, opensmile.FeatureLevel)`` pairs stacked column-wise."""
        return _STREAMS[self]

    @property
    def frame_level(self):
        """True for frames × D outputs, False for one vector per signal."""
        return self.streams[0][1] != opensmile.FeatureLevel.Functionals

    @property
    def dimension(self):
        return _DIMENSIONS[self]

    @property
    def cache_key(self):
        """Feature-set name plus opensmile version, so an upgrade never reads stale values."""
        return f"{self.value}-opensmile{opensmile.__version__}"


_STREAMS = {
    FeatureSet.ComParE_2016_LLD: (
        (opensmile.FeatureSet.ComParE_2016, opensmile.FeatureLevel.LowLevelDescriptors),
        (opensmile.FeatureSet.ComParE_2016, opensmile.FeatureLevel.LowLevelDescriptors_Deltas)),
    FeatureSet.ComParE_2016_functionals: (
        (opensmile.FeatureSet.ComParE_2016, opensmile.FeatureLevel.Functionals),),
    FeatureSet.eGeMAPSv01b_LLD: (
        (opensmile.FeatureSet.eGeMAPSv01b, opensmile.FeatureLevel.LowLevelDescriptors),),
    FeatureSet.IS10_functionals: (
        (opensmile.FeatureSet.IS10, opensmile.FeatureLevel.Functionals),),
}
_DIMENSIONS = {
    FeatureSet.ComParE_2016_LLD: 130,
    FeatureSet.ComParE_2016_functionals: 6373,
    FeatureSet.eGeMAPSv01b_LLD: 23,
    FeatureSet.IS10_functionals: 1582,
}


def as_feature_set(value):
    """Accept a :class:`FeatureSet` or its name; a typo lists the valid names."""
    try:
        return FeatureSet(value)
    except ValueError:
        raise ValueError(
            f"Unknown feature set {value!r}; use one of {[member.value for member in FeatureSet]}.") from None


@functools.lru_cache(maxsize=None)
def _smile(feature_set, feature_level):
    """One ``Smile`` per stream and process (building one parses its config files)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # eGeMAPSv01b is "deprecated" in favour of v02; the paper uses v01b
        return opensmile.Smile(feature_set=feature_set, feature_level=feature_level)


def feature_names(feature_set):
    """Column names in output order (openSMILE names, e.g. ``F0final_sma``, ``..._de``)."""
    feature_set = as_feature_set(feature_set)
    return tuple(name for stream in feature_set.streams for name in _smile(*stream).feature_names)


def _process(feature_set, signal):
    """Raw openSMILE output with NaN kept: frames × D (LLD) or (D,) (functionals)."""
    signal = np.asarray(signal, dtype=np.float32).reshape(-1)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # "Segment too short, filling with NaN": counted by the caller
        frames = [_smile(*stream).process_signal(signal, SAMPLE_RATE) for stream in feature_set.streams]
    if not feature_set.frame_level:
        return frames[0].to_numpy(dtype=np.float32)[0]
    rows = min(len(frame) for frame in frames)
    if any(not 0 <= len(frame) - rows <= _DELTA_FLUSH_ROWS for frame in frames):
        raise ValueError(f"openSMILE streams of {feature_set.value} have {[len(f) for f in frames]} rows; "
                         f"expected lengths within {_DELTA_FLUSH_ROWS} rows to align LLDs and deltas.")
    return np.concatenate([frame.to_numpy(dtype=np.float32)[:rows] for frame in frames], axis=1)


def _clean(features):
    """Replace NaN/Inf by 0; return the array and how many values were replaced."""
    bad = ~np.isfinite(features)
    count = int(bad.sum())
    if count:
        features = np.where(bad, np.float32(0), features)
    return features, count


def _report_non_finite(counts, total):
    values = sum(counts)
    if values:
        utterances = sum(1 for count in counts if count)
        logger.warning("%d values from %d of %d utterances were NaN/Inf (openSMILE on too-short "
                       "segments) and set to 0.", values, utterances, total)


def extract_signal(feature_set, signal):
    """Features of one 16 kHz float32 signal: frames × D (LLD sets) or (D,) (functionals).

    Runs in a worker process like every extraction (see :func:`_run`).
    """
    return extract_signals(feature_set, {"signal": signal}, workers=1, progress=False)["signal"]


def _extract_path(feature_set, path, skip_unreadable=False):
    try:
        signal = load_waveform(path)
    except AudioError as error:
        if not skip_unreadable:
            raise
        return str(error)
    return _clean(_process(feature_set, signal))


def _extract_array(feature_set, signal):
    return _clean(_process(feature_set, signal))


# The worker pool outlives a call: feature sets, folds and relevance signals of one run
# reuse warm workers instead of paying a process start and openSMILE's set-up each time.
_shared_pool = {"workers": None, "pool": None}


def _pool(workers):
    """The process-wide worker pool with ``workers`` processes (replacing one of another size)."""
    if _shared_pool["workers"] != workers or _shared_pool["pool"] is None:
        _discard_pool()
        if "forkserver" in multiprocessing.get_all_start_methods():
            context = multiprocessing.get_context("forkserver")
            # The fork server imports this module once; workers forked from it start warm.
            context.set_forkserver_preload([__name__])
        else:
            context = multiprocessing.get_context("spawn")
        _shared_pool.update(workers=workers, pool=concurrent.futures.ProcessPoolExecutor(
            max_workers=workers, mp_context=context, initializer=_exit_with_parent))
    return _shared_pool["pool"]


def _exit_with_parent():
    """Worker initializer: exit when the parent process dies. Idle workers of a killed run
    would otherwise live on, holding its output pipes open."""
    parent = multiprocessing.parent_process()
    if parent is not None:
        threading.Thread(target=lambda: (parent.join(), os._exit(1)), daemon=True).start()


def _discard_pool():
    """Shut the shared pool down without waiting (after an error it may be broken or busy)."""
    pool = _shared_pool["pool"]
    _shared_pool.update(workers=None, pool=None)
    if pool is not None:
        pool.shutdown(wait=False, cancel_futures=True)


def _run(feature_set, jobs, function, *, cache, cache_namespace, workers, progress):
    """Shared driver: cache lookup, parallel extraction, sharded cache writes."""
    if not isinstance(workers, int) or workers < 1:
        raise ValueError(f"The 'workers' parameter must be a positive integer. Got {workers!r}.")
    if cache is not None and cache_namespace is None:
        raise ValueError("A cache needs a 'cache_namespace' (the corpus sha256 or another content key).")
    results = cache.get(cache_namespace, feature_set.cache_key, jobs) if cache is not None else {}
    todo = [key for key in jobs if key not in results]
    if results:
        logger.debug("%s: %d of %d utterances read from %s.", feature_set.value, len(results), len(jobs), cache)
    pending, counts, unreadable = {}, [], []

    def collect(key, output):
        if isinstance(output, str):
            unreadable.append(output)
            return
        features, count = output
        results[key] = features
        counts.append(count)
        if cache is not None:
            pending[key] = features
            if len(pending) >= SHARD_UTTERANCES:
                cache.put(cache_namespace, feature_set.cache_key, pending)
                pending.clear()

    bar = tqdm.tqdm(total=len(todo), desc=f"openSMILE {feature_set.value}", unit="utt",
                    disable=None if progress and todo else True)  # None: no bar when stderr is not a terminal
    try:
        # Always in worker processes, never in the caller: openSMILE's native library corrupts
        # the heap ("malloc(): invalid size") in a process that has imported TensorFlow.
        if todo:
            try:
                pool = _pool(workers)
                futures = {pool.submit(function, feature_set, jobs[key]): key for key in todo}
                for future in concurrent.futures.as_completed(futures):
                    collect(futures[future], future.result())
                    bar.update()
            except BaseException:
                _discard_pool()  # fail fast (the pool may be broken), keep finished work
                raise
    finally:
        bar.close()
        if pending:
            cache.put(cache_namespace, feature_set.cache_key, pending)
    _report_non_finite(counts, len(todo))
    if unreadable:
        logger.warning("%d unreadable audio files skipped: %s", len(unreadable), "; ".join(unreadable))
    return {key: results[key] for key in jobs if key in results}


def extract_utterances(feature_set, utterances: Sequence, *, cache=None, cache_namespace=None,
                       workers=2, progress=True, skip_unreadable=False):
    """``{utterance.id: features}`` for corpus utterances, audio read with ``load_waveform``.

    Pass ``cache_namespace=corpus.sha256`` with a cache: hits are read, the rest extracted
    on ``workers`` processes and written back in shards of ``SHARD_UTTERANCES``. An
    unreadable file raises its ``AudioError``, or with ``skip_unreadable=True`` is logged
    and left out of the result (work finished before an error is cached either way).
    """
    feature_set = as_feature_set(feature_set)
    jobs = {utterance.id: utterance.path for utterance in utterances}
    if len(jobs) != len(utterances):
        raise ValueError("extract_utterances got duplicate utterance ids.")
    function = functools.partial(_extract_path, skip_unreadable=skip_unreadable)
    return _run(feature_set, jobs, function, cache=cache, cache_namespace=cache_namespace,
                workers=workers, progress=progress)


def extract_signals(feature_set, signals: Mapping[str, np.ndarray], *, cache=None, cache_namespace=None,
                    workers=2, progress=True):
    """``{key: features}`` for in-memory 16 kHz signals (e.g. relevance signals).

    ``cache_namespace`` must identify the signals' content (e.g. a hash of the model and
    relevance settings), since the keys alone do not.
    """
    feature_set = as_feature_set(feature_set)
    return _run(feature_set, dict(signals), _extract_array, cache=cache, cache_namespace=cache_namespace,
                workers=workers, progress=progress)
