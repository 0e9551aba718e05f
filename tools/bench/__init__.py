"""The benchmarks of ser-keras: speed, memory and scaling of the papers' workloads (not a paper
section). A folder of the repository, not installed with the package; run each from the
checkout's root as ``python -m tools.bench.<name> --help``.

* ``run_benchmarks`` — every benchmark below in its own process, one table of figures and
  targets, and (``--docs``) the page ``docs/performance.md`` generated from them.
* ``pipeline``, ``torch``, ``memory``, ``features``, ``precision``, ``end_to_end``,
  ``gpu_projection`` — the benchmarks ``run_benchmarks`` runs, in that order.
* ``gpu`` (the inputs cut on a GPU), ``profile`` (where a training step spends its time),
  ``windows`` (the windows pipeline alone) and ``elor_epoch`` (real ELOR epochs on one fold of a
  corpus, and the Table-5 cost projected from them) — run on their own.
* :mod:`tools.bench.harness` — what they share: timing, workloads, records, the page.

The figures of ``docs/performance.md`` are kept in ``tools/bench/results/``; tests in
``tests/test_benchmarks.py``.
"""
