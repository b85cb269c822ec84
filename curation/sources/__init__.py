"""Where documents come from: the synthetic generator, files, tabular exports, OMOP ``note``.

:func:`read_source` picks the reader of ``ingest.source.kind``. Readers are imported when
used, so that importing :mod:`curation.sources.synthetic` loads neither pyarrow readers nor
SQLAlchemy.
"""

from __future__ import annotations

from collections.abc import Iterator

from curation.settings import SourceSettings
from curation.sources.base import RawRecord


def read_source(settings: SourceSettings) -> Iterator[RawRecord]:
    """Stream the records of the configured source, in a deterministic order.

    The source is opened (file found, header or table read) before this returns, so a
    :class:`~curation.sources.base.SourceError` comes before any output is touched.
    """
    if settings.kind == "files":
        from curation.sources.files import read_files

        return read_files(settings)
    if settings.kind == "omop":
        from curation.sources.omop import read_omop

        return read_omop(settings)
    from curation.sources import tabular

    readers = {
        "parquet": tabular.read_parquet,
        "jsonl": tabular.read_jsonl,
        "csv": tabular.read_csv,
    }
    return readers[settings.kind](settings)
