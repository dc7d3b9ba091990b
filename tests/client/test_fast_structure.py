"""The compiled fast path of ``structure`` against the cattrs converter it stands in for.

For every response model, on well-formed answers and on near misses alike: whenever the
fast path returns a value it is exactly the converter's (same types, tuples stay tuples),
and whatever it declines goes to the converter, so errors still name the field paths.
"""

from __future__ import annotations

import subprocess
import sys
import typing
from datetime import datetime, timezone
from typing import Any, Literal

import attrs
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from infisical_async import models
from infisical_async._serde import (
    _fast_structurer,
    _is_optional,
    _structure_slow,
    _wire_name,
    structure,
)
from infisical_async.errors import ResponseValidationError

from ..resilience.test_hostile_json import RESPONSE_MODELS, json_values, near_misses

FAILED = object()


def well_formed(tp: Any) -> st.SearchStrategy[Any]:
    """JSON the way a server writes ``tp``: every field of the right type."""
    if _is_optional(tp):
        inner = next(a for a in typing.get_args(tp) if a is not type(None))
        return st.none() | well_formed(inner)
    if tp is str:
        return st.text(max_size=8)
    if tp is int:
        return st.integers(min_value=0, max_value=10**6)
    if tp is bool:
        return st.booleans()
    if tp is datetime:
        return st.datetimes(timezones=st.just(timezone.utc)).map(
            lambda d: d.isoformat(timespec="milliseconds").replace("+00:00", "Z")
        )
    if tp is Any:
        return json_values
    if typing.get_origin(tp) is typing.Literal:
        return st.sampled_from(typing.get_args(tp))
    origin, args = typing.get_origin(tp), typing.get_args(tp)
    if origin in (list, tuple):
        return st.lists(well_formed(args[0]), max_size=3)
    if origin is not None and args and args[0] is str:  # dict / Mapping of str to Any
        return st.dictionaries(st.text(max_size=6), json_values, max_size=3)
    attrs.resolve_types(tp)
    required, optional = {}, {}
    for field in attrs.fields(tp):
        strategy = well_formed(field.type)
        (required if field.default is attrs.NOTHING else optional)[_wire_name(field)] = strategy
    return st.fixed_dictionaries(required, optional=optional)


def converter_result(data: Any, model: Any) -> Any:
    try:
        return _structure_slow(data, model, "response")
    except ResponseValidationError:
        return FAILED


def same_instance_behaviour(got: Any, expected: Any) -> None:
    """Made without ``__init__`` where that is safe: still hashable alike, still frozen."""
    try:
        expected_hash: Any = hash(expected)
    except TypeError:  # a model holding a list
        expected_hash = TypeError
    try:
        got_hash: Any = hash(got)
    except TypeError:
        got_hash = TypeError
    assert got_hash == expected_hash
    name = attrs.fields(type(got))[0].name
    with pytest.raises(attrs.exceptions.FrozenInstanceError):
        setattr(got, name, None)
    assert attrs.asdict(got) == attrs.asdict(expected)


def check(data: Any, model: Any) -> bool:
    """True when the fast path took ``data`` (and then agreed with the converter)."""
    fast = _fast_structurer(model)
    assert fast is not None, f"{model} has no fast path"
    expected = converter_result(data, model)
    try:
        got = fast(data)
    except Exception:
        got = FAILED
    if got is not FAILED:
        assert expected is not FAILED, "the fast path accepted what the converter refuses"
        assert got == expected and type(got) is type(expected)
        assert repr(got) == repr(expected)  # the same fields, the same ones hidden
        for one, other in zip(
            got if isinstance(got, list) else [got],
            expected if isinstance(expected, list) else [expected],
            strict=True,
        ):
            same_instance_behaviour(one, other)
        assert structure(data, model) == expected
        return True
    if expected is FAILED:
        with pytest.raises(ResponseValidationError) as caught:
            structure(data, model)
        assert caught.value.__context__ is None and caught.value.__cause__ is None
    else:
        assert structure(data, model) == expected  # declined, and the converter took it
    return False


@pytest.mark.parametrize("model", RESPONSE_MODELS, ids=lambda m: str(m).split(".")[-1])
@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_the_fast_path_agrees_with_the_converter(model: Any, data: st.DataObject) -> None:
    taken = check(data.draw(well_formed(model)), model)
    # Well-formed answers are what the fast path is for; only a validator may refuse one.
    assert taken or model is models.AccessToken
    check(data.draw(near_misses(model)), model)
    check(data.draw(json_values), model)


def test_a_secret_with_everything_set_takes_the_fast_path() -> None:
    data = {
        "secretKey": "DATABASE_URL",
        "secretValue": "postgres://u:p@db/app",
        "id": "1",
        "version": 3,
        "type": "shared",
        "environment": "dev",
        "workspace": "p1",
        "secretPath": "/",
        "secretComment": "",
        "secretValueHidden": False,
        "skipMultilineEncoding": None,
        "secretReminderNote": None,
        "secretReminderRepeatDays": None,
        "tags": [{"id": "t", "slug": "s", "name": "n", "color": None}],
        "secretMetadata": [{"key": "k", "value": "v", "isEncrypted": False}],
        "createdAt": "2025-06-01T10:00:00.000Z",
        "updatedAt": "2025-06-01T10:00:00.000Z",
        "unknownField": {"ignored": True},
    }
    assert check(data, models.Secret)
    secret = structure(data, models.Secret)
    assert isinstance(secret.tags, tuple) and isinstance(secret.tags[0], models.Tag)
    assert secret.created_at == datetime(2025, 6, 1, 10, tzinfo=timezone.utc)


def test_validators_keep_a_model_on_its_init() -> None:
    from infisical_async._serde import _slots_settable

    assert not _slots_settable(models.AccessToken)  # its validators must run
    assert _slots_settable(models.Secret)

    @attrs.frozen(cache_hash=True)
    class Cached:
        x: int

    assert not _slots_settable(Cached)


@attrs.frozen(kw_only=True)
class Keyed:
    usage: Literal["encrypt-decrypt", "sign-verify"]
    mode: Literal["a", "b"] | None = None


def test_string_literals_take_the_fast_path() -> None:
    assert check({"usage": "sign-verify", "mode": None}, Keyed)
    assert not check({"usage": "other"}, Keyed)
    assert not check({"usage": "sign-verify", "mode": 1}, Keyed)


def test_a_wrong_field_still_names_its_path() -> None:
    with pytest.raises(ResponseValidationError) as caught:
        structure({"secretKey": "K", "secretValue": "hidden", "version": "3"}, models.Secret)
    assert caught.value.errors == ["invalid value (expected int | None) @ $.version"]
    assert "hidden" not in str(caught.value)


def test_a_validator_refusal_is_a_typed_error_without_context() -> None:
    with pytest.raises(ResponseValidationError) as caught:
        structure({"accessToken": "bad token", "expiresIn": 10}, models.AccessToken)
    assert caught.value.__context__ is None and "bad token" not in str(caught.value)


def test_reading_a_well_formed_answer_does_not_import_cattrs() -> None:
    code = (
        "import sys\n"
        "from infisical_async._serde import structure\n"
        "from infisical_async.models import AccessToken, Secret, SecretList\n"
        "structure({'accessToken': 't', 'expiresIn': 10}, AccessToken)\n"
        "structure({'secretKey': 'K', 'secretValue': 'v'}, Secret)\n"
        "structure({'secrets': [{'secretKey': 'K', 'secretValue': 'v'}]}, SecretList)\n"
        "assert 'cattrs' not in sys.modules, 'cattrs was imported'\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True, timeout=60)
