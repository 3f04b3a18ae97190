"""CI: no known vulnerability in what a fresh install resolves (pip-audit over .venv).

pip-audit asks a vulnerability service (PyPI's JSON API, else OSV) about every installed
distribution. Where neither answers for any of them (a machine behind a mirror without
PyPI's JSON API, no route to api.osv.dev), nothing was audited: say so plainly and skip,
rather than pass on "No known vulnerabilities found" over an empty audit. A vulnerability
found fails the step.

    .venv/bin/python .ci/audit.py
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

PIP_AUDIT = Path(sys.executable).with_name("pip-audit")


def audit(service: str) -> tuple[list[dict[str, object]], str]:
    """Run pip-audit against ``service``; return its dependencies (empty if it could not ask) and its errors."""
    done = subprocess.run([str(PIP_AUDIT), "--skip-editable", "--progress-spinner", "off", "-f", "json",
                           "-s", service], capture_output=True, text=True, check=False)
    try:
        report = json.loads(done.stdout)
    except json.JSONDecodeError:
        return [], (done.stderr.strip().splitlines() or ["no output"])[-1]
    return list(report.get("dependencies", [])), ""


def main() -> int:
    """Audit with PyPI, then OSV; fail on a vulnerability, skip if no service knew any dependency."""
    problems = []
    for service in ("pypi", "osv"):
        dependencies, error = audit(service)
        audited = [d for d in dependencies if "skip_reason" not in d]
        if not audited:
            problems.append(f"{service}: {error or f'none of {len(dependencies)} dependencies could be looked up'}")
            continue
        vulnerable = [d for d in audited if d.get("vulns")]
        for dep in vulnerable:
            for vuln in dep["vulns"]:  # type: ignore[attr-defined]
                fixes = ", ".join(vuln.get("fix_versions") or []) or "no fix yet"
                print(f"{dep['name']} {dep['version']}: {vuln['id']} (fixed in {fixes})")
        skipped = len(dependencies) - len(audited)
        print(f"pip-audit ({service}): {len(audited)} distributions audited, {skipped} skipped, "
              f"{len(vulnerable)} with known vulnerabilities")
        return 1 if vulnerable else 0
    print("pip-audit: SKIPPED, no audit was possible: the vulnerability services are not reachable from "
          "this machine (" + "; ".join(problems) + ")")
    return 0


if __name__ == "__main__":
    sys.exit(main())
