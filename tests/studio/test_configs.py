"""Contract test over the registry: every use case has a Label Studio config that fits it."""

from __future__ import annotations

import pytest
from label_studio_sdk.client import LabelStudio
from label_studio_sdk.label_interface import LabelInterface

from curation.studio.layout import CONFIG_DIR, layout, load_config
from curation.usecases import REGISTRY, UseCase

USE_CASES = pytest.mark.parametrize("use_case", list(REGISTRY.values()), ids=list(REGISTRY))


def static_labels(
    interface: LabelInterface, tag: str, *, per_region: bool | None = None
) -> list[set[str]]:
    """The label sets of the ``tag`` controls that list their options in the config."""
    return [
        set(control.labels)
        for control in interface.controls
        if str(control.tag).lower() == tag
        and control.labels
        and (per_region is None or (control.attr.get("perRegion") == "true") == per_region)
    ]


@USE_CASES
def test_every_use_case_has_a_valid_config(use_case: UseCase) -> None:
    path = CONFIG_DIR / use_case.config_name
    assert path.is_file(), f"write {path}"
    interface = load_config(use_case)
    assert interface.is_valid
    lay = layout(use_case)
    assert lay.text_key == "text"


@USE_CASES
def test_config_labels_are_the_declared_labels(use_case: UseCase) -> None:
    interface = load_config(use_case)
    declared = set(use_case.labels)
    if use_case.kind == "spans":
        assert static_labels(interface, "labels") == [declared]
    elif use_case.kind == "labels" and use_case.vocabulary is not None:
        # an open vocabulary (icd10_coding): codes come from task data, roles from the config
        assert not declared, "a use case with a vocabulary lists no labels"
        assert static_labels(interface, "choices", per_region=True) == [set(use_case.roles)]
        assert static_labels(interface, "labels") == []
        lay = layout(use_case)
        assert lay.role is not None and lay.spans is not None
        assert lay.dynamic_key(lay.spans) is not None
        assert lay.code_controls and lay.spans in lay.code_controls
        assert "taxonomy" in {lay.tag(n) for n in lay.code_controls}
    elif use_case.kind == "labels":
        # the document's categories (oncology_response)
        assert static_labels(interface, "choices").count(declared) == 1
        for evidence in static_labels(interface, "labels"):
            assert evidence <= declared
    elif use_case.kind == "items":
        assert declared in static_labels(interface, "choices", per_region=False)
    else:
        areas = {c.name for c in interface.controls if str(c.tag).lower() == "textarea"}
        assert areas == declared


def test_pseudonymisation_labels_have_distinct_colours_and_hotkeys() -> None:
    interface = load_config(REGISTRY["pseudonymisation"])
    (control,) = [c for c in interface.controls if str(c.tag).lower() == "labels"]
    attrs = [label.attr for label in control.labels_attrs.values()]
    assert len({a["background"] for a in attrs}) == len(attrs) == 13
    assert len({a["hotkey"] for a in attrs}) == 13
    assert 'granularity="symbol"' in interface.config


@pytest.mark.slow
@USE_CASES
def test_config_accepted_by_real_server(studio_client: LabelStudio, use_case: UseCase) -> None:
    xml = (CONFIG_DIR / use_case.config_name).read_text(encoding="utf-8")
    project = studio_client.projects.create(
        title=f"config {use_case.config_name}", label_config=xml
    )
    try:
        assert project.id
    finally:
        if project.id:
            studio_client.projects.delete(id=project.id)
