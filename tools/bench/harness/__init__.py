"""The measuring kit of the benchmarks in ``tools/bench/``: a matmul ceiling, timed training and
streaming of the papers' workloads, and result records.

Not a paper section: the performance checks of the toolkit, kept in the repository and not
installed with ser_keras. TensorFlow, Keras and PyTorch are imported inside the functions that
use them, so table formatting needs none of them and the PyTorch peer runs in a venv without
TensorFlow (or ser_keras).

* :mod:`~tools.bench.harness.records` — the ``{"name", "value", "unit", "target", "holds"}`` records.
* :mod:`~tools.bench.harness.flops` — FLOP counts of a built Keras graph (imported on its own: it
  loads ser_keras' tuning package, and with it TensorFlow).
* :mod:`~tools.bench.harness.timing` — two clocks, the matmul ceiling, timed training loops.
* :mod:`~tools.bench.harness.workloads` — windows streaming and the models through the pipelines.
* :mod:`~tools.bench.harness.peers` — the PyTorch peer.
* :mod:`~tools.bench.harness.extraction` — openSMILE extraction and the feature cache.
* :mod:`~tools.bench.harness.profile` — profiler traces of a training step, ranked by op.
* :mod:`~tools.bench.harness.reaper` — runs a script so that all its processes' CPU time is counted.
* :mod:`~tools.bench.harness.page` — ``docs/performance.md``, generated from a run's figures.
"""

from tools.bench.harness.extraction import feature_extraction_figures
from tools.bench.harness.peers import torch_peer_rate, torch_raw_cnn_rate
from tools.bench.harness.records import (
    CHECKOUT,
    GB,
    RECORD_KEYS,
    benchmark_parser,
    check_records,
    finish,
    format_table,
    markdown_table,
    record,
    tool_command,
)
from tools.bench.harness.timing import (
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
from tools.bench.harness.workloads import (
    elor_rate,
    lld_mlp_rate,
    load_window_store,
    raw_cnn_rates,
    stream_epoch_figures,
    stream_windows,
)

__all__ = [
    "CHECKOUT",
    "CLOCKS",
    "GB",
    "MATMUL_SIZE",
    "RECORD_KEYS",
    "benchmark_parser",
    "best",
    "best_rate",
    "check_records",
    "clock",
    "elapsed",
    "elor_rate",
    "elor_training_rate",
    "feature_extraction_figures",
    "finish",
    "format_table",
    "frame_training_rate",
    "in_memory_dataset",
    "layer_training_rates",
    "lld_mlp_rate",
    "load_window_store",
    "markdown_table",
    "matmul_flops_per_s",
    "peak_rss_bytes",
    "raw_cnn_rates",
    "rates",
    "record",
    "script_wall_time",
    "stream_epoch_figures",
    "stream_windows",
    "tool_command",
    "torch_peer_rate",
    "torch_raw_cnn_rate",
]
