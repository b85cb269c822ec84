"""Accounts of the simulated annotators: real Label Studio users, signed up and logged in.

How an annotation is posted as a given user on the open-source server (checked on 1.23):

- ``POST /api/users`` (``users.create``) makes a user without a password, and the server offers
  no way for an administrator to read another user's token; but ``completed_by`` in
  ``annotations.create`` **is honoured** (the serializer takes any user id), while
  ``updated_by`` and the annotation history keep the administrator who posted it.
- To act *as* the user, the simulator signs the user up with the organisation's invite link
  (``/user/signup/?token=...``, a password derived from the administrator token by HMAC, never
  stored), or logs in with that password later, and reads the user's own API token from
  ``/api/current-user/token`` within that session. Annotations are then created with the
  user's token: ``completed_by`` and ``updated_by`` are the user, as in the editor.
- A user that exists but cannot log in with the derived password (created by hand or by
  ``users.create``) is served by the fallback: the administrator posts with ``completed_by``.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import httpx
from label_studio_sdk.client import LabelStudio

from curation.settings import AnnotatorProfile, StudioSettings
from curation.studio.client import server_token

logger = logging.getLogger(__name__)


@dataclass(slots=True)
class Annotator:
    """A simulated annotator as the server knows it."""

    profile: AnnotatorProfile
    user_id: int
    client: LabelStudio | None  # authenticated as the user; None: admin posts completed_by

    @property
    def email(self) -> str:
        return self.profile.email.lower()

    @property
    def posts_as(self) -> str:
        return "own token" if self.client is not None else "completed_by (admin)"


def derived_password(admin_token: str, email: str) -> str:
    """The simulated user's password: an HMAC of its e-mail under the admin token (not stored)."""
    message = f"curation-simulated-annotator:{email.lower()}".encode()
    digest = hmac.new(admin_token.encode(), message, hashlib.sha256).digest()
    return "Sim-" + base64.urlsafe_b64encode(digest).decode().rstrip("=")


def _session_token(
    url: str, path: str, form: Mapping[str, str], params: Mapping[str, str], timeout: float
) -> str | None:
    """Post a Django form (signup or login) and read the API token of the session's user."""
    with httpx.Client(base_url=url, timeout=timeout, follow_redirects=False) as http:
        http.get(path, params=params)
        csrf = http.cookies.get("csrftoken")
        if not csrf:
            return None
        sent = http.post(
            path,
            params=params,
            data={**form, "csrfmiddlewaretoken": csrf},
            headers={"X-CSRFToken": csrf, "Referer": f"{url}{path}"},
        )
        if sent.status_code != 302:  # the form came back with errors
            return None
        answer = http.get("/api/current-user/token")
        if answer.status_code != 200:
            return None
        token = answer.json().get("token")
        return str(token) if token else None


def annotators(
    admin: LabelStudio, studio: StudioSettings, profiles: Sequence[AnnotatorProfile]
) -> list[Annotator]:
    """The server's user for each profile, created when missing, with its own client if possible.

    Tokens and passwords stay in memory; nothing about them is logged.
    """
    url, admin_token = server_token(studio)
    users = {str(u.email).lower(): int(u.id or 0) for u in admin.users.list() if u.email}
    invite: str | None = None
    out: list[Annotator] = []
    for profile in profiles:
        email = profile.email.lower()
        form = {"email": email, "password": derived_password(admin_token, email)}
        token: str | None = None
        try:
            if email in users:
                token = _session_token(url, "/user/login/", form, {}, studio.timeout)
            else:
                if invite is None:
                    invite = _invite_token(url, admin_token, studio.timeout) or ""
                params = {"token": invite} if invite else {}
                token = _session_token(url, "/user/signup/", form, params, studio.timeout)
        except httpx.HTTPError as exc:
            logger.warning("%s: cannot open a session (%s)", profile.name, type(exc).__name__)
        client = _user_client(url, token, email, studio) if token else None
        if client is None and email not in users:  # signed up, but its token is refused
            users = {str(u.email).lower(): int(u.id or 0) for u in admin.users.list() if u.email}
        if client is not None:
            user_id = int(client.users.whoami().id or 0)
        elif email in users:
            user_id = users[email]
        else:
            created = admin.users.create(email=email, username=email.split("@")[0])
            user_id = int(created.id or 0)
        if client is None:
            logger.info("%s: posting with completed_by=%d as the admin", profile.name, user_id)
        users[email] = user_id
        out.append(Annotator(profile, user_id, client))
    return out


def _invite_token(url: str, admin_token: str, timeout: float) -> str | None:
    scheme = "Bearer" if admin_token.startswith("eyJ") else "Token"
    answer = httpx.get(
        f"{url}/api/invite", headers={"Authorization": f"{scheme} {admin_token}"}, timeout=timeout
    )
    return str(answer.json().get("token")) if answer.status_code == 200 else None


def _user_client(url: str, token: str, email: str, studio: StudioSettings) -> LabelStudio | None:
    client = LabelStudio(base_url=url, api_key=token, timeout=studio.timeout)
    try:
        me = client.users.whoami()
    except Exception:  # the server refuses the token (legacy tokens disabled...)
        return None
    return client if str(me.email).lower() == email else None


__all__ = ["Annotator", "annotators", "derived_password"]
