"""CIM-10 coding in Label Studio: suggestions, taxonomy, text area, roles, and simulated coders."""

from __future__ import annotations

import json
import random
import uuid
from collections import Counter
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import yaml
from label_studio_sdk.client import LabelStudio
from typer.testing import CliRunner

from curation import cim10
from curation.cli import app
from curation.quality import frames
from curation.schema import DOCUMENT_SCHEMA, Document, Record, Span
from curation.settings import (
    AnnotatorProfile,
    GenerateSettings,
    Params,
    PushSettings,
    SimulateSettings,
    StudioSettings,
)
from curation.sources.synthetic.corpus import generate_documents
from curation.stages import push
from curation.studio.converters import annotation_to_record, record_results, record_to_task
from curation.studio.layout import CONFIG_DIR, ConversionError, layout
from curation.studio.perturbation import annotator_rng, perturb
from curation.studio.simulate import annotation_result
from curation.studio.validation import validate_results
from curation.studio.vocabulary import tree_paths, vocabulary
from curation.usecases import get

ICD = get("icd10_coding")
TEXT = (
    "Pneumopathie franche lobaire aiguë chez un patient hypertendu (HTA), "
    "diabétique de type 2 sans complication."
)
ROW = Document(doc_id="doc-5", text=TEXT).to_row()


def span(fragment: str, label: str) -> Span:
    start = TEXT.index(fragment)
    return Span(start, start + len(fragment), label, fragment)


def prediction() -> Record:
    """The model codes J181 (DP), I10, E119 and Z921; it suggested J181, I10 and E110 only."""
    return Record(
        "doc-5",
        ICD.id,
        "coder-v1",
        spans=[span("Pneumopathie franche lobaire aiguë", "J181"), span("HTA", "I10")],
        labels=["J181", "I10", "E119", "Z921"],
        provenance={
            "suggestions": [
                {
                    "code": "I10",
                    "role": "DAS",
                    "score": 0.81,
                    "sources": ["rules"],
                    "evidence": [1],
                },
                {
                    "code": "E110",
                    "role": "DAS",
                    "score": 0.35,
                    "sources": ["model"],
                    "evidence": [],
                },
                {
                    "code": "J181",
                    "role": "DP",
                    "score": 0.92,
                    "sources": ["model"],
                    "evidence": [0],
                },
            ]
        },
    )


def by_name(result: list[dict[str, Any]], name: str) -> list[dict[str, Any]]:
    return [item for item in result if item.get("from_name") == name]


def annotate(result: list[dict[str, Any]]) -> dict[str, Any]:
    return json.loads(json.dumps({"id": 3, "completed_by": 8, "result": result}))


def item(name: str, kind: str, value: dict[str, Any], rid: str = "x") -> dict[str, Any]:
    return {"id": rid, "from_name": name, "to_name": "text", "type": kind, "value": value}


# --- conversion ---------------------------------------------------------------------------------


def test_task_ranks_suggestions_and_places_other_codes() -> None:
    task = json.loads(json.dumps(record_to_task(ICD, ROW, prediction(), model_version="m")))
    codes = task["data"]["codes"]
    assert [c["value"] for c in codes] == ["J181", "I10", "E110"]  # by score
    assert codes[0]["hint"].startswith("J18.1 " + cim10.lookup("J181").label)
    assert "DP" in codes[0]["hint"] and "0.92" in codes[0]["hint"]
    result = task["predictions"][0]["result"]
    assert validate_results(ICD, result, task=task) == []
    (choices,) = by_name(result, "codes")
    assert choices["value"]["choices"] == ["J181", "I10"]  # E110 offered, not retained
    (taxonomy,) = by_name(result, "taxonomy")
    assert taxonomy["value"]["taxonomy"] == [["IV", "E10-E14", "E11", "E119"]]  # in the tree
    (other,) = by_name(result, "other_codes")
    assert other["value"]["text"] == ["Z921"]  # chapter XXI is not in the tree
    roles = {r["id"]: r["value"]["choices"] for r in by_name(result, "role")}
    assert roles == {"s0": ["DP"], "s1": ["DAS"]}
    assert by_name(result, "dp") == []  # the DP is marked on its evidence

    back = annotation_to_record(ICD, task, annotate(result))
    assert back.labels == ["J181", "I10", "E119", "Z921"]
    assert [s.label for s in back.spans] == ["J181", "I10"]
    assert back.attributes == [{"span": 0, "role": "DP"}, {"span": 1, "role": "DAS"}]
    again = record_results(ICD, back, task["data"])  # the record, written on the same task
    assert annotation_to_record(ICD, task, annotate(again)).to_dict() == back.to_dict()


