"""The agreement and the case file in the reader's script: Traditional Chinese for zh_Hant, else Simplified."""

from __future__ import annotations

import hashlib
import shutil
import subprocess

import pytest

from tests.unit.mediation.test_api import BRANCH, MEDIATOR, Desk, _agreed, png


def _text(pdf: bytes) -> str:
    if shutil.which("pdftotext") is None:
        pytest.skip("pdftotext (poppler-utils) is not installed")
    out = subprocess.run(["pdftotext", "-", "-"], input=pdf, capture_output=True, check=True).stdout
    return "".join(out.decode().split())


def test_a_reader_of_traditional_chinese_gets_the_agreement_laid_out_in_traditional_made_when_it_took_effect(
        desk: Desk) -> None:
    case_id, mid, parties = _agreed(desk)
    for signer in (f"party:{parties[0]}", f"party:{parties[1]}", "mediator"):
        desk.ok(MEDIATOR, mid, "sign", signer=signer, signature=png())
    agreement = desk.get(BRANCH, mid).get_json()["agreement"]
    url = f"/api/v1/mediations/{mid}/agreement.pdf"

    hant = desk.client.get(url, headers={**desk.auth(BRANCH), "Accept-Language": "zh-TW,zh;q=0.9"})
    assert hant.status_code == 200 and hashlib.sha256(hant.data).hexdigest() == agreement["sha256_hant"]
    text = _text(hant.data)
    assert "人民調解協議書" in text and "申請司法確認" in text and "履行期限" in text
    # What the mediator wrote is what was signed: it stays as written, names masked as ever.
    assert "李卫东赔偿张建国维修费人民币800元" in text and "张*国" in text and "13900001111" not in text

    hans = desk.client.get(url, headers={**desk.auth(BRANCH), "Accept-Language": "zh-CN"})
    assert hashlib.sha256(hans.data).hexdigest() == agreement["sha256"] != agreement["sha256_hant"]
    assert "人民调解协议书" in _text(hans.data)
    # An English reader gets the Chinese legal text, in Simplified.
    english = desk.client.get(url, headers={**desk.auth(BRANCH), "Accept-Language": "en"})
    assert english.data == hans.data


def test_the_case_file_follows_the_readers_script(desk: Desk) -> None:
    case_id, _, _ = _agreed(desk)
    url = f"/api/v1/cases/{case_id}/file.pdf"
    hant = _text(desk.client.get(url, headers={**desk.auth(BRANCH), "Accept-Language": "zh-HK"}).data)
    assert "案件編號" in hant and "辦理經過" in hant and "調解笔录" not in hant and "調解筆錄" in hant
    hans = _text(desk.client.get(url, headers=desk.auth(BRANCH)).data)
    assert "案件编号" in hans and "调解笔录" in hans
