"""The miniature end-to-end test (tests/test_grad_learns.py) at another seed: `python scripts/mini_seeds.py SEED`
prints seed, image AUROC, structural AUROC and the fingerprint check, to see how wide the miniature spreads."""
import sys
import tempfile
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
from test_grad_learns import train_mini  # noqa: E402

if __name__ == "__main__":
    torch.set_num_threads(1)  # as the test runs it
    seed = int(sys.argv[1])
    with tempfile.TemporaryDirectory() as tmp:
        model, r = train_mini(Path(tmp), seed)
    print(seed, round(r["image_auroc"], 3), round(r["auroc_structural"], 3), model.info["fingerprint_auroc"])
