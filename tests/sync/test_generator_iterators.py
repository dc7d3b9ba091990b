"""The sync generator's rule for methods iterated with ``async for``."""

from __future__ import annotations

import ast
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "tools"))

import generate_sync


def twin_of(source: str) -> str:
    fn = ast.parse(source).body[0]
    assert isinstance(fn, (ast.FunctionDef, ast.AsyncFunctionDef))
    return generate_sync.method_twin(fn, generate_sync._Renamer({"AsyncThing"}))


def test_an_async_generator_becomes_a_blocking_generator() -> None:
    twin = twin_of(
        "async def follow(self, *, n: int = 1) -> AsyncIterator[AsyncThing]:\n"
        '    """Doc."""\n'
        "    yield 1\n"
    )
    # (ruff formats the file afterwards; ast.unparse writes "int=1")
    assert "def follow(self, *, n: int=1) -> Generator[Thing, None, None]:" in twin
    assert "return self._runner.iterate(self._async.follow, n=n)" in twin


def test_a_method_returning_an_async_iterator_becomes_a_blocking_generator() -> None:
    twin = twin_of(
        "def watch(self, key: str) -> AsyncGenerator[int, None]:\n"
        '    """Doc."""\n'
        "    return make()\n"
    )
    assert "-> Generator[int, None, None]:" in twin
    assert "return self._runner.iterate(self._async.watch, key=key)" in twin


def test_coroutines_and_context_managers_keep_their_twins() -> None:
    assert "self._runner.call(" in twin_of("async def get(self) -> int:\n    return 1\n")
    cm = twin_of("@asynccontextmanager\nasync def keep(self) -> AsyncIterator[int]:\n    yield 1\n")
    assert "wrap_async_cm" in cm


def test_unannotated_async_generators_are_refused() -> None:
    with pytest.raises(SystemExit, match="annotate"):
        twin_of("async def follow(self):\n    yield 1\n")
    with pytest.raises(SystemExit, match="coroutine returning an async iterator"):
        twin_of("async def follow(self) -> AsyncIterator[int]:\n    return make()\n")
