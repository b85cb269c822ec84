"""Typed settings read from ``params.yaml``: one section per stage, named by its verb.

Config flows one way: ``params.yaml`` -> these models -> a stage's ``run(...)``. A wrong key
or value fails at load time with the section and the key named.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, SecretStr, ValidationError, model_validator

from curation.structure.criteria import Criterion

DEFAULT_PARAMS = Path("params.yaml")


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid")


class NoiseSettings(_Section):
    """Noise the generator adds to free text (never inside a gold span)."""

    typo_rate: float = Field(0.0, ge=0, le=1, description="chance per word of a typo")
    case_rate: float = Field(0.0, ge=0, le=1, description="chance per line of upper/lower case")
    ocr_rate: float = Field(0.0, ge=0, le=1, description="chance per word of an OCR artefact")
    missing_section_rate: float = Field(
        0.0, ge=0, le=1, description="chance that an optional section is left out"
    )
    lowercase_name_rate: float = Field(
        0.05, ge=0, le=1, description="chance that a name mention is written in lower case"
    )


class GenerateSettings(_Section):
    """``generate``: the synthetic French hospital corpus and its answer keys."""

    seed: int = 13
    n_documents: int = Field(400, ge=1)
    sites: list[str] = Field(default_factory=lambda: ["chu-nord", "chu-sud", "clcc-ouest"])
    oncology_share: float = Field(0.4, ge=0, le=1)
    output: str = "data/synthetic/documents.parquet"
    answer_keys: str = "data/raw/answer_key"
    row_group_size: int = Field(5000, ge=1)
    doc_types: list[str] | None = Field(
        None, description="write only these document types (a template subset); all if unset"
    )
    noise: NoiseSettings = Field(default_factory=NoiseSettings)


SourceKind = Literal["parquet", "jsonl", "csv", "files", "omop"]


class SourceSettings(_Section):
    """Where ingest reads documents from.

    ``columns`` maps Document fields to the source's column names (tabular and OMOP sources);
    fields left out take the default mapping of the kind.
    """

    kind: SourceKind = "parquet"
    path: str | None = None
    url: str | None = Field(None, description="SQLAlchemy URL of an OMOP CDM database")
    table: str = "note"
    glob: str = "**/*.txt"
    name: str | None = Field(None, description="value of Document.source; defaults to the kind")
    columns: dict[str, str] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _location(self) -> SourceSettings:
        if self.kind == "omop" and not (self.url or self.path):
            raise ValueError("an omop source needs `url` (SQLAlchemy URL) or `path` (SQLite file)")
        if self.kind != "omop" and not self.path:
            raise ValueError(f"a {self.kind} source needs `path`")
        return self


class IngestSettings(_Section):
    """``ingest``: source -> ``data/raw/documents.parquet`` + ``quarantine.jsonl``."""

    source: SourceSettings = Field(
        default_factory=lambda: SourceSettings(path="data/synthetic/documents.parquet")
    )
    output: str = "data/raw/documents.parquet"
    quarantine: str = "data/raw/quarantine.jsonl"
    max_chars: int = Field(200_000, ge=1, description="longer texts are quarantined")
    encodings: list[str] = Field(default_factory=lambda: ["utf-8", "cp1252"])
    binary_ratio: float = Field(
        0.05, ge=0, le=1, description="share of control characters above which text is binary"
    )
    default_site: str | None = None


class TokenClassifierSettings(_Section):
    """A transformer token classifier: from a local checkpoint, or a small BERT from scratch."""

    base_model: str | None = Field(
        None, description="local path of a checkpoint to fine-tune; unset = train from scratch"
    )
    vocab_size: int = Field(8000, ge=100, description="WordPiece vocabulary (from scratch)")
    hidden_size: int = Field(256, ge=16)
    num_layers: int = Field(4, ge=1)
    num_heads: int = Field(4, ge=1)
    intermediate_size: int = Field(1024, ge=16)
    max_length: int = Field(256, ge=16, description="tokens per window")
    stride: int = Field(64, ge=0, description="tokens shared by consecutive windows")
    epochs: int = Field(3, ge=1)
    batch_size: int = Field(16, ge=1)
    learning_rate: float = Field(5e-4, gt=0)
    warmup_ratio: float = Field(0.1, ge=0, le=1)
    weight_decay: float = Field(0.01, ge=0)
    seed: int = 0
    threads: int | None = Field(None, ge=1, description="CPU threads for torch; unset = all")

    @model_validator(mode="after")
    def _stride_below_window(self) -> TokenClassifierSettings:
        if self.stride >= self.max_length - 2:
            raise ValueError("stride must be smaller than max_length - 2")
        return self


class SyntheticTrainingCorpus(_Section):
    """Training data drawn from the generator with its own seed, template subset and noise,
    so that the pipeline's corpus (another seed, every template) is a true held-out set."""

    seed: int = 1001
    n_documents: int = Field(1500, ge=1)
    n_sites: int = Field(
        100,
        ge=1,
        description="distinct hospitals (and staff) so that the model learns contexts, "
        "not a few letterheads by heart",
    )
    doc_types: list[str] | None = None
    noise: NoiseSettings = Field(default_factory=NoiseSettings)


