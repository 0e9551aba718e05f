"""Bag-of-Audio-Words histograms equivalent to openXBOW (SHORT §2.2, BoAW rows of Table 1).

Pipeline, in openXBOW's order: optional input standardisation (z-score over all training
frames, std with n−1, zero std → 1; statistics kept) → one ``random++`` codebook per
attribute subset (k-means++ seeding without Lloyd iterations) → each frame adds +1 to its
``assignments`` nearest codewords (squared Euclidean) → sub-bags concatenated → empty bags
filled with 0.001 → optional log10(tf + 1) and idf weighting → optional bag normalisation
(openXBOW ``-norm`` 1/2/3: by frame count, by sum, to unit Euclidean length) → optional
output standardisation with training statistics.

Seeding follows openXBOW's ``CodebookNumeric.randomSamplingPlusPlus``: a
``java.util.Random(seed)`` per codebook (default seed 10) picks the first codeword with
``nextInt(N)``; every next one is the first frame whose cumulative probability (∝ squared
distance to the nearest chosen codeword) exceeds ``nextDouble()``. Java's generator is a
documented 48-bit LCG and is reproduced exactly here, so codebooks match openXBOW's up to
floating-point rounding (distances are computed as |x|² + |c|² − 2x·c, not term by term).

Codebook learning is O(frames × size × D). ``max_codebook_frames`` draws that many
training frames uniformly without replacement (numpy RNG seeded by ``seed``) before
seeding, like openXBOW's ``-numTrain``; the default ``None`` uses every frame (openXBOW's
default); an IEMOCAP training fold (~3.5M frames) takes minutes per codebook unless sampled.
Assignment is vectorised over chunks of ``chunk_size`` frames, so the distance matrix never
exceeds ``chunk_size × size`` float64 values.
"""

import numpy as np
from sklearn.base import BaseEstimator, TransformerMixin

EMPTY_BAG_FILL = 0.001
NORMALIZATIONS = (None, "frames", "sum", "l2")


class JavaRandom:
    """``java.util.Random``: the 48-bit LCG of the Java SE specification."""

    _MULTIPLIER, _ADDEND, _MASK = 0x5DEECE66D, 0xB, (1 << 48) - 1

    def __init__(self, seed):
        self._seed = (int(seed) ^ self._MULTIPLIER) & self._MASK

    def _next(self, bits):
        self._seed = (self._seed * self._MULTIPLIER + self._ADDEND) & self._MASK
        value = self._seed >> (48 - bits)
        return value - (1 << 32) if bits == 32 and value >= 1 << 31 else value

    def next_int(self, bound=None):
        """``nextInt()`` (signed 32 bit) or ``nextInt(bound)`` in ``[0, bound)``."""
        if bound is None:
            return self._next(32)
        if bound <= 0:
            raise ValueError(f"nextInt bound must be positive. Got {bound!r}.")
        if bound & (bound - 1) == 0:
            return (bound * self._next(31)) >> 31
        while True:
            bits = self._next(31)
            value = bits % bound
            if bits - value + (bound - 1) < 1 << 31:  # Java rejects draws that overflow int
                return value

    def next_double(self):
        return ((self._next(26) << 27) + self._next(27)) * 2.0**-53


def random_plus_plus(frames, size, *, seed=10):
    """openXBOW ``random++`` codebook: ``size`` rows of ``frames`` chosen by k-means++ seeding."""
    frames = np.asarray(frames, dtype=np.float32)
    if len(frames) < size:
        raise ValueError(
            f"A codebook of {size} words needs at least {size} training frames; "
            f"got {len(frames)}. Lower codebook_size or add training data."
        )
    norms = np.einsum("ij,ij->i", frames, frames, dtype=np.float64)
    candidate = np.empty(len(frames), dtype=np.float64)

    def squared_distances(index):
        # |x|^2 + |c|^2 - 2 x.c: one float32 matrix-vector product per step, no N x D temporary.
        np.multiply(frames @ frames[index], -2.0, out=candidate)
        np.add(candidate, norms, out=candidate)
        np.add(candidate, norms[index], out=candidate)
        candidate[index] = 0.0
        return np.maximum(candidate, 0.0, out=candidate)

    rng = JavaRandom(seed)
    chosen = [rng.next_int(len(frames))]
    distances = squared_distances(chosen[0]).copy()
    cumulative = np.empty_like(distances)
    for _ in range(1, size):
        np.cumsum(distances, out=cumulative)
        total = cumulative[-1]
        # First frame whose cumulative probability exceeds the draw (openXBOW's linear scan);
        # with all distances 0 openXBOW's scan ends on the last frame.
        draw = rng.next_double()
        index = int(np.searchsorted(cumulative, draw * total, side="right")) if total > 0 else len(frames) - 1
        index = min(index, len(frames) - 1)
        chosen.append(index)
        np.minimum(distances, squared_distances(index), out=distances)
    return frames[chosen].copy()


