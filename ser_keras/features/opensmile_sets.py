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
TensorFlow process), with a tqdm bar, and goes through
:class:`ser_keras.features.cache.FeatureCache` when one is given.

One openSMILE run per config: ComParE's LLDs, their deltas and its functionals are levels of
one config (``ComParE_2016.conf``), so a run with an external sink per level asked for gives
all of them at once, where ``opensmile.Smile`` (one sink) computes the whole front end again
for each level. The values are bit for bit ``Smile.process_signal``'s (tests), and ComParE's
three levels cost about a third of the CPU time of three runs. The run is set
up as ``Smile`` sets up its own (``Smile._options``, ``Smile._smile``: not public API), so
opensmile is pinned to 2.6.x and the tests compare every level with ``Smile``.
"""

import concurrent.futures
import enum
import functools
import logging
import multiprocessing
import os
import signal
import tempfile
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
        (opensmile.FeatureSet.ComParE_2016, opensmile.FeatureLevel.LowLevelDescriptors_Deltas),
    ),
    FeatureSet.ComParE_2016_functionals: ((opensmile.FeatureSet.ComParE_2016, opensmile.FeatureLevel.Functionals),),
    FeatureSet.eGeMAPSv01b_LLD: ((opensmile.FeatureSet.eGeMAPSv01b, opensmile.FeatureLevel.LowLevelDescriptors),),
    FeatureSet.IS10_functionals: ((opensmile.FeatureSet.IS10, opensmile.FeatureLevel.Functionals),),
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
            f"Unknown feature set {value!r}; use one of {[member.value for member in FeatureSet]}."
        ) from None


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


_SINK = "ser_keras_sink_"  # + level: the external sink component of that level


@functools.lru_cache(maxsize=None)
def _sink_config(levels):
    """Path of an openSMILE include declaring one external sink per level of ``levels``, as
    opensmile's own single-sink include declares its one (written once, atomically, to the
    temporary directory; the text depends on ``levels`` only)."""
    text = "[componentInstances:cComponentManager]\n"
    text += "".join(f"instance[{_SINK}{level}].type=cExternalSink\n" for level in levels)
    text += "".join(f"\n[{_SINK}{level}:cExternalSink]\nreader.dmLevel = {level}\nblocksize = 1\n" for level in levels)
    path = os.path.join(tempfile.gettempdir(), f"ser_keras-opensmile-{os.getuid()}-{'-'.join(levels)}.conf.inc")
    try:
        with open(path) as existing:
            if existing.read() == text:
                return path
    except OSError:
        pass
    handle, temporary = tempfile.mkstemp(dir=os.path.dirname(path), suffix=".tmp")
    with os.fdopen(handle, "w") as out:
        out.write(text)
    os.replace(temporary, path)
    return path


def _run_config(smile_set, levels, signal):
    """``{level: frames × D float32}`` for a tuple of ``opensmile.FeatureLevel``: one openSMILE
    run of ``smile_set``'s config on a float32 signal, each level collected by its own
    external sink. Mirrors
    ``opensmile.Smile.process_signal`` (its options, int16 conversion and, for a level that
    yields no frame, one NaN row), which computes one level per run."""
    smile = _smile(smile_set, levels[0])
    names = tuple(level.value for level in levels)
    options = smile._options()  # the config options opensmile passes, its sink replaced by one per level
    options.pop("sinkLevel")
    options.update(
        source=os.path.join(smile.default_config_root, opensmile.config.EXTERNAL_INPUT_CONFIG),
        sampleRate=SAMPLE_RATE,
        nBits=16,
        sink=_sink_config(names),
    )
    pcm = (signal * 32768).astype(np.int16)  # as opensmile converts: no clipping
    rows = {level: [] for level in names}
    engine = smile._smile(options)
    try:
        for level in names:
            engine.external_sink_set_callback_ex(
                _SINK + level, lambda data, meta, out=rows[level]: out.append(data.copy())
            )
        engine.external_audio_source_write_data(opensmile.config.EXTERNAL_SOURCE_COMPONENT, pcm.tobytes())
        engine.external_audio_source_set_eoi(opensmile.config.EXTERNAL_SOURCE_COMPONENT)
        engine.run()
        widths = {level: engine.external_sink_get_num_elements(_SINK + level) for level in names}
    finally:
        engine.free()
    return {
        level: np.vstack(rows[name]).astype(np.float32)
        if rows[name]
        else np.full((1, widths[name]), np.nan, np.float32)
        for level, name in zip(levels, names)
    }


def _process(feature_sets, signal):
    """``{feature set: raw openSMILE output with NaN kept}``: frames × D (LLD) or (D,)
    (functionals), from one openSMILE run per config the sets read."""
    signal = np.asarray(signal, dtype=np.float32).reshape(-1)
    levels_by_config = {}
    for feature_set in feature_sets:
        for smile_set, level in feature_set.streams:
            levels = levels_by_config.setdefault(smile_set, [])
            if level not in levels:
                levels.append(level)
    streams = {
        (smile_set, level): frames
        for smile_set, levels in levels_by_config.items()
        for level, frames in _run_config(smile_set, tuple(levels), signal).items()
    }
    return {
        feature_set: _stack_streams(feature_set, [streams[stream] for stream in feature_set.streams])
        for feature_set in feature_sets
    }


def _stack_streams(feature_set, frames):
    """A set's streams side by side (LLDs and deltas aligned by row, see the module docstring)."""
    if not feature_set.frame_level:
        return frames[0][0]
    rows = min(len(frame) for frame in frames)
    if any(not 0 <= len(frame) - rows <= _DELTA_FLUSH_ROWS for frame in frames):
        raise ValueError(
            f"openSMILE streams of {feature_set.value} have {[len(f) for f in frames]} rows; "
            f"expected lengths within {_DELTA_FLUSH_ROWS} rows to align LLDs and deltas."
        )
    return np.concatenate([frame[:rows] for frame in frames], axis=1)


