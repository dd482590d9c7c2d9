"""Legal holds, retention schedules and audited disposal (built on indexer queries)."""
