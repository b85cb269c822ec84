"""A Label Studio SDK client for the configured server, with retries and clear errors.

Two kinds of token exist on a real server: the legacy API token (40 hex characters, sent as
``Token ...``) and the personal access token, a JWT refresh token that the SDK exchanges for
short-lived access tokens. Both are accepted; a refusal says which kind was refused and why,
never the token itself.
"""

from __future__ import annotations

import os

import httpx
from label_studio_sdk.client import LabelStudio

from curation.settings import StudioSettings
from curation.studio.server import TOKEN_VAR, StudioError, credentials


def token_kind(token: str) -> str:
    """``personal access token`` (a JWT) or ``legacy API token``."""
    return (
        "personal access token"
        if token.count(".") == 2 and token.startswith("eyJ")
        else ("legacy API token")
    )


def server_token(settings: StudioSettings) -> tuple[str, str]:
    """(url, token) of the configured server."""
    if settings.url:
        token = os.environ.get(settings.token_env, "")
        if not token:
            raise StudioError(
                f"studio.url is {settings.url} but ${settings.token_env} is empty: export the "
                "token of your Label Studio account (Account & Settings) in that variable"
            )
        return settings.url.rstrip("/"), token
    token = credentials(settings)[TOKEN_VAR]
    if not token:
        raise StudioError("no Label Studio token yet: run `curation studio up` first")
    return settings.local_url, token


def _check(url: str, token: str, timeout: float) -> None:
    kind = token_kind(token)
    headers = {"Authorization": f"Token {token}"}
    try:
        if kind == "personal access token":
            refreshed = httpx.post(
                f"{url}/api/token/refresh", json={"refresh": token}, timeout=timeout
            )
            if refreshed.status_code != 200:
                raise StudioError(
                    f"{url} refused the personal access token (HTTP {refreshed.status_code}: "
                    "expired, revoked or from another server); create a new one in Account & "
                    "Settings"
                )
            headers = {"Authorization": f"Bearer {refreshed.json()['access']}"}
        response = httpx.get(
            f"{url}/api/projects", headers=headers, params={"page_size": 1}, timeout=timeout
        )
    except httpx.HTTPError as exc:
        raise StudioError(
            f"Label Studio does not answer at {url} ({type(exc).__name__}); start it with "
            "`curation studio up` or check studio.url"
        ) from None
    if response.status_code == 401:
        detail = response.json().get("detail", "") if response.content else ""
        why = (
            "legacy tokens are disabled for this organization: enable them in the "
            "organization settings, or use a personal access token"
            if "legacy" in str(detail).lower()
            else "unknown or revoked token"
        )
        raise StudioError(f"{url} refused the {kind} ({why})")
    if response.status_code >= 400:
        raise StudioError(f"{url} answered HTTP {response.status_code} to /api/projects")


def connect(settings: StudioSettings) -> LabelStudio:
    """A checked SDK client: retries on connection errors (transport) and 5xx (SDK)."""
    url, token = server_token(settings)
    _check(url, token, settings.timeout)
    transport = httpx.HTTPTransport(retries=settings.max_retries)
    return LabelStudio(
        base_url=url,
        api_key=token,
        timeout=settings.timeout,
        max_retries=settings.max_retries,
        httpx_client=httpx.Client(transport=transport, timeout=settings.timeout),
    )
