"""Cumulative frequency response of the first convolution layer (SHORT §3.1, Fig. 2).

After Palaz et al. (2015) and Muckenhirn et al. (2018): each first-layer filter's magnitude
response |DFT| (zero-padded to ``nfft`` points) is divided by its own L2 norm, so every
filter counts equally whatever its gain, and the normalised responses are summed over
filters. The band with the highest mean response tells where the layer puts its emphasis
(SHORT: SubSeg 1-4 kHz, Seg lower frequencies).
"""

import keras
import numpy as np

from ser_keras.data.audio import SAMPLE_RATE

DEFAULT_BANDS = ((0, 1000), (1000, 4000), (4000, 8000))


def _layers_in_order(model):
    for layer in model.layers:
        if isinstance(layer, keras.Model):
            yield from _layers_in_order(layer)
        else:
            yield layer


def first_conv_kernel(model):
    """Kernel of the first Conv1D layer of ``model`` (nested models searched): (k, in, F)."""
    for layer in _layers_in_order(model):
        if isinstance(layer, keras.layers.Conv1D):
            return np.asarray(layer.kernel.numpy())
    raise ValueError(f"Model {model.name!r} has no Conv1D layer.")


def cumulative_frequency_response(kernel, *, sample_rate=SAMPLE_RATE, nfft=1024):
    """Sum over filters of each filter's L2-normalised magnitude response.

    ``kernel``: (k, 1, F) as stored by Conv1D on a one-channel waveform, or (k, F).
    Returns ``(freqs, response)``, both of length ``nfft // 2 + 1``, freqs 0..sample_rate/2.
    """
    kernel = np.asarray(kernel, dtype=np.float64)
    if kernel.ndim == 3:
        if kernel.shape[1] != 1:
            raise ValueError(
                f"The first conv layer must read a one-channel waveform; its kernel has "
                f"{kernel.shape[1]} input channels (shape {kernel.shape})."
            )
        kernel = kernel[:, 0, :]
    if kernel.ndim != 2:
        raise ValueError(f"kernel must have shape (k, 1, F) or (k, F). Got {kernel.shape}.")
    if nfft < kernel.shape[0]:
        raise ValueError(f"nfft={nfft} is shorter than the kernel of {kernel.shape[0]} taps.")
    magnitude = np.abs(np.fft.rfft(kernel, n=nfft, axis=0))
    norms = np.linalg.norm(magnitude, axis=0)
    normalised = np.divide(magnitude, norms, out=np.zeros_like(magnitude), where=norms > 0)
    return np.fft.rfftfreq(nfft, d=1.0 / sample_rate), normalised.sum(axis=1)


def _band_masks(freqs, bands):
    top = max(high for _, high in bands)
    return [(freqs >= low) & ((freqs < high) | ((high == top) & (freqs == high))) for low, high in bands]


def band_fractions(freqs, response, bands=DEFAULT_BANDS):
    """Share of the summed response in each ``[low, high)`` band (the top band includes its edge)."""
    freqs, response = np.asarray(freqs), np.asarray(response)
    total = response.sum()
    if total <= 0:
        raise ValueError("The response is zero everywhere; no band holds any mass.")
    return np.array([response[mask].sum() / total for mask in _band_masks(freqs, bands)])


def band_levels(freqs, response, bands=DEFAULT_BANDS):
    """Mean response inside each band, relative to the mean over all bands' bins (flat = 1)."""
    freqs, response = np.asarray(freqs), np.asarray(response)
    masks = _band_masks(freqs, bands)
    if any(not mask.any() for mask in masks):
        raise ValueError(f"Some band of {bands} holds no frequency bin of the response.")
    overall = response[np.any(masks, axis=0)].mean()
    if overall <= 0:
        raise ValueError("The response is zero everywhere; no band is emphasised.")
    return np.array([response[mask].mean() / overall for mask in masks])


def dominant_band(freqs, response, bands=DEFAULT_BANDS):
    """The ``(low, high)`` band the layer emphasises most: the highest mean response per bin.

    Per bin, not total mass, so that a flat response favours no band: by mass the
    4-8 kHz band would win for any nearly flat response simply by being the widest.
    """
    return tuple(bands[int(np.argmax(band_levels(freqs, response, bands)))])


def response_centroid(freqs, response):
    """Response-weighted mean frequency in Hz: one number for "emphasises lower frequencies"."""
    response = np.asarray(response, dtype=np.float64)
    if response.sum() <= 0:
        raise ValueError("The response is zero everywhere; it has no centroid.")
    return float(np.sum(np.asarray(freqs) * response) / response.sum())
