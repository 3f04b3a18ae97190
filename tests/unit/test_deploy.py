"""The files in deploy/ are valid for their tools, and name only metrics the app exports.

``promtool`` (PATH or GRIDCASE_PROMTOOL), ``docker compose`` and ``systemd-analyze`` check
their files where they are installed; without them a structure check stands in.
"""

from __future__ import annotations

import configparser
import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml
from flask.testing import FlaskClient

DEPLOY = Path(__file__).resolve().parents[2] / "deploy"
METRIC = re.compile(r"\bgridcase_[a-z_]+\b")


def _promtool() -> str | None:
    return os.environ.get("GRIDCASE_PROMTOOL") or shutil.which("promtool")


def _exported_names(client: FlaskClient) -> set[str]:
    text = client.get("/metrics").text
    names = set()
    for line in text.splitlines():
        if line.startswith("# TYPE "):
            name, kind = line.split()[2:4]
            names.add(name)
            suffixes = {"counter": ["_total"], "histogram": ["_bucket", "_count", "_sum"]}.get(kind, [])
            names.update(name + s for s in suffixes)
    return names


def _names_in(text: str) -> set[str]:
    return set(METRIC.findall(text))


def test_alert_rules_cover_what_operators_asked_for_and_pass_promtool() -> None:
    rules = yaml.safe_load((DEPLOY / "prometheus" / "alerts.yml").read_text())
    alerts = {rule["alert"]: rule for group in rules["groups"] for rule in group["rules"]}
    assert {"GridcaseSweeperSilent", "GridcaseDeadlinesOverdue", "GridcaseInboxStale", "GridcaseDeadDeliveries",
            "GridcaseHigh5xxRate"} <= set(alerts)
    for name, rule in alerts.items():
        assert rule["expr"] and rule["labels"]["severity"] in ("page", "ticket"), name
        assert rule["annotations"]["summary"], name
    promtool = _promtool()
    if promtool is None:
        pytest.skip("promtool not installed: structure checked only")
    for args in (["check", "rules", "alerts.yml"], ["test", "rules", "alerts.test.yml"],
                 ["check", "config", "--syntax-only", "prometheus.yml"]):
        done = subprocess.run([promtool, *args], cwd=DEPLOY / "prometheus", capture_output=True, text=True)
        assert done.returncode == 0, done.stdout + done.stderr


def test_alerts_and_dashboard_name_only_metrics_the_app_exports(client: FlaskClient) -> None:
    exported = _exported_names(client)
    for path in (DEPLOY / "prometheus" / "alerts.yml", DEPLOY / "grafana" / "gridcase.json"):
        missing = _names_in(path.read_text()) - exported
        assert not missing, f"{path.name} names metrics nobody exports: {sorted(missing)}"


def test_the_dashboard_fits_one_screen_without_overlaps() -> None:
    dashboard = json.loads((DEPLOY / "grafana" / "gridcase.json").read_text())
    cells: set[tuple[int, int]] = set()
    for panel in dashboard["panels"]:
        pos = panel["gridPos"]
        assert pos["x"] + pos["w"] <= 24 and pos["y"] + pos["h"] <= 28, panel["title"]  # 28 rows: one 1080p screen
        area = {(x, y) for x in range(pos["x"], pos["x"] + pos["w"]) for y in range(pos["y"], pos["y"] + pos["h"])}
        assert not area & cells, f"{panel['title']} overlaps another panel"
        cells |= area
        assert panel["targets"] and all(t["expr"] for t in panel["targets"])
        assert panel["datasource"]["uid"] == "prometheus"
    provisioned = yaml.safe_load((DEPLOY / "grafana" / "provisioning" / "datasources" / "prometheus.yml").read_text())
    assert provisioned["datasources"][0]["uid"] == "prometheus"


def test_compose_runs_the_whole_district_and_mounts_files_that_exist() -> None:
    compose: dict[str, Any] = yaml.safe_load((DEPLOY / "docker-compose.yml").read_text())
    services = compose["services"]
    assert {"postgres", "redis", "web", "worker-1", "worker-2", "beat", "flower", "prometheus", "grafana"} <= set(
        services)
    for name, service in services.items():
        assert "image" in service or "build" in service, name
        for volume in service.get("volumes", []):
            source = volume.split(":")[0]
            if source.startswith("./"):
                path = DEPLOY / source
                assert path.exists() or path.with_name(path.name + ".example").exists(), f"{name}: {source}"
    assert services["flower"]["ports"] == ["127.0.0.1:5555:5555"]
    assert "FLOWER_BASIC_AUTH" in services["flower"]["environment"]
    for worker in ("worker-1", "worker-2"):
        assert services[worker]["environment"]["GRIDCASE_WORKER_METRICS_PORT"] == "9808"
    docker = shutil.which("docker")
    has_compose = docker is not None and subprocess.run([docker, "compose", "version"], capture_output=True
                                                        ).returncode == 0
    if not has_compose:
        pytest.skip("docker compose not installed: structure checked only")
    assert docker is not None
    done = subprocess.run([docker, "compose", "-f", str(DEPLOY / "docker-compose.yml"), "--env-file",
                           str(DEPLOY / "env.example"), "config", "--quiet"], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr


def test_systemd_units_verify(tmp_path: Path) -> None:
    units = sorted((DEPLOY / "systemd").glob("gridcase*.service")) + [DEPLOY / "systemd" / "gridcase.target"]
    for unit in units:
        parsed = configparser.ConfigParser(strict=False, interpolation=None)
        parsed.read(unit)
        assert parsed["Unit"]["Description"], unit.name
        if unit.suffix == ".service":
            assert parsed["Service"]["ExecStart"].startswith("/opt/gridcase/.venv/bin/"), unit.name
    analyze = shutil.which("systemd-analyze")
    if analyze is None:
        pytest.skip("systemd-analyze not installed: structure checked only")
    bin_dir = str(Path(sys.executable).parent) + "/"
    copies = []
    for unit in units:
        copy = tmp_path / unit.name.replace("@.service", "@1.service")
        copy.write_text(unit.read_text().replace("/opt/gridcase/.venv/bin/", bin_dir))
        copies.append(str(copy))
    done = subprocess.run([analyze, "verify", "--man=no", *copies], capture_output=True, text=True)
    problems = [line for line in (done.stdout + done.stderr).splitlines()
                if "gridcase" in line and "Unit configured to use KillMode=none" not in line]
    assert not problems, "\n".join(problems)


def test_procfile_flower_is_local_and_needs_a_password() -> None:
    procfile = (DEPLOY.parent / "Procfile").read_text()
    flower = next(line for line in procfile.splitlines() if line.startswith("flower:"))
    assert "--address=127.0.0.1" in flower and "FLOWER_BASIC_AUTH:?" in flower
