"""Benchmarks and the synthetic data generator, run from the repository root.

``python -m bench.<name> --help`` for each: ``generate`` (a synthetic catalogue),
``import_bench``, ``search_bench``, ``throughput_bench``, ``load_bench`` and
``genre_bench`` (each writes its result to ``bench/results/``), and ``report``
(the only place results are rendered as tables). What they share, servers,
machine and code facts, /proc readings and writing results, is ``harness``.
"""