def test_coder_edits_choices_taxonomy_text_area_and_roles() -> None:
    task = json.loads(json.dumps(record_to_task(ICD, ROW, prediction(), model_version="m")))
    result = task["predictions"][0]["result"]
    for role in by_name(result, "role"):  # HTA becomes the principal diagnosis
        role["value"]["choices"] = ["DAS"] if role["id"] == "s0" else ["DP"]
    by_name(result, "codes")[0]["value"]["choices"] = ["J181", "I10", "E110"]
    by_name(result, "taxonomy")[0]["value"]["taxonomy"].append(["IV", "E10-E14", "E11", "E118"])
    by_name(result, "other_codes")[0]["value"]["text"] = ["z92.1\ne11.9", "Z921"]
    record = annotation_to_record(ICD, task, annotate(result))
    assert record.labels == ["I10", "J181", "E110", "E119", "E118", "Z921"]
    assert record.attributes == [{"span": 0, "role": "DAS"}, {"span": 1, "role": "DP"}]
    # the roles given by the attributes are written back as they are
    result = record_to_task(ICD, ROW, record, model_version="m")["predictions"][0]["result"]
    assert {r["id"]: r["value"]["choices"] for r in by_name(result, "role")} == {
        "s0": ["DAS"],
        "s1": ["DP"],
    }


def test_principal_without_evidence_goes_to_the_dp_area() -> None:
    record = Record("doc-5", ICD.id, "m", spans=[span("HTA", "I10")], labels=["J189", "I10"])
    task = json.loads(json.dumps(record_to_task(ICD, ROW, record, model_version="m")))
    result = task["predictions"][0]["result"]
    assert by_name(result, "dp")[0]["value"]["text"] == ["J189"]
    assert by_name(result, "role")[0]["value"]["choices"] == ["DAS"]
    read = annotation_to_record(ICD, task, annotate(result))
    assert read.labels == ["J189", "I10"]
    # the record says the DP was chosen (without evidence), and goes back to the same area
    assert read.attributes == [{"span": 0, "role": "DAS"}, {"dp": "J189"}]
    again = record_to_task(ICD, ROW, read, model_version="m")["predictions"][0]["result"]
    assert by_name(again, "dp")[0]["value"]["text"] == ["J189"]
    marked = frames.principal_frame([(1, read, "k")], ICD.roles)
    assert marked["marked"].tolist() == [1] and marked["marked_first"].tolist() == [True]


def test_unknown_codes_are_refused_naming_doc_and_code() -> None:
    task = json.loads(json.dumps(record_to_task(ICD, ROW, prediction(), model_version="m")))
    result = task["predictions"][0]["result"]
    by_name(result, "other_codes")[0]["value"]["text"] = ["E999"]
    n = result.index(by_name(result, "other_codes")[0])
    problems = validate_results(ICD, result, task=task)
    assert problems == [f"doc_id doc-5: result {n}: unknown CIM-10 code 'E999'"]
    with pytest.raises(ConversionError, match=r"doc_id doc-5.*E999"):
        annotation_to_record(ICD, task, annotate(result))
    fresh = record_to_task(ICD, ROW, prediction(), model_version="m")["predictions"][0]["result"]
    outside = json.loads(json.dumps(fresh))
    by_name(outside, "taxonomy")[0]["value"]["taxonomy"] = [["XXI", "Z80-Z99", "Z92", "Z921"]]
    problems_outside = validate_results(ICD, outside, task=task)
    assert any(
        "['XXI', 'Z80-Z99', 'Z92', 'Z921'] is not in the task's 'taxonomy'" in p
        for p in problems_outside
    )
    assert validate_results(ICD, outside) == []  # without the task, no tree to check
    chapter = json.loads(json.dumps(fresh))
    by_name(chapter, "taxonomy")[0]["value"]["taxonomy"] = [["IV", "E10-E14"]]
    assert any("unknown CIM-10 code 'E10-E14'" in p for p in validate_results(ICD, chapter))
    assert not any(word in p for p in problems for word in ("Pneumopathie", "HTA"))


