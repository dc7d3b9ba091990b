"""``python -m infisical_sync run -- COMMAND``: run a command with secrets in its environment.

Credentials come from the environment, as for ``InfisicalClient.from_env()``
(``INFISICAL_UNIVERSAL_AUTH_CLIENT_ID``/``_SECRET`` or ``INFISICAL_TOKEN``, and
``INFISICAL_SITE_URL``); the project from ``--project-id`` or ``INFISICAL_PROJECT_ID``.
Existing variables win over secrets unless ``--overwrite`` is given. The command's exit
status becomes ours.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys

from infisical_async.errors import InfisicalError

from ._client import InfisicalClient


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m infisical_sync")
    commands = parser.add_subparsers(dest="command", required=True)
    run = commands.add_parser(
        "run", help="run a command with the secrets of a path in its environment"
    )
    run.add_argument(
        "--env",
        default=os.environ.get("INFISICAL_ENVIRONMENT", "dev"),
        help="environment slug (default: $INFISICAL_ENVIRONMENT or dev)",
    )
    run.add_argument("--path", default="/", help="folder path (default: /)")
    run.add_argument(
        "--project-id",
        default=os.environ.get("INFISICAL_PROJECT_ID"),
        help="project id (default: $INFISICAL_PROJECT_ID)",
    )
    run.add_argument("--recursive", action="store_true", help="include sub-folders")
    run.add_argument("--no-imports", action="store_true", help="leave imported secrets out")
    run.add_argument(
        "--overwrite",
        action="store_true",
        help="let secrets replace variables that are already set",
    )
    run.add_argument("argv", nargs=argparse.REMAINDER, metavar="-- COMMAND [ARGS...]")
    return parser


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    command = args.argv[1:] if args.argv[:1] == ["--"] else args.argv
    if not command:
        print("infisical: no command given (usage: run [options] -- COMMAND)", file=sys.stderr)
        return 2
    if not args.project_id:
        print(
            "infisical: no project: pass --project-id or set INFISICAL_PROJECT_ID", file=sys.stderr
        )
        return 2
    child_env = dict(os.environ)
    try:
        with InfisicalClient.from_env(project_id=args.project_id, environment=args.env) as client:
            client.secrets.load_into_environ(
                secret_path=args.path,
                recursive=args.recursive,
                include_imports=not args.no_imports,
                overwrite=args.overwrite,
                environ=child_env,
            )
    except InfisicalError as exc:
        print(f"infisical: {exc}", file=sys.stderr)
        return 1
    try:
        return subprocess.run(command, env=child_env, check=False).returncode
    except FileNotFoundError:
        print(f"infisical: command not found: {command[0]}", file=sys.stderr)
        return 127


if __name__ == "__main__":
    sys.exit(main())
