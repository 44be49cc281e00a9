"""Benchmarks for tui-chat (run them as scripts; see bench/README.md)."""
