"""``gridcase up --port P``: the links in slips and notices name the port actually served."""

from __future__ import annotations

import pytest

from web.up import child_environment


def test_links_follow_the_port_served(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("GRIDCASE_PUBLIC_URL", raising=False)
    assert child_environment("127.0.0.1", 8123)["GRIDCASE_PUBLIC_URL"] == "http://127.0.0.1:8123"
    assert child_environment("0.0.0.0", 9000)["GRIDCASE_PUBLIC_URL"] == "http://127.0.0.1:9000"


def test_a_public_url_set_by_the_operator_wins(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GRIDCASE_PUBLIC_URL", "https://grid.example.org")
    assert child_environment("127.0.0.1", 8123)["GRIDCASE_PUBLIC_URL"] == "https://grid.example.org"
