"""Shared test fixtures: the real data sets beside the repository, and tiny images written on the fly."""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

SHARED_DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data"


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """../shared/data (real photographs, never copied into the repository); skip when this checkout lacks it."""
    if not SHARED_DATA.is_dir():
        pytest.skip(f"real data sets not found at {SHARED_DATA} (expected ../shared/data beside the repository)")
    return SHARED_DATA


def write_image(path: Path, array: np.ndarray | None = None, size: tuple[int, int] = (8, 8), seed: int = 0) -> Path:
    """Write `array` (or random RGB noise of HxW `size`) as an image file, creating folders."""
    if array is None:
        array = np.random.default_rng(seed).integers(0, 256, (*size, 3), dtype=np.uint8)
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(array).save(path)
    return path


def write_mask(path: Path, size: tuple[int, int] = (8, 8), value: int = 255,
               box: tuple[int, int, int, int] = (2, 2, 5, 5)) -> Path:
    """A uint8 mask of HxW `size`, `value` inside the box (top, left, bottom, right), 0 elsewhere."""
    mask = np.zeros(size, dtype=np.uint8)
    top, left, bottom, right = box
    mask[top:bottom, left:right] = value
    return write_image(path, mask)


TINY_CONFIG = {"image_size": 64, "patchdiff.steps": 3, "patchdiff.channels": 16, "patchdiff.sample_steps": 3,
               "generation.canvases": 2, "detector.steps": 3, "detector.width": 8, "detector.batch_size": 4}


@dataclass
class TinyRun:
    run: Path  # the run folder `train_category` wrote (model in run/model)
    data: "CategoryData"  # the small demo set it was trained on: 8 train, 4 validation, 13 test images
    model: "GRAD"


@pytest.fixture(scope="session")
def tiny_run(tmp_path_factory) -> TinyRun:
    """One tiny GRAD model per test session (seconds to fit, meaningless scores), trained on a 64-px demo set:
    for tests of what surrounds the model (thresholds, prediction runs, files), not of its accuracy."""
    from gradad.config import profile
    from gradad.data import load_category
    from gradad.data.demo import write_demo
    from gradad.workflow import train_category

    root = tmp_path_factory.mktemp("tiny_run")
    data = load_category(write_demo(root / "data", size=64, n_train=12, n_test_good=4, n_per_type=1))
    model = train_category(data, profile("cpu").replace(**TINY_CONFIG), root / "run")
    return TinyRun(root / "run", data, model)
