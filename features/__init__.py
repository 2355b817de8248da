"""Feature jobs: the input contract, validation and ingest, the DuckDB warehouse, point-in-time snapshots."""
