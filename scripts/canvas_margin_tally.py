"""Image AUROC per set (mean over seeds; fp = highest re-checked validation fingerprint): the default
(grad-difference-offb) against canvas margin 16 + border offset and both baselines, from runs/bench_accuracy."""
import collections
from pathlib import Path

import numpy as np

from bench_accuracy import results  # the benchmark's own reader of its cached results

VARIANTS = ["meanstd", "cutpaste-offb", "grad-difference-offb", "grad-difference-cmargin16-offb"]
rows = collections.defaultdict(lambda: collections.defaultdict(list))
for r in results(Path(__file__).resolve().parents[1] / "runs" / "bench_accuracy"):
    rows[r["set"]][r["variant"]].append(r)
print(f"{'set':22s} " + " ".join(f"{v[:26]:>26s}" for v in VARIANTS))
for s in sorted(rows):
    cells = []
    for v in VARIANTS:
        rs = sorted(rows[s].get(v, []), key=lambda r: r["seed"])
        cells.append(" - " if not rs else f"{np.mean([r['image_auroc'] for r in rs]):.3f} "
                     f"fp{max(r.get('fingerprint_val') or 0 for r in rs):.2f} s{''.join(str(r['seed']) for r in rs)}")
    print(f"{s:22s} " + " ".join(f"{c:>26s}" for c in cells))
