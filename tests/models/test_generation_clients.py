"""Generation back-ends: the endpoint client against a local HTTP server started here, the
local back-end with tiny random models saved to a temp folder, and the versioned prompts."""

from __future__ import annotations

import hashlib
import json
import logging
import shutil
import socket
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
import torch
from tokenizers import Tokenizer, models, pre_tokenizers, trainers
from transformers import (
    GPT2Config,
    GPT2LMHeadModel,
    PreTrainedTokenizerFast,
    T5Config,
    T5ForConditionalGeneration,
)

from curation.models.generation import (
    GenerationError,
    OutputError,
    PromptError,
    load_prompt,
    make_generator,
    parse_mcq,
    parse_summary,
)
from curation.models.generation.endpoint import EndpointGenerator
from curation.models.generation.local import LocalGenerator
from curation.models.generation.prompts import available_versions, extract_json
from curation.settings import GenerationSettings
from curation.usecases.clinical_summary import SECTIONS

PROMPTS = Path(__file__).resolve().parents[2] / "prompts"
KEY = "sk-test-9f2c7a1e55"  # a made-up key: it must reach the server and nothing else
DOCUMENT = "Patiente de 67 ans hospitalisée pour décompensation cardiaque, sortie sous furosémide."
SUMMARY = {k: "" for k in SECTIONS} | {"motif": "Décompensation cardiaque.", "suivi": "Cardio."}


# -- a fake OpenAI-compatible server -------------------------------------------------------
@dataclass
class FakeServer:
    """Answers ``POST /v1/chat/completions`` from a script of ``(status, body, headers)``,
    then with a fixed completion; keeps what it received."""

    url: str
    script: list[tuple[int, Any, dict[str, str]]] = field(default_factory=list)
    completion: str = "ok"
    received: list[tuple[dict[str, str], dict[str, Any]]] = field(default_factory=list)


def _handler(state: FakeServer) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length", "0"))
            body = json.loads(self.rfile.read(length))
            state.received.append((dict(self.headers.items()), body))
            if self.path != "/v1/chat/completions":
                status, answer, headers = 404, {"error": {"type": "not_found"}}, {}
            elif state.script:
                status, answer, headers = state.script.pop(0)
            else:
                status, headers = 200, {}
                answer = {
                    "id": f"cmpl-{len(state.received)}",
                    "object": "chat.completion",
                    "model": body["model"],
                    "choices": [
                        {
                            "index": 0,
                            "message": {"role": "assistant", "content": state.completion},
                            "finish_reason": "stop",
                        }
                    ],
                    "usage": {"prompt_tokens": 42, "completion_tokens": 7, "total_tokens": 49},
                }
            data = json.dumps(answer).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            for name, value in headers.items():
                self.send_header(name, value)
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, format: str, *args: Any) -> None:  # keep test output quiet
            return

    return Handler


@pytest.fixture
def server() -> Iterator[FakeServer]:
    state = FakeServer(url="")
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), _handler(state))
    state.url = f"http://127.0.0.1:{httpd.server_address[1]}/v1"
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield state
    httpd.shutdown()
    httpd.server_close()
    thread.join()


@pytest.fixture
def key(monkeypatch: pytest.MonkeyPatch) -> str:
    monkeypatch.setenv("CURATION_TEST_LLM_KEY", KEY)
    return "CURATION_TEST_LLM_KEY"


def endpoint_settings(url: str, key_env: str | None, **overrides: Any) -> GenerationSettings:
    values: dict[str, Any] = {
        "backend": "endpoint",
        "endpoint_url": url,
        "model_name": "llm-hopital-7b",
        "api_key_env": key_env,
        "retries": 2,
        "backoff": 0.5,
        "timeout": 5,
    }
    return GenerationSettings(**(values | overrides))


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


