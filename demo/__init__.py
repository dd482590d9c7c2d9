"""Deterministic sample council documents for `foi demo` and the integration tests."""

from demo.documents import (
    SampleDocument,
    generate,
    write_docx,
    write_eml,
    write_pdf,
    write_xlsx,
)

__all__ = ["SampleDocument", "generate", "write_docx", "write_eml", "write_pdf", "write_xlsx"]
