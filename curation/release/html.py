"""Small HTML helpers of the release report (:mod:`curation.release.report`).

Anything that is not :class:`Html` is escaped, so that a string read from a data file never
becomes markup.
"""

from __future__ import annotations

import html
from collections.abc import Iterable, Mapping, Sequence
from typing import Any


class Html(str):
    """Markup built by the report: inserted as is, where any other string is escaped."""


def _e(value: Any) -> str:
    """Escape a value for HTML; numbers formatted, ``None`` shown as a dash."""
    if isinstance(value, Html):
        return value
    if value is None:
        return "–"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, int):
        return f"{value:,}"
    if isinstance(value, float):
        return f"{value:.3f}"
    return html.escape(str(value))


def _get(data: Any, *keys: Any) -> Any:
    """``data[k1][k2]...``, or ``None`` as soon as a level is missing."""
    for key in keys:
        data = data.get(key) if isinstance(data, Mapping) else None
    return data


def _table(headers: Sequence[str], rows: Iterable[Sequence[Any]]) -> Html:
    def td(c: Any) -> str:
        return f'<td class="n">{_e(c)}</td>' if isinstance(c, int | float) else f"<td>{_e(c)}</td>"

    head = "".join(f"<th>{_e(h)}</th>" for h in headers)
    body = "".join("<tr>" + "".join(map(td, row)) + "</tr>" for row in rows)
    return Html(f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>")


def _figure(svg: str, caption: str) -> Html:
    return Html(f"<figure>{svg}<figcaption>{_e(caption)}</figcaption></figure>")


def _badge(ok: Any, yes: str = "passed", no: str = "failed") -> Html:
    return Html(f'<span class="ok">{yes}</span>' if ok else f'<span class="fail">{no}</span>')


def _ci(value: Any, key: str = "f1") -> Html:
    """``0.743 [0.714–0.771]`` from a dict holding the value under ``key``, ``low``, ``high``."""
    low, high = _get(value, "low"), _get(value, "high")
    if low is None and high is None:
        return Html(_e(_get(value, key)))
    return Html(f'{_e(_get(value, key))} <span class="muted">[{_e(low)}–{_e(high)}]</span>')


def _p(text: str) -> Html:
    return Html(f'<p class="muted">{_e(text)}</p>')


def _card(title: str, value: Any, note: str) -> str:
    value_html = f'<div class="v">{_e(value)}</div>'
    return f'<div class="card"><div>{title}</div>{value_html}<div class="s">{note}</div></div>'
