"""Benchmarks: fill a PostgreSQL database at network scale (``bench.fill``), then serve the
portal as production does and load it beside a minimal Flask page (``bench.run``)."""