class CoderSettings(_Section):
    """The CIM-10 coder (``icd10_coding``): TF-IDF + linear classifiers, merged with the
    ``eds.cim10`` matcher. Training saves the merge settings with the model, so that
    pre-annotation reads them from the model folder."""

    word_ngrams: tuple[int, int] = Field((1, 2), description="word n-gram range of the TF-IDF")
    char_ngrams: tuple[int, int] | None = Field(
        (3, 5), description="char_wb n-gram range; unset = words only"
    )
    min_df: int = Field(2, ge=1, description="least documents an n-gram appears in")
    max_features: int | None = Field(200_000, ge=1, description="per analyzer; unset = all")
    C: float = Field(10.0, gt=0, description="inverse regularisation of the linear models")
    min_code_count: int = Field(2, ge=1, description="least training documents of a code")
    top_k: int = Field(10, ge=1, description="most suggestions per document")
    min_score: float = Field(
        0.2, ge=0, le=1, description="least score of a suggestion (tuned on held-out synthetic)"
    )
    matcher_score: float = Field(
        0.6, ge=0, le=1, description="score of an affirmed eds.cim10 mention (noisy-OR)"
    )
    lexicon_score: float = Field(
        0.15,
        ge=0,
        le=1,
        description="score of an affirmed mention of a learnt term (noisy-OR); under min_score:"
        " a term alone suggests nothing (tuned on held-out synthetic)",
    )
    lexicon_min_count: int = Field(
        2, ge=1, description="least training documents of an evidence form to learn it as a term"
    )
    lexicon_min_share: float = Field(
        0.8, gt=0.5, le=1, description="share of its documents a form's majority code must hold"
    )
    validation_share: float = Field(
        0.1, ge=0, lt=1, description="training documents held out to report scores"
    )
    seed: int = 0


class ResponseSettings(_Section):
    """The treatment response classifier (``oncology_response``): RECIST rules first, a TF-IDF +
    logistic regression over the five responses where the rules find no single affirmed
    statement. Training saves these settings with the model, so that pre-annotation reads
    them from the model folder."""

    word_ngrams: tuple[int, int] = Field((1, 2), description="word n-gram range of the TF-IDF")
    char_ngrams: tuple[int, int] | None = Field(
        (3, 5), description="char_wb n-gram range; unset = words only"
    )
    min_df: int = Field(2, ge=1, description="least documents an n-gram appears in")
    max_features: int | None = Field(100_000, ge=1, description="per analyzer; unset = all")
    C: float = Field(10.0, gt=0, description="inverse regularisation of the logistic regression")
    rule_score: float = Field(
        0.9,
        ge=0,
        le=1,
        description="weight of an unambiguous affirmed rule statement, mixed with the "
        "classifier's probabilities (its score alone in rules-only mode)",
    )
    ambiguous_score: float = Field(
        0.4,
        ge=0,
        le=1,
        description="score of a rules-only answer when the rules found conflicting statements",
    )
    validation_share: float = Field(
        0.2, ge=0, lt=1, description="training documents held out to report scores"
    )
    seed: int = 0


