"""The ``curation`` command: one subcommand per pipeline stage, each a few lines of wiring.

Tunables live in ``params.yaml``; the command line carries only paths and the use case.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import typer
from rich.console import Console
from rich.markup import escape

from curation.schema import Span
from curation.settings import DEFAULT_PARAMS, Params, ParamsError, load_params

app = typer.Typer(
    help="Turn French hospital text into versioned, validated gold benchmarks.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)
console = Console(stderr=True)

ParamsOption = typer.Option(DEFAULT_PARAMS, "--params", help="params.yaml to read")


def _fail(message: str) -> typer.Exit:
    console.print(f"[bold red]error:[/] {escape(message)}", soft_wrap=True, highlight=False)
    return typer.Exit(code=1)


@app.command()
def generate(
    params: Path = ParamsOption,
    n_documents: int | None = typer.Option(
        None, help="override generate.n_documents (for a quick look; the pipeline uses params)"
    ),
    output: Path | None = typer.Option(None, help="override generate.output"),
    answer_keys: Path | None = typer.Option(None, help="override generate.answer_keys"),
) -> None:
    """Write the synthetic French hospital corpus and the answer key of every use case."""
    from curation.stages import generate as stage

    try:
        settings = load_params(params).generate
    except ParamsError as exc:
        raise _fail(str(exc)) from None
    overrides = {
        "n_documents": n_documents,
        "output": str(output) if output else None,
        "answer_keys": str(answer_keys) if answer_keys else None,
    }
    settings = settings.model_copy(update={k: v for k, v in overrides.items() if v is not None})
    summary = stage.run(settings, progress=True)
    console.print(summary.render(), soft_wrap=True, markup=False, highlight=False)


@app.command()
def ingest(params: Path = ParamsOption) -> None:
    """Read the configured source into data/raw/documents.parquet; quarantine the rest."""
    from curation.sources.base import SourceError
    from curation.stages import ingest as stage

    try:
        settings = load_params(params).ingest
        summary = stage.run(settings, progress=True)
    except (ParamsError, SourceError) as exc:
        raise _fail(str(exc)) from None
    console.print(summary.render(), soft_wrap=True, markup=False, highlight=False)


UseCaseArgument = typer.Argument(..., help="use case id (see `curation usecases`)")


@app.command()
def train(use_case: str = UseCaseArgument, params: Path = ParamsOption) -> None:
    """Train a use case's model on gold (expert gold when configured, else synthetic)."""
    from curation.io import InputError
    from curation.stages import train as stage

    try:
        report = stage.run(use_case, load_params(params), progress=True)
    except (ParamsError, InputError, KeyError, ValueError) as exc:
        raise _fail(str(exc)) from None
    console.print(stage.render(report), soft_wrap=True, markup=False, highlight=False)


@app.command()
def preannotate(
    use_case: str = UseCaseArgument,
    params: Path = ParamsOption,
    input: Path | None = typer.Option(
        None, "--input", help="JSONL (doc_id, text per line) or Parquet; default: the pipeline's"
    ),
    output: Path | None = typer.Option(None, "--output", help="predictions JSONL to write"),
) -> None:
    """Pre-annotate documents with the use case's models and rules."""
    from curation.io import InputError
    from curation.stages import preannotate as stage

    try:
        summary = stage.run(
            use_case, load_params(params), input_path=input, output=output, progress=True
        )
    except (ParamsError, InputError, KeyError, ValueError, FileNotFoundError) as exc:
        raise _fail(str(exc)) from None
    console.print(summary.render(), soft_wrap=True, markup=False, highlight=False)


@app.command()
def score(
    use_case: str = UseCaseArgument,
    params: Path = ParamsOption,
    predictions: Path | None = typer.Option(
        None, help="predictions JSONL (default: the pipeline's)"
    ),
    reference: Path | None = typer.Option(None, help="reference JSONL (default: the answer key)"),
    output: Path | None = typer.Option(None, help="metrics JSON to write"),
) -> None:
    """Score predictions against a reference (DVC metrics in reports/<use_case>/)."""
    from curation.io import InputError
    from curation.stages import score as stage

    try:
        metrics = stage.run(
            use_case,
            load_params(params),
            reference=reference,
            predictions=predictions,
            output=output,
        )
    except (ParamsError, InputError, KeyError, ValueError) as exc:
        raise _fail(str(exc)) from None
    console.print(stage.render(use_case, metrics), soft_wrap=True, markup=False, highlight=False)


