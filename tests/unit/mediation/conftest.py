"""The mediation desk fixture shared by the mediation tests."""

from __future__ import annotations

import pytest
from flask.testing import FlaskClient
from sqlalchemy import Engine

from tests.conftest import Published
from tests.unit.mediation.test_api import Desk


@pytest.fixture
def desk(client: FlaskClient, engine: Engine, published: Published) -> Desk:
    """Return the API as the people of one mediation use it."""
    return Desk(client, engine, published)
