"""Benchmarks (`make bench`): scale corpus, ingest throughput, query latency, load, memory, encoder backends."""
