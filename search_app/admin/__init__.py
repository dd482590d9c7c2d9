"""Administration pages: the audit log, crawl status, accounts and groups."""
