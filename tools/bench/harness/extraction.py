"""openSMILE extraction speed and the feature cache as a benchmark (features of SHORT §2.2)."""

import time


def feature_extraction_figures(utterances, *, cache_dir, workers=(1, 2)):
    """Wall time of ComParE LLD + functionals extraction on 1 and 2 worker processes, and of
    a re-run that hits a fresh ``FeatureCache`` in ``cache_dir``.

    The worker-count runs write no cache, so they time extraction alone. An untimed
    1-worker extraction first starts openSMILE's fork server and leaves a warm 1-worker
    pool: the 1-worker run starts warm, the 2-worker run starts its two workers (the
    speed-up is, if anything, understated). A further run on the last worker count
    fills the cache and the re-run reads it. Returns seconds per run, the real-time factors
    (extraction seconds per audio second) and the speed-ups.
    """
    import numpy as np
    import soundfile

    from ser_keras.features.cache import FeatureCache
    from ser_keras.features.opensmile_sets import FeatureSet, extract_signals, extract_utterances

    audio_s = sum(u.duration if u.duration is not None else soundfile.info(u.path).duration for u in utterances)
    feature_sets = (FeatureSet.ComParE_2016_LLD, FeatureSet.ComParE_2016_functionals)

    def extract(count, cache=None):
        started = time.perf_counter()
        for feature_set in feature_sets:
            extract_utterances(
                feature_set,
                utterances,
                workers=count,
                progress=False,
                cache=cache,
                cache_namespace=None if cache is None else "benchmark",
            )
        return time.perf_counter() - started

    extract_signals(
        FeatureSet.ComParE_2016_functionals, {"warm-up": np.zeros(16000, np.float32)}, workers=1, progress=False
    )
    seconds = {count: extract(count) for count in workers}
    cache = FeatureCache(cache_dir)
    fill_s = extract(workers[-1], cache)
    hit_s = extract(workers[-1], cache)
    return {
        "utterances": len(utterances),
        "audio_s": audio_s,
        "seconds": seconds,
        "real_time_factor": {count: value / audio_s for count, value in seconds.items()},
        "speedup": seconds[workers[0]] / seconds[workers[-1]],
        "cache_fill_s": fill_s,
        "cache_hit_s": hit_s,
        "cache_speedup": fill_s / hit_s,
    }
