"""Schemathesis over the OpenAPI schema, through the ASGI app: a bounded number of valid and invalid
examples per operation, no 5xx, only documented statuses, and every 4xx a JSON ``detail`` message.

Two apps: a style-based generator (generate, interpolate, style-mix, card, model, ops endpoints)
and an inpainting run (multipart uploads with a mask). Operations are driven with
``operation.as_strategy()`` under ``@given`` (schemathesis' pytest fixture loader does not run on
pytest 9 here), with the same checks ``case.call_and_validate`` would apply.
"""

from __future__ import annotations

import json

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import status_code_conformance

from gankit.serve.app import create_app
from gankit.serve.limits import Settings

EXAMPLES = 25  # per operation and generation mode
FUZZ = settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=list(HealthCheck), derandomize=True, database=None)
GENERATOR_OPS = [("POST", "/v1/generate"), ("POST", "/v1/interpolate"), ("POST", "/v1/style-mix"), ("GET", "/v1/model/card.png"),
                 ("GET", "/v1/model"), ("POST", "/v1/translate"), ("GET", "/healthz"), ("GET", "/readyz"), ("GET", "/metrics")]  # fmt: skip


def _schema(backend):  # noqa: ANN001, ANN202
    app = create_app(backend, Settings(max_n=16, max_steps=16, max_mix_seeds=4, timeout_s=20))
    app.state.gankit.batcher.start()  # the fuzzer's client runs no lifespan
    return schemathesis.openapi.from_asgi("/openapi.json", app), app


@pytest.fixture(scope="module")
def generator_schema(style_run, backends):
    return _schema(backends(style_run))


@pytest.fixture(scope="module")
def inpaint_schema(inpaint_run, backends):
    return _schema(backends(inpaint_run))


def detail_on_4xx(ctx, response, case) -> None:  # noqa: ANN001
    """A 4xx says what was wrong: a JSON object with a non-empty string ``detail``."""
    if 400 <= response.status_code < 500:
        try:
            body = json.loads(response.content)
        except ValueError:
            raise AssertionError(f"{response.status_code} without a JSON body: {response.content[:200]!r}") from None
        detail = body.get("detail") if isinstance(body, dict) else None
        assert isinstance(detail, str) and len(detail) > 10, f"{response.status_code} without a readable detail: {body!r}"


CHECKS = [not_a_server_error, status_code_conformance, detail_on_4xx]


def _fuzz(schema, method: str, path: str) -> dict[int, int]:  # noqa: ANN001
    """Run the bounded examples of one operation; the count of each status seen."""
    op = schema[path][method]
    seen: dict[int, int] = {}
    strategies = [op.as_strategy(GenerationMode.POSITIVE)]
    if op.body or op.query or method == "POST":
        strategies.append(op.as_strategy(GenerationMode.NEGATIVE))

    @FUZZ
    @given(case=st.one_of(*strategies))
    def run(case) -> None:  # noqa: ANN001
        response = case.call()
        seen[response.status_code] = seen.get(response.status_code, 0) + 1
        case.validate_response(response, checks=CHECKS)

    run()
    return seen


@pytest.mark.parametrize("method, path", GENERATOR_OPS)
def test_fuzz_generator_api(generator_schema, method, path):
    schema, app = generator_schema
    seen = _fuzz(schema, method, path)
    print(method, path, dict(sorted(seen.items())))
    assert not any(s >= 500 for s in seen)
    if method == "POST":  # a GET without parameters has one example
        assert sum(seen.values()) >= EXAMPLES and 422 in seen  # valid and invalid requests were both tried
    if path in ("/v1/generate", "/v1/interpolate", "/v1/style-mix"):
        assert 200 in seen


def test_fuzz_translate_uploads(inpaint_schema):
    schema, app = inpaint_schema
    seen = _fuzz(schema, "POST", "/v1/translate")
    print("POST /v1/translate (inpainting)", dict(sorted(seen.items())))
    assert not any(s >= 500 for s in seen) and set(seen) & {415, 422}
    assert app.state.gankit.batcher.ready  # the worker survived every input
