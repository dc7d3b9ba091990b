"""Defaults in one place."""

from __future__ import annotations

DEFAULT_SITE_URL = "https://app.infisical.com"
DEFAULT_TOTAL_TIMEOUT = 30.0
DEFAULT_CONNECT_TIMEOUT = 10.0
DEFAULT_MAX_RETRIES = 2
INITIAL_RETRY_DELAY = 0.5
MAX_RETRY_DELAY = 8.0
MAX_RETRY_AFTER = 60.0
"""A Retry-After longer than this is not waited for: the RateLimitError is raised instead."""
DEFAULT_MAX_RESPONSE_BYTES = 64 * 1024 * 1024
RENEW_FRACTION = 2 / 3
"""Renew an access token after this fraction of its lifetime (less up to 10% jitter)."""
DEFAULT_K8S_TOKEN_PATH = "/var/run/secrets/kubernetes.io/serviceaccount/token"
