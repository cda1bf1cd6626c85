import os
import shutil
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SHARED_DATA = Path(
    os.environ.get("BRAINNET_SHARED_DATA", Path(__file__).resolve().parents[2] / "shared" / "data")
)


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """The real public data beside the repository; skips the test when absent."""
    if not SHARED_DATA.is_dir():
        pytest.skip(f"shared data not found at {SHARED_DATA}")
    return SHARED_DATA


@pytest.fixture(scope="session")
def embedded_small(tmp_path_factory):
    """A small embedded stimulus set (2 images per category, 64 px)."""
    from brainnet.stimuli import build_stimuli

    out = tmp_path_factory.mktemp("embedded")
    return build_stimuli("embedded", out / "images", n_per_category=2, image_size=64)


@pytest.fixture(scope="session")
def copy_workflow():
    """A function that copies the workflow (Snakefile, config/, workflow/) into a folder."""

    def copy(workdir: Path) -> Path:
        shutil.copy(ROOT / "Snakefile", workdir)
        for folder in ("config", "workflow"):
            shutil.copytree(ROOT / folder, workdir / folder)
        return workdir

    return copy
