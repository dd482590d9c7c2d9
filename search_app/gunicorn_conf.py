"""gunicorn settings shared by `foi serve`, the container image and docker-compose
(`gunicorn -c python:search_app.gunicorn_conf ...`).

The access log records the path without its query string and without the referrer: a search's
words are in the query string (`/?q=...`), and for a subject access request they are a person's
name and circumstances, which have no place in a web server log. The audit log records searches
where only records managers and admins can read them.

The workers run with umask 077, like every `foi` command: see foi_core/private_files.py.
"""

from __future__ import annotations

import os
from typing import Any

from foi_core.private_files import PRIVATE_UMASK

accesslog = "-"
# Collecting a document the crawl could not hash reads it whole in the request (bundles are
# written in the background): allow a few GB at loopback speeds before a worker is recycled.
timeout = 300
# Remote address, time, method, path (no query), protocol, status, bytes, seconds taken.
access_log_format = '%(h)s %(t)s "%(m)s %(U)s %(H)s" %(s)s %(B)s %(L)s'


def on_starting(server: Any) -> None:
    """Before the workers fork: whatever they write (bundles, the database) is private."""
    os.umask(PRIVATE_UMASK)
