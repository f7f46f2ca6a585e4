"""Keeping the index fresh: the one ingest/sync engine, its ledger, the scheduler and failure classification."""
