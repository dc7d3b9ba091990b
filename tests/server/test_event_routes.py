"""The embedded server's change events, byte for byte against the contract
(``events-etag-ratelimit.md`` §1), over plain aiohttp."""

from __future__ import annotations

import asyncio
import json
import re
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest

from infisical_async.testing import EmbeddedServer

from .conftest import Raw, assert_error

ROUTE = "/api/v1/events/subscribe/project-events"
ALL = ["secret:create", "secret:update", "secret:delete", "secret:import-mutation"]


def register(
    events: list[str] = ALL, env: str | None = "dev", path: str | None = "/**"
) -> list[dict[str, Any]]:
    if env is None:
        return [{"event": e} for e in events]
    conditions: dict[str, Any] = {"environmentSlug": env}
    if path is not None:
        conditions["secretPath"] = path
    return [{"event": e, "conditions": conditions} for e in events]


async def make_raw(srv: EmbeddedServer, session: aiohttp.ClientSession) -> Raw:
    api = Raw(srv, session)
    await api.login()
    return api


@pytest.fixture
async def api() -> AsyncIterator[Raw]:
    async with (
        EmbeddedServer(events_publish_delay=0.01, events_ping_interval=0.1) as srv,
        aiohttp.ClientSession() as session,
    ):
        yield await make_raw(srv, session)


class Stream:
    def __init__(self, response: aiohttp.ClientResponse) -> None:
        self.response = response

    async def frame(self, timeout: float = 2.0) -> bytes:
        """The raw bytes of the next frame (up to and including its blank line)."""
        lines = []
        while True:
            line = await asyncio.wait_for(self.response.content.readline(), timeout)
            if not line:
                raise EOFError
            lines.append(line)
            if line == b"\n":
                return b"".join(lines)

    async def event(self, timeout: float = 2.0) -> tuple[str, Any]:
        """(event name, decoded data) of the next frame that is not a ping."""
        while True:
            raw = await self.frame(timeout)
            if raw == b"event: ping\n\n":
                continue
            match = re.fullmatch(rb"id: (\d+)\nevent: (\S+)\ndata: (.*)\n\n", raw, re.S)
            assert match, raw
            return match.group(2).decode(), json.loads(match.group(3))


async def subscribe(api: Raw, body: dict[str, Any]) -> aiohttp.ClientResponse:
    return await api.session.post(
        api.info.site_url + ROUTE,
        json=body,
        headers={"Authorization": f"Bearer {api.token}", "Accept": "text/event-stream"},
    )


async def write(api: Raw, key: str, path: str = "/", env: str = "dev") -> None:
    status, body, _ = await api.call(
        "POST",
        f"/api/v4/secrets/{key}",
        json={
            "projectId": api.info.project_id,
            "environment": env,
            "secretPath": path,
            "secretValue": "v",
        },
    )
    assert status == 200, body


async def test_head_framing_and_pings(api: Raw) -> None:
    response = await subscribe(api, {"projectId": api.info.project_id, "register": register()})
    assert response.status == 200
    assert response.headers["Content-Type"] == "text/event-stream"
    assert response.headers["Cache-Control"] == "no-cache"
    assert response.headers["X-Accel-Buffering"] == "no"
    assert response.headers["Transfer-Encoding"] == "chunked"
    assert "etag" not in response.headers
    stream = Stream(response)
    assert await stream.frame() == b"event: ping\n\n"
    await write(api, "ONE")
    event, data = await stream.event()
    assert event == "secret:create"
    assert data == {
        "projectType": "secret-manager",
        "data": {
            "eventType": "secret:create",
            "payload": [{"environment": "dev", "secretPath": "/", "secretKey": "ONE"}],
        },
    }
    response.close()


async def test_bulk_write_is_one_frame_and_import_mutation_an_object(api: Raw) -> None:
    api.server.control.seed({"S": "1"}, path="/shared", folders=["/app"])
    await asyncio.sleep(0.05)  # the seed's own frame goes out to nobody
    response = await subscribe(api, {"projectId": api.info.project_id, "register": register()})
    stream = Stream(response)
    status, _, _ = await api.call(
        "POST",
        "/api/v4/secrets/batch",
        json={
            "projectId": api.info.project_id,
            "environment": "dev",
            "secretPath": "/",
            "secrets": [
                {"secretKey": "A", "secretValue": "1"},
                {"secretKey": "B", "secretValue": "2"},
            ],
        },
    )
    assert status == 200
    event, data = await stream.event()
    assert event == "secret:create"
    assert [p["secretKey"] for p in data["data"]["payload"]] == ["A", "B"]
    status, _, _ = await api.call(
        "POST",
        "/api/v1/secret-imports",
        json={
            "projectId": api.info.project_id,
            "environment": "dev",
            "path": "/app",
            "import": {"environment": "dev", "path": "/shared"},
        },
    )
    assert status == 200
    event, data = await stream.event()
    assert event == "secret:import-mutation"
    assert data["data"]["payload"] == {"environment": "dev", "secretPath": "/app"}
    response.close()