def _clean(features):
    """Replace NaN/Inf by 0; return the array and how many values were replaced."""
    bad = ~np.isfinite(features)
    count = int(bad.sum())
    if count:
        features = np.where(bad, np.float32(0), features)
    return features, count


def _report_non_finite(feature_set, counts, total):
    values = sum(counts)
    if values:
        utterances = sum(1 for count in counts if count)
        logger.warning(
            "%s: %d values from %d of %d utterances were NaN/Inf (openSMILE on too-short segments) and set to 0.",
            feature_set.value,
            values,
            utterances,
            total,
        )


def extract_signal(feature_set, signal):
    """Features of one 16 kHz float32 signal: frames × D (LLD sets) or (D,) (functionals).

    Runs in a worker process like every extraction (see :func:`_run`).
    """
    return extract_signals(feature_set, {"signal": signal}, workers=1, progress=False)["signal"]


def _extract_path(feature_sets, path, skip_unreadable=False):
    try:
        signal = load_waveform(path)
    except AudioError as error:
        if not skip_unreadable:
            raise
        return str(error)
    return _extract_array(feature_sets, signal)


def _extract_array(feature_sets, signal):
    """``{feature set: (features, NaN/Inf count)}`` of one signal."""
    return {feature_set: _clean(features) for feature_set, features in _process(feature_sets, signal).items()}


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
        _shared_pool.update(
            workers=workers,
            pool=concurrent.futures.ProcessPoolExecutor(
                max_workers=workers, mp_context=context, initializer=_exit_with_parent
            ),
        )
    return _shared_pool["pool"]