class TrainUseCaseSettings(_Section):
    """How one use case's model is trained: on expert gold when given, else synthetic."""

    gold: str | None = Field(None, description="gold JSONL (records with spans)")
    documents: str | None = Field(None, description="documents Parquet the gold refers to")
    synthetic: SyntheticTrainingCorpus = Field(default_factory=SyntheticTrainingCorpus)
    model: TokenClassifierSettings = Field(default_factory=TokenClassifierSettings)
    coder: CoderSettings = Field(default_factory=CoderSettings)
    response: ResponseSettings = Field(default_factory=ResponseSettings)

    @model_validator(mode="after")
    def _gold_with_documents(self) -> TrainUseCaseSettings:
        if (self.gold is None) != (self.documents is None):
            raise ValueError("`gold` and `documents` go together")
        return self


class EngineSettings(_Section):
    """The batched inference engine shared by every transformer pre-annotator."""

    device: Literal["auto", "cpu", "cuda"] = "auto"
    dtype: Literal["auto", "float32", "bfloat16", "float16"] = Field(
        "auto", description="auto: bf16 (or fp16) on CUDA, float32 on CPU"
    )
    batch_size: int = Field(32, ge=1, description="windows per forward pass")
    docs_per_chunk: int = Field(256, ge=1, description="documents tokenised together")
    threads: int | None = Field(None, ge=1, description="CPU threads for torch; unset = all")


class GenerationSettings(_Section):
    """Draft generation for the generative use cases (``clinical_summary``, ``mcq_generation``):
    the offline ``extractive`` baseline, a ``local`` transformers model, or an OpenAI-compatible
    chat ``endpoint`` (how hospitals serve on-premise LLMs). See
    :mod:`curation.models.generation`."""

    backend: Literal["extractive", "local", "endpoint"] = "extractive"
    model_path: str | None = Field(
        None, description="local folder of a causal or seq2seq language model (backend local)"
    )
    endpoint_url: str | None = Field(
        None, description="base URL of the chat API, e.g. http://llm.chu.local/v1 (endpoint)"
    )
    api_key_env: str | None = Field(
        "GENERATION_API_KEY",
        pattern=r"^[A-Za-z_][A-Za-z0-9_]*$",
        description="NAME of the environment variable holding the endpoint's key (never the "
        "key itself); unset = no key sent",
    )
    model_name: str | None = Field(None, description="model asked of the endpoint")
    prompt_version: str = Field("v1", pattern=r"^v[0-9]+$", description="prompts/<use_case>.<v>.md")
    prompts_dir: str = "prompts"
    temperature: float = Field(0.0, ge=0, le=2, description="0 = greedy, deterministic")
    max_new_tokens: int = Field(768, ge=1)
    seed: int | None = Field(0, description="sampling seed (when temperature > 0)")
    timeout: float = Field(120.0, gt=0, description="seconds per endpoint request")
    retries: int = Field(3, ge=0, description="endpoint retries on 429, 5xx and network errors")
    backoff: float = Field(1.0, ge=0, description="first wait before a retry (s), then doubled")
    batch_size: int = Field(4, ge=1, description="prompts per forward pass (backend local)")
    device: Literal["auto", "cpu", "cuda"] = "auto"

    @model_validator(mode="after")
    def _backend_needs(self) -> GenerationSettings:
        if self.backend == "local" and not self.model_path:
            raise ValueError("backend local needs `model_path` (a local model folder)")
        if self.backend == "endpoint" and not (self.endpoint_url and self.model_name):
            raise ValueError("backend endpoint needs `endpoint_url` and `model_name`")
        return self