def test_two_principal_diagnoses_are_refused() -> None:
    task = json.loads(json.dumps(record_to_task(ICD, ROW, prediction(), model_version="m")))
    result = task["predictions"][0]["result"]
    for role in by_name(result, "role"):
        role["value"]["choices"] = ["DP"]
    assert "doc_id doc-5: 2 labels marked DP" in validate_results(ICD, result, task=task)
    result = task["predictions"][0]["result"]
    for role in by_name(result, "role"):
        role["value"]["choices"] = ["DP"] if role["id"] == "s0" else ["DAS"]
    result.append(item("dp", "textarea", {"text": ["I10"]}))
    assert "doc_id doc-5: 2 labels marked DP" in validate_results(ICD, result, task=task)
    result[-1]["value"]["text"] = ["J18.1"]  # the same code twice is one DP
    assert validate_results(ICD, result, task=task) == []


def test_taxonomy_holds_the_blocks_of_the_suggestions_and_is_searchable() -> None:
    task = record_to_task(ICD, ROW, prediction(), model_version="m")
    tree = task["data"]["taxonomy"]
    paths = tree_paths(tree)
    leaves = {p[-1] for p in paths}
    for code in ("J181", "I10", "E110"):
        assert tuple(cim10.ancestry(code)) in paths
        assert set(cim10.siblings(code)) <= leaves
    assert "Z921" not in leaves and "A419" not in leaves  # other chapters and blocks stay out
    assert len(paths) < 2000

    def nodes(items: list[dict[str, Any]]) -> list[dict[str, Any]]:
        return [n for i in items for n in [i, *nodes(i.get("children") or [])]]

    everything = nodes(tree)
    for node in everything:
        if node["alias"] in cim10.code_list():
            assert node["value"] == cim10.display(node["alias"])
    # the taxonomy's search box matches the displayed text: code or French words
    found = {n["alias"] for n in everything if "diabète sucré de type 2" in n["value"].lower()}
    assert {"E11", "E119"} <= found
    assert "E119" in {n["alias"] for n in everything if "E11.9" in n["value"]}


def test_vocabulary_is_read_from_the_declaration() -> None:
    assert vocabulary(get("pseudonymisation")) is None
    lay = layout(ICD)
    assert (lay.role, lay.principal) == ("role", "dp")
    assert set(lay.code_controls) == {"evidence", "codes", "taxonomy", "other_codes", "dp"}


# --- simulated coders ---------------------------------------------------------------------------


@pytest.fixture(scope="module")
def coded() -> list[tuple[dict[str, Any], Record]]:
    """Rows and CIM-10 answer keys of synthetic documents with at least two codes."""
    return [
        (item.document.to_row(), item.records[ICD.id])
        for item in generate_documents(GenerateSettings(n_documents=160, seed=4))
        if ICD.id in item.records and len(item.records[ICD.id].labels) >= 2
    ]


def profile(**rates: float) -> AnnotatorProfile:
    return AnnotatorProfile(name="codeur", email="sim.codeur@curation.local", **rates)


def code_errors(gold: Record, text: str, who: AnnotatorProfile, seed: int = 0) -> Record:
    rng = annotator_rng(seed, who.email, gold.doc_id)
    return perturb(gold, text, who, [], rng, roles=ICD.roles, siblings=cim10.siblings)


