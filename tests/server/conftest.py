"""Raw HTTP helpers: the server tests talk to it with plain aiohttp, not the SDK."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest
from multidict import CIMultiDict

from infisical_async.testing import EmbeddedServer


class Raw:
    def __init__(self, server: EmbeddedServer, session: aiohttp.ClientSession) -> None:
        self.server = server
        self.info = server.info
        self.session = session
        self.token: str | None = None

    async def call(
        self,
        method: str,
        path: str,
        *,
        json: Any = None,
        params: Any = None,
        data: Any = None,
        token: str | bool | None = True,
    ) -> tuple[int, Any, CIMultiDict[str]]:
        headers = {}
        bearer = self.token if token is True else token
        if bearer:
            headers["Authorization"] = f"Bearer {bearer}"
        if data is not None:
            headers["Content-Type"] = "application/json"
        async with self.session.request(
            method, self.info.site_url + path, json=json, params=params, data=data, headers=headers
        ) as resp:
            body = await resp.json(content_type=None)
            return resp.status, body, CIMultiDict(resp.headers)

    async def login(self) -> dict[str, Any]:
        status, body, _ = await self.call(
            "POST",
            "/api/v1/auth/universal-auth/login",
            token=False,
            json={"clientId": self.info.client_id, "clientSecret": self.info.client_secret},
        )
        assert status == 200, body
        self.token = body["accessToken"]
        return dict(body)

    @property
    def v(self) -> tuple[str, str, str]:
        """(secrets base, batch base, project key) of the generation under test."""
        if self.server.config.compat == "2024":
            return "/api/v3/secrets/raw", "/api/v3/secrets/batch/raw", "workspaceId"
        return "/api/v4/secrets", "/api/v4/secrets/batch", "projectId"

    @property
    def folders(self) -> tuple[str, str]:
        """(folders base, project key): v1 on the 2024 server, which has no v2."""
        if self.server.config.compat == "2024":
            return "/api/v1/folders", "workspaceId"
        return "/api/v2/folders", "projectId"


@pytest.fixture
async def raw(server: EmbeddedServer) -> AsyncIterator[Raw]:
    async with aiohttp.ClientSession() as session:
        api = Raw(server, session)
        await api.login()
        yield api


def assert_error(
    body: Any, *, status: int, error: str, legacy: bool, message: str | None = None
) -> None:
    """The error body shape: statusCode/message/error, plus reqId on current servers."""
    assert body["statusCode"] == status
    assert body["error"] == error
    if message is not None:
        assert body["message"] == message
    if legacy:
        assert "reqId" not in body
    else:
        assert body["reqId"].startswith("req-") and len(body["reqId"]) == 18
