"""Turns files into index documents (Tika, metadata) and owns every Elasticsearch detail."""