@app.command()
def pseudonymise(
    params: Path = ParamsOption,
    input: Path | None = typer.Option(
        None, "--input", help="JSONL file (doc_id, text, optional patient_id per line)"
    ),
    output: Path | None = typer.Option(None, "--output", help="pseudonymised JSONL to write"),
    mapping: Path | None = typer.Option(
        None, "--mapping", help="secret original -> surrogate JSONL (keep it apart)"
    ),
    predictions: Path | None = typer.Option(
        None, "--predictions", help="detected spans (default: run the detector)"
    ),
) -> None:
    """Replace identifiers by surrogates, consistent per patient (pipeline or file mode)."""
    from curation.io import InputError
    from curation.stages import pseudonymise as stage
    from curation.surrogates import KeyConfigError

    errors = (ParamsError, InputError, KeyError, ValueError, FileNotFoundError, KeyConfigError)
    try:
        loaded = load_params(params)
        if input is None:
            summary = stage.run(loaded.pseudonymise, progress=True)
        else:
            if output is None or mapping is None:
                raise _fail("--input needs --output and --mapping")
            detect = None if predictions else _file_detector(loaded)
            summary = stage.pseudonymise_file(
                input,
                output,
                mapping,
                predictions,
                loaded.pseudonymise,
                detect=detect,
                progress=True,
            )
    except errors as exc:
        raise _fail(str(exc)) from None
    console.print(summary.render(), soft_wrap=True, markup=False, highlight=False)


def _file_detector(params: Params) -> Callable[[list[str]], list[list[Span]]]:
    """The pipeline's pseudonymisation detector, as the file mode wants it."""
    from curation import paths
    from curation.models.phi import build_detector
    from curation.usecases import get

    use_case = get("pseudonymisation")
    detector = build_detector(use_case, params.preannotate, paths.model_dir(use_case.id))

    def detect(texts: list[str]) -> list[list[Span]]:
        docs = [(str(i), text) for i, text in enumerate(texts)]
        return [record.spans for record in detector.predict(docs)]

    detect.origin = detector.origin  # type: ignore[attr-defined]
    return detect


studio_app = typer.Typer(help="The Label Studio server: up, down, status.", no_args_is_help=True)
app.add_typer(studio_app, name="studio")


def _studio(action: str, params: Path) -> None:
    from curation.studio import server

    try:
        settings = load_params(params).studio
        result = getattr(server, action)(settings)
    except (ParamsError, server.StudioError) as exc:
        raise _fail(str(exc)) from None
    console.print(result.render(), soft_wrap=True, markup=False, highlight=False)


@studio_app.command("up")
def studio_up(params: Path = ParamsOption) -> None:
    """Start the embedded Label Studio (idempotent) and wait until its API answers."""
    _studio("up", params)


@studio_app.command("down")
def studio_down(params: Path = ParamsOption) -> None:
    """Stop the embedded Label Studio."""
    _studio("down", params)


@studio_app.command("status")
def studio_status(params: Path = ParamsOption) -> None:
    """Say whether the configured Label Studio answers."""
    _studio("status", params)


@app.command()
def push(
    use_case: str = UseCaseArgument,
    params: Path = ParamsOption,
    documents: Path | None = typer.Option(
        None, "--documents", help="document table (Parquet); default: the use case's"
    ),
    predictions: Path | None = typer.Option(
        None, "--predictions", help="predictions JSONL; default: data/preannotations/<use_case>"
    ),
) -> None:
    """Send documents with their predictions to Label Studio (idempotent, resumable)."""
    from curation.stages import push as stage
    from curation.studio.server import StudioError

    try:
        summary = stage.run(
            use_case,
            load_params(params),
            documents=documents,
            predictions=predictions,
            progress=True,
        )
    except (ParamsError, StudioError, KeyError, ValueError) as exc:
        raise _fail(str(exc)) from None
    console.print(summary.render(), soft_wrap=True, markup=False, highlight=False)


