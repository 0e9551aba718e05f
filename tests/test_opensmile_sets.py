"""openSMILE feature sets: dimensions, LLD/delta alignment, NaN handling, workers and cache."""

import concurrent.futures
import logging
import os
import signal
import subprocess
import sys

import numpy as np
import opensmile
import pytest
import soundfile

from ser_keras.data.audio import AudioError
from ser_keras.data.corpus import Utterance
from ser_keras.features import opensmile_sets
from ser_keras.features.cache import FeatureCache
from ser_keras.features.opensmile_sets import (
    FeatureSet,
    extract_signal,
    extract_signals,
    extract_utterance_sets,
    extract_utterances,
    feature_names,
)

RATE = 16000


def _tone(seconds=1.0, frequency=220.0, seed=0):
    time = np.arange(int(seconds * RATE)) / RATE
    noise = np.random.default_rng(seed).normal(0, 0.01, len(time))
    return (0.5 * np.sin(2 * np.pi * frequency * time) + noise).astype(np.float32)


@pytest.mark.parametrize(
    "feature_set, shape",
    [
        (FeatureSet.ComParE_2016_LLD, (96, 130)),
        (FeatureSet.ComParE_2016_functionals, (6373,)),
        (FeatureSet.eGeMAPSv01b_LLD, (96, 23)),
        (FeatureSet.IS10_functionals, (1582,)),
    ],
)
def test_dimensions_on_a_one_second_tone(feature_set, shape):
    features = extract_signal(feature_set, _tone())
    assert features.shape == shape and features.dtype == np.float32
    assert np.isfinite(features).all()
    assert len(feature_names(feature_set)) == shape[-1] == feature_set.dimension


def _raw_compare_llds(signal):
    """openSMILE's own LLD stream, computed in a worker: openSMILE corrupts the heap in a
    process that imported TensorFlow first (as this pytest process may have)."""
    smile = opensmile.Smile(
        feature_set=opensmile.FeatureSet.ComParE_2016, feature_level=opensmile.FeatureLevel.LowLevelDescriptors
    )
    return smile.process_signal(signal, RATE).to_numpy(np.float32)


def test_compare_lld_stacks_aligned_llds_and_deltas():
    signal = _tone(1.3)
    features = extract_signal("ComParE_2016_LLD", signal)
    names = feature_names("ComParE_2016_LLD")
    assert names[0] == "F0final_sma" and names[65] == "F0final_sma_de"
    llds = opensmile_sets._pool(1).submit(_raw_compare_llds, signal).result()
    assert len(features) == len(llds)
    np.testing.assert_array_equal(features[:, :65], llds)
    # openSMILE deltas: regression over frames t-2..t+2. Row t must match at offset 0, not ±1.
    lld, delta = features[:, :65].astype(np.float64), features[:, 65:].astype(np.float64)
    regression = sum(k * (lld[2 + k : len(lld) - 2 + k] - lld[2 - k : len(lld) - 2 - k]) for k in (1, 2)) / 10
    errors = {
        offset: np.median(np.abs(regression - delta[2 + offset : len(lld) - 2 + offset])) for offset in (-1, 0, 1)
    }
    assert errors[0] < 1e-3 * min(errors[-1], errors[1])


def _smile_levels_and_one_run(signal):
    """Each level as ``opensmile.Smile`` computes it (one run per level), and all levels of
    a config from the one run of ``_run_config``; in a worker, as above."""
    compare = (
        opensmile.FeatureLevel.LowLevelDescriptors,
        opensmile.FeatureLevel.LowLevelDescriptors_Deltas,
        opensmile.FeatureLevel.Functionals,
    )
    configs = {
        opensmile.FeatureSet.ComParE_2016: compare,
        opensmile.FeatureSet.eGeMAPSv01b: (opensmile.FeatureLevel.LowLevelDescriptors,),
        opensmile.FeatureSet.IS10: (opensmile.FeatureLevel.Functionals,),
    }
    pairs = []
    for smile_set, levels in configs.items():
        together = opensmile_sets._run_config(smile_set, levels, signal)
        for level in levels:
            alone = opensmile.Smile(feature_set=smile_set, feature_level=level).process_signal(signal, RATE)
            pairs.append((f"{smile_set.value} {level.value}", alone.to_numpy(np.float32), together[level]))
    return pairs


