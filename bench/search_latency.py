"""Search latency through the JSON API on a large generated index (issue 4's target:
p95 ≤ 150 ms on a 2-core box for a realistic query mix with facets and highlights).

Run by hand against the local stack (`foi stack up`):

    .foi/venv/bin/python -m bench.search_latency --docs 200000 --queries 400

It builds (or reuses, with --reuse) an index `bench-search-documents`, serves the real app under
gunicorn on a free loopback port, and times each request from a keep-alive client. Every request
goes through token auth, ACL trimming, facets, highlighting, copy folding and the audit log,
exactly as in production. Prints p50/p95/p99 per query kind and overall, as JSON too.
"""

from __future__ import annotations

import argparse
import hashlib
import itertools
import json
import os
import random
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import requests
from elasticsearch import Elasticsearch, helpers

from foi_core.accounts import create_user
from foi_core.audit_seal import load_audit_seal
from foi_core.db import build_engine, session_factory, transaction
from foi_core.migrate import upgrade
from foi_core.settings import Settings
from foi_core.tokens import create_token
from indexer.lifecycle import IndexNames, drop_all
from indexer.mapping import SCHEMA_VERSION
from indexer.migration import ensure_index

PREFIX = "bench-search"
SIDS = [f"S-1-5-21-1000-2000-3000-{rid}" for rid in range(1100, 1140)]
DEPARTMENTS = [
    "Planning",
    "Housing",
    "Finance",
    "HR",
    "Democratic Services",
    "Environmental Health",
    "Licensing",
    "Highways",
    "Education",
    "Waste",
]
SUBFOLDERS = [
    "Applications",
    "Appeals",
    "Complaints",
    "Correspondence",
    "Policies",
    "Reports",
    "Minutes",
    "Contracts",
    "Invoices",
    "Enforcement",
]
AUTHORS = [
    f"{first} {last}"
    for first in (
        "Alex",
        "Sam",
        "Priya",
        "John",
        "Fatima",
        "Megan",
        "Tom",
        "Aisha",
        "David",
        "Claire",
    )
    for last in ("Smith", "Jones", "Patel", "Williams", "Brown", "Khan", "Taylor")
]
EXTENSIONS = ["docx", "pdf", "xlsx", "eml", "txt", "msg", "doc", "pptx"]
WORDS = [
    "council",
    "planning",
    "application",
    "decision",
    "notice",
    "appeal",
    "housing",
    "repair",
    "tenant",
    "complaint",
    "noise",
    "nuisance",
    "licence",
    "premises",
    "alcohol",
    "budget",
    "invoice",
    "supplier",
    "payment",
    "contract",
    "tender",
    "procurement",
    "committee",
    "minutes",
    "agenda",
    "councillor",
    "ward",
    "resident",
    "consultation",
    "highway",
    "pothole",
    "parking",
    "permit",
    "refuse",
    "collection",
    "recycling",
    "school",
    "admission",
    "safeguarding",
    "policy",
    "procedure",
    "disciplinary",
    "grievance",
    "recruitment",
    "salary",
    "pension",
    "freedom",
    "information",
    "request",
    "environmental",
    "subject",
    "access",
    "data",
    "protection",
    "retention",
    "schedule",
    "archive",
    "record",
    "audit",
    "risk",
    "insurance",
    "claim",
    "property",
    "asset",
    "lease",
    "rent",
    "arrears",
    "benefit",
    "allowance",
    "council",
    "tax",
    "business",
    "rates",
    "valuation",
    "enforcement",
    "notice",
    "breach",
    "tree",
    "preservation",
    "order",
    "conservation",
    "area",
    "listed",
    "building",
    "demolition",
    "extension",
]


# Real text is Zipf-distributed: a few words are everywhere ("council"), most are rare (names,
# streets, reference numbers). A vocabulary of the council words plus 30,000 synthetic ones,
# drawn with Zipf weights, gives realistic posting-list lengths; queries then use a realistic
# mix of very common, mid-frequency and rare terms.
VOCABULARY = WORDS + [
    f"{a}{b}{c}"
    for a in (
        "bar",
        "cal",
        "den",
        "fel",
        "gor",
        "hal",
        "kin",
        "lor",
        "mar",
        "nor",
        "pen",
        "ros",
        "sel",
        "tam",
        "wes",
    )
    for b in ("a", "e", "i", "o", "u", "ay", "ew", "ing", "ton", "ley")
    for c in range(200)
]
ZIPF = [1 / (rank + 1) ** 1.07 for rank in range(len(VOCABULARY))]
# Cumulative once: `choices(weights=...)` re-adds all 30,000 weights on every call, which made
# generating 200,000 documents take most of an hour.
ZIPF_CUMULATIVE = list(itertools.accumulate(ZIPF))


def _text(rng: random.Random, words: int) -> str:
    return (
        " ".join(rng.choices(VOCABULARY, cum_weights=ZIPF_CUMULATIVE, k=words)).capitalize() + "."
    )