@app.command()
def pull(use_case: str = UseCaseArgument, params: Path = ParamsOption) -> None:
    """Snapshot every Label Studio annotation of a use case, and how experts edited predictions."""
    from curation.io import InputError
    from curation.stages import pull as stage
    from curation.studio.server import StudioError

    try:
        summary = stage.run(use_case, load_params(params))
    except (ParamsError, StudioError, InputError, KeyError, ValueError) as exc:
        raise _fail(str(exc)) from None
    console.print(summary.render(), soft_wrap=True, markup=False, highlight=False)


@app.command("simulate-annotators")
def simulate_annotators(
    use_case: str = UseCaseArgument,
    params: Path = ParamsOption,
    review: bool = typer.Option(False, "--review", help="settle the review project's tasks"),
) -> None:
    """Let simulated annotators correct the pushed tasks from the synthetic answer key."""
    from curation.io import InputError
    from curation.studio import simulate as stage
    from curation.studio.server import StudioError

    try:
        summary = stage.run(use_case, load_params(params), progress=True, review=review)
    except (ParamsError, StudioError, InputError, KeyError, ValueError) as exc:
        raise _fail(str(exc)) from None
    console.print(summary.render(), soft_wrap=True, markup=False, highlight=False)


@app.command()
def review(use_case: str = UseCaseArgument, params: Path = ParamsOption) -> None:
    """Send adjudication conflicts to Label Studio as review tasks (competing versions shown)."""
    from curation.io import InputError
    from curation.stages import review as stage
    from curation.studio.server import StudioError

    try:
        summary = stage.run(use_case, load_params(params))
    except (ParamsError, StudioError, InputError, KeyError, ValueError) as exc:
        raise _fail(str(exc)) from None
    _say(summary.render())


def _say(text: str) -> None:
    console.print(text, soft_wrap=True, markup=False, highlight=False)


@app.command()
def validate(
    stage: str = typer.Argument(
        ..., help="documents | preannotations | annotations | gold | benchmark"
    ),
    use_case: str = UseCaseArgument,
    params: Path = ParamsOption,
    source: Path | None = typer.Option(
        None, "--input", help="file to validate (default: the pipeline's)"
    ),
    output: Path | None = typer.Option(
        None, help="results JSON (default: reports/quality/<use_case>/<stage>.json)"
    ),
) -> None:
    """Run the Great Expectations suites of a stage; exit 1 when a critical expectation fails."""
    from curation.io import InputError
    from curation.quality.validation import SuiteError
    from curation.stages import validate as stage_module

    try:
        report = stage_module.run(
            stage, use_case, load_params(params), source=source, output=output
        )
    except stage_module.ValidationFailed as exc:
        raise _fail(str(exc)) from None
    except (ParamsError, InputError, SuiteError, KeyError, ValueError) as exc:
        raise _fail(str(exc)) from None
    _say(stage_module.summary(stage, use_case, report))


@app.command()
def agreement(use_case: str = UseCaseArgument, params: Path = ParamsOption) -> None:
    """Inter-annotator agreement (span F1, kappas, alpha) with bootstrap intervals."""
    from curation.io import InputError
    from curation.stages import agreement as stage

    try:
        metrics = stage.run(use_case, load_params(params))
    except (ParamsError, InputError, KeyError, ValueError) as exc:
        raise _fail(str(exc)) from None
    _say(stage.render(metrics))


@app.command()
def adjudicate(use_case: str = UseCaseArgument, params: Path = ParamsOption) -> None:
    """Turn annotations into gold (review, single, consensus rules); list conflicts; flag noise."""
    from curation.io import InputError
    from curation.stages import adjudicate as stage

    try:
        summary = stage.run(use_case, load_params(params))
    except (ParamsError, InputError, KeyError, ValueError) as exc:
        raise _fail(str(exc)) from None
    _say(summary.render())


