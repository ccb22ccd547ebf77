"""Shared pytest fixtures.

``shared`` gives the path of ../shared (reference data read by path, never copied into the
project); tests that need it are skipped with a clear reason when it is absent.
"""

import pytest

from aher.paths import PROJECT_ROOT, shared_dir


@pytest.fixture(scope="session")
def project_root():
    return PROJECT_ROOT


@pytest.fixture(scope="session")
def shared():
    path = shared_dir()
    if not (path / "eval_fixtures").is_dir() or not (path / "data").is_dir():
        pytest.skip(f"reference folder {path} is absent (set AHER_SHARED or place shared/ next to the project)")
    return path
