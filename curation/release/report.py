"""The HTML report of a benchmark release: one self-contained page a steward opens offline.

The page holds everything inline (CSS, charts as SVG from :mod:`curation.release.plots`), needs
no JavaScript and loads nothing from the network: hospital workstations often have none. Every
string that comes from a data file (labels, ids, notes, provenance) is HTML-escaped. The page
shows ``doc_id`` and character offsets, never document text. The same data gives the same bytes;
only ``provenance["created_at"]`` (shown as the date) changes from one build to the next.

Examples
--------
>>> import tempfile
>>> data = ReportData(
...     use_case="pseudonymisation", version="1.0.0", description="CRH et lettres de liaison",
...     provenance={"created_at": "2025-01-15"}, splits={"train": 8, "test": 2},
...     label_counts={"train": {"NOM": 12}, "test": {"NOM": 3}}, agreement=None, quality={},
...     baselines={}, errors=[], changelog=None, limitations=["Données synthétiques"])
>>> with tempfile.TemporaryDirectory() as folder:
...     page = render_report(data, Path(folder))
...     page.name, "Données synthétiques" in page.read_text(encoding="utf-8")
('index.html', True)
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from curation.io import atomic_writer
from curation.metrics import summary
from curation.release.html import Html, _badge, _card, _ci, _e, _figure, _get, _p, _table
from curation.release.plots import confusion_chart, count_chart, f1_chart

#: Error examples listed in the page; the total is always given.
MAX_ERRORS = 50

#: Section ids, in page order (the navigation bar and the tests use them).
SECTIONS = {
    "summary": "Summary",
    "provenance": "Provenance",
    "labels": "Labels",
    "agreement": "Agreement",
    "quality": "Quality gates",
    "baselines": "Baselines",
    "errors": "Errors",
    "changelog": "Changes",
    "limitations": "Limitations",
}

CSS = """
:root{--ink:#1f2933;--muted:#52606d;--line:#d9e2ec;--accent:#0b4f8a;--ok:#1b7f3b;--fail:#b42318}
*{box-sizing:border-box}body{margin:0;font:15px/1.5 system-ui,"Segoe UI",Roboto,Arial,sans-serif;
color:var(--ink);background:#f4f6f9}header{background:var(--accent);color:#fff;padding:1.4rem 2rem}
header h1{margin:0 0 .3rem;font-size:1.6rem}header p{margin:.2rem 0}
nav{position:sticky;top:0;background:#fff;border-bottom:1px solid var(--line);padding:.5rem 2rem}
nav a{margin-right:1rem;color:var(--accent);text-decoration:none}
main{max-width:1150px;margin:0 auto;padding:.5rem 2rem 3rem}h3{font-size:1.05rem}
section{background:#fff;border:1px solid var(--line);border-radius:8px;padding:1rem 1.5rem;
margin:1rem 0;overflow-x:auto}h2{margin:0 0 .6rem;font-size:1.25rem;color:var(--accent)}
table{border-collapse:collapse;margin:.4rem 0 1rem;font-size:.88rem}th{background:#eef2f6}
th,td{border-bottom:1px solid var(--line);padding:.3rem .7rem;text-align:left;vertical-align:top}
td.n{text-align:right;font-variant-numeric:tabular-nums;white-space:nowrap}
.cards{display:flex;flex-wrap:wrap;gap:1rem}.card .v{font-size:1.7rem;font-weight:600}
.card{flex:1 1 12rem;border:1px solid var(--line);border-radius:8px;padding:.7rem 1rem}
.muted,.card .s,figcaption{color:var(--muted);font-size:.85rem}
.ok{color:var(--ok);font-weight:600}.fail{color:var(--fail);font-weight:600}ul.compact{margin:0}
.alert{border-left:4px solid var(--fail);background:#fdecea;padding:.5rem 1rem}
figure{margin:.5rem 0 1rem}figure svg{max-width:100%;height:auto}
@media print{nav{display:none}section{break-inside:avoid}}
"""


@dataclass
class ReportData:
    """Everything the report shows; every field is read from the release's files."""

    use_case: str
    version: str
    description: str
    provenance: dict[str, Any]
    splits: dict[str, int]
    label_counts: dict[str, dict[str, int]]
    agreement: dict[str, Any] | None
    quality: dict[str, dict[str, Any]]
    baselines: dict[str, dict[str, Any]]
    errors: list[dict[str, Any]]
    changelog: dict[str, Any] | None
    limitations: list[str]


def render_report(data: ReportData, path: Path) -> Path:
    """Write the release report as one self-contained HTML file.

    Parameters
    ----------
    data
        What to show.
    path
        A folder (``index.html`` is written in it) or the path of an ``.html`` file.

    Returns
    -------
    Path
        The file written.
    """
    target = path if path.suffix == ".html" else path / "index.html"
    title = f"{data.use_case} benchmark {data.version}"
    nav = "".join(f'<a href="#{key}">{name}</a>' for key, name in SECTIONS.items())
    builders = [_summary, _provenance, _labels, _agreement, _quality, _baselines, _errors]
    builders += [_changelog, _limitations]
    body = "\n".join(
        f'<section id="{key}"><h2>{SECTIONS[key]}</h2>\n{build(data)}\n</section>'
        for key, build in zip(SECTIONS, builders, strict=True)
    )
    created = data.provenance.get("created_at")
    page = (
        f'<!DOCTYPE html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n'
        f'<meta name="viewport" content="width=device-width, initial-scale=1">\n'
        f'<link rel="icon" href="data:,">\n<title>{_e(title)}</title>\n<style>{CSS}</style>\n'
        f"</head>\n<body>\n<header><h1>Benchmark {_e(data.use_case)} · version "
        f"{_e(data.version)}</h1><p>{_e(data.description)}</p>"
        f'<p class="date">Created {_e(created)}</p></header>\n<nav>{nav}</nav>\n<main>\n{body}\n'
        f"</main>\n</body>\n</html>\n"
    )
    with atomic_writer(target) as handle:
        handle.write(page)
    return target


# --------------------------------------------------------------------------- sections


def _summary(data: ReportData) -> Html:
    annotators = _get(data.agreement, "annotators") or {}
    flagged = sum(bool(row.get("flag")) for row in annotators.values())
    f1 = _get(data.agreement, "spans", "pooled", "exact", "micro")
    score = f1 or _get(data.agreement, "principal", "fleiss_kappa") or {}
    what = "exact span F1" if f1 else "Fleiss kappa"
    passed = sum(bool(r.get("success")) for r in data.quality.values())
    warnings = sum(int(r.get("failed_warning") or 0) for r in data.quality.values())
    sizes = " · ".join(f"{_e(s)} {_e(n)}" for s, n in data.splits.items())
    interval = f"{what}, interval {_e(score.get('low'))}–{_e(score.get('high'))}"
    cards = _card("Documents", sum(data.splits.values()), sizes)
    feedback = f"{flagged} flagged for feedback" if annotators else "no agreement report"
    cards += _card("Annotators", len(annotators) or None, feedback)
    cards += _card("Agreement", score.get("f1", score.get("value")), interval if score else "")
    gates = f"stages passed, {warnings} warning(s)" if data.quality else "no validation results"
    cards += _card("Quality gates", Html(f"{passed}/{len(data.quality)}"), gates)
    return Html(f'<div class="cards">{cards}</div>')


def _provenance(data: ReportData) -> Html:
    def show(value: Any) -> Any:
        """Scalars as written (an id is not a count: no thousands separator), others as JSON."""
        if value is None or isinstance(value, str | int | float | bool):
            return None if value is None else str(value)
        return json.dumps(value, ensure_ascii=False, sort_keys=True)

    return _table(["Item", "Value"], [(k, show(v)) for k, v in data.provenance.items()])


def _labels(data: ReportData) -> Html:
    counts = data.label_counts
    labels = sorted({label for per_split in counts.values() for label in per_split})
    if not labels:
        return _p("No labelled spans in this release.")
    rows: list[list[Any]] = []
    for label in [*labels, None]:
        row = [sum(c.values()) if label is None else c.get(label, 0) for c in counts.values()]
        rows.append([label or Html("<b>Total</b>"), *row, sum(row)])
    series = {s: [float(c.get(label, 0)) for label in labels] for s, c in counts.items()}
    chart = count_chart("labels", labels, series, "Gold spans per label and split")
    table = _table(["Label", *counts, "Total"], rows)
    return Html(table + _figure(chart, "Number of gold spans of each label in each split."))


def _agreement(data: ReportData) -> Html:
    agreement = data.agreement
    if not agreement:
        return _p("No agreement report: no document was annotated by several annotators.")
    n = _e(agreement.get("overlapped_documents"))
    parts = [f"<p>{n} documents annotated by several annotators.</p>"]
    if pooled := _get(agreement, "spans", "pooled"):
        modes, keys = ("exact", "overlap"), ("matches", "spans_a", "spans_b")
        micro = {m: _get(pooled, m, "micro") or {} for m in modes}
        rows = [(m, _ci(micro[m]), *(micro[m].get(k) for k in keys)) for m in modes]
        headers = ["Match", "Pooled F1 [interval]", "Matches", "Spans A", "Spans B"]
        labels = list(_get(pooled, "exact", "per_label") or {})
        cells = {m: [_get(pooled, m, "per_label", x) or {} for x in labels] for m in modes}
        series = {m: [v.get("f1") for v in cells[m]] for m in modes}
        bounds = {m: [(v.get("low"), v.get("high")) for v in cells[m]] for m in modes}
        chart = f1_chart("agreement", labels, series, bounds, "Agreement per label (pooled)")
        caption = "Pooled pairwise F1 per label; bars show the bootstrap interval."
        parts += [_table(headers, rows), _figure(chart, caption)]
    if pooled := _get(agreement, "labels", "__all__"):
        stats = (("fleiss_kappa", "Fleiss kappa"), ("krippendorff_alpha", "Krippendorff alpha"))
        rows = [(name, _ci(pooled.get(key), "value")) for key, name in stats]
        parts.append(_table(["Every (document, label) pair", "Value [interval]"], rows))
    if principal := agreement.get("principal"):
        stats = (("fleiss_kappa", "Fleiss kappa"), ("krippendorff_alpha", "Krippendorff alpha"))
        rows = [(name, _ci(principal.get(key), "value")) for key, name in stats]
        parts.append(_table(["Principal label", "Value [interval]"], rows))
    if annotators := agreement.get("annotators") or {}:
        columns = ("documents", "exact_f1", "overlap_f1", "exact_precision", "exact_recall")
        rows = []
        for name, r in annotators.items():
            values = [({"exact_f1": r.get("f1")} | r).get(k) for k in columns]
            flag = _badge(not r.get("flag"), "ok", "needs feedback")
            rows.append((name, *values, r.get("flag_threshold"), flag))
        headers = ["Annotator", "Documents", "F1", "Overlap F1", "Precision", "Recall"]
        parts.append("<h3>Each annotator against the consensus</h3>")
        parts.append(_table([*headers, "Flag below", "Status"], rows))
    return Html("".join(parts))


def _quality(data: ReportData) -> Html:
    if not data.quality:
        return _p("No validation results for this release.")
    rows = []
    for stage, result in data.quality.items():
        failed = [x for x in result.get("expectations", []) if not x.get("success")]
        items = "".join(f"<li>{_failure(x)}</li>" for x in failed)
        listing = Html(f'<ul class="compact">{items}</ul>' if failed else "none")
        counts = [result.get(k) for k in ("evaluated", "failed_critical", "failed_warning")]
        rows.append((stage, _badge(result.get("success")), *counts, listing))
    headers = ["Stage", "Gate", "Checks", "Failed critical", "Failed warning", "Failed checks"]
    return _table(headers, rows)


def _failure(check: Mapping[str, Any]) -> str:
    """One failed expectation: name, columns, severity, counts, a few ``doc_id [start:end]``."""
    where = [
        _e(x.get("doc_id")) + (f" [{_e(x['start'])}:{_e(x['end'])}]" if "end" in x else "")
        for x in check.get("examples", [])[:3]
        if isinstance(x, Mapping)
    ]
    counts = f"{_e(check.get('unexpected_count'))} of {_e(check.get('element_count'))} rows"
    examples = f' <span class="muted">e.g. {", ".join(where)}</span>' if where else ""
    name, target = _e(check.get("expectation")), _e(check.get("target"))
    return f"<code>{name}</code> on {target} ({_e(check.get('severity'))}): {counts}{examples}"


def _baselines(data: ReportData) -> Html:
    if not data.baselines:
        return _p("No baseline was scored on this release.")
    per_label = [summary.label_scores(m) for m in data.baselines.values()]
    labels = list(dict.fromkeys(label for scores in per_label for label in scores))
    series: dict[str, list[float | None]] = {}
    bounds: dict[str, list[tuple[float | None, float | None]]] = {}
    parts: list[str] = []
    headers = ["Label", "Gold", "Precision", "Recall", "F1 [interval]", "Partial F1"]
    what = "F1"
    for i, (name, m) in enumerate(data.baselines.items()):
        scores = {label: per_label[i].get(label, {}) for label in labels}
        series[name] = [s.get("f1") for s in scores.values()]
        bounds[name] = [(s.get("low"), s.get("high")) for s in scores.values()]
        micro = summary.main_scores(m)
        rows = [_score_row(label, s) for label, s in scores.items()]
        rows.append(_score_row(Html("<b>micro</b>"), micro))
        what = summary.headline(m)
        line = f"{what[0].upper()}{what[1:]} {_ci(micro)}, macro F1 {_e(summary.macro_f1(m))}"
        if (leak := _get(m, "leak", "leak_rate")) is not None:
            line += f", PHI leak rate {_e(leak)}"
        if (dp := m.get("dp_accuracy")) is not None:
            line += f", principal diagnosis accuracy {_e(dp)}"
        if (category := _get(m, "category", "f1")) is not None:
            line += f", F1 at the 3-character category {_e(category)}"
        parts += [f"<h3>{_e(name)}</h3><p>{line}</p>", _table(headers, rows)]
        if confusion := m.get("confusion"):
            names = ["none" if x in (None, "O") else x for x in confusion["labels"]]
            title = f"Confusion: {name}"
            svg = confusion_chart(f"confusion-{i}", names, confusion["matrix"], title)
            parts.append(_figure(svg, "Spans per (gold, predicted) label; shading: share of row."))
    chart = f1_chart("baselines", labels, series, bounds, "F1 per label")
    caption = f"F1 per label ({what}); bars show the bootstrap interval when computed."
    return Html(_figure(chart, caption) + "".join(parts))


def _score_row(label: str, s: Mapping[str, Any]) -> tuple[Any, ...]:
    support = s["tp"] + s["fn"] if "tp" in s and "fn" in s else None
    return (label, support, s.get("precision"), s.get("recall"), _ci(s), s.get("partial"))


def _errors(data: ReportData) -> Html:
    if not data.errors:
        return _p("No error examples.")
    kinds = Counter(str(x.get("kind")) for x in data.errors)
    shown = data.errors[:MAX_ERRORS]
    by_kind = ", ".join(f"{_e(k)}: {n}" for k, n in sorted(kinds.items()))
    intro = (
        f"Showing {len(shown)} of {len(data.errors)} error examples ({by_kind}). Offsets "
        "count characters in the document; open it in Label Studio to read the text."
    )
    keys = ("baseline", "doc_id", "start", "end", "gold", "predicted", "kind")
    headers = ["Baseline", "Document", "Start", "End", "Gold", "Predicted", "Kind"]
    rows = ([_plain(x.get(k)) for k in keys] for x in shown)
    return Html(f"<p>{intro}</p>" + _table(headers, rows))


def _plain(value: Any) -> Any:
    """Offsets and ids as written: ``1106``, not ``1,106``."""
    return str(value) if isinstance(value, int) and not isinstance(value, bool) else value


def _changelog(data: ReportData) -> Html:
    change = data.changelog
    if not change:
        return _p("First release: there is no previous version to compare with.")
    parts = [f"<p>Changes since version {_e(change.get('previous_version'))}.</p>"]
    if change.get("test_touched"):
        parts.append(
            '<p class="alert">The test split changed: scores are not comparable with '
            "those of the previous version.</p>"
        )
    elif "test_touched" in change:
        parts.append('<p class="ok">The test split is unchanged.</p>')
    rest = {k: v for k, v in change.items() if k not in ("previous_version", "test_touched")}
    tables = {k: v for k, v in rest.items() if isinstance(v, Mapping)}
    if columns := list(dict.fromkeys(c for v in tables.values() for c in v)):
        rows = [[kind, *(_count(v.get(c, 0)) for c in columns)] for kind, v in tables.items()]
        parts.append(_table(["Change", *columns], rows))
    if other := [(k, _count(v)) for k, v in rest.items() if k not in tables]:
        parts.append(_table(["Item", "Value"], other))
    return Html("".join(parts))


def _count(value: Any) -> Any:
    """A changelog cell: lists of ids are counted, nested dicts summed."""
    if isinstance(value, list | tuple | set):
        return len(value)
    if isinstance(value, Mapping):
        return sum(c for c in map(_count, value.values()) if isinstance(c, int | float))
    return value


def _limitations(data: ReportData) -> Html:
    if not data.limitations:
        return _p("None recorded for this release.")
    return Html("<ul>" + "".join(f"<li>{_e(x)}</li>" for x in data.limitations) + "</ul>")
