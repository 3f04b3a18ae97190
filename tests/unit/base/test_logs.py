"""Log lines: one JSON object each, Chinese as text, fields from context and ``extra``, personal data masked."""

from __future__ import annotations

import io
import logging

import structlog

from tests.logcapture import Captured
from workflow.base import logs

logger = logging.getLogger("tests.logs")


def test_a_stdlib_line_is_one_json_object_with_its_extra_fields_and_chinese_as_text(captured_logs: Captured) -> None:
    logger.info("case %s: %s", 7, "楼上夜间噪音", extra={"case_id": 7})
    [line] = captured_logs.lines()
    assert line["event"] == "case 7: 楼上夜间噪音" and line["case_id"] == 7
    assert line["level"] == "info" and line["logger"] == "tests.logs" and line["process"] == "test"
    assert "timestamp" in line
    assert "楼上夜间噪音" in captured_logs.text and "\\u" not in captured_logs.text


def test_bound_fields_reach_every_line_until_cleared(captured_logs: Captured) -> None:
    logs.bind(request_id="req-12345678", case_id=3)
    logger.info("one")
    structlog.get_logger("tests").info("two", extra_field="x")
    logs.clear()
    logger.info("three")
    one, two, three = captured_logs.lines()
    assert one["request_id"] == two["request_id"] == "req-12345678" and one["case_id"] == two["case_id"] == 3
    assert two["extra_field"] == "x"
    assert "request_id" not in three and "case_id" not in three


def test_personal_data_is_masked_in_messages_fields_and_tracebacks(captured_logs: Captured) -> None:
    logger.info("reporter 13812345678 id 110101199003071234 code 7Q2MABCD9XYZ1234 mail wang.xm@example.com",
                extra={"reporter_name": "王小明", "phone": "13912345678", "tracking_code": "7Q2MABCD9XYZ1234",
                       "nested": {"phone": "13712345678", "url": "/api/v1/track/7Q2M-ABCD-9XYZ-1234"}})
    try:
        raise ValueError("bad party 13612345678")
    except ValueError:
        logger.exception("failed")
    structlog.get_logger("tests").info("party", party_name="李四光")
    text = captured_logs.text
    for secret in ("13812345678", "110101199003071234", "7Q2MABCD9XYZ1234", "7Q2M-ABCD-9XYZ-1234",
                   "wang.xm@example.com", "王小明", "李四光", "13912345678", "13712345678", "13612345678"):
        assert secret not in text, secret
    first = captured_logs.lines()[0]
    assert first["reporter_name"] == "王*明" and first["phone"] == "139****5678"
    assert "138****5678" in first["event"] and "1101**********1234" in first["event"]
    assert first["nested"]["url"] == "/api/v1/track/7Q2M-****-****-****"


def test_task_and_uuid_ids_stay_readable() -> None:
    for text in ("task 3f2a1b4c-1234-5678-9abc-def012345678", "2026-12-02T00:08:00.123456+00:00",
                 "deadline-12345", "internationalize"):
        assert logs.scrub_text(text) == text


def test_console_on_a_terminal_json_otherwise_or_as_the_setting_says(monkeypatch) -> None:  # type: ignore[no-untyped-def]
    class Tty(io.StringIO):
        def isatty(self) -> bool:
            return True

    monkeypatch.delenv("GRIDCASE_LOG_FORMAT", raising=False)
    assert logs.log_format(Tty()) == "console" and logs.log_format(io.StringIO()) == "json"
    monkeypatch.setenv("GRIDCASE_LOG_FORMAT", "json")
    assert logs.log_format(Tty()) == "json"
    monkeypatch.setenv("GRIDCASE_LOG_FORMAT", "console")
    assert logs.log_format(io.StringIO()) == "console"
