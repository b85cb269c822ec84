"""The ``note`` table of an OMOP CDM database, through SQLAlchemy Core (``kind: omop``).

Many French university hospitals (AP-HP, the Ouest network...) expose their data warehouse
in the OMOP common data model, where clinical text lives in ``note``. The default mapping
follows the CDM; ``ingest.source.columns`` overrides any field (``site`` for instance, which
``note`` lacks). Rows are streamed in primary-key order, never loaded all at once.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Engine
from sqlalchemy.exc import NoSuchTableError, SQLAlchemyError

from curation.settings import SourceSettings
from curation.sources.base import (
    RawRecord,
    SourceError,
    missing_required,
    record_from_row,
    resolve_columns,
)

#: OMOP CDM ``note`` columns for each Document field.
OMOP_COLUMNS: dict[str, str] = {
    "doc_id": "note_id",
    "patient_id": "person_id",
    "stay_id": "visit_occurrence_id",
    "text": "note_text",
    "created_at": "note_datetime",
    "doc_type": "note_title",
}
#: ``note_datetime`` is optional in the CDM; ``note_date`` is required and stands in for it.
FALLBACK_DATE_COLUMN = "note_date"
#: Rows fetched per round trip to the database.
FETCH_ROWS = 500


def read_omop(settings: SourceSettings) -> Iterator[RawRecord]:
    """Yield one record per row of the OMOP ``note`` table (``settings.table``).

    ``settings.url`` is a SQLAlchemy URL (``postgresql+psycopg://...``); ``settings.path``
    a SQLite file. ``table`` may carry a schema: ``cdm.note``. The table is reflected before
    anything is yielded, so a wrong URL or table fails at once.

    Raises
    ------
    SourceError
        The database cannot be reached or the table does not exist.
    """
    engine, where = _engine(settings)
    schema, _, name = settings.table.rpartition(".")
    try:
        table = sa.Table(name, sa.MetaData(), schema=schema or None, autoload_with=engine)
    except NoSuchTableError:
        engine.dispose()
        raise SourceError(
            f"table {settings.table!r} not found in {where}; set ingest.source.table "
            "(with its schema, e.g. cdm.note)"
        ) from None
    except SQLAlchemyError as exc:
        engine.dispose()
        raise SourceError(
            f"cannot read table {settings.table!r} from {where} ({type(exc).__name__}); "
            "check ingest.source.table and ingest.source.url, the network and the "
            "credentials in the environment"
        ) from None
    columns = set(table.columns.keys())
    defaults = dict(OMOP_COLUMNS)
    if "created_at" not in settings.columns and "note_datetime" not in columns:
        defaults["created_at"] = FALLBACK_DATE_COLUMN
    mapping = resolve_columns(settings.columns, defaults)
    return _iter_rows(engine, table, mapping, where)


def _engine(settings: SourceSettings) -> tuple[Engine, str]:
    """The engine and a description of the database that is safe to print."""
    if settings.url:
        try:
            engine = sa.create_engine(settings.url)
        except (SQLAlchemyError, ImportError, ValueError) as exc:
            raise SourceError(
                f"ingest.source.url is not a usable SQLAlchemy URL ({type(exc).__name__}); "
                "write it as dialect+driver://user@host/database, password in the environment"
            ) from None
        return engine, engine.url.render_as_string(hide_password=True)
    path = Path(settings.path or "")
    if not path.is_file():
        raise SourceError(
            f"OMOP SQLite database {path} does not exist; set ingest.source.path (or "
            "ingest.source.url for a database server)"
        )
    url = sa.URL.create("sqlite", database=str(path))
    return sa.create_engine(url), str(path)


def _iter_rows(
    engine: Engine, table: sa.Table, mapping: dict[str, str], where: str
) -> Iterator[RawRecord]:
    available = set(table.columns.keys())
    problem = missing_required(mapping, available)
    wanted = {column for column in mapping.values() if column in available}
    date_fallback = mapping["created_at"] == "note_datetime" and FALLBACK_DATE_COLUMN in available
    if date_fallback:
        wanted.add(FALLBACK_DATE_COLUMN)
    id_column = mapping["doc_id"] if mapping["doc_id"] in available else None
    order = [table.c[id_column]] if id_column else list(table.primary_key.columns)
    query = sa.select(*(table.c[name] for name in sorted(wanted))).order_by(*order)
    number = 0
    try:
        with engine.connect() as connection:
            result = connection.execution_options(yield_per=FETCH_ROWS).execute(query)
            for number, row in enumerate(result.mappings(), start=1):
                values: dict[str, Any] = dict(row)
                if date_fallback and values.get("note_datetime") is None:
                    values["note_datetime"] = values.get(FALLBACK_DATE_COLUMN)
                key = f"{id_column}={values[id_column]}" if id_column else f"row {number}"
                location = f"{table.name}.{key}"
                yield record_from_row(
                    values, mapping, location=location, log_ref=location, problem=problem
                )
    except SQLAlchemyError as exc:
        raise SourceError(
            f"reading {table.name} from {where} failed after row {number} "
            f"({type(exc).__name__}); check the database and run ingest again"
        ) from None
    finally:
        engine.dispose()
