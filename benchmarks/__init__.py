"""Benchmarks: each module prints a markdown table and writes JSON under benchmarks/results/."""
