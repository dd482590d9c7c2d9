from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from foi_core.models import stored_file_id


@given(st.integers(min_value=0, max_value=2**64 - 1), st.integers(min_value=0, max_value=2**64 - 1))
def test_stored_file_ids_fit_bigint_and_keep_equality(a: int, b: int) -> None:
    assert -(2**63) <= stored_file_id(a) < 2**63
    assert (stored_file_id(a) == stored_file_id(b)) == (a == b)
