"""An Open311 client library written for any city (``georeport`` from PyPI) against ``gridcase up``.

georeport reads (services, definitions, requests) in JSON and XML; it has no POST or
discovery method, so those two go through httpx exactly as the spec writes them
(form-encoded POST, ``discovery.json``).
"""

from __future__ import annotations

import os
import subprocess
from typing import Any

import httpx
import pytest

from tests.e2e.harness import GRIDCASE, Up

georeport = pytest.importorskip("georeport")


def _integrator_key(up: Up) -> str:
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "BROKER_URL")}
    env["GRIDCASE_HOME"] = str(up.home)
    made = subprocess.run([GRIDCASE, "integrator", "add", "e2e-hotline", "--scopes", "submit,read"], env=env,
                          capture_output=True, text=True, check=True)
    return made.stdout.strip().splitlines()[0]


def test_a_third_party_open311_client_files_and_follows_a_case(up: Up) -> None:
    up.start()
    root = f"http://127.0.0.1:{up.port}/open311/v2"
    key = _integrator_key(up)
    as_json = georeport.GeoReport(root, api_key=key)
    as_xml = georeport.GeoReport(root, api_key=key, output_format="xml")

    discovery = httpx.get(f"{root}/discovery.json").json()
    assert discovery["endpoints"][0]["url"] == root
    services = as_json.get_service_list()
    assert {s["service_code"] for s in services} >= {"NEI", "NOI", "ENV"}
    assert [s["service_code"] for s in as_xml.get_service_list()] == [s["service_code"] for s in services]
    definition = as_json.get_service_definition("NEI")
    assert [a["code"] for a in definition["attributes"]][:3] == ["OTHER_PARTY", "OTHER_PARTY_PHONE", "MEDIATION"]
    assert as_xml.get_service_definition("NEI")["attributes"]["attribute"][0]["code"] == "OTHER_PARTY"

    posted = httpx.post(f"{root}/requests.json", data={
        "api_key": key, "service_code": "NEI", "lat": "42.2801", "long": "118.9301",
        "description": "楼上漏水两周", "first_name": "小明", "last_name": "王", "phone": "13812345678",
        "attribute[OTHER_PARTY]": "楼上住户", "attribute[MEDIATION]": "yes"})
    assert posted.status_code == 201, posted.text
    request_id = posted.json()[0]["service_request_id"]

    def read() -> dict[str, Any]:
        return dict(as_json.get_service_request(request_id))

    # The grid holds it from intake on; its deadline comes when the worker dispatches it.
    up.wait_for(lambda: read()["agency_responsible"] == "金桂园1号楼党小组" and bool(read()["expected_datetime"]),
                "the request to reach its grid, with its deadline")
    assert read()["status"] == "open" and read()["expected_datetime"]
    in_xml = as_xml.get_service_request(request_id)
    assert in_xml["service_request_id"] == request_id and in_xml["status"] == "open"

    tokens = dict(line.split("\t") for line in (up.home / "demo-tokens.txt").read_text().splitlines())
    escalated = httpx.post(f"http://127.0.0.1:{up.port}/api/v1/cases/{request_id}/actions/escalate",
                           json={"reason": "需支部调解"},
                           headers={"Authorization": f"Bearer {tokens['xy01a1.leader']}"})
    assert escalated.status_code == 200, escalated.text
    assert read()["agency_responsible"] == "金桂园小区党支部"
    listed = as_json.get_service_requests(service_request_id=request_id)
    assert [r["service_request_id"] for r in listed] == [request_id]
    assert "王小明" not in str(listed) and "13812345678" not in str(listed)
