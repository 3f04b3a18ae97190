"""schemathesis over ``/openapi.json`` with every check: no server error, no schema violation,
every status the API answers documented (415 on a body that is no CloudEvent, 405 with ``Allow``)."""

from __future__ import annotations

import shutil
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine
from werkzeug.serving import make_server

from tests.unit.helpers import event, post_event, token_for

# A bounded run (about a minute alone; the ceiling leaves room for a machine shared with other work):
# examples per operation, and a hard stop on the process.
MAX_EXAMPLES = 40
TIME_LIMIT_SECONDS = 600


@pytest.fixture
def live_api(app: Any, client: Any) -> Iterator[str]:
    """Serve the test app on a free port in a thread; one case exists in it."""
    assert post_event(client, event()).status_code == 202
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    thread.join()


def test_api_answers_only_what_its_openapi_document_says(live_api: str, engine: Engine, tmp_path: Path) -> None:
    st = shutil.which("st", path=str(Path(sys.executable).parent))
    assert st, "schemathesis is a dev dependency: pip install -e '.[dev]'"
    token = token_for(engine, "xy.street")["Authorization"]
    command = [
        st, "--config-file", str(Path(__file__).with_name("schemathesis.toml")), "run", f"{live_api}/openapi.json", "--checks", "all", "--max-examples", str(MAX_EXAMPLES),
        "--workers", "1", "--seed", "20261202", "--header", f"Authorization:{token}",
        "--suppress-health-check", "all", "--report-dir", str(tmp_path), "--no-color",
    ]
    done = subprocess.run(command, capture_output=True, text=True, timeout=TIME_LIMIT_SECONDS, check=False,
                          cwd=tmp_path)
    assert done.returncode == 0, done.stdout + done.stderr[-5000:]
