"""Benchmarks and the synthetic data generator, run from the repository root.

``python -m bench.<name> --help`` for each: ``generate`` (a synthetic catalogue),
``import_bench``, ``search_bench``, ``page_bench``, ``throughput_bench``,
``load_bench``, ``genre_bench``, ``correction_bench``, ``consistency_bench``
and ``search_quality`` (each writes its result to the results directory,
/tmp/bench-results unless ``BENCH_RESULTS_DIR`` or ``--results-dir`` says
otherwise), and ``report`` (the only place results are rendered as tables).
What they share, servers, machine and code facts, /proc readings and writing
results, is ``harness``.
"""
