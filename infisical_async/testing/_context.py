"""What every route handler shares: state, configuration, JSON and auth helpers."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

from aiohttp import web

from ._faults import FaultPlan
from ._json import dumps, loads
from ._ratelimit import RateLimiter, RateLimitMode
from ._state import Identity, ServerState, TokenRecord, wall_time
from ._wire import ApiError

__all__ = [
    "COMPAT_MODES",
    "CONTEXT_KEY",
    "Compat",
    "Context",
    "ServerConfig",
    "context_of",
    "normalize_path",
]

Compat = Literal["current", "2025", "2024"]
COMPAT_MODES: tuple[Compat, ...] = ("current", "2025", "2024")
"""Server generations served: current upstream, June 2025 and October 2024."""


@dataclass
class ServerConfig:
    compat: Compat = "current"
    allow_short_ttl: bool = False
    """Accept TTLs down to one second (the real server's floor is one minute)."""
    sweep_interval: float = 0.25
    """How often expired leases are looked for, in seconds."""
    rate_limits: RateLimitMode = "off"
    """Emulate Infisical Cloud's per-IP, per-route limits of this plan (see _ratelimit)."""
    rate_window: float = 60.0
    """Length of a rate-limit window in seconds (shrink it to test pacing quickly)."""
    clock_offset: float = 0.0
    """Seconds the server's clock runs ahead of this machine's (negative: behind): its
    timestamps, token expiry and ``Date`` header all follow the shifted clock."""


def normalize_path(value: str) -> str:
    """Trim, add a leading slash and drop a trailing one, as the server does for paths."""
    value = value.strip()
    if not value.startswith("/"):
        value = "/" + value
    while len(value) > 1 and value.endswith("/"):
        value = value[:-1]
    return value


class Context:
    def __init__(self, state: ServerState, config: ServerConfig, faults: FaultPlan) -> None:
        self.state = state
        self.config = config
        self.faults = faults
        self.limiter = RateLimiter(config.rate_limits, window=config.rate_window)

    @property
    def legacy(self) -> bool:
        """Behave like the October-2024 server (its quirks in every route)."""
        return self.config.compat == "2024"

    @property
    def current(self) -> bool:
        """Serve the newest routes (v4 secrets, v2 folders, /api/v1/projects); the 2024
        and June-2025 servers answer those with the framework's route-404."""
        return self.config.compat == "current"

    @staticmethod
    def json(data: Any, status: int = 200) -> web.Response:
        return web.Response(
            status=status, body=dumps(data).encode(), content_type="application/json"
        )

    async def body(self, request: web.Request) -> dict[str, Any]:
        raw = await request.read()
        if not raw.strip():
            return {}
        try:
            data = loads(raw)
        except ValueError:
            if self.legacy:
                # The 2024 server answered a broken body with a generic 500.
                raise ApiError(500, "Something went wrong", "InternalServerError") from None
            raise ApiError(400, "Body is not valid JSON", "BadRequest") from None
        if not isinstance(data, dict):
            raise ApiError(400, "Body must be a JSON object", "BadRequest")
        return data

    def token_status(self, token: str) -> TokenRecord:
        """Check an access token as the auth hook does; return its record or raise."""
        state = self.state
        verified = state.verify_token(token)
        if verified is None:
            raise ApiError(403, "invalid token", "TokenError")
        token_id, exp = verified
        record = state.tokens.get(token_id)
        now = wall_time()
        if self.legacy:
            if exp is not None and now >= exp:
                raise ApiError(403, "Your token has expired. Please re-authenticate.", "TokenError")
            if record is None or record.revoked:
                raise ApiError(401, "No identity access token found", "UnauthorizedError")
            if record.force_expired or (
                record.ttl > 0 and now >= record.last_renewed_at + record.ttl
            ):
                raise ApiError(
                    401,
                    "Failed to authenticate MI access token due to TTL expiration",
                    "UnauthorizedError",
                )
            return record
        if record is not None and record.force_expired:
            raise ApiError(403, "Your token has expired. Please re-authenticate.", "TokenError")
        if exp is not None and now >= exp:
            raise ApiError(403, "Your token has expired. Please re-authenticate.", "TokenError")
        if record is None or record.revoked:
            raise ApiError(401, "No identity access token found", "UnauthorizedError")
        return record

    def authenticate(self, request: web.Request) -> Identity:
        header = request.headers.get("Authorization")
        if not header:
            raise ApiError(401, "Token missing", "UnauthorizedError")
        scheme, _, token = header.partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise ApiError(401, "Token missing", "UnauthorizedError")
        self.token_status(token.strip())
        return self.state.identity

    def check_project_id(self, project_id: str) -> None:
        if project_id != self.state.project_id:
            raise ApiError(
                403,
                "You are not allowed to access this resource",
                "Identity is not a member of the specified project",
            )

    def check_project_slug(self, slug: str) -> None:
        if slug != self.state.project_slug:
            raise ApiError(404, f"Project with slug '{slug}' not found", "NotFound")

    def check_environment(self, env: str) -> None:
        if env not in self.state.environments:
            raise ApiError(
                404, "Folder not found for the given environment slug & secret path", "NotFound"
            )


CONTEXT_KEY = web.AppKey("context", Context)
"""Where the application keeps its `Context`: handlers find state and config through it."""


def context_of(request: web.Request) -> Context:
    """The `Context` of the application serving ``request``."""
    return request.app[CONTEXT_KEY]
