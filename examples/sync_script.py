"""A blocking script: list a path's secret names with the sync client (no asyncio needed).

    INFISICAL_UNIVERSAL_AUTH_CLIENT_ID=... INFISICAL_UNIVERSAL_AUTH_CLIENT_SECRET=... \\
    INFISICAL_SITE_URL=... python examples/sync_script.py PROJECT_ID dev /
"""

from __future__ import annotations

import sys

from infisical_sync import InfisicalClient, InfisicalError


def main(argv: list[str]) -> int:
    if not argv:
        print("usage: sync_script.py PROJECT_ID [ENVIRONMENT] [PATH]", file=sys.stderr)
        return 2
    project_id = argv[0]
    environment = argv[1] if len(argv) > 1 else "dev"
    path = argv[2] if len(argv) > 2 else "/"
    try:
        with InfisicalClient.from_env(project_id=project_id, environment=environment) as client:
            secrets = client.secrets.list(secret_path=path)
    except InfisicalError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    for secret in secrets:
        print(f"{secret.key} (version {secret.version})")  # names only, never values
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