def _term(rng: random.Random, band: str) -> str:
    """A query term from a frequency band: common (top 50), mid (50-2,000) or rare."""
    low, high = {"common": (0, 50), "mid": (50, 2000), "rare": (2000, 20000)}[band]
    return VOCABULARY[rng.randrange(low, high)]


def generate(count: int, seed: int = 7) -> Iterator[dict[str, Any]]:
    rng = random.Random(seed)
    start = datetime(2005, 1, 1, tzinfo=UTC)
    for i in range(count):
        dept, sub = rng.choice(DEPARTMENTS), rng.choice(SUBFOLDERS)
        year = 2005 + rng.randrange(21)
        folder = f"{dept}/{sub}/{year}"
        ext = rng.choice(EXTENSIONS)
        name = f"{_text(rng, 3)[:-1]} {i}.{ext}"
        path = f"{folder}/{name}"
        doc_id = hashlib.sha256(f"bench\0{path}".encode()).hexdigest()[:40]
        # One document in 20 is a byte-identical copy of an earlier one.
        content_key = i if rng.random() > 0.05 else rng.randrange(max(i, 1))
        modified = start + timedelta(days=rng.randrange(7600), seconds=rng.randrange(86400))
        allow = rng.sample(SIDS, 3) + (["S-1-1-0"] if rng.random() < 0.3 else [])
        yield {
            "doc_id": doc_id,
            "kind": "file",
            "container_id": None,
            "root_id": doc_id,
            "embedded_path": "",
            "embedded_depth": 0,
            "source": dept.lower().replace(" ", "-"),
            "share": dept,
            "path": path,
            "unc": "\\\\fs01\\" + path.replace("/", "\\"),
            "folder": folder,
            "folders": [dept, f"{dept}/{sub}", folder],
            "filename": name,
            "extension": ext,
            "mime_type": f"application/{ext}",
            "size": rng.randrange(1, 10**7),
            "sha256": hashlib.sha256(str(content_key).encode()).hexdigest(),
            "file_id": str(i),
            "title": _text(random.Random(content_key), 6),
            "authors": [rng.choice(AUTHORS)],
            "created": modified.isoformat(),
            "modified": modified.isoformat(),
            "crawled": modified.isoformat(),
            "page_count": rng.randrange(1, 40),
            "language": "en",
            "email_from": [],
            "email_to": [],
            "email_cc": [],
            "email_subject": None,
            "email_date": None,
            "content": " ".join(
                _text(random.Random(content_key * 31 + p), 40) for p in range(rng.randrange(3, 12))
            ),
            "content_chars": 0,
            "status": "ok" if rng.random() > 0.04 else "encrypted",
            "status_reason": "",
            "acl_owner": rng.choice(SIDS),
            "acl_allow": allow,
            "acl_deny": [],
            "acl_status": "ok",
            "duplicate_of": None,
            "copies": None,
            "deleted": False,
            "schema_version": SCHEMA_VERSION,
        }


def build_index(es: Elasticsearch, names: IndexNames, count: int) -> float:
    drop_all(es, names)
    index = ensure_index(es, names)
    es.indices.put_settings(index=index, settings={"refresh_interval": "-1"})
    started = time.monotonic()
    actions = ({"_index": index, "_id": d["doc_id"], "_source": d} for d in generate(count))
    for ok, item in helpers.parallel_bulk(
        es, actions, chunk_size=1000, thread_count=2, max_chunk_bytes=8 * 1024 * 1024
    ):
        if not ok:
            raise RuntimeError(f"bulk failure: {item}")
    es.indices.put_settings(index=index, settings={"refresh_interval": "1s"})
    es.indices.refresh(index=index)
    es.indices.forcemerge(index=index, max_num_segments=1)
    return time.monotonic() - started