class PreannotateSettings(_Section):
    """``preannotate``: the engine, and per use case whether its trained model is used."""

    engine: EngineSettings = Field(default_factory=EngineSettings)
    use_model: bool = Field(True, description="False: rules only (where a use case has rules)")


class PseudonymiseSettings(_Section):
    """``pseudonymise``: documents + predictions -> pseudonymised documents, spans, mapping."""

    documents: str = "data/raw/documents.parquet"
    predictions: str = "data/preannotations/pseudonymisation.jsonl"
    output: str = "data/pseudonymised/documents.parquet"
    spans: str = "data/pseudonymised/spans.jsonl"
    mapping: str = Field(
        "data/secret/pseudonymisation_mapping.jsonl",
        description="secret: original -> surrogate; kept apart, never released",
    )
    reoffset: list[str] = Field(
        default_factory=list,
        description="record files (answer keys, annotations) to carry over to the new text",
    )
    reoffset_dir: str = "data/pseudonymised/answer_key"
    key: SecretStr | None = Field(None, description="last resort; prefer key_env or key_file")
    key_env: str = "CURATION_PSEUDONYMISE_KEY"
    key_file: str | None = Field(None, description="an untracked file holding the key")
    date_shift_min_days: int = Field(30, ge=1)
    date_shift_max_days: int = Field(365, ge=1)
    keep_gender: bool = True
    keep_zip_department: bool = False
    shift_created_at: bool = True
    rewrite_generated_text: bool = Field(
        True, description="replace originals in sections and items of re-offset records"
    )
    on_missing_prediction: Literal["error", "pass_through"] = "error"
    batch_size: int = Field(1000, ge=1)

    @model_validator(mode="after")
    def _consistent(self) -> PseudonymiseSettings:
        if self.date_shift_min_days > self.date_shift_max_days:
            raise ValueError("date_shift_min_days must not exceed date_shift_max_days")
        mapping = Path(self.mapping).resolve()
        public = [Path(self.output), Path(self.spans), Path(self.reoffset_dir) / "x"]
        for path in public:
            folder = path.resolve().parent
            if mapping.parent == folder or folder in mapping.parents:
                raise ValueError(
                    f"mapping {self.mapping} must be kept apart from the outputs: "
                    f"put it outside {folder}"
                )
        names = [Path(p).name for p in self.reoffset]
        duplicates = sorted({n for n in names if names.count(n) > 1})
        if duplicates:
            raise ValueError(f"reoffset files must have distinct names: {duplicates}")
        return self


class StudioSettings(_Section):
    """``studio``: the embedded Label Studio server, or a hospital's own (``url``)."""

    url: str | None = Field(None, description="a hospital's server; unset = the embedded one")
    token_env: str = Field(
        "LABEL_STUDIO_API_KEY", description="variable holding the token of a hospital's server"
    )
    host: str = "127.0.0.1"
    port: int = Field(8080, ge=1, le=65535)
    data_dir: str = "studio/data"
    env_file: str = ".secrets/studio.env"
    username: str = "admin@curation.local"
    start_timeout: float = Field(180.0, gt=0)
    batch_size: int = Field(200, ge=1, description="tasks per import request")
    max_retries: int = Field(4, ge=0, description="retries on connection errors and 5xx")
    timeout: float = Field(60.0, gt=0, description="seconds per request")

    @property
    def local_url(self) -> str:
        return f"http://{self.host}:{self.port}"

    @property
    def server(self) -> str:
        """The server in use: the configured one (no trailing slash), else the embedded one."""
        return self.url.rstrip("/") if self.url else self.local_url