def nearest_codewords(frames, codebook, assignments=1, *, chunk_size=8192):
    """Indices (n, assignments) of each frame's nearest codewords, ties to the lower index."""
    frames = np.asarray(frames, dtype=np.float64)
    codebook = np.asarray(codebook, dtype=np.float64)
    codebook_norms = np.einsum("ij,ij->i", codebook, codebook)
    result = np.empty((len(frames), assignments), dtype=np.int64)
    for start in range(0, len(frames), chunk_size):
        chunk = frames[start : start + chunk_size]
        distances = codebook_norms[None, :] - 2.0 * chunk @ codebook.T
        if assignments == 1:
            result[start : start + chunk_size, 0] = np.argmin(distances, axis=1)
        else:
            result[start : start + chunk_size] = np.argsort(distances, axis=1, kind="stable")[:, :assignments]
    return result


class BagOfAudioWords(TransformerMixin, BaseEstimator):
    """openXBOW-style BoAW: ``fit(list of frames × D arrays)``, ``transform(list) -> (n, bins)``.

    ``subsets``: column selections (slices or index lists), one codebook each — e.g.
    ``[slice(0, 65), slice(65, 130)]`` for ComParE LLDs and deltas; ``None`` = all columns.
    ``codebook_size``: int, or one int per subset.
    """

    def __init__(
        self,
        codebook_size=500,
        *,
        assignments=1,
        subsets=None,
        standardize_input=False,
        log_weighting=False,
        idf=False,
        normalize=None,
        standardize_output=False,
        seed=10,
        max_codebook_frames=None,
        chunk_size=8192,
    ):
        self.codebook_size = codebook_size
        self.assignments = assignments
        self.subsets = subsets
        self.standardize_input = standardize_input
        self.log_weighting = log_weighting
        self.idf = idf
        self.normalize = normalize
        self.standardize_output = standardize_output
        self.seed = seed
        self.max_codebook_frames = max_codebook_frames
        self.chunk_size = chunk_size

    def _subset_list(self, width):
        subsets = self.subsets if self.subsets is not None else [slice(0, width)]
        columns = [np.arange(width)[subset] for subset in subsets]
        if any(len(selection) == 0 for selection in columns):
            raise ValueError(
                f"Every entry of 'subsets' must select at least one of {width} columns. Got {self.subsets!r}."
            )
        return columns

    def _sizes(self, count):
        sizes = [self.codebook_size] * count if np.isscalar(self.codebook_size) else list(self.codebook_size)
        if len(sizes) != count or any(int(size) < 1 for size in sizes):
            raise ValueError(
                f"'codebook_size' must be a positive int or one per subset ({count}). Got {self.codebook_size!r}."
            )
        return [int(size) for size in sizes]

    def _check_input(self, bags, width=None):
        if isinstance(bags, np.ndarray) and bags.ndim != 1:
            raise TypeError(
                "BagOfAudioWords takes a list of (frames × D) arrays, one per utterance; "
                f"got one array of shape {bags.shape}."
            )
        bags = [np.asarray(bag, dtype=np.float32) for bag in bags]
        if not bags:
            raise ValueError("BagOfAudioWords needs at least one utterance.")
        widths = {bag.shape[1] for bag in bags if bag.ndim == 2}
        if any(bag.ndim != 2 for bag in bags) or len(widths) != 1:
            raise ValueError(
                "Every utterance must be a 2-D (frames × D) array with the same D; got "
                f"shapes {sorted({bag.shape for bag in bags})[:5]}."
            )
        if width is not None and widths != {width}:
            raise ValueError(f"Fitted on {width} features per frame; got {widths.pop()}.")
        return bags

    def _standardized(self, frames):
        return (frames - self.input_mean_) / self.input_scale_ if self.standardize_input else frames

    def fit(self, bags, y=None):
        self._fit_transform(bags)
        return self

    def fit_transform(self, bags, y=None, **fit_params):
        return self._fit_transform(bags)

    def _fit_transform(self, bags):
        if self.assignments < 1:
            raise ValueError(f"'assignments' must be at least 1. Got {self.assignments!r}.")
        if self.normalize not in NORMALIZATIONS:
            raise ValueError(f"'normalize' must be one of {NORMALIZATIONS}. Got {self.normalize!r}.")
        bags = self._check_input(bags)
        frames = np.concatenate(bags, axis=0)
        self.n_features_in_ = frames.shape[1]
        if len(frames) < 2 and self.standardize_input:
            raise ValueError("Input standardisation needs at least two training frames.")
        if self.standardize_input:
            self.input_mean_ = frames.mean(axis=0, dtype=np.float64).astype(np.float32)
            scale = frames.std(axis=0, ddof=1, dtype=np.float64).astype(np.float32)
            self.input_scale_ = np.where(scale > 0, scale, np.float32(1))
            frames = self._standardized(frames)
        columns = self._subset_list(self.n_features_in_)
        if self.max_codebook_frames is not None and len(frames) > self.max_codebook_frames:
            # Deviation: openXBOW's -numTrain draws with its own Java RNG; here numpy's, seeded by `seed`.
            sample = np.random.default_rng(self.seed).choice(len(frames), self.max_codebook_frames, replace=False)
            frames = frames[np.sort(sample)]
        self.columns_ = columns
        self.codebooks_ = [
            random_plus_plus(frames[:, selection], size, seed=self.seed)
            for selection, size in zip(columns, self._sizes(len(columns)))
        ]
        counts = self._counts(bags)
        if self.idf:
            appears = (counts > np.finfo(np.float32).tiny).sum(axis=0)
            self.idf_ = np.where(appears > 0, np.log10(len(counts) / np.maximum(appears, 1)), 1.0)
        output = self._weighted(counts, bags)
        if self.standardize_output:
            self.output_mean_ = output.mean(axis=0)
            scale = output.std(axis=0, ddof=1) if len(output) > 1 else np.ones(output.shape[1])
            self.output_scale_ = np.where(scale > 0, scale, 1.0)
            output = (output - self.output_mean_) / self.output_scale_
        return output.astype(np.float32)

    def transform(self, bags):
        if not hasattr(self, "codebooks_"):
            raise ValueError("This BagOfAudioWords is not fitted yet; call fit on training data first.")
        bags = self._check_input(bags, self.n_features_in_)
        output = self._weighted(self._counts(bags), bags)
        if self.standardize_output:
            output = (output - self.output_mean_) / self.output_scale_
        return output.astype(np.float32)

    def _counts(self, bags):
        """Raw term frequencies (n, bins); a bag without frames is filled with 0.001."""
        lengths = np.array([len(bag) for bag in bags])
        owner = np.repeat(np.arange(len(bags)), lengths)
        frames = self._standardized(np.concatenate(bags, axis=0))
        blocks = []
        for selection, codebook in zip(self.columns_, self.codebooks_):
            words = nearest_codewords(frames[:, selection], codebook, self.assignments, chunk_size=self.chunk_size)
            flat = np.repeat(owner, self.assignments) * len(codebook) + words.reshape(-1)
            blocks.append(np.bincount(flat, minlength=len(bags) * len(codebook)).reshape(len(bags), len(codebook)))
        counts = np.concatenate(blocks, axis=1).astype(np.float64)
        counts[lengths == 0] = EMPTY_BAG_FILL
        return counts

    def _weighted(self, counts, bags):
        output = np.log10(counts + 1.0) if self.log_weighting else counts
        if self.idf:
            output = output * self.idf_
        if self.normalize is not None:
            # Deviation: openXBOW also multiplies normalised bags by the codebook size; a
            # constant factor, dropped (the classifiers standardise their input).
            if self.normalize == "frames":
                factor = np.array([len(bag) for bag in bags], dtype=np.float64)
            elif self.normalize == "sum":
                factor = output.sum(axis=1)
            else:
                factor = np.sqrt((output**2).sum(axis=1))
            output = output / np.where(factor > 0, factor, 1.0)[:, None]
        return output

    @property
    def n_bins(self):
        """Histogram length: the sum of the codebook sizes."""
        return sum(len(codebook) for codebook in self.codebooks_)
