"""Search pages: the search page, document pages and downloads, saved searches."""
