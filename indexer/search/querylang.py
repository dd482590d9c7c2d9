"""The search box's query language: a tokenizer and a recursive-descent parser that build a
small syntax tree (compiled to Elasticsearch query DSL by indexer.search.querydsl).

Contracts (docs/search-syntax.md is the user-facing description):
- users never choose a field: `field:value` works only for FIELD_NAMES, and any other
  `name:value` is a `QuerySyntaxError` (to be quoted if meant as text), never a field lookup;
- every input either parses or raises `QuerySyntaxError` with a message fit to show the user and,
  where there is one, the 1-based character position it is about; nothing else escapes `parse`;
- what reaches Elasticsearch is bounded: `MAX_QUERY_CHARS` characters, `MAX_TERMS` search
  terms, `MAX_DEPTH` levels of brackets and NOTs, and at least MIN_PREFIX_CHARS before a `*`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, timedelta
from enum import Enum

MAX_QUERY_CHARS = 500
MAX_TERMS = 30
MAX_DEPTH = 8
MIN_PREFIX_CHARS = 3

# Field filters the box accepts. `modified`, `before` and `after` compile to date ranges.
FIELD_NAMES = ("author", "path", "type", "from", "to", "subject", "modified", "before", "after")
_DATE_FIELDS = frozenset({"modified", "before", "after"})
_PREFIX_FIELDS = frozenset({"author", "path", "from", "to", "subject"})

_TYPE_VALUE = re.compile(r"[a-z0-9][a-z0-9.+-]{0,30}(?:/[a-z0-9][a-z0-9.+-]{0,80})?")
_FIELD_PREFIX = re.compile(r"([A-Za-z_][A-Za-z0-9_.]*):(.*)", re.DOTALL)
_FUZZY = re.compile(r"(.*[^~])~(\d*)", re.DOTALL)
_DATE = re.compile(r"(\d{4})(?:-(\d{1,2})(?:-(\d{1,2}))?)?")
_SMART_QUOTES = str.maketrans({c: '"' for c in "\u201c\u201d\u201e\u201f\u2033\u00ab\u00bb"})


class QuerySyntaxError(ValueError):
    """The search text cannot be run as written; `message` tells the user how to fix it."""

    def __init__(self, message: str, position: int | None = None) -> None:
        super().__init__(message)
        self.message = message
        # 1-based character position in the search text, when the problem has one.
        self.position = position


# ---------------------------------------------------------------------------- syntax tree


@dataclass(frozen=True)
class Word:
    text: str


@dataclass(frozen=True)
class Phrase:
    text: str


@dataclass(frozen=True)
class Prefix:
    stem: str


@dataclass(frozen=True)
class Fuzzy:
    text: str
    fuzziness: str  # "AUTO", "1" or "2"


@dataclass(frozen=True)
class FieldMatch:
    """`field:value`; `kind` is "word", "phrase" or "prefix"."""

    field: str
    value: str
    kind: str


@dataclass(frozen=True)
class DateRange:
    """Modified on or after `start` and before `end` (either may be open)."""

    start: date | None
    end: date | None


@dataclass(frozen=True)
class Not:
    child: Node


@dataclass(frozen=True)
class AllOf:
    children: tuple[Node, ...]


@dataclass(frozen=True)
class AnyOf:
    children: tuple[Node, ...]


Node = Word | Phrase | Prefix | Fuzzy | FieldMatch | DateRange | Not | AllOf | AnyOf


# ---------------------------------------------------------------------------- tokenizer


class _Kind(Enum):
    WORD = "word"
    PHRASE = "phrase"
    FIELD = "field"
    OPEN = "("
    CLOSE = ")"
    AND = "AND"
    OR = "OR"
    NOT = "NOT"
    MINUS = "-"


@dataclass(frozen=True)
class _Token:
    kind: _Kind
    text: str
    at: int  # 1-based position


_OPERATORS = {"AND": _Kind.AND, "OR": _Kind.OR, "NOT": _Kind.NOT}
_BREAKS = frozenset('()"')


def _has_letters(text: str) -> bool:
    return any(ch.isalnum() for ch in text)


def _tokens(text: str) -> list[_Token]:
    out: list[_Token] = []
    i, n = 0, len(text)
    while i < n:
        ch = text[i]
        if ch.isspace():
            i += 1
        elif ch in "()":
            out.append(_Token(_Kind.OPEN if ch == "(" else _Kind.CLOSE, ch, i + 1))
            i += 1
        elif ch == '"':
            end = text.find('"', i + 1)
            if end < 0:
                raise QuerySyntaxError(
                    f"The quote mark at character {i + 1} is not closed. "
                    "Add a closing quote mark, or remove it.",
                    i + 1,
                )
            out.append(_Token(_Kind.PHRASE, text[i + 1 : end], i + 1))
            i = end + 1
        elif ch == "-" and i + 1 < n and not text[i + 1].isspace() and text[i + 1] != ")":
            out.append(_Token(_Kind.MINUS, ch, i + 1))
            i += 1
        else:
            j = i
            while j < n and not text[j].isspace() and text[j] not in _BREAKS:
                j += 1
            out.extend(_word_tokens(text, i, j))
            i = j
    return out


def _word_tokens(text: str, start: int, end: int) -> list[_Token]:
    word = text[start:end]
    if word in _OPERATORS:
        return [_Token(_OPERATORS[word], word, start + 1)]
    field = _FIELD_PREFIX.fullmatch(word)
    if field:
        name, value = field.group(1).lower(), field.group(2)
        quoted = end < len(text) and text[end] == '"'
        if name in FIELD_NAMES:
            if not value and not quoted:
                raise QuerySyntaxError(
                    f"Put what to look for straight after {name}:, with no space "
                    f'(for example {name}:{_EXAMPLES[name]}), or put "{word}" in quotes.',
                    start + 1,
                )
            tokens = [_Token(_Kind.FIELD, name, start + 1)]
            if value:
                tokens.append(_Token(_Kind.WORD, value, start + len(name) + 2))
            return tokens
        if value or quoted:
            raise QuerySyntaxError(
                f'There is no field called "{field.group(1)}". You can use '
                + ", ".join(f"{f}:" for f in FIELD_NAMES)
                + f'. To search for the text itself, put it in quotes: "{word}".',
                start + 1,
            )
    if not _has_letters(word):
        return []  # lone punctuation ("-", "&") would only ever match nothing
    return [_Token(_Kind.WORD, word, start + 1)]


_EXAMPLES = {
    "author": "smith",
    "path": "Planning/Applications",
    "type": "pdf",
    "from": "jo.bloggs@council.gov.uk",
    "to": "planning@council.gov.uk",
    "subject": "budget",
    "modified": "2023..2024",
    "before": "2023-04-01",
    "after": "2022",
}


# ---------------------------------------------------------------------------- parser


def parse(text: str) -> Node | None:
    """The syntax tree of `text`, or None when it holds nothing to search for."""
    if len(text) > MAX_QUERY_CHARS:
        raise QuerySyntaxError(f"Search text must be {MAX_QUERY_CHARS} characters or fewer.")
    cleaned = "".join(" " if ord(ch) < 0x20 or ord(ch) == 0x7F else ch for ch in text)
    tokens = _tokens(cleaned.translate(_SMART_QUOTES))
    if not tokens and cleaned.strip():
        # Only symbols ("*:*", "&"): refuse rather than quietly match everything.
        raise QuerySyntaxError("Type some words or numbers to search for.")
    return _Parser(tokens).parse()


class _Parser:
    """query := or ; or := and ("OR" and)* ; and := unary (["AND"] unary)* ;
    unary := ("NOT" | "-") unary | primary ; primary := "(" or ")" | [field ":"] value."""

    def __init__(self, tokens: list[_Token]) -> None:
        self.tokens = tokens
        self.i = 0
        self.depth = 0
        self.terms = 0

    def parse(self) -> Node | None:
        if not self.tokens:
            return None
        node = self._or()
        token = self._peek()
        if token is not None:
            raise QuerySyntaxError(
                f"The closing bracket at character {token.at} has no opening bracket.", token.at
            )
        return node

    def _peek(self, *kinds: _Kind) -> _Token | None:
        token = self.tokens[self.i] if self.i < len(self.tokens) else None
        if token is not None and kinds and token.kind not in kinds:
            return None
        return token

    def _take(self) -> _Token:
        token = self.tokens[self.i]
        self.i += 1
        return token

    def _operand_follows(self, operator: _Token) -> None:
        following = self._peek()
        if following is None or following.kind in (_Kind.AND, _Kind.OR, _Kind.CLOSE):
            raise QuerySyntaxError(
                f"{operator.text} at character {operator.at} needs a search term after it.",
                operator.at,
            )

    def _or(self) -> Node:
        parts = [self._and()]
        while (operator := self._peek(_Kind.OR)) is not None:
            self._take()
            self._operand_follows(operator)
            parts.append(self._and())
        return parts[0] if len(parts) == 1 else AnyOf(tuple(parts))

    def _and(self) -> Node:
        parts = [self._unary()]
        while (token := self._peek()) is not None and token.kind not in (_Kind.OR, _Kind.CLOSE):
            if token.kind is _Kind.AND:
                self._take()
                self._operand_follows(token)
            parts.append(self._unary())
        return parts[0] if len(parts) == 1 else AllOf(tuple(parts))

    def _unary(self) -> Node:
        token = self._peek()
        if token is not None and token.kind in (_Kind.NOT, _Kind.MINUS):
            self._take()
            self._operand_follows(token)
            self._enter(token)
            child = self._unary()
            self.depth -= 1
            return Not(child)
        return self._primary()

    def _enter(self, token: _Token) -> None:
        self.depth += 1
        if self.depth > MAX_DEPTH:
            raise QuerySyntaxError(
                f"The search nests brackets or NOTs too deeply (at character {token.at}). "
                f"Use {MAX_DEPTH} levels or fewer.",
                token.at,
            )

    def _primary(self) -> Node:
        token = self._take()
        if token.kind is _Kind.OPEN:
            self._enter(token)
            if self._peek() is None:
                raise QuerySyntaxError(_UNCLOSED.format(at=token.at), token.at)
            if self._peek(_Kind.CLOSE) is not None:
                raise QuerySyntaxError(
                    f"The brackets at character {token.at} have nothing in them.", token.at
                )
            node = self._or()
            if self._peek(_Kind.CLOSE) is None:
                raise QuerySyntaxError(_UNCLOSED.format(at=token.at), token.at)
            self._take()
            self.depth -= 1
            return node
        if token.kind is _Kind.CLOSE:
            raise QuerySyntaxError(
                f"The closing bracket at character {token.at} has no opening bracket.", token.at
            )
        if token.kind in (_Kind.AND, _Kind.OR):
            raise QuerySyntaxError(
                f"{token.text} at character {token.at} needs a search term before it.", token.at
            )
        self._count(token)
        if token.kind is _Kind.FIELD:
            return self._field(token)
        if token.kind is _Kind.PHRASE:
            return Phrase(_phrase_text(token))
        return _word(token)

    def _count(self, token: _Token) -> None:
        self.terms += 1
        if self.terms > MAX_TERMS:
            raise QuerySyntaxError(
                f"The search has too many terms (from character {token.at}). "
                f"Use {MAX_TERMS} or fewer.",
                token.at,
            )

    def _field(self, field: _Token) -> Node:
        value = self._take()  # the tokenizer always follows FIELD with its value
        name = field.text
        if name in _DATE_FIELDS:
            return _date_range(name, value.text, value.at)
        if value.kind is _Kind.PHRASE:
            return FieldMatch(name, _phrase_text(value), "phrase")
        text, kind = value.text, "word"
        if text.endswith("*"):
            if name not in _PREFIX_FIELDS:
                raise QuerySyntaxError(f"{name}: does not take a * at the end.", value.at)
            text, kind = _prefix_stem(value), "prefix"
        elif "*" in text:
            raise QuerySyntaxError(_STAR_INSIDE.format(at=value.at), value.at)
        elif _FUZZY.fullmatch(text):
            raise QuerySyntaxError(
                f"~ (similar spellings) works on plain words, not with {name}:.", value.at
            )
        if not _has_letters(text):
            raise QuerySyntaxError(
                f"{name}: needs letters or digits to look for (at character {value.at}).",
                value.at,
            )
        if name == "type" and not _TYPE_VALUE.fullmatch(text.lower().lstrip(".")):
            raise QuerySyntaxError(
                f"type: takes a file type such as pdf, docx or email (at character {value.at}).",
                value.at,
            )
        return FieldMatch(name, text, kind)


_UNCLOSED = "The bracket at character {at} is not closed. Add a closing bracket, or remove it."
_STAR_INSIDE = (
    "A * can only go at the end of a word (at character {at}), to find words starting "
    "with what comes before it. Inside quotes, * is ordinary text."
)


def _phrase_text(token: _Token) -> str:
    text = " ".join(token.text.split())
    if not _has_letters(text):
        raise QuerySyntaxError(
            f"The quotes at character {token.at} have no words in them.", token.at
        )
    return text


def _prefix_stem(token: _Token) -> str:
    stem = token.text[:-1]
    if "*" in stem:
        raise QuerySyntaxError(_STAR_INSIDE.format(at=token.at), token.at)
    if sum(ch.isalnum() for ch in stem) < MIN_PREFIX_CHARS:
        raise QuerySyntaxError(
            f"Type at least {MIN_PREFIX_CHARS} letters before the * (at character {token.at}).",
            token.at,
        )
    return stem


def _word(token: _Token) -> Node:
    text = token.text
    if text.endswith("*"):
        return Prefix(_prefix_stem(token))
    if "*" in text:
        raise QuerySyntaxError(_STAR_INSIDE.format(at=token.at), token.at)
    fuzzy = _FUZZY.fullmatch(text)
    if fuzzy and _has_letters(fuzzy.group(1)):
        edits = fuzzy.group(2)
        if edits not in ("", "1", "2"):
            raise QuerySyntaxError(
                f"After ~ put 1 or 2 (letters that may differ), or nothing "
                f"(at character {token.at}).",
                token.at,
            )
        return Fuzzy(fuzzy.group(1), edits or "AUTO")
    return Word(text)


def _period(text: str, at: int) -> tuple[date, date]:
    """The first day of the year, month or day `text` names, and the first day after it."""
    found = _DATE.fullmatch(text)
    if not found:
        raise QuerySyntaxError(
            f"Write dates as YYYY, YYYY-MM or YYYY-MM-DD, for example 2023-04-01 "
            f"(at character {at}).",
            at,
        )
    year, month, day = (int(g) if g else None for g in found.groups())
    assert year is not None  # the pattern requires it
    try:
        if year < 1000 or year > 9998:
            raise ValueError
        if month is None:
            return date(year, 1, 1), date(year + 1, 1, 1)
        if day is None:
            start = date(year, month, 1)
            return start, (start + timedelta(days=31)).replace(day=1)
        start = date(year, month, day)
        return start, start + timedelta(days=1)
    except ValueError:
        raise QuerySyntaxError(f"{text} is not a real date (at character {at}).", at) from None


def _date_range(name: str, text: str, at: int) -> DateRange:
    if name == "before":
        return DateRange(None, _period(text, at)[0])
    if name == "after":
        return DateRange(_period(text, at)[0], None)
    low, dots, high = text.partition("..")
    if not dots:
        return DateRange(*_period(text, at))
    if not low and not high:
        raise QuerySyntaxError(
            f"Give at least one end of the range, for example modified:2023.. (at character {at}).",
            at,
        )
    start = _period(low, at)[0] if low else None
    end = _period(high, at + len(low) + 2)[1] if high else None
    if start is not None and end is not None and end <= start:
        raise QuerySyntaxError(f"The range at character {at} ends before it starts.", at)
    return DateRange(start, end)