@pytest.mark.parametrize("seconds", [1.3, 0.02])
def test_one_openSMILE_run_per_config_gives_each_level_as_opensmile_computes_it(seconds):
    """The reference is opensmile's own ``Smile``, one level per run; 0.02 s yields no frame
    (``Smile`` then fills one NaN row)."""
    for name, alone, together in opensmile_sets._pool(1).submit(_smile_levels_and_one_run, _tone(seconds)).result():
        assert alone.shape == together.shape, name
        np.testing.assert_array_equal(together, alone, err_msg=name)


def _tone_utterances(folder, seconds, base_frequency, step):
    """Two utterances ``utt0``, ``utt1``: tones written as 16-bit WAV files in ``folder``."""
    utterances = []
    for index in range(2):
        path = folder / f"utt{index}.wav"
        soundfile.write(path, _tone(seconds, base_frequency + step * index, seed=index), RATE, subtype="PCM_16")
        utterances.append(Utterance(id=f"utt{index}", path=str(path), speaker="s1"))
    return utterances


def test_sets_extracted_together_equal_sets_extracted_alone_and_only_missing_sets_run(tmp_path):
    utterances = _tone_utterances(tmp_path, 0.4, 180.0, 60)
    sets = [FeatureSet.ComParE_2016_LLD, FeatureSet.ComParE_2016_functionals, FeatureSet.eGeMAPSv01b_LLD]
    cache = FeatureCache(tmp_path / "cache")
    extract_utterances(sets[0], utterances, cache=cache, cache_namespace="corpus-sha", workers=1, progress=False)
    together = extract_utterance_sets(
        sets, utterances, cache=cache, cache_namespace="corpus-sha", workers=2, progress=False
    )
    assert list(together) == sets
    for feature_set in sets:
        alone = extract_utterances(feature_set, utterances, workers=1, progress=False)
        assert list(together[feature_set]) == ["utt0", "utt1"]
        for key in alone:
            np.testing.assert_array_equal(together[feature_set][key], alone[key])
        assert cache.contains("corpus-sha", feature_set.cache_key) == {"utt0", "utt1"}
    # The LLDs came from the cache: the one shard the first call wrote.
    assert len(list(cache.directory("corpus-sha", sets[0].cache_key).iterdir())) == 1


@pytest.mark.reliability
def test_too_short_signals_give_finite_zeros_and_a_count(caplog):
    with caplog.at_level(logging.WARNING):
        features = extract_signal("ComParE_2016_LLD", _tone(0.02))
    assert features.shape == (1, 130) and np.isfinite(features).all()
    assert "130 values from 1 of 1 utterances were NaN" in caplog.text
    assert extract_signal("ComParE_2016_functionals", np.zeros(0, np.float32)).shape == (6373,)
    assert extract_signal("eGeMAPSv01b_LLD", np.zeros(10, np.float32)).shape == (1, 23)


def test_calls_share_one_worker_pool_and_a_broken_pool_is_replaced():
    first = extract_signal("eGeMAPSv01b_LLD", _tone(0.3))
    pool = opensmile_sets._pool(1)
    np.testing.assert_array_equal(extract_signal("eGeMAPSv01b_LLD", _tone(0.3)), first)
    assert opensmile_sets._pool(1) is pool
    with pytest.raises(concurrent.futures.process.BrokenProcessPool):
        pool.submit(os._exit, 1).result()  # a worker dies, as on a native openSMILE crash
    with pytest.raises(concurrent.futures.process.BrokenProcessPool):
        extract_signal("eGeMAPSv01b_LLD", _tone(0.3))  # this call fails, naming the broken pool
    np.testing.assert_array_equal(extract_signal("eGeMAPSv01b_LLD", _tone(0.3)), first)  # the next one works
    assert opensmile_sets._pool(1) is not pool


