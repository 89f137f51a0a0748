"""Benchmarks: ``python -m benchmarks [--quick] [--only ...]`` runs the matcher, lists, HTTP and scanner
parts, each in a fresh process, prints one markdown report and writes one JSON record under
benchmarks/results/."""
