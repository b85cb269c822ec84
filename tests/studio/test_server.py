"""The embedded server's lifecycle and the client's errors, against a real Label Studio."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest
from label_studio_sdk.client import LabelStudio

from curation.settings import StudioSettings
from curation.studio import server
from curation.studio.client import connect, token_kind

pytestmark = pytest.mark.slow


def test_up_is_idempotent_and_status_answers(studio_settings: StudioSettings) -> None:
    again = server.up(studio_settings)
    assert again.running and "already running" in again.message
    now = server.status(studio_settings)
    assert now.running and now.pid == again.pid
    assert now.url == f"http://127.0.0.1:{studio_settings.port}"


def test_generated_credentials_are_private(studio_settings: StudioSettings) -> None:
    path = Path(studio_settings.env_file)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    values = server.read_env_file(path)
    assert len(values[server.TOKEN_VAR]) >= 40 and values[server.PASSWORD_VAR]


def test_client_lists_projects(studio_client: LabelStudio) -> None:
    assert isinstance(list(studio_client.projects.list()), list)


def test_wrong_legacy_token_is_named_not_printed(
    studio_settings: StudioSettings, monkeypatch: pytest.MonkeyPatch
) -> None:
    wrong = "0123456789abcdef0123456789abcdef01234567"
    monkeypatch.setenv("TEST_LS_TOKEN", wrong)
    settings = studio_settings.model_copy(
        update={"url": studio_settings.local_url, "token_env": "TEST_LS_TOKEN"}
    )
    with pytest.raises(server.StudioError, match="refused the legacy API token") as error:
        connect(settings)
    assert wrong not in str(error.value)


def test_wrong_personal_access_token_is_named(
    studio_settings: StudioSettings, monkeypatch: pytest.MonkeyPatch
) -> None:
    fake_jwt = "eyJhbGciOiJIUzI1NiJ9.eyJ0b2tlbl90eXBlIjoicmVmcmVzaCJ9.c2lnbmF0dXJl"
    assert token_kind(fake_jwt) == "personal access token"
    monkeypatch.setenv("TEST_LS_TOKEN", fake_jwt)
    settings = studio_settings.model_copy(
        update={"url": studio_settings.local_url, "token_env": "TEST_LS_TOKEN"}
    )
    with pytest.raises(server.StudioError, match="refused the personal access token") as error:
        connect(settings)
    assert fake_jwt not in str(error.value)


def test_server_down_is_a_clear_error(tmp_path: Path) -> None:
    settings = StudioSettings(port=9, data_dir=str(tmp_path), env_file=str(tmp_path / "e.env"))
    os.environ.pop(server.TOKEN_VAR, None)
    server.credentials(settings, create=True)
    with pytest.raises(server.StudioError, match="does not answer"):
        connect(settings)
    assert not server.status(settings).running
