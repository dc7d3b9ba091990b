"""The emulated Cloud rate limiter and the ETag/304 behaviour, over raw HTTP."""

from __future__ import annotations

import base64
import hashlib

import aiohttp
import pytest

from infisical_async.testing import EmbeddedServer
from infisical_async.testing._ratelimit import RateLimiter

from .conftest import Raw


async def raw_for(server: EmbeddedServer, session: aiohttp.ClientSession) -> Raw:
    raw = Raw(server, session)
    await raw.login()
    return raw


async def test_self_hosted_servers_send_no_limits() -> None:
    async with EmbeddedServer() as server, aiohttp.ClientSession() as session:
        raw = await raw_for(server, session)
        params = {"projectId": raw.info.project_id, "environment": "dev"}
        for _ in range(130):
            status, _, headers = await raw.call("GET", "/api/v4/secrets", params=params)
            assert status == 200
        assert "x-ratelimit-limit" not in headers


async def test_the_free_plan_limits_each_route_per_ip_in_fixed_windows() -> None:
    async with (
        EmbeddedServer(rate_limits="free") as server,
        aiohttp.ClientSession() as session,
    ):
        raw = await raw_for(server, session)
        params = {"projectId": raw.info.project_id, "environment": "dev"}
        status, _, headers = await raw.call("GET", "/api/v4/secrets", params=params)
        assert status == 200
        assert headers["x-ratelimit-limit"] == "120"
        assert headers["x-ratelimit-remaining"] == "119"
        assert headers["x-ratelimit-reset"] == "60"
        for _ in range(119):
            status, _, headers = await raw.call("GET", "/api/v4/secrets", params=params)
            assert status == 200
        assert headers["x-ratelimit-remaining"] == "0"
        status, body, headers = await raw.call("GET", "/api/v4/secrets", params=params)
        assert status == 429
        assert headers["retry-after"] == headers["x-ratelimit-reset"]
        assert headers["x-ratelimit-remaining"] == "0"
        assert body["error"] == "RateLimitExceeded" and body["statusCode"] == 429
        assert body["message"] == (
            f"Rate limit exceeded. Please try again in {headers['retry-after']} seconds"
        )
        assert server.control.rate_limited == 1
        # Buckets are per route pattern: the by-name route has its own window.
        status, _, headers = await raw.call("GET", "/api/v4/secrets/ANY", params=params)
        assert status == 404 and headers["x-ratelimit-remaining"] == "119"
        # Reads outside the secrets routes count against the plan's read figure.
        status, _, headers = await raw.call("GET", f"/api/v1/projects/{raw.info.project_id}")
        assert headers["x-ratelimit-limit"] == "200"
        # And the control API is never limited.
        status, _, headers = await raw.call("GET", "/__infisical_testing__/stats")
        assert status == 200 and "x-ratelimit-limit" not in headers


def test_windows_are_fixed_from_the_first_request() -> None:
    now = [100.0]
    limiter = RateLimiter("instance", window=10, clock=lambda: now[0])
    verdicts = [limiter.hit("GET", "/api/v4/secrets", "/api/v4/secrets", "ip") for _ in range(61)]
    assert [v.remaining for v in verdicts[:3] if v] == [59, 58, 57]
    last = verdicts[-1]
    assert last is not None and not last.allowed and last.reset == 10
    now[0] += 9.5
    late = limiter.hit("GET", "/api/v4/secrets", "/api/v4/secrets", "ip")
    assert late is not None and not late.allowed and late.reset == 1  # ceil of 0.5 s
    other_ip = limiter.hit("GET", "/api/v4/secrets", "/api/v4/secrets", "other")
    assert other_ip is not None and other_ip.allowed
    now[0] += 0.5
    fresh = limiter.hit("GET", "/api/v4/secrets", "/api/v4/secrets", "ip")
    assert fresh is not None and fresh.allowed and fresh.remaining == 59 and fresh.reset == 10
    with pytest.raises(ValueError):
        RateLimiter("gold")  # type: ignore[arg-type]


async def test_every_answer_has_a_strong_etag_and_an_exact_match_gets_304() -> None:
    async with EmbeddedServer() as server, aiohttp.ClientSession() as session:
        raw = await raw_for(server, session)
        url = server.info.site_url + "/api/v4/secrets"
        params = {"projectId": raw.info.project_id, "environment": "dev"}
        auth = {"Authorization": f"Bearer {raw.token}"}
        async with session.get(url, params=params, headers=auth) as resp:
            body = await resp.read()
            etag = resp.headers["etag"]
        assert etag == '"' + base64.b64encode(hashlib.sha1(body).digest()).decode() + '"'
        async with session.get(url, params=params, headers={**auth, "If-None-Match": etag}) as r:
            assert r.status == 304 and await r.read() == b"" and r.headers["etag"] == etag
        for near_miss in ("W/" + etag, f'"zzz", {etag}', "*"):
            headers = {**auth, "If-None-Match": near_miss}
            async with session.get(url, params=params, headers=headers) as r:
                assert r.status == 200  # no list parsing, no weak compare, no wildcard
        async with session.get(url, params=params) as unauthenticated:  # errors too
            assert unauthenticated.status == 401 and "etag" in unauthenticated.headers