class PushSettings(_Section):
    """``push``: documents + predictions -> Label Studio tasks (see ``curation.stages.push``).

    Without ``annotators`` one shared project is filled and the server's label stream spreads
    the work (``overlap_share`` of the tasks to ``overlap_k`` annotators, chosen by the server).
    With ``annotators`` each gets a project of their own holding exactly their tasks.
    """

    annotators: list[str] = Field(
        default_factory=list, description="e-mails of named annotators; empty = shared project"
    )
    overlap_share: float = Field(0.2, ge=0, le=1, description="share of tasks annotated blind")
    overlap_k: int = Field(2, ge=1, description="annotators per overlap task")
    seed: int = Field(0, description="seed of the assignment to named annotators")
    store: str = Field(
        "studio/projects.json", description="project ids by server and use case (untracked)"
    )
    title_prefix: str = Field("", description="prefix of project titles (a campaign name)")
    on_missing_prediction: Literal["error", "push_without"] = "error"

    @model_validator(mode="after")
    def _enough_annotators(self) -> PushSettings:
        emails = [a.strip().lower() for a in self.annotators]
        duplicates = sorted({e for e in emails if emails.count(e) > 1})
        if duplicates:
            raise ValueError(f"annotators must be distinct: {duplicates}")
        if self.annotators and self.overlap_share > 0 and self.overlap_k > len(self.annotators):
            raise ValueError(
                f"overlap_k {self.overlap_k} needs at least as many annotators "
                f"({len(self.annotators)} given)"
            )
        return self


class PullSettings(_Section):
    """``pull``: every annotation of a use case -> ``data/annotations/<use_case>.jsonl``."""

    include_cancelled: bool = Field(
        True, description="keep skipped (cancelled) annotations in the snapshot, flagged"
    )


