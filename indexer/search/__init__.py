"""The search layer: every read of Elasticsearch (queries, the query language, facets, folding,
highlights, multi-search, scopes and record look-ups). The access-control filter is applied here,
in `queries.base_query`, so no search can skip it."""
