"""Ingest: read raw files, cast, validate, deduplicate, quarantine and account for every row."""
