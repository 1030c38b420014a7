"""Benchmarks: `python -m src.bench.prepare` compares our data preparation with the seed project's."""