def query_mix(rng: random.Random, rounds: int = 40) -> list[tuple[str, dict[str, Any]]]:
    """`rounds` x the ten query kinds, shuffled."""
    mix: list[tuple[str, dict[str, Any]]] = []
    for _ in range(rounds):
        band = rng.choices(["common", "mid", "rare"], weights=[2, 5, 3])[0]
        a, b = _term(rng, band), _term(rng, "mid")
        mix += [
            ("word", {"q": a}),
            ("two words", {"q": f"{a} {b}"}),
            ("phrase", {"q": f'"{a} {b}"'}),
            ("prefix", {"q": f"{a[:5]}*"}),
            ("fuzzy", {"q": f"{a}~"}),
            ("boolean", {"q": f"({a} OR {b}) -{_term(rng, 'common')}"}),
            (
                "field filter",
                {
                    "q": f"{a} author:{rng.choice(AUTHORS).split()[1].lower()} "
                    f"type:{rng.choice(EXTENSIONS)}"
                },
            ),
            ("date range", {"q": f"{a} modified:{2005 + rng.randrange(15)}..2024"}),
            (
                "facets",
                {
                    "q": a,
                    "source": rng.choice(DEPARTMENTS).lower().replace(" ", "-"),
                    "year": str(2005 + rng.randrange(20)),
                },
            ),
            ("newest", {"q": b, "sort": "newest"}),
        ]
    rng.shuffle(mix)
    return mix


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def percentile(values: list[float], pct: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(pct / 100 * (len(ordered) - 1)))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--docs", type=int, default=200_000)
    parser.add_argument("--queries", type=int, default=400)
    parser.add_argument("--reuse", action="store_true", help="keep an existing bench index")
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args()

    base = Settings.from_env()
    es = Elasticsearch(base.elasticsearch_url, request_timeout=300)
    names = IndexNames(PREFIX)
    indexed = 0.0
    existing = (
        es.indices.exists_alias(name=names.read_alias)
        and es.count(index=names.read_alias)["count"] == args.docs
    )
    if not (args.reuse and existing):
        indexed = build_index(es, names, args.docs)
    count = es.count(index=names.read_alias)["count"]
    # Facet counts of a reused index's earlier runs must not be answered from the cache.
    es.indices.clear_cache(index=names.read_alias, request=True)

    with tempfile.TemporaryDirectory(prefix="bench-search-") as tmp:
        settings = Settings(
            **{
                **base.__dict__,
                "state_dir": Path(tmp),
                "index_prefix": PREFIX,
                "database_url": f"sqlite:///{tmp}/bench.db",
                "secure_cookies": False,
            }
        )
        engine = build_engine(settings)
        upgrade(engine)
        with transaction(session_factory(engine, load_audit_seal(settings))) as session:
            create_user(session, "officer", "foi_officer", "benchmark password 1")
            create_user(session, "clerk", "front_office", "benchmark password 2", SIDS[:5])
            tokens = {u: create_token(session, u, "bench") for u in ("officer", "clerk")}
        port = _free_port()
        env = {**os.environ, **settings.to_env()}
        server = subprocess.Popen(
            [
                str(Path(sys.executable).with_name("gunicorn")),
                "--bind",
                f"127.0.0.1:{port}",
                "--workers",
                str(args.workers),
                "--threads",
                "2",
                "search_app:create_app()",
            ],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
        )
        try:
            url = f"http://127.0.0.1:{port}/api/v1/search"
            client = requests.Session()
            deadline = time.monotonic() + 60
            while True:
                try:
                    client.get(f"http://127.0.0.1:{port}/healthz", timeout=2)
                    break
                except requests.RequestException:
                    if time.monotonic() > deadline:
                        raise
                    time.sleep(0.3)
            # Warm-up queries are drawn separately, so no timed query repeats one already
            # answered (Elasticsearch's request cache would answer its facet counts).
            warm_up = query_mix(random.Random(5), rounds=4)
            mix = warm_up + query_mix(random.Random(11), rounds=-(-args.queries // 10))
            timings: dict[str, list[float]] = {}
            totals: list[int] = []
            for i in range(args.queries + 40):
                kind, params = mix[i]
                user = "clerk" if i % 4 == 3 else "officer"  # a quarter are trimmed searches
                started = time.perf_counter()
                response = client.get(
                    url,
                    params=params,
                    timeout=30,
                    headers={"Authorization": f"Bearer {tokens[user]}"},
                )
                elapsed = (time.perf_counter() - started) * 1000
                response.raise_for_status()
                if i >= 40:  # the first 40 warm caches and JIT
                    timings.setdefault(kind, []).append(elapsed)
                    timings.setdefault("trimmed" if user == "clerk" else "untrimmed", []).append(
                        elapsed
                    )
                    totals.append(response.json()["total"])
        finally:
            os.killpg(server.pid, signal.SIGTERM)
            server.wait(timeout=30)

    everything = [t for k, v in timings.items() if k not in ("trimmed", "untrimmed") for t in v]
    report = {
        "docs": count,
        "index_seconds": round(indexed, 1),
        "queries": len(everything),
        "median_total_hits": statistics.median(totals),
        "overall": {
            "p50": percentile(everything, 50),
            "p95": percentile(everything, 95),
            "p99": percentile(everything, 99),
        },
        "by_kind": {
            k: {"n": len(v), "p50": round(percentile(v, 50), 1), "p95": round(percentile(v, 95), 1)}
            for k, v in sorted(timings.items())
        },
        "machine": {"cpus": os.cpu_count()},
        "when": datetime.now(UTC).isoformat(timespec="seconds"),
    }
    print(f"{'kind':<14}{'n':>5}{'p50 ms':>10}{'p95 ms':>10}")
    for kind, stats in report["by_kind"].items():  # type: ignore[union-attr]
        print(f"{kind:<14}{stats['n']:>5}{stats['p50']:>10.1f}{stats['p95']:>10.1f}")
    overall = report["overall"]
    print(f"{'overall':<14}{len(everything):>5}{overall['p50']:>10.1f}{overall['p95']:>10.1f}")  # type: ignore[index]
    print(json.dumps(report))


if __name__ == "__main__":
    main()
