"""Caller input checks: the same verdict on every call, whether remembered or not."""

from __future__ import annotations

import pytest

from infisical_async import InvalidArgumentError
from infisical_async._validation import require_path
from infisical_async.resources._base import segment


class Path(str):
    """A str subclass: never remembered, still checked."""


@pytest.mark.parametrize(
    ("given", "normal"),
    [("/", "/"), ("/app/", "/app"), (" /app/db ", "/app/db"), (Path("/x/"), "/x")],
)
def test_a_path_normalises_the_same_on_every_call(given: str, normal: str) -> None:
    assert [require_path(given, "secret_path") for _ in range(3)] == [normal] * 3


@pytest.mark.parametrize("bad", ["app", "/a//b", "/a/../b", "/./", "", "  ", 7, None])
def test_a_bad_path_is_refused_on_every_call(bad: object) -> None:
    for _ in range(2):
        with pytest.raises(InvalidArgumentError, match="secret_path"):
            require_path(bad, "secret_path")


def test_a_segment_quotes_the_same_on_every_call() -> None:
    for _ in range(2):
        assert segment("DATABASE_URL", "key") == "DATABASE_URL"
        assert segment("a b/c?", "key") == "a%20b%2Fc%3F"


@pytest.mark.parametrize("bad", [".", "..", "", " ", 3])
def test_a_bad_segment_is_refused_on_every_call(bad: object) -> None:
    for _ in range(2):
        with pytest.raises(InvalidArgumentError, match="key"):
            segment(bad, "key")  # type: ignore[arg-type]
