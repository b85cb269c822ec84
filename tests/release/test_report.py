"""The release report: content and escaping of the HTML, then the page in headless Chromium.

The data are small and written by hand (synthetic ids, no document text). The browser tests
need Chromium and its driver; without them they fail, with the install command, rather than
skip: a report nobody could open must not pass CI.
"""

from __future__ import annotations

import io
import shutil
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from PIL import Image

from curation.release.report import MAX_ERRORS, SECTIONS, ReportData, render_report

INSTALL = (
    "Chromium and chromedriver are needed to test the release report in a browser. "
    "On Debian/Ubuntu: `sudo apt-get install -y chromium chromium-driver` "
    "(binaries /usr/bin/chromium and /usr/bin/chromedriver); and `pip install selenium`."
)

LABELS = ("NOM", "PRENOM", "DATE_NAISSANCE", "HOPITAL")
INJECTED = "<script>alert('x')</script>"


def per_label(f1: dict[str, float]) -> dict[str, dict[str, Any]]:
    return {
        label: {"f1": value, "low": value - 0.05, "high": value + 0.02}
        for label, value in f1.items()
    }


def report_data() -> ReportData:
    """A release of 12 documents; numbers chosen so that each one can be found in the page."""
    strict: dict[str, dict[str, Any]] = {
        "NOM": {"precision": 0.9, "recall": 0.75, "f1": 0.8182, "tp": 9, "fp": 1, "fn": 3},
        "PRENOM": {"precision": 1.0, "recall": 1.0, "f1": 1.0, "tp": 5, "fp": 0, "fn": 0},
        "DATE_NAISSANCE": {
            "precision": 0.5,
            "recall": 1.0,
            "f1": 0.6667,
            "tp": 2,
            "fp": 2,
            "fn": 0,
        },
        "HOPITAL": {"precision": None, "recall": None, "f1": None, "tp": 0, "fp": 0, "fn": 0},
    }
    # micro: tp 9 + 5 + 2 = 16, fp 3, fn 3, so P = R = F1 = 16 / 19; macro F1 over 3 labels
    micro: dict[str, Any] = {"precision": 0.8421, "recall": 0.8421, "f1": 0.8421}
    micro |= {"tp": 16, "fp": 3, "fn": 3}
    rules = {
        "strict": {"micro": micro, "macro_f1": 0.8283, "per_label": strict},
        "partial": {
            "micro": micro | {"f1": 0.8718},
            "per_label": strict | {"NOM": strict["NOM"] | {"f1": 0.9}},
        },
        "bootstrap": {
            "micro": {"f1": 0.8421, "low": 0.6512, "high": 0.9302},
            "per_label": {"NOM": {"f1": 0.8182, "low": 0.6, "high": 0.95}},
        },
        "leak": {"leak_rate": 0.0421},
        "confusion": {
            "labels": ["NOM", "PRENOM", "DATE_NAISSANCE", "O"],
            "matrix": [[9, 1, 0, 2], [0, 5, 0, 0], [0, 0, 2, 0], [1, 0, 2, 0]],
        },
    }
    camembert = {
        "strict": {
            "micro": micro | {"f1": 0.9},
            "per_label": {"NOM": strict["NOM"] | {"f1": 0.95}},
        },
        "partial": {"micro": {"f1": 0.92}, "per_label": {}},
    }
    exact = {
        "f1": 0.7432,
        "matches": 30,
        "spans_a": 41,
        "spans_b": 40,
        "low": 0.7135,
        "high": 0.7713,
    }
    agreement = {
        "use_case": "pseudonymisation",
        "overlapped_documents": 6,
        "spans": {
            "labels": list(LABELS),
            "pooled": {
                "exact": {"micro": exact, "per_label": per_label({"NOM": 0.8, "PRENOM": 0.7})},
                "overlap": {
                    "micro": exact | {"f1": 0.8621, "low": 0.8, "high": 0.9},
                    "per_label": per_label({"NOM": 0.9, "PRENOM": 0.85}),
                },
            },
        },
        "annotators": {
            "annotator:expert-a": {
                "documents": 6,
                "exact_f1": 0.91,
                "flag_threshold": 0.74,
                "flag": False,
            },
            "annotator:interne-c": {
                "documents": 5,
                "exact_f1": 0.6,
                "flag_threshold": 0.74,
                "flag": True,
            },
        },
    }
    gold_check = {
        "expectation": "expect_column_values_to_be_in_set",
        "target": "rule",
        "severity": "critical",
        "success": False,
        "element_count": 12,
        "unexpected_count": 2,
        "examples": [{"doc_id": "syn-0000007-01"}],
    }
    overlap_check = {
        "expectation": "expect_spans_not_to_overlap",
        "target": "record, start, end",
        "severity": "warning",
        "success": False,
        "element_count": 57,
        "unexpected_count": 3,
        "examples": [{"record": 1, "doc_id": "syn-0000003-02", "start": 606, "end": 612}],
    }
    quality = {
        "annotations": {
            "stage": "annotations",
            "success": True,
            "evaluated": 11,
            "failed_critical": 0,
            "failed_warning": 1,
            "expectations": [overlap_check, {"success": True}],
        },
        "gold": {
            "stage": "gold",
            "success": False,
            "evaluated": 17,
            "failed_critical": 1,
            "failed_warning": 0,
            "expectations": [gold_check],
        },
    }
    errors = [
        {
            "baseline": "rules",
            "doc_id": f"syn-{i:07d}-01",
            "start": 10 * i,
            "end": 10 * i + 6,
            "gold": "NOM",
            "predicted": None,
            "kind": "missed",
            "text": "Durand",
        }
        for i in range(MAX_ERRORS + 10)
    ]
    errors[0] |= {"doc_id": INJECTED, "kind": "wrong label", "predicted": "PRENOM"}
    return ReportData(
        use_case="pseudonymisation",
        version="1.2.0",
        description=f"Comptes rendus d'hospitalisation {INJECTED}",
        provenance={
            "git_commit": "3f2a9c1",
            "label_studio_project": 1234,
            "preannotation_model": "regles.v1",
            "created_at": "2025-03-04T10:00:00Z",
            "params": {"split": {"seed": 0}},
        },
        splits={"train": 8, "dev": 1, "test": 3},
        label_counts={
            "train": {"NOM": 10, "PRENOM": 6},
            "dev": {"NOM": 1},
            "test": {"NOM": 4, "DATE_NAISSANCE": 2},
        },
        agreement=agreement,
        quality=quality,
        baselines={"rules": rules, "camembert-bio": camembert},
        errors=errors,
        changelog={
            "previous_version": "1.1.0",
            "test_touched": True,
            "added": {"train": 3, "dev": 0, "test": ["syn-0000011-01"]},
            "removed": {"train": 1, "dev": 0, "test": 0},
        },
        limitations=["Documents synthétiques", f"Label {INJECTED} never seen"],
    )


