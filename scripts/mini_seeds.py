"""The miniature end-to-end test (tests/test_grad_learns.py) at other seeds: `python scripts/mini_seeds.py SEED...`
prints, per seed, image / pixel / logical / structural AUROC, the model's own fingerprint check (6 validation
images) and the test's held-out one (58 fresh normals), to see how wide the miniature spreads. Extra settings as
JSON in $MINI_EXTRA (e.g. '{"detector.whole_renoised": 0.0}')."""
import json
import os
import sys
import tempfile
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
import test_grad_learns  # noqa: E402

if __name__ == "__main__":
    torch.set_num_threads(1)  # as the test runs it
    test_grad_learns.MINI.update(json.loads(os.environ.get("MINI_EXTRA", "{}")))
    for seed in map(int, sys.argv[1:]):
        with tempfile.TemporaryDirectory() as tmp:
            model, r = test_grad_learns.train_mini(Path(tmp), seed)
            held_out = test_grad_learns.held_out_fingerprint(model, Path(tmp))
        print(seed, *(round(r[k], 3) for k in ("image_auroc", "pixel_auroc", "auroc_logical", "auroc_structural")),
              round(model.info["fingerprint_auroc"], 3), round(held_out, 3), flush=True)
