"""One search layer: `indexer/search/` is the only code that reads Elasticsearch documents.

Every module of the application packages is parsed (never imported) and each call is checked.
A call is a document read when it is

- `<client>.<method>(...)` with `method` one of READ_METHODS, or
  `<client>.options(...).<method>(...)` (the client with per-request options), where
  `<client>` is an Elasticsearch client expression: a name or attribute called one of
  CLIENT_NAMES (`es`, `self.es`, `records.es`, `services().es`, ...), or a name or attribute
  the module annotates as `Elasticsearch` (a parameter `client: Elasticsearch`, a dataclass
  field `index: Elasticsearch | None`);
- `helpers.scan(...)` (also `elasticsearch.helpers.scan`), or `scan(...)` where the module
  imported `scan` from `elasticsearch.helpers`.

So `session.get(...)`, `known.get(...)` or a Redis client's `get` are not reads (their
receivers are not Elasticsearch clients), and neither is `es.indices.exists(...)` nor
`es.indices.refresh(...)`: index administration and making writes visible go through
`es.indices`, whose attribute name is not a client name. Index administration lives in
`indexer/migration*.py` (its `helpers.scan` copies documents into a new index version), so that
module is left out, as is `indexer/search/` itself.

The heuristic can miss a client kept under an unannotated, unusual name; it does not flag
anything that is not an Elasticsearch client by name or annotation.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = (
    "crawler",
    "indexer",
    "ingest",
    "retention",
    "cases",
    "services",
    "search_app",
    "foi_cli",
)
# The search layer itself, and index administration (create, migrate and drop index versions).
EXCLUDED = ("indexer/search/", "indexer/lifecycle.py", "indexer/migration")
READ_METHODS = frozenset(
    {
        "search",
        "get",
        "get_source",
        "mget",
        "exists",
        "exists_source",
        "count",
        "msearch",
        "search_template",
        "msearch_template",
        "scroll",
        "open_point_in_time",
        "termvectors",
        "mtermvectors",
        "explain",
    }
)
CLIENT_NAMES = frozenset({"es", "_es", "es_client", "elasticsearch"})
# Reads not yet routed, each with why: the entry goes once its module calls the search layer.
# Modules that still read the index directly, each with the reason; empty now. A listed module
# that stops reading the index must leave the list (the test below fails until it does).
NOT_YET_ROUTED: dict[str, str] = {}


def _annotated_clients(tree: ast.AST) -> set[str]:
    """Names and attributes the module annotates as an Elasticsearch client."""
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.arg) and node.annotation is not None:
            if "Elasticsearch" in ast.unparse(node.annotation):
                found.add(node.arg)
        elif isinstance(node, ast.AnnAssign) and "Elasticsearch" in ast.unparse(node.annotation):
            target = node.target
            if isinstance(target, ast.Name):
                found.add(target.id)
            elif isinstance(target, ast.Attribute):
                found.add(target.attr)
    return found


def _is_client(node: ast.expr, names: frozenset[str] | set[str]) -> bool:
    if isinstance(node, ast.Name):
        return node.id in names
    if isinstance(node, ast.Attribute):
        return node.attr in names
    if (
        isinstance(node, ast.Call)
        and isinstance(node.func, ast.Attribute)
        and node.func.attr == "options"
    ):
        return _is_client(node.func.value, names)
    return False


def _scan_imports(tree: ast.AST) -> set[str]:
    """Local names bound to `elasticsearch.helpers.scan`."""
    return {
        alias.asname or alias.name
        for node in ast.walk(tree)
        if isinstance(node, ast.ImportFrom) and node.module == "elasticsearch.helpers"
        for alias in node.names
        if alias.name == "scan"
    }


def document_reads(source: str) -> Iterator[tuple[int, str]]:
    """(line, call) for every Elasticsearch document read in a module's source."""
    tree = ast.parse(source)
    clients = CLIENT_NAMES | _annotated_clients(tree)
    scans = _scan_imports(tree)
    for node in ast.walk(tree):
        if not isinstance(node, ast.Call):
            continue
        func = node.func
        if isinstance(func, ast.Attribute):
            on_client = func.attr in READ_METHODS and _is_client(func.value, clients)
            helper_scan = func.attr == "scan" and _is_client(func.value, {"helpers"})
            if on_client or helper_scan:
                yield node.lineno, ast.unparse(func)
        elif isinstance(func, ast.Name) and func.id in scans:
            yield node.lineno, func.id


def _modules() -> Iterator[tuple[str, Path]]:
    for package in PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            relative = path.relative_to(ROOT).as_posix()
            if not relative.startswith(EXCLUDED):
                yield relative, path


def test_only_the_search_layer_reads_elasticsearch() -> None:
    offenders = sorted(
        f"{relative}:{line}: {call}(...)"
        for relative, path in _modules()
        if relative not in NOT_YET_ROUTED
        for line, call in document_reads(path.read_text(encoding="utf-8"))
    )
    assert offenders == [], "read through indexer/search/ instead:\n" + "\n".join(offenders)


def test_modules_not_yet_routed_still_read_elasticsearch() -> None:
    """An entry of NOT_YET_ROUTED whose module no longer reads the index is removed."""
    stale = [
        relative
        for relative in sorted(NOT_YET_ROUTED)
        if not list(document_reads((ROOT / relative).read_text(encoding="utf-8")))
    ]
    assert stale == []


@pytest.mark.parametrize(
    "source",
    [
        "es.search(index='a', query={})",
        "self.es.exists(index='a', id='x')",
        "records.es.mget(index='a', ids=[])",
        "services().es.count(index='a')",
        "es.options(ignore_status=404).get(index='a', id='x')",
        "self.processor.es.msearch(searches=[])",
        "es.open_point_in_time(index='a', keep_alive='1m')",
        "helpers.scan(es, index='a', query={})",
        "elasticsearch.helpers.scan(es, index='a')",
        "from elasticsearch.helpers import scan\nscan(es, index='a')",
        "def f(client: Elasticsearch) -> None:\n    client.search(index='a')",
        "class C:\n    ix: Elasticsearch | None\n    def f(self):\n        self.ix.get(id='x')",
    ],
)
def test_reads_on_a_client_are_found(source: str) -> None:
    assert len(list(document_reads(source))) == 1


@pytest.mark.parametrize(
    "source",
    [
        "session.get(Hold, 1)",
        "known.get('sha')",
        "client.get('key')",
        "es.indices.exists(index='a')",
        "es.indices.refresh(index='a')",
        "es.indices.get(index='a-*')",
        "es.bulk(operations=[])",
        "helpers.streaming_bulk(es, [])",
        "from indexer.search.scopes import scan\nscan(es, 'a', {}, [])",
        "request.args.get('q')",
        "path.exists()",
    ],
)
def test_other_calls_are_not_reads(source: str) -> None:
    assert list(document_reads(source)) == []
