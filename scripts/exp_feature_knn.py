"""Offline experiment on saved models: score test images by the distance of each detector cell's features to the
nearest feature of the training images (a memory bank of the detector's own features, learnt from scratch; no
pretrained network), alone and added to the product's logit map. Nothing is trained. Never run by tests.

    python scripts/exp_feature_knn.py --sets magnetic_tile/tile visa/capsules --variant grad-difference-re22

Columns: the product's score (logit map maximum); the kNN map maximum for features taken at the head's input
("cat", 4w channels) and at its hidden layer ("hid", 2w channels); and each kNN map added to the logit map after
both are divided by the spread of their maxima on the validation images ("+"). Every map is upsampled and
smoothed like the product's (AnomalyMap).
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from sklearn.metrics import roc_auc_score

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_accuracy import saved_models  # noqa: E402

from gradad.detector.network import Ensemble  # noqa: E402
from gradad.detector.postprocess import AnomalyMap  # noqa: E402
from gradad.preprocess import to_tensor  # noqa: E402
from gradad.workflow import read_images  # noqa: E402

REPO = Path(__file__).resolve().parents[1]


@torch.inference_mode()
def features(det, x: torch.Tensor) -> dict[str, torch.Tensor]:
    """(N, C, h, w) features of one Detector, caught by hooks on its own forward pass: the head's input (local path
    first, then context), its hidden layer, and the logits."""
    got = {}
    hooks = [det.head.register_forward_hook(lambda m, i, o: got.update(cat=i[0])),
             det.head[1].register_forward_hook(lambda m, i, o: got.update(hid=o.clone()))]
    try:
        logit = det(x)
    finally:
        for h in hooks:
            h.remove()
    return {"loc": got["cat"][:, :det.head[0].in_channels // 2], "cat": got["cat"], "hid": got["hid"], "logit": logit}


def batched(det, x: torch.Tensor, bs: int = 32) -> dict[str, torch.Tensor]:
    parts = [features(det, x[i:i + bs]) for i in range(0, len(x), bs)]
    return {k: torch.cat([p[k] for p in parts]) for k in parts[0]}


def knn_grid(bank: torch.Tensor, q: torch.Tensor, chunk: int = 8) -> torch.Tensor:
    """(N, C, h, w) queries against a (M, C) bank -> (N, 1, h, w) nearest-neighbour distances."""
    n, c, h, w = q.shape
    out = []
    for i in range(0, n, chunk):
        qq = q[i:i + chunk].permute(0, 2, 3, 1).reshape(-1, c)
        out.append(torch.cdist(qq, bank).amin(1).view(-1, 1, h, w))
    return torch.cat(out)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--sets", nargs="+", required=True)
    p.add_argument("--variant", default="grad-difference")
    p.add_argument("--runs", type=Path, default=REPO / "runs" / "bench_accuracy")
    p.add_argument("--bank", type=int, default=20000, help="memory bank size (random subsample of training cells)")
    a = p.parse_args()
    torch.set_num_threads(1)
    torch.manual_seed(0)
    kinds = ("loc", "cat", "hid")
    cols = (["product"] + [f"knn-{k}" for k in kinds] + [f"logit+{k}" for k in kinds]
            + [f"map logit+{k}" for k in kinds])
    print("| set | " + " | ".join(cols) + " |\n|---|" + "---|" * len(cols))
    for name, data, model in saved_models(a.sets, a.variant, a.runs):
        size = model.config.image_size
        post = AnomalyMap(size, model.config.detector.smoothing_sigma)
        members = list(model.detector.members) if isinstance(model.detector, Ensemble) else [model.detector]
        test = read_images(data.test)
        tr, va = (to_tensor(read_images(s), size) for s in (data.train, data.val))
        te = to_tensor(test, size)
        y = np.array([s.label for s in data.test])
        maps: dict[str, list] = {k: [] for k in ("logit", *kinds)}
        val_maps: dict[str, list] = {k: [] for k in maps}
        for det in members:
            ftr, fva, fte = batched(det, tr), batched(det, va), batched(det, te)
            for k in kinds:
                flat = ftr[k].permute(0, 2, 3, 1).reshape(-1, ftr[k].shape[1])
                bank = flat[torch.randperm(len(flat))[:a.bank]]
                maps[k].append(knn_grid(bank, fte[k]))
                val_maps[k].append(knn_grid(bank, fva[k]))
            maps["logit"].append(fte["logit"])
            val_maps["logit"].append(fva["logit"])
        score, vscore, grid, vgrid = {}, {}, {}, {}
        for k in maps:
            grid[k], vgrid[k] = torch.stack(maps[k]).mean(0), torch.stack(val_maps[k]).mean(0)
            score[k] = post(grid[k])[1].numpy()
            vscore[k] = post(vgrid[k])[1].numpy()
        product = np.array([r.score for r in model.predict(test)])
        z = {k: (score[k] - vscore[k].mean()) / (vscore[k].std() + 1e-8) for k in score}
        sd = {k: vscore[k].std() + 1e-8 for k in score}
        # one map: each grid divided by the spread of its validation maxima, summed, then smoothed and scored
        joint = [post(grid["logit"] / sd["logit"] + grid[k] / sd[k])[1].numpy() for k in kinds]
        row = [product, *(score[k] for k in kinds), *(z["logit"] + z[k] for k in kinds), *joint]
        print(f"| {name} | " + " | ".join(f"{roc_auc_score(y, s):.3f}" for s in row) + " |", flush=True)


if __name__ == "__main__":
    main()
