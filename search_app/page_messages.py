"""Words the pages share when a service refuses or the index is down. The services write their
refusals in lower case, as the JSON API and the CLI pass them on; a page shows them as
sentences."""

from __future__ import annotations

INDEX_UNAVAILABLE = "The search index cannot be reached just now. Try again in a few minutes."


def sentence(message: str) -> str:
    """A service's message with its first letter capitalised, the rest as given."""
    return message[:1].upper() + message[1:]