async def test_path_conditions_are_globs(api: Raw) -> None:
    api.server.control.seed({}, folders=["/app/deep"])
    root_only = await subscribe(
        api, {"projectId": api.info.project_id, "register": register(path=None)}
    )
    subtree = await subscribe(
        api, {"projectId": api.info.project_id, "register": register(path="/app/**")}
    )
    await write(api, "DEEP", "/app/deep")
    await write(api, "ROOT", "/")
    # Only environmentSlug: zod's default "/" matches the root folder alone.
    _, data = await Stream(root_only).event()
    assert data["data"]["payload"][0]["secretKey"] == "ROOT"
    _, data = await Stream(subtree).event()
    assert data["data"]["payload"][0]["secretKey"] == "DEEP"
    await write(api, "APP", "/app")  # "/app/**" covers "/app" itself
    _, data = await Stream(subtree).event()
    assert data["data"]["payload"][0]["secretKey"] == "APP"
    root_only.close()
    subtree.close()


async def test_no_replay_and_other_environments_are_not_heard(api: Raw) -> None:
    await write(api, "BEFORE")
    await asyncio.sleep(0.05)  # published to nobody
    response = await subscribe(api, {"projectId": api.info.project_id, "register": register()})
    stream = Stream(response)
    await write(api, "ELSEWHERE", env="staging")
    await write(api, "AFTER")
    _, data = await stream.event()
    assert data["data"]["payload"][0]["secretKey"] == "AFTER"
    response.close()


async def test_refusals_before_the_stream(api: Raw) -> None:
    project = api.info.project_id
    status, body, _ = await api.call("POST", ROUTE, json={"projectId": project}, token=False)
    assert status == 401
    assert_error(body, status=401, error="UnauthorizedError", legacy=False, message="Token missing")
    for bad in ([], [{"event": "secret:create"}] * 11, [{"event": "secret:rename"}]):
        status, body, _ = await api.call(
            "POST", ROUTE, json={"projectId": project, "register": bad}
        )
        assert status == 422, bad
        assert body["error"] == "ValidationFailure"
    status, body, _ = await api.call(
        "POST", ROUTE, json={"projectId": "other", "register": register()}
    )
    assert status == 403
    api.server.control.set_events("off")
    status, body, _ = await api.call(
        "POST", ROUTE, json={"projectId": project, "register": register()}
    )
    assert (status, body["error"]) == (400, "BadRequest")
    assert body["message"] == (
        "Event subscriptions are not available on your current plan. "
        "Please upgrade to access this feature."
    )
    # Permission is checked before the licence: unlicensed and unpermitted is 403.
    api.server.control.revoke_event_permission()
    status, body, _ = await api.call(
        "POST", ROUTE, json={"projectId": project, "register": register()}
    )
    assert (status, body["error"]) == (403, "PermissionDenied")
    assert body["message"] == "You are not allowed to subscribe-on-created on secret-events"


async def test_connection_cap_and_revocation() -> None:
    async with (
        EmbeddedServer(events_max_connections=2, events_ping_interval=5) as srv,
        aiohttp.ClientSession() as session,
    ):
        api = await make_raw(srv, session)
        body = {"projectId": api.info.project_id, "register": register()}
        first, second = await subscribe(api, body), await subscribe(api, body)
        third = await subscribe(api, body)
        assert third.status == 429
        payload = await third.json()
        assert payload["error"] == "RateLimitExceeded"
        assert "Your project supports 2 concurrent event subscriptions." in payload["message"]
        assert "retry-after" not in third.headers
        assert srv.control.revoke_event_permission() == 2
        for response in (first, second):
            assert await Stream(response).frame() == (
                b'event: error\ndata: {"message":"Permission denied or refresh failed"}\n\n'
            )
            assert await response.content.read() == b""  # then a clean end


async def test_max_duration_cuts_without_a_terminating_chunk() -> None:
    async with (
        EmbeddedServer(events_max_duration=0.2, events_ping_interval=5) as srv,
        aiohttp.ClientSession() as session,
    ):
        api = await make_raw(srv, session)
        response = await subscribe(api, {"projectId": api.info.project_id, "register": register()})
        with pytest.raises(aiohttp.ClientPayloadError):
            await asyncio.wait_for(response.content.read(), 2)


async def test_older_servers_have_no_route() -> None:
    async with (
        EmbeddedServer(compat="2024") as srv,
        aiohttp.ClientSession() as session,
    ):
        api = await make_raw(srv, session)
        status, body, _ = await api.call(
            "POST", ROUTE, json={"projectId": api.info.project_id, "register": register()}
        )
        assert status == 404
        assert body == {
            "message": f"Route POST:{ROUTE} not found",
            "error": "Not Found",
            "statusCode": 404,
        }
