"""The ``infisical-py`` command: run a program with Infisical secrets in its environment, or
export them. Also ``python -m infisical_sync``."""

from __future__ import annotations

import argparse
import contextlib
import os
import subprocess
import sys
import threading
import time
from collections.abc import Mapping, Sequence
from urllib.parse import urlsplit

import attrs

from infisical_async._constants import DEFAULT_SITE_URL
from infisical_async._env import CREDENTIAL_VARIABLES, options_from_env
from infisical_async._version import __version__
from infisical_async._watch import WatchResync
from infisical_async.errors import (
    APIConnectionError,
    ConfigurationError,
    InfisicalError,
    NotFoundError,
)

from ._child import Child, exit_status, forwarding, is_executable
from ._client import InfisicalClient
from ._formats import FORMATS, render

__all__ = ["main"]

PROG = "infisical-py"

DESCRIPTION = """\
Run a program with the secrets of an Infisical folder in its environment, or print them.

Credentials come from the environment, as for InfisicalClient.from_env():
INFISICAL_UNIVERSAL_AUTH_CLIENT_ID and INFISICAL_UNIVERSAL_AUTH_CLIENT_SECRET, or
INFISICAL_TOKEN, or INFISICAL_AUTH_METHOD with what that method needs; the server from
INFISICAL_SITE_URL (default https://app.infisical.com)."""

EPILOG = """\
examples:
  infisical-py run --env prod --path /app -- gunicorn app:wsgi
  infisical-py run --watch -- python worker.py
  infisical-py export --format shell > secrets.sh"""

RUN_EPILOG = """\
The program's exit status becomes ours (128+N when a signal N ended it). SIGTERM, SIGHUP,
SIGQUIT, SIGUSR1, SIGUSR2 and SIGINT (except Ctrl-C from a terminal, which reaches the
program directly) are passed on to it. Variables already set win over secrets unless
--overwrite is given. The machine identity's credentials are removed from the program's
environment unless --pass-credentials is given."""


class CliError(Exception):
    def __init__(self, message: str, code: int = 1) -> None:
        super().__init__(message)
        self.code = code


def _say(message: str) -> None:
    print(f"{PROG}: {message}", file=sys.stderr, flush=True)


def _parser() -> argparse.ArgumentParser:
    formatter = argparse.RawDescriptionHelpFormatter
    parser = argparse.ArgumentParser(
        prog=PROG, description=DESCRIPTION, epilog=EPILOG, formatter_class=formatter
    )
    parser.add_argument("--version", action="version", version=f"{PROG} {__version__}")
    scope = argparse.ArgumentParser(add_help=False)
    where = scope.add_argument_group("where the secrets come from")
    where.add_argument(
        "--env",
        help="environment slug (default: $INFISICAL_ENVIRONMENT, else dev)",
    )
    where.add_argument("--path", help="folder path (default: $INFISICAL_SECRET_PATH, else /)")
    where.add_argument("--project-id", help="project id (default: $INFISICAL_PROJECT_ID)")
    where.add_argument("--site-url", help="server URL (default: $INFISICAL_SITE_URL)")
    where.add_argument("--recursive", action="store_true", help="include sub-folders")
    where.add_argument("--no-imports", action="store_true", help="leave imported secrets out")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    run = commands.add_parser(
        "run",
        parents=[scope],
        help="run a program with the secrets in its environment",
        description="Run a program with the secrets of a folder in its environment.",
        epilog=RUN_EPILOG,
        formatter_class=formatter,
        usage=f"{PROG} run [options] -- PROGRAM [ARGS...]",
    )
    run.add_argument(
        "--overwrite", action="store_true", help="let secrets replace variables already set"
    )
    run.add_argument(
        "--watch",
        action="store_true",
        help="restart the program when the secrets change: on the server's change events, "
        "or by checking every --watch-interval seconds on servers without them",
    )
    run.add_argument(
        "--watch-interval",
        type=float,
        default=10.0,
        metavar="SECONDS",
        help="polling interval for --watch without change events (default: 10)",
    )
    run.add_argument(
        "--pass-credentials",
        action="store_true",
        help="keep the machine identity's credentials in the program's environment",
    )
    run.add_argument("--quiet", "-q", action="store_true", help="no summary line on stderr")
    run.add_argument("argv", nargs=argparse.REMAINDER, help=argparse.SUPPRESS)

    export = commands.add_parser(
        "export",
        parents=[scope],
        help="print the secrets as dotenv, JSON or shell lines",
        description="Print the secrets of a folder as dotenv, JSON or shell export lines.",
        formatter_class=formatter,
    )
    export.add_argument(
        "--format", choices=sorted(FORMATS), default="dotenv", help="output format (dotenv)"
    )
    export.add_argument(
        "--output", "-o", metavar="FILE", help="write to FILE (mode 0600) instead of stdout"
    )
    return parser


