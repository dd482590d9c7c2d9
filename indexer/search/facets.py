"""Facets: counts of the current results by source, folder, file type, author, owner, year
modified, extraction status and duplicate flag, and the filters a searcher's choices add.

Invariants:
- counts are aggregations of the search's own query, which `queries.base_query` has already
  trimmed to what the searcher may see: a hidden document adds to no count and no facet value;
- choices within one facet are alternatives (OR); choices in different facets all apply (AND);
- choices reach the hits through `post_filter`, and each facet's counts through a filter
  aggregation that leaves out that facet's own choices, so a facet keeps offering the
  alternatives to what is ticked (multi-select). The folder facet is a drill-down, one folder
  at a time, and its choice (like `same_content`) narrows every count;
- counts are exact up to SAMPLE_ABOVE results. Beyond that the descriptive facets (source,
  folder, type, author, owner, year, record class) are counted on a random sample of about
  SAMPLE_DOCS of the results, scaled up, and marked approximate; extraction status, holds and
  duplicates stay exact, so a rare "Encrypted" or "On hold" never drops out of a sample.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

from indexer.search.querydsl import TIME_ZONE

MAX_VALUES_PER_FACET = 20
MAX_VALUE_CHARS = 1024
TERMS_SIZE = 10
FOLDER_CHILDREN = 100
# Counting costs ~0.7 us per matching document per facet: 115 ms for ten facets over 160,000
# results on the 2-core benchmark box, against 25 ms for a random sample of 10,000 of them
# (docs/benchmarks-search.md). Elasticsearch's random_sampler scales its counts back up.
SAMPLE_ABOVE = 50_000
SAMPLE_DOCS = 10_000
# A fixed seed draws the same sample for the same search, so counts hold still between pages.
SAMPLE_SEED = 7919
SAMPLE = "sampled"  # the aggregation that holds the sampled facets
_SHA256 = re.compile(r"[0-9a-f]{64}")
_YEAR = re.compile(r"[1-9]\d{3}")


@dataclass(frozen=True)
class TermsFacet:
    name: str  # the URL parameter
    field: str
    label: str


TERMS_FACETS = (
    TermsFacet("source", "source", "Source"),
    TermsFacet("type", "extension", "File type"),
    TermsFacet("author", "authors", "Author"),
    TermsFacet("owner", "acl_owner", "Owner"),
    TermsFacet("status", "status", "Extraction status"),
    TermsFacet("class", "retention_class", "Record class"),
)
YEAR = "year"
DUPLICATE = "duplicate"
HOLD = "hold"
FOLDER = "folder"
SAME_CONTENT = "same"
MULTI_SELECT = (*(f.name for f in TERMS_FACETS), YEAR, DUPLICATE, HOLD)
# Facets whose counts are never sampled.
EXACT_FACETS = frozenset({"status", DUPLICATE, HOLD})
# The order the sidebar lists facets in (the folder facet comes first, on its own).
DISPLAY_ORDER = ("source", "type", "author", "owner", YEAR, "status", DUPLICATE, HOLD, "class")

STATUS_LABELS = {
    "ok": "Text extracted",
    "truncated": "Text cut short",
    "encrypted": "Encrypted",
    "unsupported_type": "Type not supported",
    "corrupt": "Damaged",
    "timeout": "Timed out",
    "too_large": "Too large to read",
    "access_denied": "Access denied",
    "empty": "Empty",
}
DUPLICATE_LABELS = {"copy": "Copy of another file", "original": "Not a copy"}
_DUPLICATE_QUERIES: dict[str, dict[str, Any]] = {
    "copy": {"exists": {"field": "duplicate_of"}},
    "original": {"bool": {"must_not": [{"exists": {"field": "duplicate_of"}}]}},
}
HOLD_LABELS = {
    "held": "On hold",
    "not_held": "Not on hold",
    "destroyed": "Destroyed (record of destruction)",
}
_HOLD_QUERIES: dict[str, dict[str, Any]] = {
    "held": {"term": {"held": True}},
    "not_held": {"bool": {"must_not": [{"term": {"held": True}}]}},
    "destroyed": {"exists": {"field": "destroyed"}},
}
# Values counted as the rest of their facet's documents: each is the negation of another value
# (a document is either a copy or not, held or not), and counting a negated filter costs as much
# as counting both (measured: 10 ms against 3 ms per 160,000 results).
_COMPLEMENTS = {"original": "copy", "not_held": "held"}
# Facets whose values are fixed named filters: (label, queries, value labels).
_FILTER_FACETS: dict[str, tuple[str, dict[str, dict[str, Any]], dict[str, str]]] = {
    DUPLICATE: ("Duplicates", _DUPLICATE_QUERIES, DUPLICATE_LABELS),
    HOLD: ("Hold and disposal", _HOLD_QUERIES, HOLD_LABELS),
}


@dataclass(frozen=True)
class FacetSelection:
    """What the searcher has ticked, validated: anything malformed is dropped, never sent."""

    chosen: tuple[tuple[str, tuple[str, ...]], ...] = ()  # (facet name, values), MULTI_SELECT order
    folder: str = ""
    same_content: str = ""  # a sha256: only the identical copies of one file

    @classmethod
    def from_params(cls, params: Mapping[str, Sequence[str]]) -> FacetSelection:
        chosen = []
        for name in MULTI_SELECT:
            values: list[str] = []
            for raw in params.get(name, ()):
                value = raw.strip()
                if _valid(name, value) and value not in values:
                    values.append(value)
            if values:
                chosen.append((name, tuple(values[:MAX_VALUES_PER_FACET])))
        folder = next(iter(params.get(FOLDER, ())), "").strip().strip("/")
        same = next(iter(params.get(SAME_CONTENT, ())), "").strip().lower()
        return cls(
            chosen=tuple(chosen),
            folder=folder if len(folder) <= MAX_VALUE_CHARS else "",
            same_content=same if _SHA256.fullmatch(same) else "",
        )

    def values(self, name: str) -> tuple[str, ...]:
        return dict(self.chosen).get(name, ())

    @property
    def is_empty(self) -> bool:
        return not (self.chosen or self.folder or self.same_content)

    def filters(self, *, leave_out: str = "") -> list[dict[str, Any]]:
        """Filter clauses for every choice, except those of the facet named `leave_out`."""
        clauses: list[dict[str, Any]] = []
        fields = {f.name: f.field for f in TERMS_FACETS}
        for name, values in self.chosen:
            if name == leave_out:
                continue
            if name in fields:
                clauses.append({"terms": {fields[name]: list(values)}})
            elif name == YEAR:
                clauses.append(_any([_year_range(int(v)) for v in values]))
            elif name in _FILTER_FACETS:
                queries = _FILTER_FACETS[name][1]
                clauses.append(_any([queries[v] for v in values]))
        if self.folder:
            clauses.append({"term": {"folders": self.folder}})
        if self.same_content:
            clauses.append({"term": {"sha256": self.same_content}})
        return clauses

    def params(self) -> dict[str, list[str]]:
        """The choices as URL parameters (the inverse of `from_params`)."""
        out = {name: list(values) for name, values in self.chosen}
        if self.folder:
            out[FOLDER] = [self.folder]
        if self.same_content:
            out[SAME_CONTENT] = [self.same_content]
        return out

    def toggled(self, name: str, value: str) -> FacetSelection:
        current = self.values(name)
        values = tuple(v for v in current if v != value) if value in current else (*current, value)
        chosen = [(n, v) for n, v in self.chosen if n != name]
        if values:
            chosen.append((name, values))
        order = {n: i for i, n in enumerate(MULTI_SELECT)}
        chosen.sort(key=lambda item: order[item[0]])
        return FacetSelection(tuple(chosen), self.folder, self.same_content)

    def without(self, name: str) -> FacetSelection:
        chosen = tuple((n, v) for n, v in self.chosen if n != name)
        return FacetSelection(chosen, self.folder, self.same_content)

    def in_folder(self, folder: str) -> FacetSelection:
        return FacetSelection(self.chosen, folder, self.same_content)

    def audit(self) -> dict[str, Any]:
        return self.params()


def _valid(name: str, value: str) -> bool:
    if not value or len(value) > MAX_VALUE_CHARS:
        return False
    if name == YEAR:
        return bool(_YEAR.fullmatch(value)) and int(value) <= 9998
    if name in _FILTER_FACETS:
        return value in _FILTER_FACETS[name][1]
    return True


def _any(clauses: list[dict[str, Any]]) -> dict[str, Any]:
    return (
        clauses[0]
        if len(clauses) == 1
        else {"bool": {"should": clauses, "minimum_should_match": 1}}
    )


def _all(clauses: list[dict[str, Any]]) -> dict[str, Any]:
    return {"bool": {"filter": clauses}} if clauses else {"match_all": {}}


def _year_range(year: int) -> dict[str, Any]:
    bounds = {"gte": f"{year}-01-01", "lt": f"{year + 1}-01-01"}
    return {"range": {"modified": {**bounds, "format": "strict_date", "time_zone": TIME_ZONE}}}


def post_filter(selection: FacetSelection) -> dict[str, Any] | None:
    """What narrows the hits (not the counts): every choice."""
    clauses = selection.filters()
    return _all(clauses) if clauses else None


def folder_children_pattern(folder: str) -> str:
    """A Lucene regular expression for the folders one level below `folder` ("" is the top).

    Every character of the folder name but letters and digits is escaped, so a folder called
    "a.b" or "x|y*" matches only itself, never as a pattern.
    """
    if not folder:
        return "[^/]+"
    escaped = "".join(ch if ch.isalnum() else "\\" + ch for ch in folder)
    return escaped + "/[^/]+"


def sample_probability(total: int) -> float | None:
    """The share of `total` results to count facets on, or None to count them all."""
    if total <= SAMPLE_ABOVE or SAMPLE_DOCS / total >= 0.5:  # random_sampler takes < 0.5
        return None
    return SAMPLE_DOCS / total


def aggregations(
    selection: FacetSelection, *, sample_probability: float | None = None
) -> dict[str, Any]:
    """Every facet's counts; with `sample_probability`, the sampled ones under SAMPLE."""
    aggs: dict[str, Any] = {}
    for facet in TERMS_FACETS:
        inner: dict[str, Any] = {
            "values": {"terms": {"field": facet.field, "size": TERMS_SIZE, "exclude": [""]}}
        }
        chosen = selection.values(facet.name)
        if chosen:
            # Ticked values stay listed even when they fall outside the top few.
            inner["chosen"] = {
                "terms": {"field": facet.field, "include": list(chosen), "size": len(chosen)}
            }
        aggs[facet.name] = {"filter": _all(selection.filters(leave_out=facet.name)), "aggs": inner}
    aggs[YEAR] = {
        "filter": _all(selection.filters(leave_out=YEAR)),
        "aggs": {
            "values": {
                "date_histogram": {
                    "field": "modified",
                    "calendar_interval": "year",
                    "format": "yyyy",
                    "time_zone": TIME_ZONE,
                    "min_doc_count": 1,
                    "order": {"_key": "desc"},
                }
            }
        },
    }
    for name, (_, queries, _) in _FILTER_FACETS.items():
        counted = {value: q for value, q in queries.items() if value not in _COMPLEMENTS}
        aggs[name] = {
            "filter": _all(selection.filters(leave_out=name)),
            "aggs": {"values": {"filters": {"filters": counted}}},
        }
    aggs[FOLDER] = {
        "filter": _all(selection.filters()),
        "aggs": {
            "values": {
                "terms": {
                    "field": "folders",
                    "include": folder_children_pattern(selection.folder),
                    "size": FOLDER_CHILDREN,
                    "order": {"_key": "asc"},
                }
            }
        },
    }
    if sample_probability is None:
        return aggs
    sampled = {name: agg for name, agg in aggs.items() if name not in EXACT_FACETS}
    return {
        **{name: agg for name, agg in aggs.items() if name in EXACT_FACETS},
        SAMPLE: {
            "random_sampler": {"probability": sample_probability, "seed": SAMPLE_SEED},
            "aggs": sampled,
        },
    }


