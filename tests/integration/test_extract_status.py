from __future__ import annotations

import json

import pytest

from indexer.extract import ExtractOptions, Status, TikaExtractor, TikaUnavailable

EXTRACTOR = TikaExtractor("http://127.0.0.1:1", ExtractOptions(10, 1000, True))


def _rmeta(*docs: dict[str, object]) -> str:
    return json.dumps(list(docs))


def test_ok_and_children() -> None:
    body = _rmeta(
        {"X-TIKA:content": "hello", "X-TIKA:Parsed-By": ["DefaultParser"]},
        {"X-TIKA:content": "child", "X-TIKA:embedded_resource_path": "/a.txt"},
    )
    result = EXTRACTOR._interpret(200, body)
    assert result.status == Status.OK and len(result.parts) == 2
    assert result.parts[1].embedded_path == "/a.txt"


@pytest.mark.parametrize(
    ("meta", "status"),
    [
        (
            {
                "X-TIKA:EXCEPTION:container_exception": (
                    "org.apache.tika.exception.EncryptedDocumentException: Unable to process"
                )
            },
            Status.ENCRYPTED,
        ),
        (
            {"X-TIKA:EXCEPTION:container_exception": "java.util.zip.ZipException: bad"},
            Status.CORRUPT,
        ),
        ({"X-TIKA:content": "abc", "X-TIKA:WRITE_LIMIT_REACHED": "true"}, Status.TRUNCATED),
        ({"X-TIKA:Parsed-By": ["org.apache.tika.parser.EmptyParser"]}, Status.UNSUPPORTED),
        ({"X-TIKA:content": "  \n"}, Status.EMPTY),
    ],
)
def test_statuses(meta: dict[str, object], status: str) -> None:
    assert EXTRACTOR._interpret(200, _rmeta(meta)).status == status


def test_http_errors_map_to_statuses() -> None:
    assert EXTRACTOR._interpret(415, "").status == Status.UNSUPPORTED
    assert EXTRACTOR._interpret(422, "EncryptedDocumentException").status == Status.ENCRYPTED
    assert EXTRACTOR._interpret(500, "boom").status == Status.CORRUPT
    with pytest.raises(TikaUnavailable):
        EXTRACTOR._interpret(503, "")


def test_unreachable_server_is_transient() -> None:
    import io

    with pytest.raises(TikaUnavailable):
        EXTRACTOR.extract(io.BytesIO(b"x"), filename="a.txt")