class AnnotatorProfile(_Section):
    """One simulated annotator: who it is and the errors it makes on the answer key."""

    name: str = Field(..., min_length=1)
    email: str = Field(..., pattern=r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
    miss_rate: float = Field(0.0, ge=0, le=1, description="chance that a gold span is left out")
    boundary_shift_rate: float = Field(
        0.0, ge=0, le=1, description="chance that a kept span's start or end moves"
    )
    max_shift: int = Field(3, ge=1, description="characters a boundary moves at most")
    label_swap_rate: float = Field(
        0.0, ge=0, le=1, description="chance that a kept span gets another label"
    )
    spurious_rate: float = Field(
        0.0, ge=0, le=1, description="chance, per gold span, of adding a span not in the gold"
    )
    missed_code_rate: float = Field(
        0.0, ge=0, le=1, description="coded use cases: chance that a DAS code is left out"
    )
    sibling_rate: float = Field(
        0.0, ge=0, le=1, description="coded use cases: chance that a code becomes a sibling"
    )
    wrong_principal_rate: float = Field(
        0.0, ge=0, le=1, description="coded use cases: chance that a DAS is chosen as DP instead"
    )
    flag_error_rate: float = Field(
        0.0, ge=0, le=1, description="chance, per flag of a span (negated...), that it is flipped"
    )
    status_error_rate: float = Field(
        0.0,
        ge=0,
        le=1,
        description="chance that a span's declared value (a result's status) becomes another",
    )
    relation_miss_rate: float = Field(
        0.0, ge=0, le=1, description="chance that a gold relation between spans is left out"
    )
    speed: float = Field(1.0, gt=0, description="work speed; lead time is divided by it")


def _default_annotators() -> list[AnnotatorProfile]:
    return [
        AnnotatorProfile(
            name="expert-a",
            email="sim.expert-a@curation.local",
            miss_rate=0.02,
            boundary_shift_rate=0.03,
            label_swap_rate=0.01,
            spurious_rate=0.01,
            missed_code_rate=0.03,
            sibling_rate=0.02,
            wrong_principal_rate=0.02,
            flag_error_rate=0.02,
            status_error_rate=0.02,
            relation_miss_rate=0.02,
        ),
        AnnotatorProfile(
            name="expert-b",
            email="sim.expert-b@curation.local",
            miss_rate=0.05,
            boundary_shift_rate=0.08,
            label_swap_rate=0.03,
            spurious_rate=0.02,
            missed_code_rate=0.1,
            sibling_rate=0.06,
            wrong_principal_rate=0.05,
            flag_error_rate=0.05,
            status_error_rate=0.05,
            relation_miss_rate=0.05,
            speed=1.3,
        ),
        AnnotatorProfile(
            name="interne-c",
            email="sim.interne-c@curation.local",
            miss_rate=0.12,
            boundary_shift_rate=0.15,
            label_swap_rate=0.06,
            spurious_rate=0.05,
            missed_code_rate=0.2,
            sibling_rate=0.15,
            wrong_principal_rate=0.12,
            flag_error_rate=0.1,
            status_error_rate=0.1,
            relation_miss_rate=0.1,
            speed=0.7,
        ),
    ]


def _default_reviewer() -> AnnotatorProfile:
    return AnnotatorProfile(
        name="relecteur",
        email="sim.relecteur@curation.local",
        miss_rate=0.01,
        boundary_shift_rate=0.0,  # a reviewer settles boundaries: shifts would make new clashes
        spurious_rate=0.005,
        missed_code_rate=0.01,
        sibling_rate=0.01,
        wrong_principal_rate=0.01,
        speed=0.8,
    )


class SimulateSettings(_Section):
    """``simulate``: simulated annotators who correct tasks from the synthetic answer key."""

    seed: int = 7
    annotators: list[AnnotatorProfile] = Field(default_factory=_default_annotators, min_length=1)
    reviewer: AnnotatorProfile = Field(
        default_factory=_default_reviewer, description="who settles conflicts (`--review`)"
    )
    seconds_base: float = Field(20.0, ge=0, description="lead time of an empty, unchanged task")
    seconds_per_kchar: float = Field(25.0, ge=0, description="reading time per 1,000 characters")
    seconds_per_edit: float = Field(8.0, ge=0, description="time per span changed")
    answer_key: str | None = Field(
        None, description="gold JSONL to perturb; default: the use case's answer key"
    )

    @model_validator(mode="after")
    def _distinct(self) -> SimulateSettings:
        for key in ("name", "email"):
            values = [getattr(a, key).lower() for a in self.annotators]
            duplicates = sorted({v for v in values if values.count(v) > 1})
            if duplicates:
                raise ValueError(f"simulated annotators need distinct {key}s: {duplicates}")
        return self


Bounds = tuple[float, float]


class UseCaseQuality(_Section):
    """Quality thresholds of one use case (``validate.use_cases.<id>``)."""

    min_agreement: float = Field(
        0.7, ge=0, le=1, description="least mean agreement of multiply-annotated gold documents"
    )
    label_bounds: dict[str, Bounds] = Field(
        default_factory=dict, description="label -> [min, max] share of gold labels"
    )


def _default_sites() -> list[str]:
    return list(GenerateSettings().sites)


class ValidateSettings(_Section):
    """``validate``: Great Expectations suites run on each stage's output."""

    sites: list[str] = Field(default_factory=_default_sites, min_length=1)
    examples: int = Field(5, ge=1, le=100, description="failing rows shown per expectation")
    data_docs: bool = True
    split_bounds: dict[str, Bounds] = Field(
        default_factory=lambda: {"train": (0.5, 0.85), "dev": (0.05, 0.25), "test": (0.1, 0.35)}
    )
    use_cases: dict[str, UseCaseQuality] = Field(default_factory=dict)

    def for_use_case(self, use_case: str) -> UseCaseQuality:
        return self.use_cases.get(use_case, UseCaseQuality())


class AgreementSettings(_Section):
    """``agreement``: inter-annotator agreement and its bootstrap intervals."""

    n_resamples: int = Field(1000, ge=1)
    confidence: float = Field(0.95, gt=0, lt=1)
    seed: int = 0


class StructureSettings(_Section):
    """``structure.<name>``: a patient table built from document-level results, trial
    pre-screening on it (:mod:`curation.structure.criteria` documents the criteria grammar)."""

    source: Literal["gold", "predicted"] = Field(
        "gold", description="gold: data/gold/<use_case>; predicted: data/preannotations/"
    )
    extraction: str = Field("oncology_extraction", description="use case of the entities")
    response: str = Field("oncology_response", description="use case of treatment responses")
    documents: str = Field(
        "data/pseudonymised/documents.parquet", description="doc_id -> patient_id, created_at"
    )
    output: str | None = Field(
        None, description="tables and screening; default data/structured/<name>"
    )
    reports: str | None = Field(
        None, description="evaluation.json (metrics); default reports/structure/<name>"
    )
    truth: str | None = Field(
        None, description="patient-level truth; default: <generate.answer_keys>/patients/<name>"
    )
    criteria: dict[str, Criterion] = Field(default_factory=dict)


class LabelNoiseSettings(_Section):
    """``adjudicate.noise``: cross-validated model that flags doubtful gold for a second look."""

    enabled: bool = True
    folds: int = Field(5, ge=2)
    threshold: float = Field(0.9, gt=0.5, lt=1)
    seed: int = 0


class AdjudicateSettings(_Section):
    """``adjudicate``: how annotations become gold (see :mod:`curation.quality.adjudication`)."""

    quorum: float = Field(0.5, ge=0.5, le=1, description="share of annotators to accept")
    reviewers: list[str] = Field(default_factory=list, description="e-mails whose work wins")
    noise: LabelNoiseSettings = Field(default_factory=LabelNoiseSettings)


class ReleaseSettings(_Section):
    """``release``: how gold becomes a versioned benchmark (``curation release``)."""

    ratios: dict[str, float] = Field(
        default_factory=lambda: {"train": 0.7, "dev": 0.1, "test": 0.2},
        description="share of documents per split (grouped by patient)",
    )
    seed: int = 0
    license: str = Field("cc-by-4.0", description="Hugging Face license id of the card")
    baselines: dict[str, str] = Field(
        default_factory=lambda: {"preannotator": "data/preannotations/{use_case}.jsonl"},
        description="baseline name -> predictions file ({use_case} is replaced)",
    )
    limitations: list[str] = Field(default_factory=list)
    remote: bool = Field(True, description="push the released data to the DVC remote")


class Params(BaseModel):
    """All of ``params.yaml``. Sections of later stages are kept as raw mappings."""

    model_config = ConfigDict(extra="allow", populate_by_name=True)

    generate: GenerateSettings = Field(default_factory=GenerateSettings)
    ingest: IngestSettings = Field(default_factory=IngestSettings)
    train: dict[str, TrainUseCaseSettings] = Field(default_factory=dict)
    preannotate: PreannotateSettings = Field(default_factory=PreannotateSettings)
    pseudonymise: PseudonymiseSettings = Field(default_factory=PseudonymiseSettings)
    studio: StudioSettings = Field(default_factory=StudioSettings)
    push: PushSettings = Field(default_factory=PushSettings)
    pull: PullSettings = Field(default_factory=PullSettings)
    simulate: SimulateSettings = Field(default_factory=SimulateSettings)
    validate_: ValidateSettings = Field(default_factory=ValidateSettings, alias="validate")
    agreement: AgreementSettings = Field(default_factory=AgreementSettings)
    adjudicate: AdjudicateSettings = Field(default_factory=AdjudicateSettings)
    release: ReleaseSettings = Field(default_factory=ReleaseSettings)
    structure: dict[str, StructureSettings] = Field(default_factory=dict)


class ParamsError(ValueError):
    """``params.yaml`` is missing, unreadable or has a wrong key or value."""


def load_params(path: str | Path = DEFAULT_PARAMS) -> Params:
    """Read and validate ``params.yaml``; a missing file gives the defaults."""
    path = Path(path)
    raw: dict[str, Any] = {}
    if path.exists():
        try:
            raw = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        except yaml.YAMLError as exc:
            raise ParamsError(f"{path}: not valid YAML ({exc})") from None
    try:
        return Params.model_validate(raw)
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in err['loc'])}: {err['msg']}" for err in exc.errors()
        )
        raise ParamsError(f"{path}: {problems}. Fix these keys in {path}.") from None
