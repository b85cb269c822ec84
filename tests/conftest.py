"""One real Label Studio server for the whole test session (started once, stopped at the end),
shared by the studio tests and the end-to-end pipeline test."""

from __future__ import annotations

import socket
from collections.abc import Iterator

import pytest
from label_studio_sdk.client import LabelStudio

from curation.settings import StudioSettings
from curation.studio import server
from curation.studio.client import connect


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture(scope="session")
def studio_settings(tmp_path_factory: pytest.TempPathFactory) -> Iterator[StudioSettings]:
    root = tmp_path_factory.mktemp("studio")
    settings = StudioSettings(
        port=free_port(),
        data_dir=str(root / "data"),
        env_file=str(root / "studio.env"),
        start_timeout=240,
    )
    server.up(settings)
    yield settings
    server.down(settings)


@pytest.fixture(scope="session")
def studio_client(studio_settings: StudioSettings) -> LabelStudio:
    return connect(studio_settings)
