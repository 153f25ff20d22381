"""Fixtures shared by the whole suite."""

import os
from pathlib import Path

import numpy as np
import pytest

REPO = Path(__file__).resolve().parents[1]
SHARED_QUICKDRAW = REPO.parent / "shared" / "quickdraw"


@pytest.fixture(scope="session")
def shared_data():
    """Rows of a real QuickDraw file from the offline mirror beside the repository.

    CI always has the mirror, so there a missing folder is a failure, never a silent skip.
    """
    if not SHARED_QUICKDRAW.is_dir():
        message = f"real QuickDraw bitmaps expected in {SHARED_QUICKDRAW}"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)

    def rows(name: str) -> np.ndarray:
        return np.load(SHARED_QUICKDRAW / f"{name}.npy", mmap_mode="r")

    return rows
