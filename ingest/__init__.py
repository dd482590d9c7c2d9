"""The crawl: walks a source (crawler), extracts and writes each changed file (indexer), keeps
records-management fields on what it writes, and spreads the work over Celery workers."""