@app.command()
def release(
    use_case: str = UseCaseArgument,
    version: str = typer.Option(..., "--version", help="semantic version X.Y.Z of the benchmark"),
    tag: bool = typer.Option(False, "--tag", help="commit the release and tag <use_case>@vX.Y.Z"),
    params: Path = ParamsOption,
) -> None:
    """Release gold as a versioned benchmark in benchmarks/<use_case>/ (refused if gates fail)."""
    from curation.io import InputError
    from curation.quality.validation import SuiteError
    from curation.stages import release as stage

    try:
        summary = stage.run(use_case, version, load_params(params), tag=tag)
    except (stage.ReleaseRefused, ParamsError, InputError, SuiteError, KeyError, ValueError) as exc:
        raise _fail(str(exc)) from None
    _say(summary.render())


@app.command()
def evaluate(
    use_case: str = UseCaseArgument,
    benchmark: str = typer.Option(
        "workspace", "--benchmark", help="git revision, e.g. <use_case>@v1.0.0 (or workspace)"
    ),
    repo: str | None = typer.Option(None, "--repo", help="git URL or path (default: here)"),
    predictions: Path | None = typer.Option(None, "--predictions", help="predictions JSONL"),
    baseline: str | None = typer.Option(None, "--baseline", help="a released baseline"),
    split: str = typer.Option("test", "--split"),
    output: Path | None = typer.Option(None, "--output", help="metrics JSON to write"),
) -> None:
    """Score a predictions file or a released baseline on a benchmark fetched through DVC."""
    from curation.benchmarks import BenchmarkError
    from curation.io import InputError
    from curation.stages import evaluate as stage

    try:
        metrics = stage.run(
            use_case,
            rev=None if benchmark == "workspace" else benchmark,
            repo=repo,
            predictions=predictions,
            baseline_name=baseline,
            split=split,
            output=output,
        )
    except (BenchmarkError, InputError, KeyError, ValueError) as exc:
        raise _fail(str(exc)) from None
    _say(stage.render(metrics))


@app.command()
def structure(
    name: str = typer.Argument(..., help="structure in params.yaml (structure.<name>): oncology"),
    params: Path = ParamsOption,
    source: str | None = typer.Option(
        None, "--source", help="gold | predicted records (default: structure.<name>.source)"
    ),
) -> None:
    """One row per patient from document-level results, and trial pre-screening on it."""
    from curation.io import InputError
    from curation.stages import structure as stage

    try:
        summary = stage.run(name, load_params(params), source=source)
    except (ParamsError, InputError, KeyError, ValueError) as exc:
        raise _fail(str(exc)) from None
    _say(summary.render())


@app.command("usecases")
def list_usecases() -> None:
    """List the registered use cases with their version and label set."""
    from curation.usecases import REGISTRY

    for uc in REGISTRY.values():
        typer.echo(f"{uc.id} {uc.version} ({uc.kind}): {uc.description}")
        if uc.labels:
            typer.echo(f"    labels: {', '.join(uc.labels)}")
        if uc.vocabulary:
            typer.echo(f"    labels: any of the {len(uc.label_set()):,} of {uc.vocabulary}")
        if uc.roles:
            typer.echo(f"    roles: {', '.join(uc.roles)} (the first is principal)")
        if uc.doc_types:
            chosen = f" (those {uc.selector} selects)" if uc.selector else ""
            typer.echo(f"    documents: {', '.join(uc.doc_types)}{chosen}")
        for kind, head, tail in uc.relation_ends:
            typer.echo(f"    relation: {kind} ({head} -> {tail})")
        for attribute in uc.span_attributes:
            values = ", ".join(attribute.values) if attribute.values else "flag"
            on = f" on {', '.join(attribute.labels)}" if attribute.labels else ""
            typer.echo(f"    attribute: {attribute.name} ({values}){on}")


if __name__ == "__main__":  # pragma: no cover
    app()