@attrs.frozen
class Scope:
    """Where the secrets come from, as resolved from the options and the environment."""

    site_url: str
    project_id: str
    environment: str
    secret_path: str

    def __str__(self) -> str:
        return f"project {self.project_id}, environment {self.environment}, path {self.secret_path}"

    @property
    def address(self) -> str:
        url = urlsplit(self.site_url)
        port = url.port or (443 if url.scheme == "https" else 80)
        return f"{url.hostname}:{port}"


def _open_client(args: argparse.Namespace) -> tuple[InfisicalClient, Scope]:
    given = {
        "project_id": args.project_id,
        "environment": args.env,
        "site_url": args.site_url,
        "secret_path": args.path,
    }
    try:
        options = options_from_env(given)
    except ConfigurationError as exc:
        raise CliError(str(exc), 2) from None
    options.setdefault("environment", "dev")
    options.setdefault("secret_path", "/")
    if not options.get("project_id"):
        raise CliError("no project: pass --project-id or set INFISICAL_PROJECT_ID", 2)
    try:
        client = InfisicalClient(**options)
    except InfisicalError as exc:  # e.g. a malformed site URL or path
        raise CliError(str(exc), 2) from None
    site_url = (
        options.get("site_url")
        or os.environ.get("INFISICAL_SITE_URL")
        or os.environ.get("INFISICAL_API_URL")
        or DEFAULT_SITE_URL
    )
    return client, Scope(
        site_url=site_url,
        project_id=options["project_id"],
        environment=options["environment"],
        secret_path=options["secret_path"],
    )


def _load(client: InfisicalClient, scope: Scope, args: argparse.Namespace) -> dict[str, str]:
    """The folder's secrets; a clear error when the server, environment or path is wrong."""
    try:
        secrets = client.secrets.list(
            recursive=args.recursive, include_imports=not args.no_imports
        ).to_dict()
        if not secrets:
            try:
                client.folders.list(secret_path=scope.secret_path)
            except NotFoundError:
                raise CliError(
                    f"no folder {scope.secret_path} in environment {scope.environment} "
                    f"of project {scope.project_id}: nothing to inject"
                ) from None
            _say(f"warning: {scope} holds no secrets")
        return secrets
    except APIConnectionError as exc:
        raise CliError(
            f"cannot reach the Infisical server at {scope.address} ({scope.site_url}): {exc}"
        ) from None
    except NotFoundError as exc:
        slugs = _environment_slugs(client)
        if slugs is not None and scope.environment not in slugs:
            raise CliError(
                f"no environment {scope.environment!r} in project {scope.project_id}; "
                f"valid environments: {', '.join(slugs)}"
            ) from None
        raise CliError(str(exc)) from None
    except InfisicalError as exc:
        raise CliError(str(exc)) from None


def _environment_slugs(client: InfisicalClient) -> list[str] | None:
    try:
        return [env.slug for env in client.projects.list_environments()]
    except InfisicalError:
        return None


def _child_environment(
    secrets: Mapping[str, str], args: argparse.Namespace
) -> tuple[dict[str, str], int, int]:
    env = dict(os.environ)
    if not args.pass_credentials:
        for name in CREDENTIAL_VARIABLES:
            env.pop(name, None)
    injected = kept = 0
    for key, value in secrets.items():
        if not key or "=" in key or "\0" in key or "\0" in value:
            _say(f"warning: not injecting {key!r}: not representable as an environment variable")
            continue
        if key in env and not args.overwrite:
            kept += 1
            continue
        env[key] = value
        injected += 1
    return env, injected, kept


