"""The loader's tests run with no QuickDraw setting from the environment: each test sets what
it needs, so a developer's QUICKDRAW_SOURCE or cache never leaks in."""

import os

import pytest


@pytest.fixture(autouse=True)
def _no_env(monkeypatch):
    for var in [name for name in os.environ if name.startswith("QUICKDRAW_")]:
        monkeypatch.delenv(var)
