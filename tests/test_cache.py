"""Feature cache: round trips, atomic shards under interrupted and killed writers, corrupt files."""

import logging
import os
import signal
import subprocess
import sys
import textwrap

import h5py
import numpy as np
import pytest

from ser_keras.features.cache import FeatureCache, default_cache_dir

NAMESPACE, KEY = "0123abcd", "ComParE_2016_LLD-test"


def test_round_trip_of_frame_matrices_and_vectors(tmp_path):
    cache = FeatureCache(tmp_path)
    frames = {
        "Ses01F_impro01_F000": np.arange(12, dtype=np.float32).reshape(4, 3),
        "speaker/with/slash": np.ones((1, 3), np.float32),
        "empty": np.zeros((0, 3), np.float32),
    }
    cache.put(NAMESPACE, KEY, frames)
    cache.put(NAMESPACE, "functionals", {"a": np.arange(5, dtype=np.float32)})
    found = cache.get(NAMESPACE, KEY, list(frames) + ["absent"])
    assert set(found) == set(frames)
    for name, value in frames.items():
        np.testing.assert_array_equal(found[name], value)
        assert found[name].shape == value.shape
    np.testing.assert_array_equal(cache.get(NAMESPACE, "functionals", ["a"])["a"], np.arange(5))
    assert cache.contains(NAMESPACE, KEY) == set(frames)


def test_shards_from_several_runs_are_read_together(tmp_path):
    cache = FeatureCache(tmp_path)
    cache.put(NAMESPACE, KEY, {"a": np.zeros((2, 3), np.float32)})
    cache.put(NAMESPACE, KEY, {"b": np.ones((3, 3), np.float32)})
    assert set(cache.get(NAMESPACE, KEY, ["a", "b"])) == {"a", "b"}


@pytest.mark.reliability
def test_write_interrupted_by_an_exception_leaves_nothing(tmp_path, monkeypatch):
    cache = FeatureCache(tmp_path)
    original = h5py.Group.create_dataset

    def fail_on_offsets(self, name, *args, **kwargs):
        if name == "offsets":  # data and ids already written
            raise RuntimeError("simulated crash mid-write")
        return original(self, name, *args, **kwargs)

    monkeypatch.setattr(h5py.Group, "create_dataset", fail_on_offsets)
    with pytest.raises(RuntimeError, match="simulated"):
        cache.put(NAMESPACE, KEY, {"a": np.ones((5, 3), np.float32)})
    monkeypatch.undo()
    assert cache.contains(NAMESPACE, KEY) == set()
    assert os.listdir(cache.directory(NAMESPACE, KEY)) == []


@pytest.mark.reliability
def test_killed_writer_never_reads_as_complete(tmp_path):
    child = textwrap.dedent(f"""
        import sys, time, h5py, numpy as np
        from ser_keras.features.cache import FeatureCache
        original = h5py.Group.create_dataset
        def slow(self, name, *args, **kwargs):
            result = original(self, name, *args, **kwargs)
            if name == "ids":
                self.file.flush()
                print("writing", flush=True)
                time.sleep(60)
            return result
        h5py.Group.create_dataset = slow
        FeatureCache({str(tmp_path)!r}).put({NAMESPACE!r}, {KEY!r}, {{"a": np.ones((50, 3), np.float32)}})
    """)
    process = subprocess.Popen([sys.executable, "-c", child], stdout=subprocess.PIPE, text=True)
    try:
        assert process.stdout.readline().strip() == "writing"
        os.kill(process.pid, signal.SIGKILL)
    finally:
        process.wait(timeout=30)
    cache = FeatureCache(tmp_path)
    leftovers = os.listdir(cache.directory(NAMESPACE, KEY))
    assert leftovers and all(name.endswith(".tmp") for name in leftovers)  # the half-written temporary
    assert cache.contains(NAMESPACE, KEY) == set()
    assert cache.get(NAMESPACE, KEY, ["a"]) == {}


@pytest.mark.reliability
def test_truncated_shard_is_ignored_and_removed(tmp_path, caplog):
    cache = FeatureCache(tmp_path)
    good = cache.put(NAMESPACE, KEY, {"good": np.ones((4, 3), np.float32)})
    bad = cache.put(NAMESPACE, KEY, {"bad": np.ones((400, 3), np.float32)})
    with open(bad, "r+b") as handle:
        handle.truncate(os.path.getsize(bad) // 2)
    with caplog.at_level(logging.WARNING):
        found = cache.get(NAMESPACE, KEY, ["good", "bad"])
    assert set(found) == {"good"}
    assert "unreadable" in caplog.text and not bad.exists() and good.exists()


def test_names_are_validated_and_default_dir_follows_environment(tmp_path, monkeypatch):
    with pytest.raises(ValueError, match="namespace"):
        FeatureCache(tmp_path).get("../escape", KEY, ["a"])
    with pytest.raises(ValueError, match="one rank"):
        FeatureCache(tmp_path).put(NAMESPACE, KEY, {"a": np.ones((2, 3)), "b": np.ones((2, 4))})
    monkeypatch.setenv("SER_KERAS_CACHE", str(tmp_path))
    assert default_cache_dir() == tmp_path / "features"
    assert FeatureCache().root == tmp_path / "features"
