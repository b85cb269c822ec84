"""Decode bytes and normalise text, once, at ingest.

Hospital exports come in UTF-8, in Windows cp1252 or latin-1, sometimes with a byte order
mark. Encodings are tried from an explicit ordered list (``ingest.encodings``, by default
``utf-8`` then ``cp1252``) rather than guessed by a charset detector (chardet,
charset-normalizer): on a short French note a detector's guess is a statistical bet that can
change with the library version or a few characters, whereas a strict ordered list is
deterministic and auditable. Strict UTF-8 almost never accepts cp1252 bytes by accident (an
accented letter in cp1252 is not a valid UTF-8 sequence), so trying it first is safe; the
encoding that worked is reported in the ingest summary.
"""

from __future__ import annotations

import codecs
import re
import unicodedata
from collections.abc import Sequence

from curation.sources.base import Problem, Reason

#: Byte order marks that declare an encoding outright; the UTF-32 ones start like UTF-16's,
#: so they are tested first.
_BOMS: tuple[tuple[bytes, str], ...] = (
    (codecs.BOM_UTF32_LE, "utf-32-le"),
    (codecs.BOM_UTF32_BE, "utf-32-be"),
    (codecs.BOM_UTF8, "utf-8"),
    (codecs.BOM_UTF16_LE, "utf-16-le"),
    (codecs.BOM_UTF16_BE, "utf-16-be"),
)

#: Control characters (Unicode category Cc) other than tab, line feed, form feed and
#: carriage return, which ordinary text files do contain.
_CONTROL = re.compile("[\x00-\x08\x0b\x0e-\x1f\x7f-\x9f]")


def decode(raw: bytes, encodings: Sequence[str]) -> tuple[str, str] | Problem:
    """Decode ``raw`` into text, returning ``(text, encoding)`` or the problem.

    A byte order mark decides the encoding and is removed. Otherwise NUL bytes mean binary
    content (no text encoding of ours produces them), and each candidate of ``encodings`` is
    tried strictly, in order.

    Examples
    --------
    >>> decode("Patiente opérée le 12/03.".encode("cp1252"), ["utf-8", "cp1252"])
    ('Patiente opérée le 12/03.', 'cp1252')
    """
    for bom, encoding in _BOMS:
        if raw.startswith(bom):
            try:
                return raw[len(bom) :].decode(encoding), encoding
            except UnicodeDecodeError as exc:
                return Problem(
                    Reason.UNDECODABLE,
                    f"starts with a {encoding} byte order mark but is not valid {encoding} "
                    f"(byte {exc.start + len(bom)}); re-export the document in UTF-8",
                )
    nul = raw.find(b"\x00")
    if nul >= 0:
        return Problem(
            Reason.BINARY_CONTENT,
            f"contains NUL bytes (first at byte {nul}): a binary file or a "
            "UTF-16 file without byte order mark; re-export it as plain text",
        )
    for encoding in encodings:
        try:
            return raw.decode(encoding), encoding
        except UnicodeDecodeError:
            continue
    return Problem(
        Reason.UNDECODABLE,
        f"not valid in any of the encodings {', '.join(encodings)}; find the export's "
        "encoding and add it to ingest.encodings in params.yaml",
    )


def normalise(text: str) -> str:
    """Remove a leading BOM, make line endings ``\\n`` and compose Unicode (NFC).

    Done once, at ingest: every offset in the platform refers to the stored text, so it must
    never change afterwards. NFC makes a decomposed ``e`` + combining acute the single ``é``
    that models and annotators see.

    Examples
    --------
    >>> normalise("\\ufeffFie\\u0300vre a\\u0300 39\\r\\nTTT: parace\\u0301tamol\\r")
    'Fièvre à 39\\nTTT: paracétamol\\n'
    """
    if text.startswith("\ufeff"):
        text = text[1:]
    if "\r" in text:
        text = text.replace("\r\n", "\n").replace("\r", "\n")
    if not unicodedata.is_normalized("NFC", text):
        text = unicodedata.normalize("NFC", text)
    return text


def binary_problem(text: str, max_ratio: float) -> Problem | None:
    """The ``binary_content`` problem when ``text`` has NULs or too many control characters."""
    nul = text.find("\x00")
    if nul >= 0:
        return Problem(
            Reason.BINARY_CONTENT,
            f"contains NUL characters (first at offset {nul}): not plain "
            "text; re-export it as text",
        )
    if not text:
        return None
    controls = sum(1 for _ in _CONTROL.finditer(text))
    share = controls / len(text)
    if share > max_ratio:
        return Problem(
            Reason.BINARY_CONTENT,
            f"{controls} control characters ({share:.1%} of {len(text)}, above "
            f"ingest.binary_ratio = {max_ratio:.1%}): binary or corrupted content; check the "
            "export, or raise ingest.binary_ratio if such text is expected",
        )
    return None