# -- endpoint ----------------------------------------------------------------------------------
def test_endpoint_completions_in_order_with_provenance(server: FakeServer, key: str) -> None:
    prompt = load_prompt("clinical_summary", "v1", PROMPTS)
    server.completion = "```json\n" + json.dumps(SUMMARY, ensure_ascii=False) + "\n```"
    filled = [prompt.fill(document=DOCUMENT), prompt.fill(document="Autre séjour, sans suite.")]
    generator = make_generator(endpoint_settings(server.url, key, seed=11), prompt.ref)
    assert isinstance(generator, EndpointGenerator)
    with generator:
        generations = generator.generate(filled)

    assert len(generations) == 2 and len(server.received) == 2
    for (_, body), text in zip(server.received, filled, strict=True):
        assert body["model"] == "llm-hopital-7b"
        assert body["messages"] == [{"role": "user", "content": text}]
        assert (body["temperature"], body["max_tokens"], body["seed"]) == (0.0, 768, 11)
    sections = parse_summary(generations[0].text, generations[0].provenance.prompt or "", "d1")
    assert sections["motif"] == "Décompensation cardiaque." and sections["examens"] == ""
    record = generations[0].provenance.to_dict()
    assert record["backend"] == "endpoint" and record["model"] == "llm-hopital-7b"
    assert record["endpoint"] == server.url
    assert record["prompt"] == {
        "name": "clinical_summary",
        "version": "v1",
        "sha256": hashlib.sha256((PROMPTS / "clinical_summary.v1.md").read_bytes()).hexdigest(),
    }
    assert record["params"] == {"temperature": 0.0, "max_tokens": 768, "seed": 11}
    assert (record["prompt_tokens"], record["completion_tokens"]) == (42, 7)
    assert record["finish_reason"] == "stop" and record["seconds"] >= 0
    assert generations[0].provenance.origin == "endpoint:llm-hopital-7b/clinical_summary.v1"
    json.dumps(generations[0].to_dict())  # JSON-ready


def test_endpoint_retries_429_then_succeeds(server: FakeServer, key: str) -> None:
    server.script = [
        (429, {"error": {"type": "rate_limit"}}, {"Retry-After": "2"}),
        (429, {"error": {"type": "rate_limit"}}, {}),
    ]
    waits: list[float] = []
    with EndpointGenerator(endpoint_settings(server.url, key), sleep=waits.append) as generator:
        [generation] = generator.generate([DOCUMENT])
    assert generation.text == "ok"
    assert len(server.received) == 3
    assert waits == [2.0, 1.0]  # Retry-After first, then backoff 0.5 * 2**1


def test_endpoint_500_exhausts_retries_with_clear_error(
    server: FakeServer, key: str, caplog: pytest.LogCaptureFixture
) -> None:
    server.script = [(500, {"error": {"message": DOCUMENT}}, {})] * 3
    waits: list[float] = []
    generator = EndpointGenerator(endpoint_settings(server.url, key), sleep=waits.append)
    with pytest.raises(GenerationError, match=r"item 0: HTTP 500 after 3 attempts") as caught:
        generator.generate([DOCUMENT])
    generator.close()
    assert len(server.received) == 3 and waits == [0.5, 1.0]
    assert server.url in str(caught.value)
    for secret in (KEY, DOCUMENT, "décompensation"):
        assert secret not in str(caught.value) and secret not in caplog.text


def test_authorization_arrives_and_is_never_logged(
    server: FakeServer, key: str, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)  # httpx and httpcore debug logs included
    server.script = [(503, {}, {})]
    with EndpointGenerator(endpoint_settings(server.url, key), sleep=lambda _: None) as gen:
        gen.generate([DOCUMENT])
    assert [h.get("Authorization") for h, _ in server.received] == [f"Bearer {KEY}"] * 2
    assert "retry 1/2" in caplog.text  # the retry was logged...
    assert KEY not in caplog.text and DOCUMENT not in caplog.text  # ...without key or text


def test_endpoint_without_key_sends_no_authorization(server: FakeServer) -> None:
    with EndpointGenerator(endpoint_settings(server.url, None)) as generator:
        generator.generate([DOCUMENT])
    assert "Authorization" not in server.received[0][0]


