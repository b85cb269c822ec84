"""The embedded Label Studio server: ``curation studio up | down | status``.

A real Label Studio (PyPI ``label-studio``) bound to 127.0.0.1, its SQLite data under
``studio.data_dir`` (git-ignored), with a preset admin user and API token. Credentials come
from the environment or from an untracked env file (``studio.env_file``); on the first ``up``
without any, strong ones are generated into that file and the user is told where they are
(never what they are). The PID is recorded, and ``down`` stops the server by that PID.

Facts this relies on (see STACK_NOTES.md): the preset user and token are created on the first
start of a data dir from ``LABEL_STUDIO_USERNAME``/``PASSWORD``/``USER_TOKEN``; the legacy token
is accepted only if ``LABEL_STUDIO_ENABLE_LEGACY_API_TOKEN=true`` on that first start; analytics
and update checks must be off on a closed network.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import httpx

from curation.settings import StudioSettings

TOKEN_VAR = "LABEL_STUDIO_USER_TOKEN"
PASSWORD_VAR = "LABEL_STUDIO_PASSWORD"
SECRET_VAR = "LABEL_STUDIO_SECRET_KEY"


class StudioError(RuntimeError):
    """The server cannot be started, reached or used; the message says what to do."""


@dataclass(slots=True)
class ServerStatus:
    url: str
    running: bool
    pid: int | None
    managed: bool  # started by us (embedded) rather than a hospital's own server
    message: str

    def render(self) -> str:
        return self.message


def read_env_file(path: Path) -> dict[str, str]:
    """``KEY=value`` lines of an env file (comments and blank lines ignored)."""
    values: dict[str, str] = {}
    if path.exists():
        for line in path.read_text(encoding="utf-8").splitlines():
            line = line.strip()
            if line and not line.startswith("#") and "=" in line:
                key, _, value = line.partition("=")
                values[key.strip()] = value.strip().strip("'\"")
    return values


def credentials(settings: StudioSettings, *, create: bool = False) -> dict[str, str]:
    """Token, password and secret key: environment first, then the env file.

    With ``create``, missing ones are generated and written to the env file (mode 600).
    """
    path = Path(settings.env_file)
    stored = read_env_file(path)
    values = {
        var: os.environ.get(var) or stored.get(var, "")
        for var in (TOKEN_VAR, PASSWORD_VAR, SECRET_VAR)
    }
    missing = [var for var, value in values.items() if not value]
    if missing and create:
        generated = {
            TOKEN_VAR: secrets.token_hex(20),
            PASSWORD_VAR: secrets.token_urlsafe(18),
            SECRET_VAR: secrets.token_urlsafe(40),
        }
        for var in missing:
            values[var] = stored[var] = generated[var]
        path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        lines = ["# Label Studio credentials of the embedded server (never commit this file)"]
        lines += [f"{key}={value}" for key, value in stored.items()]
        path.touch(mode=0o600, exist_ok=True)
        path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return values


def _pid_file(settings: StudioSettings) -> Path:
    return Path(settings.data_dir) / "label-studio.pid"


def _read_pid(settings: StudioSettings) -> int | None:
    try:
        pid = int(_pid_file(settings).read_text().strip())
    except (FileNotFoundError, ValueError):
        return None
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return None
    except PermissionError:  # alive, another user's
        return pid
    return pid


def answers(url: str, token: str, timeout: float = 5.0) -> bool:
    """Whether the API answers an authorised request (legacy token or access token)."""
    scheme = "Bearer" if token.startswith("eyJ") else "Token"
    try:
        response = httpx.get(
            f"{url}/api/projects",
            headers={"Authorization": f"{scheme} {token}"},
            params={"page_size": 1},
            timeout=timeout,
        )
    except httpx.HTTPError:
        return False
    return response.status_code == 200


def status(settings: StudioSettings) -> ServerStatus:
    if settings.url:
        token = os.environ.get(settings.token_env, "")
        ok = bool(token) and answers(settings.url, token)
        state = "answers" if ok else "does not answer (or refuses the token)"
        return ServerStatus(settings.url, ok, None, False, f"{settings.url}: {state}")
    pid = _read_pid(settings)
    url = settings.local_url
    if pid is None:
        return ServerStatus(url, False, None, True, f"Label Studio is not running ({url})")
    token = credentials(settings)[TOKEN_VAR]
    ok = answers(url, token)
    state = "running" if ok else "started but not answering yet"
    return ServerStatus(url, ok, pid, True, f"Label Studio {state} at {url} (pid {pid})")


def up(settings: StudioSettings) -> ServerStatus:
    """Start the embedded server (or say that it runs) and wait until its API answers."""
    if settings.url:
        return status(settings)
    current = status(settings)
    if current.running:
        current.message = f"already running at {current.url} (pid {current.pid})"
        return current
    if current.pid is not None:
        raise StudioError(
            f"a Label Studio process (pid {current.pid}) exists but does not answer at "
            f"{current.url}; run `curation studio down` and try again"
        )
    first_start = not (Path(settings.data_dir) / "label_studio.sqlite3").exists()
    creds = credentials(settings, create=True)
    data_dir = Path(settings.data_dir)
    data_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
    env = {
        **os.environ,
        "LABEL_STUDIO_USERNAME": settings.username,
        "LABEL_STUDIO_PASSWORD": creds[PASSWORD_VAR],
        "LABEL_STUDIO_USER_TOKEN": creds[TOKEN_VAR],
        "LABEL_STUDIO_ENABLE_LEGACY_API_TOKEN": "true",
        "SECRET_KEY": creds[SECRET_VAR],
        "LATEST_VERSION_CHECK": "false",
        "COLLECT_ANALYTICS": "false",
        "SENTRY_DSN": "",
        "FRONTEND_SENTRY_DSN": "",
        "LABEL_STUDIO_LOCAL_FILES_SERVING_ENABLED": "false",
    }
    command = [
        str(Path(sys.executable).parent / "label-studio"),
        "start",
        "--no-browser",
        "--internal-host",
        settings.host,
        "-p",
        str(settings.port),
        "--data-dir",
        str(data_dir.resolve()),
    ]
    log = (data_dir / "label-studio.log").open("ab")
    process = subprocess.Popen(
        command, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
    )
    _pid_file(settings).write_text(str(process.pid))
    deadline = time.monotonic() + settings.start_timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            _pid_file(settings).unlink(missing_ok=True)
            raise StudioError(
                f"Label Studio exited with code {process.returncode} while starting; see "
                f"{data_dir / 'label-studio.log'}"
            )
        if answers(settings.local_url, creds[TOKEN_VAR]):
            where = f"; credentials in {settings.env_file}" if first_start else ""
            return ServerStatus(
                settings.local_url,
                True,
                process.pid,
                True,
                f"Label Studio running at {settings.local_url} (pid {process.pid}), user "
                f"{settings.username}{where}",
            )
        time.sleep(1.0)
    down(settings)
    raise StudioError(
        f"Label Studio did not answer within {settings.start_timeout:.0f} s; see "
        f"{data_dir / 'label-studio.log'} (raise studio.start_timeout on a slow machine)"
    )


def down(settings: StudioSettings) -> ServerStatus:
    """Stop the embedded server by its recorded PID (its whole process group)."""
    pid = _read_pid(settings)
    url = settings.local_url
    if settings.url or pid is None:
        _pid_file(settings).unlink(missing_ok=True)
        return ServerStatus(url, False, None, True, "Label Studio is not running")
    with contextlib.suppress(ProcessLookupError):
        os.killpg(pid, signal.SIGTERM)
    for _ in range(100):
        with contextlib.suppress(ChildProcessError):  # reap it if this process started it
            os.waitpid(pid, os.WNOHANG)
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            break
        time.sleep(0.1)
    else:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(pid, signal.SIGKILL)
    _pid_file(settings).unlink(missing_ok=True)
    return ServerStatus(url, False, None, True, f"Label Studio stopped (pid {pid})")
