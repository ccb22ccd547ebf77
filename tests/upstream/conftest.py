"""Fixtures of the upstream-equivalence tests (they skip, naming the folder, when the traces are absent)."""

import pytest

from tests.upstream.support import require_traces


@pytest.fixture(scope="session")
def traces():
    return require_traces()