def test_two_workers_match_serial_extraction_and_cache_hits_skip_openSMILE(tmp_path, monkeypatch):
    signals = {"long": _tone(0.5), "short": _tone(0.02, seed=1), "other": _tone(0.4, 330.0, seed=2)}
    cache = FeatureCache(tmp_path)
    parallel = extract_signals(
        "eGeMAPSv01b_LLD", signals, cache=cache, cache_namespace="relevance-x", workers=2, progress=False
    )
    assert list(parallel) == list(signals)
    for key, waveform in signals.items():
        np.testing.assert_array_equal(parallel[key], extract_signal("eGeMAPSv01b_LLD", waveform))

    def refuse(*args):
        raise AssertionError("extraction ran although the cache holds every signal")

    monkeypatch.setattr(opensmile_sets, "_process", refuse)
    cached = extract_signals(
        "eGeMAPSv01b_LLD", signals, cache=cache, cache_namespace="relevance-x", workers=2, progress=False
    )
    for key in signals:
        np.testing.assert_array_equal(cached[key], parallel[key])


def test_extract_utterances_reads_wav_files_and_fills_the_cache(tmp_path):
    utterances = _tone_utterances(tmp_path, 0.3, 200.0, 50)
    cache = FeatureCache(tmp_path / "cache")
    features = extract_utterances(
        "IS10_functionals", utterances, cache=cache, cache_namespace="corpus-sha", workers=1, progress=False
    )
    assert {key: value.shape for key, value in features.items()} == {"utt0": (1582,), "utt1": (1582,)}
    assert cache.contains("corpus-sha", FeatureSet.IS10_functionals.cache_key) == {"utt0", "utt1"}
    broken = tmp_path / "broken.wav"
    broken.write_bytes(b"RIFF not really a wav file")
    utterances.append(Utterance(id="broken", path=str(broken), speaker="s1"))
    with pytest.raises(AudioError, match="broken.wav"):
        extract_utterances("IS10_functionals", utterances, workers=1, progress=False)
    kept = extract_utterances("IS10_functionals", utterances, workers=1, progress=False, skip_unreadable=True)
    assert set(kept) == {"utt0", "utt1"}


def test_invalid_arguments():
    with pytest.raises(ValueError, match="Unknown feature set"):
        extract_signal("ComParE_2013", _tone(0.1))
    with pytest.raises(ValueError, match="cache_namespace"):
        extract_signals("IS10_functionals", {"a": _tone(0.1)}, cache=FeatureCache("/tmp/unused"), progress=False)
    with pytest.raises(ValueError, match="workers"):
        extract_signals("IS10_functionals", {"a": _tone(0.1)}, workers=0, progress=False)


@pytest.mark.reliability
def test_workers_of_a_killed_process_exit_with_it(tmp_path):
    script = tmp_path / "killed.py"
    script.write_text(
        "import os, signal\nimport numpy as np\n"
        "from ser_keras.features.opensmile_sets import extract_signal\n"
        "if __name__ == '__main__':\n"
        "    extract_signal('eGeMAPSv01b_LLD', np.zeros(8000, np.float32))  # leaves an idle pool\n"
        "    os.kill(os.getpid(), signal.SIGKILL)\n"
    )
    # Output pipes reach EOF only when every process holding them (the idle workers and
    # the fork server included) is gone; an orphaned worker would hang this call.
    done = subprocess.run([sys.executable, str(script)], capture_output=True, timeout=120)
    assert done.returncode == -signal.SIGKILL, done.stderr[-2000:]
