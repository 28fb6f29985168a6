"""A detector trained on canvases spliced from two cached pattern banks of one (set, seed), without training PatchDiff.

`generation.canvas_margin_share` draws part of each denoiser's canvases inside `canvas_margin` and the rest without.
Both halves already exist in the benchmark's caches (the default bank, margin 0, and the `cmargin16` bank), made by
the same PatchDiff (same seed and settings), so this measures the mixed bank in minutes instead of retraining
PatchDiff per set: for each denoiser's share of canvases, its first `--share` part comes from the margin bank and
the rest from the default bank, as GRAD.generate_bank orders them. The canvases themselves are other draws than a
fresh run would make. Detector, calibration, evaluation and the JSON written are those of scripts/bench_accuracy.py.

    python scripts/mix_banks.py --sets visa/capsules --seeds 0 --tag cmix-offb --share 0.5
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_accuracy import good_images, grad_result, load_set, record, save_result  # noqa: E402

from gradad import modelfile  # noqa: E402
from gradad.config import GRADConfig, profile  # noqa: E402
from gradad.detector.train import PatternBank  # noqa: E402
from gradad.patchdiff import PatchDiff  # noqa: E402
from gradad.pipeline import GRAD  # noqa: E402
from gradad.preprocess import to_tensor  # noqa: E402
from gradad.workflow import read_images  # noqa: E402

OUT = Path(__file__).resolve().parents[1] / "runs" / "bench_accuracy"
COMMAND = "python scripts/mix_banks.py " + " ".join(sys.argv[1:])


def load_bank(folder: Path) -> tuple[GRADConfig, dict, dict, dict, list[torch.Tensor]]:
    """A cached generator: its settings, meta, PatchDiff weights, bank tensors, and its canvases cut into one block
    per denoiser (snapshots in order, then the final one), as GRAD.generate_bank drew them."""
    path = folder / "generator" if (folder / "generator").is_dir() else folder
    meta, weights, bank = modelfile.load(path, with_bank=True)
    made = GRADConfig.from_dict(meta["key"])
    canvases = bank["canvases"].float()
    n = len(made.generation.snapshots) + 1
    share = len(canvases) // n
    return made, meta, weights, bank, [canvases[i * share:(i + 1) * share] for i in range(n)]


def pending(name: str, seed: int, tag: str) -> tuple[Path, Path] | None:
    """The run folder of (set, seed) and the model path of variant grad-difference-<tag> in it, or None when that
    variant is already recorded (an interrupted run continues)."""
    folder = OUT / name.replace("/", "__") / f"seed{seed}"
    target = folder / f"grad-difference-{tag}.model"
    return None if record(folder, target.stem).exists() else (folder, target)


def fit_and_record(model: GRAD, x: torch.Tensor, val: list, data, groups, name: str, seed: int, target: Path,
                   bank_record: dict, overrides: dict, command: str) -> None:
    """Train the detector on `model.bank`, calibrate, evaluate, save the model as `target` (<variant>.model in the
    run folder) and its record as scripts/bench_accuracy.py records a variant; shared by the scripts that build a
    bank from a cache."""
    model.fit_detector(x, val)
    result = grad_result(model, data, groups, val, good_images(data), seed, bank_record)
    save_result(target.parent, result | {"set": name, "seed": seed, "variant": target.stem, "num_test": len(data.test),
                                         "overrides": overrides}, command)
    model.save(target, with_bank=False)


def bank_cli(doc: str, *options: tuple[tuple, dict]) -> tuple[argparse.Namespace, dict]:
    """The command line these scripts share (--sets, --seeds, --tag, --set) plus their own `options`
    ((flags...), kwargs); returns the arguments and the parsed --set overrides."""
    p = argparse.ArgumentParser(description=doc.splitlines()[0])
    p.add_argument("--sets", nargs="+", required=True)
    p.add_argument("--seeds", nargs="+", type=int, default=[0])
    p.add_argument("--tag", required=True)
    for flags, kwargs in options:
        p.add_argument(*flags, **kwargs)
    p.add_argument("--set", nargs="*", default=[], metavar="KEY=VALUE", help="config overrides (JSON values)")
    a = p.parse_args()
    return a, {k: json.loads(v) for k, v in (s.split("=", 1) for s in a.set)}


def mixed_canvases(default: list[torch.Tensor], margin: list[torch.Tensor], share: float,
                   snapshots: tuple[float, ...], default_snapshots: tuple[float, ...]) -> torch.Tensor:
    """Per denoiser of `snapshots` (and the final one): its first `share` from the margin bank, the rest from the
    default bank (whose snapshots may include more: blocks are matched by snapshot fraction)."""
    blocks = []
    for k, frac in enumerate([*snapshots, None]):
        d = default[-1] if frac is None else default[list(default_snapshots).index(frac)]
        m = margin[k]
        split = round(share * len(m))
        blocks += [m[:split], d[split:len(m)]]
    return torch.cat(blocks)


def run(name: str, seed: int, tag: str, share: float, margin_cache: str, overrides: dict) -> None:
    if not (todo := pending(name, seed, tag)):
        return
    folder, target = todo
    made, meta, weights, bank, default = load_bank(folder)
    made_m, _, weights_m, _, margin = load_bank(folder / margin_cache)
    same_patchdiff = all(torch.equal(weights[k], weights_m[k]) for k in weights)
    data, groups = load_set(name, OUT)
    # one detector on one bank (these experiments predate generation.banks)
    cfg = profile("cpu").replace(seed=seed, **{"generation.canvas_margin": made_m.generation.canvas_margin,
                                                "generation.canvas_margin_share": share, "generation.banks": 1,
                                                **overrides})
    train, val = read_images(data.train), read_images(data.val)
    x = to_tensor(train, cfg.image_size)
    model = GRAD(cfg)
    model.patchdiff = PatchDiff(cfg.patchdiff, model.device)
    model.patchdiff.load_state_dict(weights)
    canvases = mixed_canvases(default, margin, share, cfg.generation.snapshots, made.generation.snapshots)
    model.bank = PatternBank(canvases, bank["renoised"].float())
    model.info.update(meta["info"])
    model.info["timings_s"] = {}
    bank_record = {"snapshots": list(cfg.generation.snapshots), "canvases": len(canvases),
                   "spliced_from": [str((folder / "generator").relative_to(OUT)), str((folder / margin_cache).relative_to(OUT))],
                   "margin_share": share, "same_patchdiff": same_patchdiff}
    fit_and_record(model, x, val, data, groups, name, seed, target, bank_record,
                   {"generation.canvas_margin": cfg.generation.canvas_margin,
                    "generation.canvas_margin_share": share, **overrides}, COMMAND)


def main() -> None:
    a, overrides = bank_cli(__doc__, (("--share",), {"type": float, "default": 0.5,
                                                      "help": "fraction of each denoiser's canvases from the margin bank"}),
                            (("--margin-cache",), {"default": "cache-cmargin16",
                                                   "help": "the margin bank's cache folder in each seed folder"}))
    for name in a.sets:
        for seed in a.seeds:
            run(name, seed, a.tag, a.share, a.margin_cache, overrides)


if __name__ == "__main__":
    main()