def test_each_coder_error_at_rate_one_and_none_at_zero(
    coded: list[tuple[dict[str, Any], Record]],
) -> None:
    assert len(coded) >= 10
    confusable = 0
    for row, gold in coded:
        text = row["text"]
        same = code_errors(gold, text, profile())
        assert (same.labels, same.spans) == (gold.labels, gold.spans)

        missed = code_errors(gold, text, profile(missed_code_rate=1.0))
        assert missed.labels == gold.labels[:1]
        assert {s.label for s in missed.spans} <= {gold.labels[0]}
        assert [s for s in gold.spans if s.label == gold.labels[0]] == missed.spans

        swapped = code_errors(gold, text, profile(wrong_principal_rate=1.0))
        assert swapped.labels[0] in gold.labels[1:] and gold.labels[0] in swapped.labels
        assert sorted(swapped.labels) == sorted(gold.labels) and swapped.spans == gold.spans

        confused = code_errors(gold, text, profile(sibling_rate=1.0))
        assert len(confused.labels) == len(gold.labels)
        for before, after in zip(gold.labels, confused.labels, strict=True):
            if cim10.siblings(before):
                assert after in cim10.siblings(before)
                confusable += 1
            else:
                assert after == before
        relabel = dict(zip(gold.labels, confused.labels, strict=True))
        assert [s.label for s in confused.spans] == [relabel[s.label] for s in gold.spans]
    assert confusable > 0


def test_average_coder_error_counts_are_plausible(
    coded: list[tuple[dict[str, Any], Record]],
) -> None:
    average = profile(missed_code_rate=0.1, sibling_rate=0.1, wrong_principal_rate=0.1)
    counts: Counter[str] = Counter()
    for seed in range(6):
        for row, gold in coded:
            out = code_errors(gold, row["text"], average, seed)
            counts["documents"] += 1
            counts["secondary"] += len(gold.labels) - 1
            counts["missed"] += len(gold.labels) - len(out.labels)
            counts["swapped"] += out.labels[0] in gold.labels[1:]
            counts["confused"] += len(set(out.labels) - set(gold.labels))
    assert 0.05 < counts["missed"] / counts["secondary"] < 0.16
    assert 0.05 < counts["swapped"] / counts["documents"] < 0.16
    assert 0 < counts["confused"] < 0.2 * (counts["secondary"] + counts["documents"])


def test_perturbed_gold_fits_the_pushed_task(coded: list[tuple[dict[str, Any], Record]]) -> None:
    sloppy = profile(missed_code_rate=0.3, sibling_rate=0.5, wrong_principal_rate=0.3)
    for row, gold in coded[:40]:
        model = Record(gold.doc_id, ICD.id, "m", spans=gold.spans, labels=gold.labels[1:])
        task = json.loads(json.dumps(record_to_task(ICD, row, model, model_version="m")))
        edited = code_errors(gold, row["text"], sloppy)
        result = annotation_result(ICD, task, edited, None, random.Random(0))
        back = annotation_to_record(ICD, task, annotate(result))
        assert back.labels[0] == edited.labels[0]  # the DP; DAS in the order of the controls
        assert sorted(back.labels) == sorted(edited.labels)
        principal = [a for a in back.attributes if a.get("role") == "DP"]
        assert all(back.spans[a["span"]].label == edited.labels[0] for a in principal)


# --- the real server ----------------------------------------------------------------------------