def test_endpoint_missing_key_variable_is_named(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("CURATION_ABSENT_KEY", raising=False)
    with pytest.raises(GenerationError, match=r"\$CURATION_ABSENT_KEY, which is not set"):
        EndpointGenerator(endpoint_settings("http://127.0.0.1:9/v1", "CURATION_ABSENT_KEY"))


def test_endpoint_client_errors_are_not_retried(server: FakeServer, key: str) -> None:
    server.script = [(401, {"error": {"type": "invalid_api_key"}}, {})]
    generator = EndpointGenerator(endpoint_settings(server.url, key), sleep=lambda _: None)
    with pytest.raises(GenerationError, match=r"HTTP 401, not retried.*CURATION_TEST_LLM_KEY"):
        generator.generate([DOCUMENT])
    generator.close()
    assert len(server.received) == 1


def test_endpoint_malformed_answer_and_refused_connection(server: FakeServer, key: str) -> None:
    server.script = [(200, {"choices": []}, {})]
    generator = EndpointGenerator(endpoint_settings(server.url, key))
    with pytest.raises(GenerationError, match=r"item 0: no choices\[0\]\.message\.content"):
        generator.generate(["Premier.", "Second."])
    generator.close()

    settings = endpoint_settings(f"http://127.0.0.1:{free_port()}/v1", key, retries=1)
    with (
        EndpointGenerator(settings, sleep=lambda _: None) as generator,
        pytest.raises(GenerationError, match=r"connection failed .* after 2 attempts"),
    ):
        generator.generate([DOCUMENT])


def test_endpoint_settings_need_url_and_model() -> None:
    with pytest.raises(ValueError, match="endpoint_url"):
        GenerationSettings(backend="endpoint")
    with pytest.raises(ValueError, match="pattern"):
        GenerationSettings(api_key_env="sk-pasted-key-by-mistake")
    assert make_generator(GenerationSettings(), None) is None  # extractive: the baseline


# -- local ---------------------------------------------------------------------------------
CORPUS = [
    "patiente de 67 ans hospitalisée pour décompensation cardiaque",
    "sortie sous furosémide et bisoprolol avec suivi en cardiologie",
    "antécédents : diabète de type 2 , hypertension artérielle",
    "résume le compte rendu : motif diagnostic traitement suivi",
]


def _tokenizer(folder: Path, chat_template: str | None = None) -> PreTrainedTokenizerFast:
    tok = Tokenizer(models.WordLevel(unk_token="[UNK]"))
    tok.pre_tokenizer = pre_tokenizers.Whitespace()
    tok.train_from_iterator(
        CORPUS, trainers.WordLevelTrainer(special_tokens=["[PAD]", "[UNK]", "[BOS]", "[EOS]"])
    )
    fast = PreTrainedTokenizerFast(
        tokenizer_object=tok,
        pad_token="[PAD]",
        unk_token="[UNK]",
        bos_token="[BOS]",
        eos_token="[EOS]",
    )
    if chat_template:
        fast.chat_template = chat_template
    fast.save_pretrained(folder)
    return fast


def tiny_gpt2(folder: Path, chat_template: str | None = None) -> Path:
    tok = _tokenizer(folder, chat_template)
    torch.manual_seed(0)
    config = GPT2Config(
        vocab_size=len(tok),
        n_positions=48,
        n_embd=32,
        n_layer=2,
        n_head=2,
        bos_token_id=tok.bos_token_id,
        eos_token_id=tok.eos_token_id,
        pad_token_id=tok.pad_token_id,
    )
    GPT2LMHeadModel(config).save_pretrained(folder)
    return folder


def tiny_t5(folder: Path) -> Path:
    tok = _tokenizer(folder)
    torch.manual_seed(0)
    config = T5Config(
        vocab_size=len(tok),
        d_model=32,
        d_kv=16,
        d_ff=64,
        num_layers=2,
        num_heads=2,
        pad_token_id=tok.pad_token_id,
        eos_token_id=tok.eos_token_id,
        decoder_start_token_id=tok.pad_token_id,
    )
    T5ForConditionalGeneration(config).save_pretrained(folder)
    return folder


def local_settings(folder: Path, **overrides: Any) -> GenerationSettings:
    values: dict[str, Any] = {
        "backend": "local",
        "model_path": str(folder),
        "max_new_tokens": 6,
        "batch_size": 2,
        "device": "cpu",
    }
    return GenerationSettings(**(values | overrides))


LOCAL_PROMPTS = [
    "résume : patiente de 67 ans hospitalisée pour décompensation cardiaque",
    "résume : sortie sous furosémide",
    "antécédents : diabète de type 2 , hypertension artérielle et suivi en cardiologie",
]


def test_local_causal_is_deterministic_and_batching_does_not_change_it(tmp_path: Path) -> None:
    folder = tiny_gpt2(tmp_path / "gpt2")
    prompt = load_prompt("clinical_summary", "v1", PROMPTS).ref
    generator = make_generator(local_settings(folder), prompt)
    assert isinstance(generator, LocalGenerator) and not generator.is_seq2seq
    first = generator.generate(LOCAL_PROMPTS)
    again = generator.generate(LOCAL_PROMPTS)
    one_by_one = LocalGenerator(local_settings(folder, batch_size=1), prompt)
    alone = [one_by_one.generate([p])[0] for p in LOCAL_PROMPTS]

    assert [g.text for g in first] == [g.text for g in again] == [g.text for g in alone]
    assert all(g.text for g in first)
    record = first[0].provenance.to_dict()
    assert record["backend"] == "local" and record["model"] == str(folder)
    assert record["prompt"]["version"] == "v1"
    assert record["params"] == {"temperature": 0.0, "max_tokens": 6, "seed": 0}
    assert 1 <= record["completion_tokens"] <= 6 and record["prompt_tokens"] == 10
    assert record["finish_reason"] in {"stop", "length"}


def test_local_seq2seq_is_detected_from_the_config(tmp_path: Path) -> None:
    generator = LocalGenerator(local_settings(tiny_t5(tmp_path / "t5")))
    assert generator.is_seq2seq
    first = generator.generate(LOCAL_PROMPTS)
    assert [g.text for g in first] == [g.text for g in generator.generate(LOCAL_PROMPTS)]
    assert [g.provenance.backend for g in first] == ["local"] * 3
    assert all(g.provenance.completion_tokens for g in first)


def test_local_sampling_is_reproducible_with_a_seed(tmp_path: Path) -> None:
    folder = tiny_gpt2(tmp_path / "gpt2")
    settings = local_settings(folder, temperature=1.5, seed=5, max_new_tokens=8)
    first = LocalGenerator(settings).generate(LOCAL_PROMPTS)
    again = LocalGenerator(settings).generate(LOCAL_PROMPTS)
    assert [g.text for g in first] == [g.text for g in again]


def test_local_chat_template_wraps_the_prompt(tmp_path: Path) -> None:
    template = "{% for m in messages %}[BOS] {{ m['content'] }} [EOS]{% endfor %}[BOS]"
    generator = LocalGenerator(local_settings(tiny_gpt2(tmp_path / "chat", template)))
    [generation] = generator.generate(["résume : sortie sous furosémide"])
    assert generation.provenance.prompt_tokens == 8  # [BOS] 5 tokens [EOS] [BOS]


def test_local_errors_name_the_item_not_the_text(tmp_path: Path) -> None:
    generator = LocalGenerator(local_settings(tiny_gpt2(tmp_path / "gpt2"), max_new_tokens=40))
    with pytest.raises(GenerationError, match=r"item 1: prompt of 13 tokens \+ 40 new") as caught:
        generator.generate(["résume : sortie", LOCAL_PROMPTS[2]])
    assert "furosémide" not in str(caught.value) and "diabète" not in str(caught.value)
    with pytest.raises(GenerationError, match=r"no config\.json"):
        LocalGenerator(local_settings(tmp_path / "absent"))


# -- prompts -------------------------------------------------------------------------------
def test_shipped_prompts_load_and_ask_for_the_declared_keys() -> None:
    summary = load_prompt("clinical_summary", "v1", PROMPTS)
    mcq = load_prompt("mcq_generation", "v1", PROMPTS)
    assert summary.placeholders == mcq.placeholders == ["document"]
    assert all(f'"{key}":' in summary.body for key in SECTIONS)
    assert all(f'"{key}":' in mcq.body for key in ("stem", "options", "answers", "explanation"))
    assert all(f'"{letter}":' in mcq.body for letter in "ABCDE")
    filled = summary.fill(document=DOCUMENT)
    assert DOCUMENT in filled and "$" not in filled and not filled.startswith("---")


def test_a_changed_prompt_file_changes_the_recorded_sha256(tmp_path: Path) -> None:
    shutil.copy(PROMPTS / "clinical_summary.v1.md", tmp_path)
    before = load_prompt("clinical_summary", "v1", tmp_path).ref
    path = tmp_path / "clinical_summary.v1.md"
    path.write_text(path.read_text(encoding="utf-8").replace("courtes", "brèves"), "utf-8")
    after = load_prompt("clinical_summary", "v1", tmp_path).ref
    assert before.sha256 != after.sha256 and before.id == after.id == "clinical_summary.v1"

    v2 = path.read_text(encoding="utf-8").replace("version: v1", "version: v2")
    (tmp_path / "clinical_summary.v2.md").write_text(v2, encoding="utf-8")
    assert available_versions("clinical_summary", tmp_path) == ["v1", "v2"]
    assert load_prompt("clinical_summary", "v2", tmp_path).version == "v2"
    with pytest.raises(PromptError, match=r"no such prompt file.*\['v1', 'v2'\]"):
        load_prompt("clinical_summary", "v3", tmp_path)


def test_fill_keeps_dollars_and_braces_and_checks_names(tmp_path: Path) -> None:
    template = load_prompt("mcq_generation", "v1", PROMPTS)
    text = "Coût {estimé} : $HOME et ${x} restent tels quels."
    assert text in template.fill(document=text)
    with pytest.raises(PromptError, match=r"missing \['document'\], unknown \['texte'\]") as e:
        template.fill(texte=DOCUMENT)
    assert DOCUMENT not in str(e.value)

    bad = tmp_path / "demo.v1.md"
    bad.write_text("---\nname: demo\nversion: v1\nplaceholders: [document]\n---\n$documnet\n")
    with pytest.raises(PromptError, match=r"declares placeholders \['document'\], body has"):
        load_prompt("demo", "v1", tmp_path)
    bad.write_text("---\nname: autre\nversion: v1\n---\nRésume.\n")
    with pytest.raises(PromptError, match="front matter name/version"):
        load_prompt("demo", "v1", tmp_path)


def test_json_output_bare_fenced_or_amid_prose() -> None:
    answer = json.dumps(SUMMARY, ensure_ascii=False)
    for text in (answer, f"```json\n{answer}\n```", f"Voici la synthèse :\n{answer}\nCordialement"):
        assert parse_summary(text, "clinical_summary.v1", "doc-7") == SUMMARY
    listed = json.dumps(SUMMARY | {"antecedents": ["Diabète.", "HTA."], "suivi": None})
    parsed = parse_summary(listed, "clinical_summary.v1", "doc-7")
    assert parsed["antecedents"] == "Diabète.\nHTA." and parsed["suivi"] == ""


def test_invalid_output_names_prompt_and_item_never_the_text() -> None:
    secret = "Mme Durand, née le 02/03/1956"  # synthetic, stands for identifying text
    cases = {
        f'{{"motif": "{secret}", ': r"not valid JSON \(.* at line 1, column \d+\)",
        f'["{secret}"]': "expected a JSON object, the model answered a list",
        json.dumps({"motif": secret}): r"missing \['antecedents'",
        json.dumps(SUMMARY | {"motif": {"texte": secret}}): "key 'motif' must be a string",
        "": "output is empty",
    }
    for text, pattern in cases.items():
        with pytest.raises(OutputError, match=pattern) as caught:
            parse_summary(text, "clinical_summary.v1", "doc-42")
        assert str(caught.value).startswith("prompt clinical_summary.v1, item doc-42: ")
        assert "Durand" not in str(caught.value)


def test_mcq_output_is_normalised_and_checked() -> None:
    question = {
        "stem": "Quel traitement de première intention ?",
        "options": ["Furosémide", "Bisoprolol", "Amoxicilline", "Paracétamol", "Insuline"],
        "answers": "b, A",
        "explanation": "Diurétique et bêtabloquant.",
    }
    parsed = parse_mcq(json.dumps(question), "mcq_generation.v1", 3)
    assert parsed["options"]["C"] == "Amoxicilline" and parsed["answers"] == ["A", "B"]
    assert extract_json("```\n" + json.dumps(question) + "\n```", "mcq_generation.v1", 3)

    for change, pattern in (
        ({"answers": ["F"]}, r"one or more of \['A', 'B', 'C', 'D', 'E'\]"),
        ({"answers": []}, "one or more"),
        ({"options": question["options"][:4]}, "'options' must map"),
        ({"options": {"A": "x", "B": "y", "C": "z", "D": "t", "F": "u"}}, r"missing \['E'\]"),
        ({"stem": " "}, r"empty fields \['stem'\]"),
    ):
        with pytest.raises(OutputError, match=pattern):
            parse_mcq(json.dumps(question | change), "mcq_generation.v1", 3)