def _exit_with_parent():
    """Worker initializer: exit when the parent process dies. Idle workers of a killed run
    would otherwise live on, holding its output pipes open. Ctrl-C, which a terminal sends
    to every process of the run, is the parent's to handle: a worker took it for its own and
    printed a KeyboardInterrupt traceback."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    parent = multiprocessing.parent_process()
    if parent is not None:
        threading.Thread(target=lambda: (parent.join(), os._exit(1)), daemon=True).start()


def _discard_pool():
    """Shut the shared pool down without waiting (after an error it may be broken or busy)."""
    pool = _shared_pool["pool"]
    _shared_pool.update(workers=None, pool=None)
    if pool is not None:
        pool.shutdown(wait=False, cancel_futures=True)


def _run(feature_sets, jobs, function, *, cache, cache_namespace, workers, progress):
    """Shared driver: cache lookup, parallel extraction, sharded cache writes.

    Each job computes the sets the cache misses for it, in one openSMILE run per config.
    Returns ``{feature set: {key: features}}``.
    """
    if not isinstance(workers, int) or workers < 1:
        raise ValueError(f"The 'workers' parameter must be a positive integer. Got {workers!r}.")
    if cache is not None and cache_namespace is None:
        raise ValueError("A cache needs a 'cache_namespace' (the corpus sha256 or another content key).")
    results = {
        feature_set: cache.get(cache_namespace, feature_set.cache_key, jobs) if cache is not None else {}
        for feature_set in feature_sets
    }
    missing = {
        key: tuple(feature_set for feature_set in feature_sets if key not in results[feature_set]) for key in jobs
    }
    todo = [key for key in jobs if missing[key]]
    for feature_set, found in results.items():
        if found:
            logger.debug("%s: %d of %d utterances read from %s.", feature_set.value, len(found), len(jobs), cache)
    pending = {feature_set: {} for feature_set in feature_sets}
    counts = {feature_set: [] for feature_set in feature_sets}
    unreadable = []

    def collect(key, output):
        if isinstance(output, str):
            unreadable.append(output)
            return
        for feature_set, (features, count) in output.items():
            results[feature_set][key] = features
            counts[feature_set].append(count)
            if cache is not None:
                pending[feature_set][key] = features
                if len(pending[feature_set]) >= SHARD_UTTERANCES:
                    cache.put(cache_namespace, feature_set.cache_key, pending[feature_set])
                    pending[feature_set].clear()

    # One set by name; several by count, so the bar keeps its width on an 80-column terminal.
    names = feature_sets[0].value if len(feature_sets) == 1 else f"{len(feature_sets)} feature sets"
    bar = tqdm.tqdm(
        total=len(todo), desc=f"openSMILE {names}", unit="utt", disable=None if progress and todo else True
    )  # None: no bar when stderr is not a terminal
    try:
        # Always in worker processes, never in the caller: openSMILE's native library corrupts
        # the heap ("malloc(): invalid size") in a process that has imported TensorFlow.
        if todo:
            try:
                pool = _pool(workers)
                futures = {pool.submit(function, missing[key], jobs[key]): key for key in todo}
                for future in concurrent.futures.as_completed(futures):
                    collect(futures[future], future.result())
                    bar.update()
            except BaseException:
                _discard_pool()  # fail fast (the pool may be broken), keep finished work
                raise
    finally:
        bar.close()
        for feature_set, features in pending.items():
            if features:
                cache.put(cache_namespace, feature_set.cache_key, features)
    for feature_set in feature_sets:
        _report_non_finite(feature_set, counts[feature_set], sum(feature_set in sets for sets in missing.values()))
    if unreadable:
        logger.warning("%d unreadable audio files skipped: %s", len(unreadable), "; ".join(unreadable))
    return {feature_set: {key: found[key] for key in jobs if key in found} for feature_set, found in results.items()}


def extract_utterances(
    feature_set,
    utterances: Sequence,
    *,
    cache=None,
    cache_namespace=None,
    workers=2,
    progress=True,
    skip_unreadable=False,
):
    """``{utterance.id: features}`` for corpus utterances, audio read with ``load_waveform``.

    Pass ``cache_namespace=corpus.sha256`` with a cache: hits are read, the rest extracted
    on ``workers`` processes and written back in shards of ``SHARD_UTTERANCES``. An
    unreadable file raises its ``AudioError``, or with ``skip_unreadable=True`` is logged
    and left out of the result (work finished before an error is cached either way).
    """
    feature_set = as_feature_set(feature_set)
    return extract_utterance_sets(
        [feature_set],
        utterances,
        cache=cache,
        cache_namespace=cache_namespace,
        workers=workers,
        progress=progress,
        skip_unreadable=skip_unreadable,
    )[feature_set]


def extract_utterance_sets(
    feature_sets,
    utterances: Sequence,
    *,
    cache=None,
    cache_namespace=None,
    workers=2,
    progress=True,
    skip_unreadable=False,
):
    """``{feature set: {utterance.id: features}}``: :func:`extract_utterances` for several
    sets at once, reading each file once; sets of one openSMILE config (ComParE's LLDs and
    functionals) come from one openSMILE run per utterance."""
    feature_sets = tuple(dict.fromkeys(as_feature_set(feature_set) for feature_set in feature_sets))
    jobs = {utterance.id: utterance.path for utterance in utterances}
    if len(jobs) != len(utterances):
        raise ValueError("extract_utterances got duplicate utterance ids.")
    function = functools.partial(_extract_path, skip_unreadable=skip_unreadable)
    return _run(
        feature_sets, jobs, function, cache=cache, cache_namespace=cache_namespace, workers=workers, progress=progress
    )


def extract_signals(
    feature_set, signals: Mapping[str, np.ndarray], *, cache=None, cache_namespace=None, workers=2, progress=True
):
    """``{key: features}`` for in-memory 16 kHz signals (e.g. relevance signals).

    ``cache_namespace`` must identify the signals' content (e.g. a hash of the model and
    relevance settings), since the keys alone do not.
    """
    feature_set = as_feature_set(feature_set)
    return _run(
        (feature_set,),
        dict(signals),
        _extract_array,
        cache=cache,
        cache_namespace=cache_namespace,
        workers=workers,
        progress=progress,
    )[feature_set]
