"""Hostile JSON for every response model: only ResponseValidationError may come out.

Two generators per model: arbitrary JSON, and objects with the model's own wire keys
holding values of any JSON type (the near misses a broken or malicious server sends).
Each parse either succeeds or raises ResponseValidationError with no chained exception.
"""

from __future__ import annotations

from typing import Any

import attrs
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from infisical_async import models
from infisical_async._serde import structure, to_camel
from infisical_async.errors import ResponseValidationError

RESPONSE_MODELS: list[Any] = [
    models.AccessToken,
    models.Tag,
    models.SecretMetadata,
    models.Secret,
    models.SecretImport,
    models.SecretList,
    models.ApprovalRequest,
    models.Folder,
    models.Environment,
    models.Project,
    models.KmsKey,
    models.KmsKeyList,
    models.DynamicSecret,
    models.Lease,
    list[models.Secret],
    list[models.Folder],
    list[models.Lease],
    list[models.Environment],
]
EXAMPLES = 100
"""Per model and generator; the closing note of the run reports the total."""

json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**63), max_value=2**63)
    | st.floats(allow_nan=True, allow_infinity=True)
    | st.text(max_size=20),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=10), children, max_size=4)
    ),
    max_leaves=12,
)


def wire_keys(model: Any) -> list[str]:
    inner = model.__args__[0] if hasattr(model, "__args__") else model
    return [field.metadata.get("wire", to_camel(field.name)) for field in attrs.fields(inner)]


def near_misses(model: Any) -> st.SearchStrategy[Any]:
    keys = wire_keys(model)
    objects = st.fixed_dictionaries({}, optional={key: json_values for key in keys})
    return st.lists(objects, max_size=3) if hasattr(model, "__args__") else objects


def parse_or_typed_error(data: Any, model: Any) -> None:
    try:
        structure(data, model)
    except ResponseValidationError as exc:
        assert exc.__context__ is None and exc.__cause__ is None
        assert "Traceback" not in str(exc)


@pytest.mark.parametrize("model", RESPONSE_MODELS, ids=lambda m: str(m).split(".")[-1])
@settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_any_json_gives_a_model_or_a_typed_error(model: Any, data: st.DataObject) -> None:
    parse_or_typed_error(data.draw(json_values), model)
    parse_or_typed_error(data.draw(near_misses(model)), model)


def test_errors_name_the_field_and_never_the_value() -> None:
    secret_value = "hunter2-never-in-an-error"
    with pytest.raises(ResponseValidationError) as caught:
        structure({"secretKey": 5, "secretValue": secret_value, "version": "x"}, models.Secret)
    message = str(caught.value)
    assert "secretKey" in message or "secret_key" in message or "$." in message
    assert secret_value not in message and secret_value not in repr(caught.value.errors)
    with pytest.raises(ResponseValidationError) as listed:
        structure([{"id": secret_value}], list[models.Folder])
    assert secret_value not in str(listed.value)