@dataclass(frozen=True)
class FacetValue:
    value: str
    label: str
    count: int
    selected: bool


@dataclass(frozen=True)
class Facet:
    name: str
    label: str
    values: tuple[FacetValue, ...]
    approximate: bool = False  # counted on a sample of the results


@dataclass(frozen=True)
class FolderFacet:
    """The selected folder, its ancestors (top first) and its sub-folders with counts."""

    selected: str
    trail: tuple[tuple[str, str], ...]  # (folder, label) from the top down to `selected`
    children: tuple[FacetValue, ...]
    approximate: bool = False


@dataclass(frozen=True)
class Facets:
    folders: FolderFacet
    facets: tuple[Facet, ...]

    def without(self, name: str) -> Facets:
        return replace(self, facets=tuple(f for f in self.facets if f.name != name))


def read_facets(response: Mapping[str, Any], selection: FacetSelection) -> Facets:
    sample = response.get(SAMPLE)
    response_aggs = {**response, **(sample or {})}
    facets = _read(response_aggs, selection)
    if sample is None:
        return facets
    return Facets(
        replace(facets.folders, approximate=True),
        tuple(replace(f, approximate=f.name not in EXACT_FACETS) for f in facets.facets),
    )


def _read(response_aggs: Mapping[str, Any], selection: FacetSelection) -> Facets:
    found: dict[str, Facet] = {}
    for facet in TERMS_FACETS:
        agg = response_aggs[facet.name]
        counts = {str(b["key"]): int(b["doc_count"]) for b in agg["values"]["buckets"]}
        for bucket in agg.get("chosen", {}).get("buckets", ()):
            counts.setdefault(str(bucket["key"]), int(bucket["doc_count"]))
        found[facet.name] = _facet(facet.name, facet.label, counts, selection, _label(facet.name))
    years = {
        str(b["key_as_string"]): int(b["doc_count"])
        for b in response_aggs[YEAR]["values"]["buckets"]
    }
    found[YEAR] = _facet(YEAR, "Year modified", years, selection, str)
    for name, (label, queries, labels) in _FILTER_FACETS.items():
        agg = response_aggs[name]
        counted = {k: int(b["doc_count"]) for k, b in agg["values"]["buckets"].items()}
        every = {
            value: int(agg["doc_count"]) - counted[_COMPLEMENTS[value]]
            if value in _COMPLEMENTS
            else counted[value]
            for value in queries
        }
        counts = {k: n for k, n in every.items() if n or k in selection.values(name)}
        found[name] = _facet(name, label, counts, selection, labels.get)
    children = tuple(
        FacetValue(str(b["key"]), str(b["key"]).rsplit("/", 1)[-1], int(b["doc_count"]), False)
        for b in response_aggs[FOLDER]["values"]["buckets"]
    )
    folders = FolderFacet(selection.folder, _trail(selection.folder), children)
    return Facets(folders, tuple(found[name] for name in DISPLAY_ORDER))


Labeller = Callable[[str], str | None]


def _label(name: str) -> Labeller:
    if name == "status":
        return lambda value: STATUS_LABELS.get(value, value)
    return str


def _facet(
    name: str, label: str, counts: Mapping[str, int], selection: FacetSelection, labeller: Labeller
) -> Facet:
    chosen = selection.values(name)
    for value in chosen:
        counts = {**counts, value: counts.get(value, 0)}
    values = tuple(
        FacetValue(value, str(labeller(value) or value), count, value in chosen)
        for value, count in counts.items()
    )
    return Facet(name, label, values)


def _trail(folder: str) -> tuple[tuple[str, str], ...]:
    if not folder:
        return ()
    parts = folder.split("/")
    return tuple(("/".join(parts[: i + 1]), part) for i, part in enumerate(parts))
