"""HDF5 feature cache keyed by corpus hash + feature set + utterance id (SHORT §2.2 features).

Layout: ``<root>/<namespace>/<feature_key>/part-*.h5``. The namespace is the corpus
SHA-256 (or any other content key, e.g. for relevance signals); the feature key names the
feature set and the extractor version. Each :meth:`FeatureCache.put` writes one new *shard*
through :func:`ser_keras.io.atomic_path` (temporary sibling + ``os.replace``), so a killed
writer leaves either a complete shard or nothing a reader looks at: temporaries never match
``part-*.h5``. A shard that still fails to open or lacks its datasets (disk trouble, a copy
cut short) is reported, removed and its utterances are extracted again.

A shard stores every utterance's rows concatenated in one ``data`` matrix with ``ids`` and
row ``offsets`` beside it — one dataset instead of thousands keeps reads fast. Arrays of one
namespace/feature key must share their last dimension and rank (1-D functionals or 2-D
frames × D).
"""

import logging
import os
import re
import uuid
from collections.abc import Iterable, Mapping
from pathlib import Path

import h5py
import numpy as np

from ser_keras.io import atomic_path

logger = logging.getLogger(__name__)

_SAFE_NAME = re.compile(r"^[A-Za-z0-9_.+-]{1,128}$")
_SHARD_GLOB = "part-*.h5"


def default_cache_dir():
    """``$SER_KERAS_CACHE/features``, or ``~/.cache/ser_keras/features`` when unset."""
    base = os.environ.get("SER_KERAS_CACHE") or os.path.join(os.path.expanduser("~"), ".cache", "ser_keras")
    return Path(base) / "features"


def _check_name(kind, value):
    if not isinstance(value, str) or not _SAFE_NAME.match(value):
        raise ValueError(
            f"The {kind!r} parameter of FeatureCache must be 1-128 characters from [A-Za-z0-9_.+-]. Got {value!r}."
        )
    return value


class FeatureCache:
    """Per-utterance feature arrays stored in atomically written HDF5 shards."""

    def __init__(self, path=None):
        self.root = Path(path) if path is not None else default_cache_dir()

    def __repr__(self):
        return f"FeatureCache({str(self.root)!r})"

    def directory(self, namespace, feature_key):
        """Folder holding the shards of one namespace and feature key."""
        return self.root / _check_name("namespace", namespace) / _check_name("feature_key", feature_key)

    def _shards(self, namespace, feature_key):
        """Open-able shards as ``(path, ids, offsets)``; corrupt ones are removed with a warning."""
        directory = self.directory(namespace, feature_key)
        shards = []
        for shard in sorted(directory.glob(_SHARD_GLOB)):
            try:
                with h5py.File(shard, "r") as handle:
                    ids = [name.decode() if isinstance(name, bytes) else name for name in handle["ids"][()]]
                    offsets = handle["offsets"][()]
                    rows = handle["data"].shape[0]
                if len(offsets) != len(ids) + 1 or offsets[-1] != rows:
                    raise ValueError(f"{len(ids)} ids, {len(offsets)} offsets, {rows} rows")
            except (OSError, KeyError, ValueError) as error:
                logger.warning(
                    "Feature cache shard %s is unreadable (%s); removing it, its utterances will be extracted again.",
                    shard,
                    error,
                )
                shard.unlink(missing_ok=True)
                continue
            shards.append((shard, ids, offsets))
        return shards

    def contains(self, namespace, feature_key):
        """Set of utterance ids held for ``namespace`` / ``feature_key``."""
        return {utterance for _, ids, _ in self._shards(namespace, feature_key) for utterance in ids}

    def get(self, namespace, feature_key, ids: Iterable[str]):
        """``{id: array}`` for the requested ids that are cached (missing ids are left out)."""
        wanted = set(ids)
        found = {}
        for shard, shard_ids, offsets in self._shards(namespace, feature_key):
            hits = [(index, name) for index, name in enumerate(shard_ids) if name in wanted]
            if not hits:
                continue
            try:
                with h5py.File(shard, "r") as handle:
                    data = handle["data"][()]
                    one_dimensional = bool(handle.attrs["one_dimensional"])
            except (OSError, KeyError) as error:
                logger.warning("Feature cache shard %s could not be read (%s); skipping it.", shard, error)
                continue
            for index, name in hits:
                rows = data[offsets[index] : offsets[index + 1]].copy()
                found[name] = rows[0] if one_dimensional else rows
        return found

    def put(self, namespace, feature_key, features: Mapping[str, np.ndarray]):
        """Write ``features`` as one new shard, atomically; returns its path (None if empty)."""
        if not features:
            return None
        arrays = {name: np.asarray(value, dtype=np.float32) for name, value in features.items()}
        ranks = {array.ndim for array in arrays.values()}
        widths = {array.shape[-1] for array in arrays.values()}
        if len(ranks) != 1 or ranks.pop() not in (1, 2) or len(widths) != 1:
            shapes = sorted({array.shape for array in arrays.values()})[:5]
            raise ValueError(
                f"FeatureCache.put needs arrays of one rank (1 or 2) and one last dimension; got shapes {shapes}."
            )
        one_dimensional = next(iter(arrays.values())).ndim == 1
        names = list(arrays)
        blocks = [arrays[name].reshape(1, -1) if one_dimensional else arrays[name] for name in names]
        offsets = np.concatenate([[0], np.cumsum([len(block) for block in blocks])]).astype(np.int64)
        directory = self.directory(namespace, feature_key)
        shard = directory / f"part-{uuid.uuid4().hex}.h5"
        with atomic_path(shard) as temporary:
            with h5py.File(temporary, "w") as handle:
                handle.create_dataset("data", data=np.concatenate(blocks, axis=0))
                handle.create_dataset("ids", data=np.array(names, dtype=object), dtype=h5py.string_dtype())
                handle.create_dataset("offsets", data=offsets)
                handle.attrs["one_dimensional"] = one_dimensional
        return shard
