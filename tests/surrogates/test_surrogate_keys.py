"""The secret key: where it comes from, and that it is never shown."""

from __future__ import annotations

from pathlib import Path

import pytest

from curation.surrogates import KeyConfigError, Pseudonymiser, derive_seed, resolve_key

ENV = "CURATION_TEST_PSEUDO_KEY"
SECRET = "cle-secrete-de-test-0123456789"


def test_environment_wins_then_file_then_params(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    key_file = tmp_path / "pseudo.key"
    key_file.write_text("cle-du-fichier-0123456789\n", encoding="utf-8")
    monkeypatch.delenv(ENV, raising=False)
    assert resolve_key(env=ENV, key="cle-des-params-0123456789") == b"cle-des-params-0123456789"
    assert resolve_key(env=ENV, key_file=str(key_file), key="cle-des-params-0123456789") == (
        b"cle-du-fichier-0123456789"
    )
    monkeypatch.setenv(ENV, SECRET)
    assert resolve_key(env=ENV, key_file=str(key_file)) == SECRET.encode()


def test_missing_or_short_key_is_refused_without_showing_it(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv(ENV, raising=False)
    with pytest.raises(KeyConfigError, match=ENV):
        resolve_key(env=ENV)
    monkeypatch.setenv(ENV, "court")
    with pytest.raises(KeyConfigError, match="too short") as info:
        resolve_key(env=ENV)
    assert "court" not in str(info.value)


def test_seed_depends_on_every_part() -> None:
    key = SECRET.encode()
    seed = derive_seed(key, "patient", "pat-1", "NOM", "dupont")
    assert seed == derive_seed(key, "patient", "pat-1", "NOM", "dupont")
    assert seed != derive_seed(key, "patient", "pat-2", "NOM", "dupont")
    assert seed != derive_seed(key, "patient", "pat-1", "PRENOM", "dupont")
    assert seed != derive_seed(b"une-autre-cle-0123456789", "patient", "pat-1", "NOM", "dupont")


def test_key_is_not_in_repr() -> None:
    pseudo = Pseudonymiser(SECRET.encode())
    assert SECRET not in repr(pseudo)
    assert SECRET not in repr(pseudo.patient("d1", "p1"))
