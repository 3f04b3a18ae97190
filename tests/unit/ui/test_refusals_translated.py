"""Every refusal a person reads is in their language: the domain's errors and the error pages, in three languages."""

from __future__ import annotations

import ast
import re
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from werkzeug.exceptions import HTTPException, RequestEntityTooLarge, TooManyRequests

from web.ui.errors import explain
from workflow.base import errors as domain_errors
from workflow.base.errors import DomainError

ROOT = Path(__file__).resolve().parents[3]
REFUSALS = {name for name, kind in vars(domain_errors).items()
            if isinstance(kind, type) and issubclass(kind, DomainError)}
# Refusals no page shows, each with why: they stay English for operators, workers and API clients.
NOT_ON_A_PAGE = {
    "workflow/cases/handling.py": "the worker's own checks, logged",
    "workflow/clock/calendar.py": "the holiday file, checked at start and by the CLI",
    "workflow/clock/policy.py": "the policy file, checked at start and by `gridcase policy check`",
    "workflow/clock/stored_policies.py": "a policy row missing: an operator's problem",
    "workflow/notices/delivery.py": "`gridcase deliveries retry`, an operator's command",
    "workflow/org/tree.py:read_org_file": "the org file, read by `gridcase org import`",
    "workflow/org/tree.py:_check_levels": "the org file",
    "workflow/org/tree.py:visit": "the org file",
    "workflow/org/tree.py:import_tree": "the org file",
    "workflow/org/tree.py:ladder_of": "a broken tree, an operator's problem",
    "workflow/org/tree.py:cached_ladder": "a broken tree, an operator's problem",
    "workflow/cases/intake.py:answer_again": "an event id reused by an API client (JSON keeps English and a code)",
    "workflow/cases/intake.py:_accept_batch": "a batch from an API client",
    "workflow/cases/intake.py:_stored_answers": "a batch from an API client",
    "workflow/integrators/catalogue.py": "Open311 attributes: API clients, in the specification's error format",
    "workflow/integrators/filing.py": "Open311 requests: API clients, in the specification's error format",
    "workflow/integrators/reading.py": "Open311 queries: API clients, in the specification's error format",
    "workflow/analysis/settings.py:analysis_settings": "the analysis settings file, an operator's, read at start",
}


def _raises() -> list[tuple[str, str, ast.Call]]:
    found = []
    for path in sorted((ROOT / "workflow").rglob("*.py")):
        where = str(path.relative_to(ROOT))
        for function in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if not isinstance(function, ast.FunctionDef | ast.AsyncFunctionDef):
                continue
            for node in ast.walk(function):
                if (isinstance(node, ast.Raise) and isinstance(node.exc, ast.Call)
                        and isinstance(node.exc.func, ast.Name) and node.exc.func.id in REFUSALS):
                    found.append((where, function.name, node.exc))
    return found


def _marked(call: ast.Call) -> str | None:
    first = call.args[0] if call.args else None
    if (isinstance(first, ast.Call) and isinstance(first.func, ast.Name) and first.func.id == "N_"
            and isinstance(first.args[0], ast.Constant)):
        return str(first.args[0].value)
    return None


RAISES = _raises()
SENTENCES = sorted({text for _, _, call in RAISES if (text := _marked(call))})
# Sample values for the placeholders: the words among them are translated too.
SAMPLE: dict[str, Any] = {"trigger": "escalate", "state": "grid_handling", "level": "branch",
                          "field_name": "reason", "who": "resident or system", "actor": "staff",
                          "channel": "wecom"}
ENGLISH_SENTENCE = re.compile(r"[A-Za-z]{2,}[ ,;']+[A-Za-z]{2,}[ ,;']+[A-Za-z]{2,}")


def test_every_refusal_a_page_can_show_is_marked_for_translation() -> None:
    unmarked = [f"{where}:{function} line {call.lineno}" for where, function, call in RAISES
                if _marked(call) is None and where not in NOT_ON_A_PAGE
                and f"{where}:{function}" not in NOT_ON_A_PAGE]
    assert not unmarked, f"raise these with N_(...) and params: {unmarked}"
    assert len(SENTENCES) > 50


def _sample_params(sentence: str) -> dict[str, Any]:
    return {name: SAMPLE.get(name, "XY-01") for name in re.findall(r"%\((\w+)\)s", sentence)}


@pytest.fixture
def page_app(app: Flask) -> Flask:
    return app


@pytest.mark.parametrize("language", ["zh_Hans", "zh_Hant"])
def test_every_refusal_reads_in_chinese_with_no_english_sentence(page_app: Flask, language: str) -> None:
    untranslated = []
    with page_app.test_request_context("/", headers={"Accept-Language": language.replace("_", "-")
                                                     .replace("Hans", "CN").replace("Hant", "TW")}):
        for sentence in SENTENCES:
            shown = explain(domain_errors.InvalidInput(sentence, **_sample_params(sentence)))
            if ENGLISH_SENTENCE.search(shown) or not re.search(r"[\u4e00-\u9fff]", shown):
                untranslated.append(shown)
    assert not untranslated, untranslated


def test_the_words_inside_a_refusal_are_translated_too(page_app: Flask) -> None:
    refusal = domain_errors.InvalidInput(domain_errors.N_("'%(trigger)s' needs a non-empty %(field_name)s"),
                                         trigger="escalate", field_name="reason")
    assert refusal.message == "'escalate' needs a non-empty reason"  # the API and the logs keep English
    with page_app.test_request_context("/", headers={"Accept-Language": "zh-CN"}):
        assert explain(refusal).endswith("(「上报上级」需要填写理由)")
    with page_app.test_request_context("/", headers={"Accept-Language": "en"}):
        assert explain(refusal).endswith("('Escalate to the level above' needs a non-empty Reason)")


@pytest.mark.parametrize("language", ["zh-CN", "zh-TW", "en"])
@pytest.mark.parametrize("error", [TooManyRequests("10 per 1 minute"), RequestEntityTooLarge()],
                         ids=["429", "413"])
def test_error_pages_say_why_in_the_readers_language(page_app: Flask, language: str, error: HTTPException) -> None:
    with page_app.test_request_context("/login", headers={"Accept-Language": language}):
        body, status = page_app.handle_http_exception(error), error.code
        html = page_app.make_response(body).get_data(as_text=True)
    assert status in (413, 429)
    assert "10 per 1 minute" not in html and "exceeds the capacity limit" not in html
    if language != "en":
        text = re.sub(r"<[^>]+>", " ", html.split("<main", 1)[-1])
        assert not ENGLISH_SENTENCE.search(text), text
