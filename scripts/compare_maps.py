"""Anomaly maps of saved benchmark models side by side, on the test images of one defect type, as one PNG.

Each row: the image, its ground-truth mask, then each model's map (blue = at or below the median of its good test
images' map maxima, red = at the 90th percentile of its maxima on this defect type). Prints each model's scores.
Used in session 14 to see which dents the colour-matched demo detector misses (BENCHMARKS.md).

    python scripts/compare_maps.py demo deformation grad-difference-banks1-match0 grad-difference-banks1 --out maps.png
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np
from PIL import Image

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_accuracy import REPO, load_set  # noqa: E402

from gradad.data.images import read_mask  # noqa: E402
from gradad.pipeline import GRAD  # noqa: E402
from gradad.workflow import read_images  # noqa: E402

CELL = 128


def colour(a: np.ndarray, lo: float, hi: float) -> np.ndarray:
    v = np.asarray(Image.fromarray((np.clip((a - lo) / max(hi - lo, 1e-9), 0, 1) * 255).astype(np.uint8)).resize((CELL, CELL)))
    return np.stack([v, v // 3, 255 - v], -1).astype(np.uint8)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("set")
    p.add_argument("defect_type")
    p.add_argument("variants", nargs="+", help="saved models under --models/<set>/seed<seed>/<variant>.model")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--models", type=Path, default=REPO / "runs" / "bench_accuracy")
    p.add_argument("--out", type=Path, default=Path("maps.png"))
    a = p.parse_args()
    data, _ = load_set(a.set, a.models)
    good = [s for s in data.test if s.defect_type == "good"]
    bad = [s for s in data.test if s.defect_type == a.defect_type]
    if not bad:
        sys.exit(f"no test images of type {a.defect_type!r} in {a.set}")
    good_images, bad_images = read_images(good), read_images(bad)
    columns = []
    for v in a.variants:
        model = GRAD.load(a.models / a.set.replace("/", "__") / f"seed{a.seed}" / f"{v}.model")
        pg, pb = model.predict(good_images), model.predict(bad_images)
        print(v, "good:", np.round([q.score for q in pg], 2), f"\n  {a.defect_type}:", np.round([q.score for q in pb], 2))
        lo, hi = np.median([q.anomaly_map.max() for q in pg]), np.quantile([q.anomaly_map.max() for q in pb], 0.9)
        columns.append([colour(q.anomaly_map, lo, hi) for q in pb])
    rows = []
    for i, (s, im) in enumerate(zip(bad, bad_images)):
        m = read_mask(s, im.shape)  # polarity handled (PIPED marks defects with 0); None: published without one
        mask = np.asarray(Image.fromarray(np.zeros(im.shape[:2], np.uint8) if m is None else m.astype(np.uint8) * 255)
                          .resize((CELL, CELL)))
        rows.append(np.concatenate([np.asarray(Image.fromarray(im).resize((CELL, CELL))), np.stack([mask] * 3, -1)]
                                   + [c[i] for c in columns], 1))
    Image.fromarray(np.concatenate(rows, 0)).save(a.out)
    print("wrote", a.out)


if __name__ == "__main__":
    main()