@pytest.mark.slow
def test_server_takes_the_config_and_a_taxonomy_prediction(studio_client: LabelStudio) -> None:
    xml = (CONFIG_DIR / ICD.config_name).read_text(encoding="utf-8")
    project = studio_client.projects.create(title=f"cim10 {uuid.uuid4().hex[:6]}", label_config=xml)
    assert project.id
    try:
        task = record_to_task(ICD, ROW, prediction(), model_version="coder-v1")
        studio_client.projects.import_tasks(id=project.id, request=[task], return_task_ids=True)
        (stored,) = [
            t.model_dump() for t in studio_client.tasks.list(project=project.id, fields="all")
        ]
        assert stored["data"]["taxonomy"] == task["data"]["taxonomy"]
        assert stored["data"]["codes"] == task["data"]["codes"]
        (predicted,) = stored["predictions"]
        (taxonomy,) = by_name(predicted["result"], "taxonomy")
        assert taxonomy["value"]["taxonomy"] == [["IV", "E10-E14", "E11", "E119"]]
        back = annotation_to_record(ICD, stored, predicted)
        assert back.labels == ["J181", "I10", "E119", "Z921"]
    finally:
        studio_client.projects.delete(id=project.id)


@pytest.mark.slow
def test_push_simulate_pull_of_icd10_coding(
    studio_client: LabelStudio,
    studio_settings: StudioSettings,
    coded: list[tuple[dict[str, Any], Record]],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    pairs = [(row, gold) for row, gold in coded if row["doc_type"] in ICD.doc_types][:12]
    assert pairs
    rows = [row for row, _ in pairs]
    pq.write_table(pa.Table.from_pylist(rows, schema=DOCUMENT_SCHEMA), tmp_path / "docs.parquet")
    (tmp_path / "key.jsonl").write_text("".join(g.to_json() + "\n" for _, g in pairs), "utf-8")
    models = [  # a model that misses the DP of every other document
        Record(g.doc_id, ICD.id, "coder-v1", spans=g.spans, labels=g.labels[i % 2 :])
        for i, (_, g) in enumerate(pairs)
    ]
    (tmp_path / "preds.jsonl").write_text("".join(m.to_json() + "\n" for m in models), "utf-8")
    coders = [
        profile(missed_code_rate=0.2, sibling_rate=0.3, wrong_principal_rate=0.2),
        AnnotatorProfile(name="prudent", email="sim.prudent@curation.local"),
    ]
    params = Params(
        studio=studio_settings,
        push=PushSettings(
            store=str(tmp_path / "projects.json"), title_prefix=f"t{uuid.uuid4().hex[:8]} "
        ),
        simulate=SimulateSettings(annotators=coders, answer_key=str(tmp_path / "key.jsonl")),
    )
    push.run(
        ICD.id,
        params,
        documents=tmp_path / "docs.parquet",
        predictions=tmp_path / "preds.jsonl",
        client=studio_client,
        progress=False,
    )
    (tmp_path / "params.yaml").write_text(yaml.safe_dump(params.model_dump(mode="json")))
    monkeypatch.chdir(tmp_path)
    runner = CliRunner()
    simulated = runner.invoke(app, ["simulate-annotators", ICD.id, "--params", "params.yaml"])
    assert simulated.exit_code == 0, simulated.output
    pulled = runner.invoke(app, ["pull", ICD.id, "--params", "params.yaml"])
    assert pulled.exit_code == 0, pulled.output
    lines = (tmp_path / "data" / "annotations" / f"{ICD.id}.jsonl").read_text("utf-8").splitlines()
    records = [json.loads(line) for line in lines]
    assert {r["doc_id"] for r in records} == {row["doc_id"] for row in rows}  # some twice
    gold = {g.doc_id: g for _, g in pairs}
    for record in records:
        assert record["labels"] and set(record["labels"]) <= cim10.codes()
        on_spans = [a for a in record.get("attributes", []) if "span" in a]
        marked = {record["spans"][a["span"]]["label"] for a in on_spans if a.get("role") == "DP"}
        typed = [a["dp"] for a in record.get("attributes", []) if "span" not in a]
        # exactly one DP: marked on its evidence, or typed in the DP area (no evidence label)
        assert (marked | set(typed)) == {record["labels"][0]} and len(typed) <= 1
        assert not (marked and typed)
        assert len(on_spans) == len(record.get("spans", []))
        if record["origin"].endswith("prudent@curation.local"):
            assert record["labels"] == gold[record["doc_id"]].labels
