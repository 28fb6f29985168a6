"""Offline score ablations on the saved default models: could a second, prior-less score help the detector's?

For each `grad-difference.model` kept by `bench_accuracy.py --save-models`, image AUROC of:
- grad:           the detector's score (the product's: the smoothed map's maximum);
- grad-top1%:     the mean of the map's top 1 % pixels instead of its maximum (`detector.score=topk`);
- meanstd:        the per-pixel mean/std baseline;
- grad+meanstd:   both scores standardised on the validation normals, summed;
- density:        Mahalanobis distance of the detector's hidden features (head, 64-d) to a Gaussian fitted on the
                  training normals' cells: a one-class score in the detector's own feature space;
- grad+density:   both standardised on the validation normals, summed.
Nothing is trained; minutes on one thread. Never run by tests.

    python scripts/ablate_scores.py --sets mvtec_ad/bottle visa/capsules
"""
from __future__ import annotations

import argparse
import datetime
import json
import sys
from pathlib import Path

import numpy as np
import torch
from sklearn.metrics import roc_auc_score

sys.path.insert(0, str(Path(__file__).resolve().parent))
from baselines import MeanStd  # noqa: E402
from bench_accuracy import load_set  # noqa: E402

from gradad.detector.postprocess import AnomalyMap  # noqa: E402
from gradad.pipeline import GRAD  # noqa: E402
from gradad.preprocess import to_tensor  # noqa: E402
from gradad.workflow import read_images  # noqa: E402

REPO = Path(__file__).resolve().parents[1]


@torch.inference_mode()
def hidden_and_logits(net, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """The detector's 64-d hidden features per cell (caught at the head's ReLU) and its logits, in batches."""
    hs, zs = [], []
    hook = net.head[1].register_forward_hook(lambda module, inputs, output: hs.append(output.clone()))
    try:
        for i in range(0, len(x), 32):
            zs.append(net(x[i:i + 32]))
    finally:
        hook.remove()
    return torch.cat(hs), torch.cat(zs)


def standardise(s: np.ndarray, val: np.ndarray) -> np.ndarray:
    return (s - val.mean()) / (val.std() + 1e-6)


def ablate(name: str, folder: Path) -> dict:
    data, _ = load_set(name, folder.parents[1])
    model = GRAD.load(folder / "grad-difference.model", device="cpu")
    net, size = model.detector.eval(), model.config.image_size
    post = AnomalyMap(size, model.config.detector.smoothing_sigma, model.config.detector.score)
    post_topk = AnomalyMap(size, model.config.detector.smoothing_sigma, "topk", 0.01)
    train_img, val_img, test_img = (read_images(d) for d in (data.train, data.val, data.test))
    tr, va, te = (to_tensor(d, size) for d in (train_img, val_img, test_img))
    y = np.array([s.label for s in data.test])

    h_tr, _ = hidden_and_logits(net, tr)
    v = h_tr.permute(0, 2, 3, 1).reshape(-1, h_tr.shape[1]).double()
    mu, cov = v.mean(0), torch.cov(v.T)
    precision = torch.linalg.inv(cov + 0.01 * cov.diag().mean() * torch.eye(len(cov), dtype=cov.dtype)).float()

    def scores(x):
        h, z = hidden_and_logits(net, x)
        q = h.permute(0, 2, 3, 1) - mu.float()
        d = ((q @ precision) * q).sum(-1).clamp_min(0).sqrt()[:, None]
        return post(z)[1].numpy(), post(d)[1].numpy(), post_topk(z)[1].numpy()

    (g_va, d_va, _), (g_te, d_te, k_te) = scores(va), scores(te)
    ms = MeanStd(size).fit(train_img)
    m_va, m_te = np.array(ms.predict(val_img)[0]), np.array(ms.predict(test_img)[0])
    auroc = {
        "grad": roc_auc_score(y, g_te),
        "grad-top1%": roc_auc_score(y, k_te),
        "meanstd": roc_auc_score(y, m_te),
        "grad+meanstd": roc_auc_score(y, standardise(g_te, g_va) + standardise(m_te, m_va)),
        "density": roc_auc_score(y, d_te),
        "grad+density": roc_auc_score(y, standardise(g_te, g_va) + standardise(d_te, d_va)),
    }
    return {"set": name, "num_val": len(val_img), "image_auroc": auroc}


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--sets", nargs="+", required=True)
    p.add_argument("--runs", type=Path, default=REPO / "runs" / "bench_accuracy")
    p.add_argument("--out", type=Path, default=REPO / "runs" / "ablate_scores.json")
    a = p.parse_args()
    torch.set_num_threads(1)
    rows = []
    for name in a.sets:
        folder = a.runs / name.replace("/", "__") / "seed0"
        if not (folder / "grad-difference.model").exists():
            print(f"skip {name}: no saved default model in {folder}", flush=True)
            continue
        rows.append(ablate(name, folder))
        print(name, {k: round(v, 3) for k, v in rows[-1]["image_auroc"].items()}, flush=True)
    a.out.write_text(json.dumps({"date": str(datetime.date.today()), "command": "python scripts/ablate_scores.py "
                                 + " ".join(sys.argv[1:]), "rows": rows}, indent=1))
    keys = list(rows[0]["image_auroc"]) if rows else []
    print("\n| set | " + " | ".join(keys) + " |\n|---|" + "---|" * len(keys))
    for r in rows:
        print(f"| {r['set']} | " + " | ".join(f"{r['image_auroc'][k]:.3f}" for k in keys) + " |")


if __name__ == "__main__":
    main()
