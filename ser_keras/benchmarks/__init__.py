"""Benchmark library behind ``tools/bench_*.py``: FLOP counts, a matmul ceiling, timed
training and streaming of the papers' workloads, and result records.

Not a paper section: the performance checks of the toolkit. TensorFlow, Keras and PyTorch
are imported inside the functions that use them, so table formatting needs none of them
and the PyTorch peer runs in a venv without TensorFlow.

* :mod:`~ser_keras.benchmarks.records` — the ``{"name", "value", "unit", "target", "holds"}`` records.
* :mod:`~ser_keras.benchmarks.flops` — analytic FLOP counts.
* :mod:`~ser_keras.benchmarks.timing` — two clocks, the matmul ceiling, timed training loops.
* :mod:`~ser_keras.benchmarks.workloads` — windows streaming and the models through the pipelines.
* :mod:`~ser_keras.benchmarks.peers` — the PyTorch peer.
* :mod:`~ser_keras.benchmarks.extraction` — openSMILE extraction and the feature cache.
* :mod:`~ser_keras.benchmarks.reaper` — runs a script so that all its processes' CPU time is counted.
"""

from ser_keras.benchmarks.extraction import feature_extraction_figures
from ser_keras.benchmarks.flops import (
    flops_by_layer,
    forward_flops,
    layer_forward_flops,
    split_head_training_flops,
    training_flops,
)
from ser_keras.benchmarks.peers import torch_peer_rate, torch_raw_cnn_rate
from ser_keras.benchmarks.records import (
    GB,
    RECORD_KEYS,
    benchmark_parser,
    check_records,
    finish,
    format_table,
    markdown_table,
    record,
)
from ser_keras.benchmarks.timing import (
    CLOCKS,
    MATMUL_SIZE,
    best,
    best_rate,
    clock,
    elapsed,
    elor_training_rate,
    frame_training_rate,
    in_memory_dataset,
    layer_training_rates,
    matmul_flops_per_s,
    peak_rss_bytes,
    rates,
    script_wall_time,
)
from ser_keras.benchmarks.workloads import (
    elor_rate,
    lld_mlp_rate,
    load_window_store,
    raw_cnn_rates,
    stream_epoch_figures,
    stream_windows,
)

__all__ = [
    "CLOCKS", "GB", "MATMUL_SIZE", "RECORD_KEYS", "benchmark_parser", "best", "best_rate", "check_records", "clock",
    "elapsed", "elor_rate", "elor_training_rate", "feature_extraction_figures", "finish", "flops_by_layer", "format_table",
    "forward_flops", "frame_training_rate", "in_memory_dataset", "layer_forward_flops", "layer_training_rates", "lld_mlp_rate",
    "load_window_store", "markdown_table", "matmul_flops_per_s", "peak_rss_bytes", "raw_cnn_rates", "rates",
    "record", "script_wall_time", "split_head_training_flops", "stream_epoch_figures", "stream_windows",
    "torch_peer_rate", "torch_raw_cnn_rate", "training_flops",
]