def _run(args: argparse.Namespace) -> int:
    command: list[str] = args.argv[1:] if args.argv[:1] == ["--"] else args.argv
    if not command:
        raise CliError(f"no program given (usage: {PROG} run [options] -- PROGRAM [ARGS...])", 2)
    if args.watch_interval <= 0:
        raise CliError("--watch-interval must be > 0", 2)
    client, scope = _open_client(args)
    try:
        secrets = _load(client, scope, args)
        env, injected, kept = _child_environment(secrets, args)
        if not is_executable(command[0], env):
            raise CliError(f"command not found: {command[0]}", 127)
        if not args.quiet:
            note = f" ({kept} already set, kept)" if kept else ""
            _say(
                f"injected {injected} secret{'s' if injected != 1 else ''} from "
                f"{scope} into {command[0]}{note}"
            )
        if not args.watch:
            # Nothing more to fetch: no session, loop thread or token renewal lives on
            # beside the program.
            client.close()
        return _supervise(command, env, secrets, client if args.watch else None, args)
    finally:
        client.close()


def _supervise(
    command: list[str],
    env: dict[str, str],
    secrets: dict[str, str],
    client: InfisicalClient | None,
    args: argparse.Namespace,
) -> int:
    """Run the program until it exits; with a client, restart it when the secrets change."""
    current: list[Child] = [Child(command, env)]
    changes = _ChangeSignal(client, args) if client is not None else None
    with forwarding(lambda: current[0]):
        while True:
            try:
                returncode = current[0].process.wait(
                    timeout=None if changes is None else changes.wait_step
                )
            except subprocess.TimeoutExpired:
                assert client is not None and changes is not None
                if not changes.due():
                    continue
                fresh = _refresh(client, args)
                if fresh is None or fresh == secrets:
                    continue
                secrets = fresh
                if not args.quiet:
                    _say(f"secrets changed; restarting {command[0]}")
                current[0].stop(grace=10.0)
                env, _, _ = _child_environment(secrets, args)
                current[0] = Child(command, env)
                continue
            return exit_status(returncode)


class _ChangeSignal:
    """When ``run --watch`` should look at the secrets again: as soon as a change event
    (or a resync after a reconnect) arrives, from a daemon thread following
    ``secrets.watch()``; on a server without change events, every ``--watch-interval``.
    The thread ends when the client closes."""

    wait_step = 0.2
    """How often the supervisor looks up from waiting for the program."""

    def __init__(self, client: InfisicalClient, args: argparse.Namespace) -> None:
        self._changed = threading.Event()
        self._polling = False
        self._interval = args.watch_interval
        self._last = time.monotonic()
        self._thread = threading.Thread(
            target=self._follow, args=(client, args), name="infisical-py-watch", daemon=True
        )
        self._thread.start()

    def _follow(self, client: InfisicalClient, args: argparse.Namespace) -> None:
        try:
            changes = client.secrets.watch(recursive=args.recursive)
            with contextlib.closing(changes):
                for item in changes:
                    if isinstance(item, WatchResync) and item.reason == "polling":
                        break  # the full listing every --watch-interval also sees imports
                    self._changed.set()
        except InfisicalError as exc:
            _say(f"warning: change events failed ({type(exc).__name__}); polling instead")
        self._polling = True

    def due(self) -> bool:
        """Whether to list the secrets now (clears the signal)."""
        now = time.monotonic()
        if self._changed.is_set() or (self._polling and now - self._last >= self._interval):
            self._changed.clear()
            self._last = now
            return True
        return False


def _refresh(client: InfisicalClient, args: argparse.Namespace) -> dict[str, str] | None:
    try:
        return client.secrets.list(
            recursive=args.recursive, include_imports=not args.no_imports
        ).to_dict()
    except InfisicalError as exc:
        _say(f"warning: could not check for changes ({type(exc).__name__}); still running")
        return None


def _export(args: argparse.Namespace) -> int:
    client, scope = _open_client(args)
    with client:
        text = render(_load(client, scope, args), args.format)
    if args.output is None:
        sys.stdout.write(text)
        sys.stdout.flush()
        return 0
    fd = os.open(args.output, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as out:
        out.write(text)
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        return _run(args) if args.command == "run" else _export(args)
    except CliError as exc:
        _say(str(exc))
        return exc.code


def console_main() -> None:
    """The ``infisical-py`` console script."""
    sys.exit(main())