def minimal_data() -> ReportData:
    """A first release with nothing optional: no agreement, gates, baselines, errors, changes."""
    return replace(
        report_data(),
        agreement=None,
        quality={},
        baselines={},
        errors=[],
        changelog=None,
        limitations=[],
    )


@pytest.fixture(scope="module")
def pages(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("report")
    return {
        "full": render_report(report_data(), folder / "full"),
        "minimal": render_report(minimal_data(), folder / "minimal" / "page.html"),
    }


# --------------------------------------------------------------------------- html content


def test_page_shows_the_numbers(pages: dict[str, Path]) -> None:
    page = pages["full"].read_text(encoding="utf-8")
    assert pages["full"].name == "index.html"
    assert "<title>pseudonymisation benchmark 1.2.0</title>" in page
    for section in SECTIONS:
        assert f'<section id="{section}">' in page
    # summary: 8 + 1 + 3 documents, 2 annotators with 1 flagged, 1 of 2 gates passed
    assert '<div class="v">12</div>' in page and "train 8 · dev 1 · test 3" in page
    assert "1 flagged for feedback" in page and '<div class="v">1/2</div>' in page
    # labels: NOM 10 + 1 + 4 = 15; all spans 16 + 1 + 6 = 23
    assert "<td>NOM</td>" + "".join(f'<td class="n">{n}</td>' for n in (10, 1, 4, 15)) in page
    assert '<td class="n">23</td>' in page
    # agreement, pooled with its interval, and the flagged annotator
    assert '0.743 <span class="muted">[0.714–0.771]</span>' in page
    assert "0.862" in page and "needs feedback" in page and "annotator:interne-c" in page
    # quality gates: the failed stage and the failed checks with counts and ids
    assert "expect_spans_not_to_overlap" in page and "3 of 57 rows" in page
    assert "syn-0000003-02 [606:612]" in page and '<span class="fail">failed</span>' in page
    # baselines: per-label scores with intervals, undefined F1 as a dash, leak rate
    assert '0.818 <span class="muted">[0.600–0.950]</span>' in page
    assert 'Strict micro F1 0.842 <span class="muted">[0.651–0.930]</span>, macro F1 0.828' in page
    assert '<td>HOPITAL</td><td class="n">0</td><td>–</td><td>–</td><td>–</td>' in page
    assert "PHI leak rate 0.042" in page and "camembert-bio" in page
    # errors: capped, with the total; offsets as written; the changelog warns on test changes
    assert f"Showing {MAX_ERRORS} of {MAX_ERRORS + 10} error examples" in page
    assert "missed: 59, wrong label: 1" in page
    assert "syn-0000049-01" in page and "syn-0000050-01" not in page
    assert "The test split changed" in page and "1.1.0" in page
    assert "<td>label_studio_project</td><td>1234</td>" in page


def test_page_is_self_contained_and_escaped(pages: dict[str, Path]) -> None:
    page = pages["full"].read_text(encoding="utf-8")
    for forbidden in ("<script", "http://", "https://", "src=", "@import", '<link rel="stylesheet'):
        assert forbidden not in page
    assert "&lt;script&gt;alert(&#x27;x&#x27;)&lt;/script&gt;" in page
    assert "Durand" not in page  # an error's text never reaches the page
    assert page.count("<svg") == 4  # labels, agreement, baselines, one confusion matrix


def test_same_data_same_bytes(tmp_path: Path) -> None:
    first = render_report(report_data(), tmp_path / "a").read_bytes()
    assert render_report(report_data(), tmp_path / "b").read_bytes() == first
    later = replace(
        report_data(), provenance=report_data().provenance | {"created_at": "2025-04-01"}
    )
    changed = render_report(later, tmp_path / "c").read_text(encoding="utf-8")
    assert changed.replace("2025-04-01", "2025-03-04T10:00:00Z") == first.decode("utf-8")


def test_a_first_release_renders_without_optional_parts(pages: dict[str, Path]) -> None:
    page = pages["minimal"].read_text(encoding="utf-8")
    assert pages["minimal"].name == "page.html"
    assert "No agreement report" in page and "First release" in page
    assert "No baseline was scored" in page and "None recorded" in page
    assert page.count("<svg") == 1


def test_agreement_of_a_classification_use_case(tmp_path: Path) -> None:
    """Use cases with document labels report kappa and alpha instead of span F1."""
    kappa = {"value": 0.6, "low": 0.4, "high": 0.8}
    agreement = {
        "overlapped_documents": 5,
        "principal": {"fleiss_kappa": kappa, "krippendorff_alpha": kappa | {"value": 0.61}},
        "annotators": {"annotator:expert-a": {"documents": 5, "f1": 0.8, "flag": False}},
    }
    page = render_report(replace(minimal_data(), agreement=agreement), tmp_path)
    text = page.read_text(encoding="utf-8")
    assert '<td>Fleiss kappa</td><td>0.600 <span class="muted">[0.400–0.800]</span>' in text
    assert '<td>annotator:expert-a</td><td class="n">5</td><td class="n">0.800</td>' in text
    assert "Fleiss kappa, interval 0.400–0.800" in text  # the summary card


# --------------------------------------------------------------------------- in a browser


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    """One headless Chromium for the module; fails (never skips) when it cannot start."""
    try:
        from selenium import webdriver
        from selenium.webdriver.chrome.service import Service
    except ImportError:
        pytest.fail(INSTALL, pytrace=False)
    binary, driver_path = shutil.which("chromium"), shutil.which("chromedriver")
    if binary is None or driver_path is None:
        pytest.fail(INSTALL, pytrace=False)
    options = webdriver.ChromeOptions()
    options.binary_location = binary
    for argument in ("--headless=new", "--no-sandbox", "--disable-gpu", "--window-size=1280,900"):
        options.add_argument(argument)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(options=options, service=Service(driver_path))
    try:
        yield driver
    finally:
        driver.quit()


@pytest.mark.slow
@pytest.mark.parametrize(("name", "charts"), [("full", 4), ("minimal", 1)])
def test_page_opens_in_chromium(
    browser: Any, pages: dict[str, Path], name: str, charts: int
) -> None:
    from selenium.webdriver.common.by import By

    browser.get(pages[name].resolve().as_uri())
    assert browser.title == "pseudonymisation benchmark 1.2.0"
    for section in SECTIONS:
        assert browser.find_elements(By.ID, section), f"section #{section} missing"
    severe = [entry for entry in browser.get_log("browser") if entry["level"] == "SEVERE"]
    assert severe == []
    svgs = browser.find_elements(By.CSS_SELECTOR, "figure svg")
    assert len(svgs) == charts
    for svg in svgs:
        assert svg.size["width"] > 100 and svg.size["height"] > 100
        # something is drawn: the chart is not a blank rectangle
        colours = Image.open(io.BytesIO(svg.screenshot_as_png)).convert("RGB").getcolors(1 << 16)
        assert colours is None or len(colours) > 10


@pytest.mark.slow
def test_console_errors_would_be_seen(browser: Any, tmp_path: Path) -> None:
    """Guards the console check above: a page with a missing image logs a SEVERE entry."""
    page = tmp_path / "broken.html"
    page.write_text('<!DOCTYPE html><title>broken</title><img src="missing.png">')
    browser.get(page.as_uri())
    assert any(entry["level"] == "SEVERE" for entry in browser.get_log("browser"))
