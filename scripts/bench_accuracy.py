"""Accuracy benchmark: GRAD (cpu profile, reweighting variants) and baselines on the shared real data sets.

Each (set, seed) trains PatchDiff and the pattern bank once, then one detector per reweighting method, all
through the product's own code path (GRAD.fit_generator / fit_detector, evaluate_category). Generators and models
are cached under --out (runs/, not tracked); each result is a JSON record under --records (benchmarks/accuracy/,
tracked, so the tables survive a fresh checkout), which also lets an interrupted run continue. The marked section
of BENCHMARKS.md is then regenerated from every record. Never run by tests.

    python scripts/bench_accuracy.py --sets mvtec_ad/bottle magnetic_tile/tile --seeds 0 1
"""
from __future__ import annotations

import argparse
import datetime
import json
import platform
import sys
import time
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
from baselines import MeanStd, cutpaste_model  # noqa: E402

from gradad.config import profile  # noqa: E402
from gradad.data import load_category  # noqa: E402
from gradad.detector.network import Ensemble  # noqa: E402
from gradad.evaluation import evaluate_category  # noqa: E402
from gradad.pipeline import GRAD, bank_generator  # noqa: E402
from gradad.preprocess import to_tensor  # noqa: E402
from gradad.reweighting import METHODS  # noqa: E402
from gradad.workflow import predict_samples, read_images  # noqa: E402

REPO = Path(__file__).resolve().parents[1]
SHARED = REPO.parent / "shared" / "data"
START, END = "<!-- accuracy:start -->", "<!-- accuracy:end -->"
COMMAND = "python scripts/bench_accuracy.py " + " ".join(sys.argv[1:])
KEYS = ("image_auroc", "pixel_auroc", "au_pro", "image_f1_max", "auroc_logical", "auroc_structural")
DEMO = "demo"  # the built-in synthetic set, written under --out; its defect types are grouped logical/structural
RECORDS = REPO / "benchmarks" / "accuracy"  # tracked JSON records, one per (set, seed, variant); --records


def record(folder: Path, variant: str) -> Path:
    """The JSON record of `variant` for the (set, seed) whose run folder is `folder` (<out>/<set>/seed<k>)."""
    return RECORDS / folder.parent.name / folder.name / f"{variant}.json"


def load_set(name: str, out: Path):
    if name != DEMO:
        return load_category(SHARED / name), None
    import fcntl
    import hashlib

    import gradad.data.demo as demo

    # written once per version of the demo's code and reused: benchmark processes running side by side must not
    # rewrite the folder another is reading (a rewrite replaces it whole, so a reader could see it half-written)
    key = hashlib.sha256(Path(demo.__file__).read_bytes()).hexdigest()[:10]
    root = out / f"demo_data-{key}"
    out.mkdir(parents=True, exist_ok=True)
    with open(out / "demo_data.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        folder = root / demo.DEMO_CATEGORY
        if not (folder / "README.md").is_file():
            folder = demo.write_demo(root)
    return load_category(folder), demo.DEFECT_GROUPS


def saved_models(sets: list[str], variant: str, out: Path):
    """(set name, its data, the saved model `variant` of seed 0) for each set that has one (--save-models), for the
    offline experiments on saved models; a set without it is skipped with a line on stderr."""
    for name in sets:
        path = out / name.replace("/", "__") / "seed0" / f"{variant}.model"
        if not path.exists():
            print(f"skip {name}: no {path}", file=sys.stderr)
            continue
        yield name, load_set(name, out)[0], GRAD.load(path, device="cpu")


def metrics(data, groups, scores, maps) -> dict:
    """The recorded metrics of one method's test-set scores and maps (evaluate_category)."""
    r = evaluate_category(data, scores, maps, type_groups=groups)
    return {k: r.get(k) for k in KEYS} | {"per_type_auroc": r["per_type_auroc"]}


def grad_result(model: GRAD, data, groups, val: list, good: list, seed: int, bank: dict) -> dict:
    """What the benchmark records of a trained and calibrated GRAD: test metrics, fingerprint checks, phase
    timings, inference time, and the `bank` it was trained against."""
    preds, ms = predict_samples(model, data.test)
    return metrics(data, groups, [p.score for p in preds], [p.anomaly_map for p in preds]) | {
        "fingerprint_auroc": model.info["fingerprint_auroc"], "timings_s": model.info["timings_s"],
        # absent from models made before session 14 (and from averages assembled from them)
        "detector_retries": model.info.get("detector_retries"), "detector_failed": model.info.get("detector_failed"),
        "inference_ms_per_image": ms, "bank": bank} | fingerprints(model, val, good, seed)


# the machine of the records made before they named theirs (sessions 2-17, 2026-11-30 to 2026-12-01)
OLD_CPU = "Intel(R) Xeon(R) Processor"


def this_cpu() -> str:
    return next((l.split(":", 1)[1].strip() for l in open("/proc/cpuinfo") if l.startswith("model name")),
                platform.processor())


def save_result(folder: Path, result: dict, command: str) -> None:
    """Write one variant's record (`result` names its set, seed and variant) as <variant>.json, stamped with the
    command, torch threads and date, and print it."""
    result |= {"command": command, "torch_threads": torch.get_num_threads(), "date": str(datetime.date.today()),
               "cpu": this_cpu()}
    path = record(folder, result["variant"])
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(result, indent=1))
    print(result["set"], result["seed"], result["variant"],
          {k: round(v, 3) for k, v in result.items() if isinstance(v, float)}, flush=True)


def run_set(name: str, seed: int, methods: list[str], out: Path, overrides: dict, tag: str = "",
            save_models: bool = False, skip_snapshots: int = 0, tag_cutpaste: bool = False, draws: int = 1,
            cutpaste_banks: int = 1) -> None:
    data, groups = load_set(name, out)

    cfg = profile("cpu").replace(seed=seed, **overrides)
    folder = out / name.replace("/", "__") / f"seed{seed}"
    folder.mkdir(parents=True, exist_ok=True)
    train, val = read_images(data.train), read_images(data.val)
    test_images = read_images(data.test)

    def save(variant: str, result: dict) -> None:
        save_result(folder, result | {"set": name, "seed": seed, "variant": variant, "num_test": len(data.test),
                                      "overrides": overrides}, COMMAND)

    if not record(folder, "meanstd").exists():
        ms = MeanStd(cfg.image_size).fit(train)
        save("meanstd", metrics(data, groups, *ms.predict(test_images)))
    # the baseline shares the detector's configuration: a detector-level change is measured on it too (--tag-cutpaste);
    # it is one detector (generation.banks=1) unless --cutpaste-banks B asks for the average of B (`cutpaste-banksB`)
    cutpaste = ("cutpaste" + (f"-{tag}" if tag and tag_cutpaste else "")
                + (f"-banks{cutpaste_banks}" if cutpaste_banks > 1 else ""))
    if not record(folder, cutpaste).exists():
        t0 = time.perf_counter()
        m = cutpaste_model(cfg.replace(**{"generation.banks": cutpaste_banks}), train, val)
        preds, _ = predict_samples(m, data.test)
        save(cutpaste, metrics(data, groups, [p.score for p in preds], [p.anomaly_map for p in preds])
             | {"detector_s": time.perf_counter() - t0, "fingerprint_auroc": None,
                "detector_retries": m.info["detector_retries"], "detector_failed": m.info["detector_failed"]})
        if save_models:
            m.save(folder / f"{cutpaste}.model", with_bank=False)

    # draw K > 0: the same PatchDiff's bank drawn again with other noise, a detector trained afresh on it
    variant = {(m, k): f"grad-{m}" + (f"-{tag}" if tag else "") + (f"-draw{k}" if k else "")
               for k in range(draws) for m in methods}
    todo = [key for key, v in variant.items() if not record(folder, v).exists()]
    if not todo:
        return
    if (draws > 1 or cfg.generation.banks > 1) and skip_snapshots:
        sys.exit("--skip-snapshots cuts one bank: use it with --draws 1 and --set generation.banks=1")
    model = GRAD(cfg)
    x = to_tensor(train, cfg.image_size)
    # PatchDiff and the bank are cached per (set, seed) and reused while their settings are unchanged,
    # so detector-only variants (--tag) cost minutes, not the generator's quarter of an hour
    resumed = model._resume(folder, x)  # a cache serves every detector variant; partial samples are drawn again
    # a generator made with other settings never replaces the set's cache: it gets its own, named after the tag
    # (any of the set's caches serves: a variant of a variant reuses the generator its parent trained)
    own = folder / f"cache-{tag or 'untagged'}" if not resumed and (folder / "generator").exists() else folder
    for cache in ([] if resumed else [own, *sorted(folder.glob("cache-*"))]):
        if cache != folder and model._resume(cache, x):
            own, resumed = cache, True
            break
    if skip_snapshots and not resumed:
        # skipping shares of a freshly trained bank would silently drop snapshots of the *current* default
        sys.exit(f"--skip-snapshots needs the cached generator in {folder} made with the same settings; "
                 f"pass the snapshots it was made with, e.g. --set 'generation.snapshots=[0.1,0.25,0.5]'")
    if not resumed:
        model.fit_generator(x)
        model._save_generator(own)
    snapshots = list(cfg.generation.snapshots)
    if skip_snapshots:
        # canvases are drawn in order from the snapshots then the final denoiser, an equal share each: dropping the
        # first shares is the bank that `generation.snapshots` without those snapshots would draw (other samples)
        share = len(model.bank.canvases) // (len(snapshots) + 1)
        model.bank.canvases = model.bank.canvases[skip_snapshots * share:]
        snapshots = snapshots[skip_snapshots:]
    # what the detector was trained against
    bank = {"snapshots": snapshots, "canvases": len(model.bank.canvases), "cache": str(own.relative_to(out))}
    if model.info.get("renoised_redrawn"):
        bank["renoised_redrawn"] = True  # the cache's re-noised copies were made with other settings: drawn again
    if cfg.generation.receptive_fields:
        bank["receptive_fields"] = [model.info["receptive_field"], *model.info["extra_receptive_fields"]]
    gen_times = dict(model.info["timings_s"])
    good = good_images(data, test_images)
    for draw in sorted({k for _, k in todo}):
        timings = dict(gen_times)
        if draw:
            if not model._canvas_nets:
                sys.exit(f"{own}: this generator cache keeps no denoisers to draw its bank again (made before session "
                         f"10); remove it to train a new one")
            t0 = time.perf_counter()
            model.bank.canvases = model.draw_canvases(draw_streams(seed, draw, cfg.generation.banks))
            timings["generation"] = time.perf_counter() - t0
        for method in [m for m, k in todo if k == draw]:
            model.config = cfg.replace(**{"reweight.method": method})
            model.info["timings_s"] = dict(timings)
            model.fit_detector(x, val)
            save(variant[method, draw], grad_result(model, data, groups, val, good, seed, bank | {"draw": draw}))
            if save_models:
                model.save(folder / f"{variant[method, draw]}.model", with_bank=False)


def reevaluate(out: Path, sets: list[str]) -> None:
    """Evaluate every saved model (and mean/std) again with the current evaluation code, keeping everything else
    of its result: for a fix in evaluation or data loading (e.g. mask polarity) without retraining."""
    for path in sorted(RECORDS.glob("*/seed*/*.json")):
        model_dir = out / path.parent.parent.name / path.parent.name / f"{path.stem}.model"
        result = json.loads(path.read_text())
        if result["set"] not in sets or not (path.stem == "meanstd" or model_dir.exists()):
            continue
        data, groups = load_set(result["set"], out)
        if path.stem == "meanstd":
            ms = MeanStd(profile("cpu").replace(**result.get("overrides", {})).image_size).fit(read_images(data.train))
            scores, maps = ms.predict(read_images(data.test))
        else:
            preds, _ = predict_samples(GRAD.load(model_dir), data.test)
            scores, maps = [p.score for p in preds], [p.anomaly_map for p in preds]
        r = evaluate_category(data, scores, maps, type_groups=groups)
        result |= {k: r.get(k) for k in KEYS} | {"per_type_auroc": r["per_type_auroc"], "reevaluated": str(datetime.date.today())}
        path.write_text(json.dumps(result, indent=1))
        print("re-evaluated", path, {k: round(result[k], 3) for k in KEYS if result.get(k) is not None}, flush=True)


CALIBRATION_KEYS = ("detector.offset", "false_alarm_rate")  # settings only GRAD.calibrate depends on


def recalibrate(out: Path, sets: list[str], variants: list[str], tag: str, overrides: dict,
                save_models: bool) -> None:
    """Calibrate saved models of these GRAD variants again with calibration-only settings (CALIBRATION_KEYS) and
    evaluate them as variant `<variant>-<tag>`. The detector is the one a full run with these settings would train
    (calibration runs after it and changes nothing in it), so this trains nothing."""
    if not tag or not overrides or set(overrides) - set(CALIBRATION_KEYS):
        sys.exit(f"--recalibrate needs --tag and --set with calibration settings only: {', '.join(CALIBRATION_KEYS)}")
    for model_dir in sorted(p for v in variants for p in out.glob(f"*/seed*/{v}.model")):
        source = json.loads(record(model_dir.parent, model_dir.stem).read_text())
        target = record(model_dir.parent, f"{model_dir.stem}-{tag}")
        if source["set"] not in sets or target.exists():
            continue
        data, groups = load_set(source["set"], out)
        val = read_images(data.val)
        model = GRAD.load(model_dir)
        model.config = model.config.replace(**overrides)
        model.calibrate(val)
        preds, ms = predict_samples(model, data.test)
        r = evaluate_category(data, [p.score for p in preds], [p.anomaly_map for p in preds], type_groups=groups)
        result = source | {k: r.get(k) for k in KEYS} | {"per_type_auroc": r["per_type_auroc"]} | {
            "variant": target.stem, "recalibrated_from": model_dir.stem, "overrides": source.get("overrides", {}) | overrides,
            "command": COMMAND, "date": str(datetime.date.today()), "fingerprint_auroc": model.info["fingerprint_auroc"],
            "inference_ms_per_image": ms} | fingerprints(model, val, good_images(data), source["seed"])
        target.write_text(json.dumps(result, indent=1))
        if save_models:
            model.save(model_dir.parent / f"{target.stem}.model", with_bank=False)
        print(source["set"], source["seed"], target.stem, {k: round(v, 3) for k, v in result.items() if isinstance(v, float)},
              flush=True)


def assemble(out: Path, sets: list[str], seeds: list[int], banks: int, draws: int, save_models: bool,
             tag: str = "") -> None:
    """Record draw D of the default with `generation.banks=B` (B = `banks`, the default's own count; another count is
    recorded as `grad-difference-banks<B>`) from the saved single detectors of draws D*B ... D*B + B - 1 (SINGLE;
    with `tag` T, those of `--tag T` runs, grad-difference-T[-drawK], recorded as grad-difference-T-avg<B>):
    averaged as such a model averages its members (gradad.detector.network.Ensemble), then calibrated and evaluated as
    a trained model is. The members are those the run would train: the same initial weights and batches, the canvases
    of its banks (draw_streams), except that a single draw 0 trained on a cached float16 bank differs from a fresh
    run's float32 one by that rounding. Phase timings: the members' generation and detector times added up. Trains
    nothing."""
    name_of = (f"{DEFAULT}-{tag}-avg{banks}" if tag else
               DEFAULT if banks == profile("cpu").generation.banks else f"{DEFAULT}-banks{banks}")
    single = f"{DEFAULT}-{tag}" if tag else SINGLE
    todo = [(name, seed, d) for name in sets for seed in seeds for d in range(draws)]
    for name, seed, draw in todo:
        folder = out / name.replace("/", "__") / f"seed{seed}"
        members = [single + (f"-draw{k}" if k else "") for k in range(draw * banks, (draw + 1) * banks)]
        target = name_of + (f"-draw{draw}" if draw else "")
        if record(folder, target).exists() or not all((folder / f"{m}.model").exists() for m in members):
            continue
        data, groups = load_set(name, out)
        val, test = read_images(data.val), read_images(data.test)
        model = average_of(folder, members)
        sources = [json.loads(record(folder, m).read_text()) for m in members]
        timings = dict(sources[0]["timings_s"])
        for phase in ("generation", "detector"):
            timings[phase] = sum(r["timings_s"][phase] for r in sources)
        t0 = time.perf_counter()
        model.calibrate(val)
        timings["calibration"] = time.perf_counter() - t0
        model.info["timings_s"] = timings
        result = grad_result(model, data, groups, val, good_images(data, test), seed,
                             sources[0]["bank"] | {"draw": draw, "banks": banks, "assembled_from": members})
        save_result(folder, result | {"set": name, "seed": seed, "variant": target, "num_test": len(data.test),
                                      "overrides": sources[0]["overrides"] | {"generation.banks": banks}
                                      if name_of != DEFAULT else {}}, COMMAND)
        if save_models:
            model.save(folder / f"{target}.model", with_bank=False)


def average_of(folder: Path, members: list[str]) -> GRAD:
    """The saved single detectors `members` (model names in `folder`) averaged as a model with `generation.banks`
    = len(members) averages its detectors (gradad.detector.network.Ensemble); the first member's everything else.
    Not calibrated."""
    models = [GRAD.load(folder / f"{m}.model") for m in members]
    model = models[0]
    model.config = model.config.replace(**{"generation.banks": len(members)})
    model.detector = Ensemble([m.detector for m in models]).eval()
    return model


def good_images(data, test_images: list | None = None) -> list:
    """The good test images (read from disk unless the whole test set's images are given, in data.test's order)."""
    if test_images is None:
        return read_images([s for s in data.test if s.defect_type == "good"])
    return [im for im, s in zip(test_images, data.test) if s.defect_type == "good"]


def fingerprints(model: GRAD, val: list, good: list, seed: int) -> dict:
    """The fingerprint check measured again, off the training path: on the validation images with today's rule
    (several re-noised draws per image) and on the good test images, a larger held-out sample (benchmark only:
    the product never looks at test images)."""
    g = torch.Generator().manual_seed(seed)
    return {"fingerprint_val": model.fingerprint_check(val, g), "fingerprint_test_good": model.fingerprint_check(good, g),
            "fingerprint_counts": {"val": len(val), "test_good": len(good)}}


def refingerprint(out: Path, sets: list[str], variants: list[str]) -> None:
    """Add `fingerprints` to the results of the saved models of these GRAD variants and sets; trains nothing."""
    for model_dir in sorted(p for v in variants for p in out.glob(f"*/seed*/{v}.model")):
        path = record(model_dir.parent, model_dir.stem)
        result = json.loads(path.read_text())
        if result["set"] not in sets or "fingerprint_test_good" in result:
            continue
        data, _ = load_set(result["set"], out)
        result |= fingerprints(GRAD.load(model_dir), read_images(data.val), good_images(data), result["seed"])
        path.write_text(json.dumps(result, indent=1))
        print("fingerprints", path, result["fingerprint_auroc"], result["fingerprint_val"],
              result["fingerprint_test_good"], flush=True)


def fmt(v) -> str:
    """A table cell: three decimals, "–" for a missing value (None or NaN, the mean of no records)."""
    return "–" if v is None or np.isnan(v) else f"{v:.3f}"


# the default configuration's variant names: a plain run of this script, and the same PatchDiff's banks drawn again
# with other noise (--draws; draw K's canvases from the generators `draw_streams(seed, K, banks)`)
DEFAULT = "grad-difference"
# one detector on one bank (`--tag banks1 --set generation.banks=1`): the default until session 12, whose draws K*B ...
# K*B + B - 1 are the members of the default's draw K (B = the default's banks; --assemble)
SINGLE = "grad-difference-banks1"
# the records made without colour matching (detector.match = 0, the default until session 13) carry this suffix
UNMATCHED = "-match0"
CUTPASTE = "cutpaste"  # the baseline: the same detector and calibration, trained on cut-and-paste negatives


def draw_streams(seed: int, draw: int, banks: int = 1) -> list[torch.Generator]:
    """The random streams of draw K > 0 of the canvas banks (draw 0 is the pipeline's own): the pipeline's streams of
    banks K*banks ... K*banks + banks - 1, so no two draws (nor the pipeline's further banks) share one. With one bank,
    draw K's stream is that of the pipeline's bank K. Shared with scripts/redraw_bank.py."""
    return [bank_generator(seed, draw * banks + k) for k in range(banks)]


def results() -> list[dict]:
    """Every record under RECORDS."""
    return [json.loads(p.read_text()) for p in sorted(RECORDS.glob("*/seed*/*.json"))]


def default_rows(variants: dict[str, list[dict]], base: str = DEFAULT) -> list[dict]:
    """The records of the configuration `base` (by default the default one) in one set: every seed and draw."""
    return [r for v, rs in variants.items() if v == base or v.removeprefix(f"{base}-draw").isdigit() for r in rs]


def by_set(rows: list[dict]) -> dict[str, dict[str, list[dict]]]:
    """The records grouped by set, then by variant."""
    by: dict[str, dict[str, list[dict]]] = {}
    for r in rows:
        by.setdefault(r["set"], {}).setdefault(r["variant"], []).append(r)
    return by


def mean_of(recs: list[dict], key: str) -> float:
    return float(np.mean([r[key] for r in recs if r.get(key) is not None] or [np.nan]))


def means_of(groups: list[list[dict]], key: str = "image_auroc") -> list[str]:
    """The mean of `key` over each group of records, formatted."""
    return [fmt(mean_of(recs, key)) for recs in groups]


def fingerprint_cells(recs: list[dict]) -> str:
    """The fingerprint check's three measures (at training / validation re-checked / good test images), means."""
    return " / ".join(fmt(mean_of(recs, k)) for k in ("fingerprint_auroc", "fingerprint_val", "fingerprint_test_good"))


def spread(recs: list[dict], key: str = "image_auroc") -> str:
    """The mean of `key` over the records, with its range (min-max) when there are several."""
    vals = [r[key] for r in recs]
    return f"{np.mean(vals):.3f}" + (f" ({min(vals):.3f}-{max(vals):.3f})" if len(vals) > 1 else "")


def summary(rows: list[dict]) -> str:
    """One row per set: the default GRAD against both baselines, image AUROC first; GRAD cells are the mean (and
    the range) over every seed and draw of the bank run, so one lucky draw cannot stand for the set."""
    lines = ["| set | seeds | draws | GRAD image AUROC: mean (min-max) | mean/std | cut-and-paste (* = average of 3) | above both? | "
             "GRAD pixel AUROC | mean/std | cut-and-paste | GRAD fingerprint (target <= 0.65): at training / "
             "validation re-checked / good test images |", "|---|---|---|---|---|---|---|---|---|---|---|"]
    for s, variants in sorted(by_set(rows).items()):
        rs = default_rows(variants)
        if not rs:  # a set not yet measured with colour matching: the default before it, marked
            rs, s = default_rows(variants, DEFAULT + UNMATCHED), f"{s} (without colour matching)"
        if not rs:
            continue
        ms, cp = variants.get("meanstd", []), cutpaste_records(variants)
        # compared as printed (3 decimals): a difference in the 4th decimal is no win
        mine, base = round(mean_of(rs, "image_auroc"), 3), [round(mean_of(b, "image_auroc"), 3) for b in (ms, cp)]
        verdict = above_both(mine, base)
        seeds = ",".join(map(str, sorted({r["seed"] for r in rs})))
        star = "*" if cp and cp[0]["variant"] != CUTPASTE else ""
        lines.append(f"| {s} | {seeds} | {len(rs)} | {spread(rs)} | {fmt(mean_of(ms, 'image_auroc'))} | "
                     f"{fmt(mean_of(cp, 'image_auroc'))}{star} | {verdict} | {fmt(mean_of(rs, 'pixel_auroc'))} | "
                     f"{fmt(mean_of(ms, 'pixel_auroc'))} | {fmt(mean_of(cp, 'pixel_auroc'))} | "
                     + fingerprint_cells(rs)
                     + " |")
    return "\n".join(lines)


def variant_table(rows: list[dict], columns: dict[str, str], required: tuple[str, ...],
                  fingerprints: tuple[str, ...] = ("fingerprint_auroc", "fingerprint_val", "fingerprint_test_good")) -> str:
    """Image AUROC per (set, seed) of the variants `columns` names (GRAD cells: "(fp ...)" with the `fingerprints`
    measures), one row per (set, seed) that has at least one of the `required` columns."""
    cells: dict[tuple[str, int], dict[str, str]] = {}
    # a column may gather several variant names (the same measurement made by different scripts)
    names = {v: k for k, vs in columns.items() for v in ((vs,) if isinstance(vs, str) else vs)}
    for r in rows:
        if r["variant"] in names:
            fp = "" if r.get("fingerprint_auroc") is None else " (fp " + "/".join(
                "–" if r.get(k) is None else f"{r[k]:.2f}" for k in fingerprints) + ")"
            cells.setdefault((r["set"], r["seed"]), {})[names[r["variant"]]] = f"{r['image_auroc']:.3f}{fp}"
    lines = ["| set | seed | " + " | ".join(columns) + " |", "|---|---|" + "---|" * len(columns)]
    for (s, seed), c in sorted(cells.items()):
        if any(k in c for k in required):
            lines.append(f"| {s} | {seed} | " + " | ".join(c.get(k, "–") for k in columns) + " |")
    return "\n".join(lines)


def above_both(mine: float, base: list[float]) -> str:
    """Whether `mine` is above every baseline (yes), below any (no) or neither (tie), compared as printed (3 decimals)."""
    return "yes" if all(mine > b for b in base) else "no" if any(mine < b for b in base) else "tie"


def cutpaste_records(variants: dict[str, list[dict]]) -> list[dict]:
    """The cut-and-paste baseline a GRAD model of three averaged detectors is compared with: the average of three
    cut-and-paste detectors where it was measured (--cutpaste-banks 3), else the single one."""
    return variants.get(CUTPASTE + "-banks3") or variants.get(CUTPASTE, [])


def banks_table(rows: list[dict]) -> str:
    """One row per set: single detectors (SINGLE, every draw) against the default's average of one detector per bank."""
    lines = ["| set | one detector: image AUROC, mean (min-max) over draws | the average (default): image AUROC | "
             "gain | mean/std | cut-and-paste | cut-and-paste, average of 3 | above both? (the average where measured) "
             "| pixel AUROC: one / average "
             "| fingerprint of the average (training / validation / good test) | ms / image: one / average |",
             "|---|---|---|---|---|---|---|---|---|---|---|"]
    for s, variants in sorted(by_set(rows).items()):
        one, avg = default_rows(variants, SINGLE), default_rows(variants, DEFAULT)
        if not one or not avg:
            continue
        mine = round(mean_of(avg, "image_auroc"), 3)
        base = [round(mean_of(recs, "image_auroc"), 3) for recs in (variants.get("meanstd", []), cutpaste_records(variants))]
        verdict = above_both(mine, base)
        lines.append(f"| {s} | {spread(one)} ({len(one)}) | {spread(avg)} | "
                     f"{mine - mean_of(one, 'image_auroc'):+.3f} | {fmt(base[0])} | "
                     f"{fmt(mean_of(variants.get(CUTPASTE, []), 'image_auroc'))} | "
                     f"{fmt(mean_of(variants.get(CUTPASTE + '-banks3', []), 'image_auroc'))} | {verdict} | "
                     f"{fmt(mean_of(one, 'pixel_auroc'))} / {fmt(mean_of(avg, 'pixel_auroc'))} | "
                     + fingerprint_cells(avg)
                     + f" | {mean_of(one, 'inference_ms_per_image'):.1f} / {mean_of(avg, 'inference_ms_per_image'):.1f} |")
    return "\n".join(lines)


# the reweighting ablation: each method's single detector on the default configuration's first bank (same PatchDiff),
# with colour matching (the default since session 13) and without (sessions 11-12)
REWEIGHTING = {"uniform": "grad-uniform-banks1", "difference (default)": SINGLE, "belief": "grad-belief-banks1",
               "unmatched: uniform": "grad-uniform-banks1" + UNMATCHED, "unmatched: difference": SINGLE + UNMATCHED,
               "unmatched: belief": "grad-belief-banks1" + UNMATCHED, "mean/std": "meanstd", "cut-and-paste": CUTPASTE}


def reweighting_draws_table(rows: list[dict]) -> str:
    """The reweighting ablation over the draws of the bank (with colour matching), one row per set where a method
    other than the default has more than one draw: image AUROC mean (min-max) and the mean fingerprint checks."""
    methods = {"uniform": "grad-uniform-banks1", "difference (default)": SINGLE, "belief": "grad-belief-banks1"}
    lines = ["| set | " + " | ".join(f"{m}: image AUROC, mean (min-max) (draws)" for m in methods) + " | "
             + " | ".join(f"{m}: fingerprint (training / validation / good test)" for m in methods) + " |",
             "|---|" + "---|" * 2 * len(methods)]
    for s, variants in sorted(by_set(rows).items()):
        recs = {m: default_rows(variants, v) for m, v in methods.items()}
        if max(len(recs["uniform"]), len(recs["belief"])) < 2:
            continue
        lines.append(f"| {s} | " + " | ".join(f"{spread(r)} ({len(r)})" if r else "–" for r in recs.values()) + " | "
                     + " | ".join(fingerprint_cells(r) for r in recs.values()) + " |")
    return "\n".join(lines)


# the canvas margin measured over several draws of the bank from one PatchDiff (scripts/redraw_bank.py); sessions 10-11
# (margin 16 is the default since session 11: the single detectors' draws fill those columns where redraw_bank drew none)
MARGIN_DRAWS = {f"{label}, draw {k}": (f"grad-difference-c24-m{m}-draw{k}-offb",) + (
                    (SINGLE + UNMATCHED + (f"-draw{k}" if k else ""),) if m else ())
                for label, m in (("no margin", 0), ("margin 16", 16)) for k in range(3)}


# a share of 0.5 (`--tag match05 --set generation.banks=1 detector.match=0.5`, session 14): half the pasted regions
# matched, the others keep their own colour; its averages of three by `--assemble 3 --tag match05`
HALF = "grad-difference-match05"


def match_table(rows: list[dict]) -> str:
    """One row per set measured with and without colour matching: single detectors draw by draw (same canvases,
    initial weights and batches; a share of 0.5 draws further random numbers) and the average of three, with the
    share of matched regions (detector.match) 0, 1 (the default) and 0.5 where measured."""
    lines = ["| set | one detector, draws 0 / 1 / 2: share 0 -> 1 (default), 0.5 | mean of the draws: 0 / 1 / 0.5 | "
             "the average of three: 0 / 1 / 0.5 | structural AUROC of the average (demo): 0 / 1 / 0.5 | "
             "pixel AUROC of the average: 0 / 1 / 0.5 | "
             "fingerprint of the average with matching (training / validation / good test) |",
             "|---|---|---|---|---|---|---|"]
    singles, averages = (SINGLE + UNMATCHED, SINGLE, HALF), (DEFAULT + UNMATCHED, DEFAULT, HALF + "-avg3")
    for s, variants in sorted(by_set(rows).items()):
        one, avgs, cells = draw_columns(variants, singles, averages, "{} -> {}, {}")
        if not one[0] or not one[1]:
            continue
        lines.append(f"| {s} | {cells} | {fingerprint_cells(avgs[1])} |")
    return "\n".join(lines)


def draw_columns(variants: dict[str, list[dict]], singles: tuple[str, ...], averages: tuple[str, ...],
                 draw_format: str) -> tuple[list[list[dict]], list[list[dict]], str]:
    """The records of the single detectors `singles` (every draw) and of their averages `averages` in one set, and
    the cells of the tables that set variants against the default draw by draw: image AUROC of draws 0 / 1 / 2 (each
    formatted by `draw_format`), mean of the draws, then the averages' image, structural and pixel AUROC."""
    one = [default_rows(variants, v) for v in singles]
    avgs = [default_rows(variants, v) for v in averages]
    draws = " / ".join(draw_format.format(*means_of([variants.get(v + d, []) for v in singles]))
                       for d in ("", "-draw1", "-draw2"))
    return one, avgs, f"{draws} | " + " | ".join(" / ".join(means_of(recs, key)) for recs, key in (
        (one, "image_auroc"), (avgs, "image_auroc"), (avgs, "auroc_structural"), (avgs, "pixel_auroc")))


# contrastive regions' areas drawn log-uniformly over 2-30 % of the image instead of uniformly over 2-12 % (session 17:
# `--tag logblobs --set generation.banks=1 detector.blob_law="loguniform" detector.blob_area=[0.02,0.3]`; its averages
# of three by `--assemble 3 --tag logblobs`)
LOGBLOBS = "grad-difference-logblobs"
# PatchDiff predicting the velocity instead of the noise (session 18: `--tag vpred --set generation.banks=1
# patchdiff.prediction="v"`, a PatchDiff of its own; its averages of three by `--assemble 3 --tag vpred`)
VPRED = "grad-difference-vpred"
# PatchDiff trained on 64 px crops, 9 a step, instead of 48 px crops, 16 a step (same pixels a step; session 19:
# `--tag crop64 --set generation.banks=1 patchdiff.crop=64 patchdiff.batch_size=9`; averages `--assemble 3 --tag crop64`)
CROP64 = "grad-difference-crop64"
# a 3-level PatchDiff (117 px window; `patchdiff.receptive_field=120`) on 80 px crops, 6 a step (session 19: `--tag
# rf120 --set generation.banks=1 patchdiff.receptive_field=120 patchdiff.crop=80 patchdiff.batch_size=6 --draws 3`)
RF120 = "grad-difference-rf120"
# each pasted canvas region blended at an opacity drawn uniformly in 0.3-1 instead of pasted whole (session 20:
# `--tag op03 --set generation.banks=1 detector.opacity=[0.3,1.0] --draws 3`, an option of commit 81a965f only;
# averages `--assemble 3 --tag op03`)
OPACITY = "grad-difference-op03"
# the fingerprint control re-noised at t 25/50/100 instead of 50/100/200 (session 20: `--tag rt25 --set
# generation.banks=1 generation.renoise_t=[25,50,100] --draws 3`; averages `--assemble 3 --tag rt25`)
RT25 = "grad-difference-rt25"
# the default re-run on the AMD EPYC machine of sessions 18-20 (`--tag amd --set generation.banks=1`, draw 0)
RERUN = "grad-difference-amd"
# 64 SDEdit partial samples (t 300-600) pasted into their own source images, half of each batch (session 20, draw 0:
# `--tag part64 --set generation.banks=1 generation.partials=64`), against the same default re-run
PARTIALS = {"default re-run": RERUN, "64 partials": "grad-difference-part64"}
# the non-negative positive-unlabelled risk with class prior 0.1 / 0.3 (session 19, draw 0; an option of commit
# 45f5e76 only: `--tag pu01 --set generation.banks=1 reweight.pu_prior=0.1`, and pu03), against the default re-run on
# the same PatchDiff and bank (`--tag amd --set generation.banks=1`: the AMD EPYC machine of sessions 18-19)
# the default re-run on a fresh PatchDiff (session 21: runs/ was lost with the earlier checkout; `--tag re21 --set
# generation.banks=1 --draws 3`; averages `--assemble 3 --tag re21`), the control of TEMP2 on the same PatchDiff
RERUN21 = "grad-difference-re21"
# the difference weights raised to the power 2 instead of 1 (session 21: `--tag tw2 --set generation.banks=1
# reweight.temperature=2.0 --draws 3`; averages `--assemble 3 --tag tw2`)
TEMP2 = "grad-difference-tw2"
# no whole re-noised normals (`detector.whole_renoised=0` instead of 0.25: the renoised control regions stay) and blur
# or noise on every training image (`detector.jitter=1` instead of 0.5), session 21, on the PatchDiff of RERUN21
# (`--tag wr0 --set generation.banks=1 detector.whole_renoised=0.0`, `--tag jit1 ... detector.jitter=1.0`, `--draws 3`)
WHOLE0 = "grad-difference-wr0"
JITTER1 = "grad-difference-jit1"
# the default re-run on the PatchDiff trained again in session 22 (`--tag re22 --set generation.banks=1 --draws 3`;
# averages `--assemble 3 --tag re22`), the control of the session 23 detector knobs on the same PatchDiff and banks
RERUN22 = "grad-difference-re22"
# session 23, on the PatchDiff of RERUN22: tag -> (name, override), each run `--tag T --set generation.banks=1
# OVERRIDE --draws 3`, then `--assemble 3 --tag T`, recorded as grad-difference-T; pdc48 trains a PatchDiff of its
# own, so its training luck is part of its figure
SESSION23 = {"w48": ("detector width 48", "detector.width=48"),
             "bl25": ("2-5 regions", "'detector.blobs=[2,5]'"),
             "bl38": ("3-8 regions", "'detector.blobs=[3,8]'"),
             "bl25s": ("2-5 smaller regions", "'detector.blobs=[2,5]' 'detector.blob_area=[0.01,0.06]'"),
             "lr1": ("lr 1e-3", "detector.lr=0.001"),
             "pdc48": ("PatchDiff 48 channels", "patchdiff.channels=48")}
# session 24: the default re-run on freshly trained PatchDiffs of the sets session 23 did not reach (`--tag re24 --set
# generation.banks=1 --draws 3`, averages `--assemble 3 --tag re24`), the control of the SESSION24 variants (same form
# as SESSION23) on the same PatchDiffs
RERUN24 = "grad-difference-re24"
SESSION24 = {"bl25s": SESSION23["bl25s"]}
# session 25: the working resolution 160 px instead of 128 (`--tag s160 --tag-cutpaste --set generation.banks=1
# image_size=160 --draws 3`, a PatchDiff of its own; averages `--assemble 3 --tag s160`), against the recorded
# default at 128 px; the cut-and-paste baseline of the same run is cutpaste-s160
S160 = "grad-difference-s160"
# session 25: the default re-run on a freshly trained demo PatchDiff (`--tag re25 --set generation.banks=1 --draws 3`,
# averages `--assemble 3 --tag re25`), the control of session 21's wr0 (WHOLE0) on the demo, same PatchDiff
RERUN25 = "grad-difference-re25"
SESSION25 = {"wr0": ("no whole re-noised normals", "detector.whole_renoised=0.0")}
# session 27: a second PatchDiff with a 25-px window (a 1-level UNet) drawing a quarter of the canvases beside the main
# one's snapshots (`--tag rf30 --set generation.banks=1 'generation.receptive_fields=[30]' --draws 3`, a PatchDiff of its
# own; averages `--assemble 3 --tag rf30`), against the recorded default
RF30 = "grad-difference-rf30"
# session 28: a share of the colour-matched regions takes its colour from elsewhere in the same image
# (`--tag else05 --set generation.banks=1 detector.match_elsewhere=0.5 --draws 3`, freshly trained PatchDiffs, the
# caches being gone; averages `--assemble 3 --tag else05`; else10 the same with 1.0 on the cached tile PatchDiff),
# against the recorded default
ELSEWHERE = {"else05": ("half the matched regions coloured from elsewhere", "detector.match_elsewhere=0.5"),
             "else10": ("every matched region coloured from elsewhere", "detector.match_elsewhere=1.0")}
PU = {"default re-run": RERUN, "PU, prior 0.1": "grad-difference-pu01", "PU, prior 0.3": "grad-difference-pu03"}


def against_default_table(rows: list[dict], variant: str, name: str, base: str = "", base_name: str = "default") -> str:
    """One row per set where the single-detector `variant` (every draw, and its average of three `variant`-avg3) was
    measured: draw by draw against the default's single detectors (or those of the single-detector variant `base`),
    the means of the draws and the averages."""
    b = base_name
    lines = [f"| set | one detector, draws 0 / 1 / 2: {b} -> {name} | mean of the draws: {b} / {name} | "
             f"the average of three: {b} / {name} | structural AUROC of the average (demo) | "
             f"pixel AUROC of the average | fingerprint of the average, {b}; {name} (training / validation / "
             f"good test) |",
             "|---|---|---|---|---|---|---|"]
    singles, averages = (base, base + "-avg3") if base else (SINGLE, DEFAULT)
    for s, variants in sorted(by_set(rows).items()):
        one, avgs, cells = draw_columns(variants, (singles, variant), (averages, variant + "-avg3"), "{} -> {}")
        if not one[1] or (base and not one[0]):  # a variant measured against another base elsewhere: not this table's
            continue
        lines.append(f"| {s} | {cells} | {fingerprint_cells(avgs[0])}; {fingerprint_cells(avgs[1])} |")
    return "\n".join(lines)


def session_tables(rows: list[dict], session: int, variants: dict[str, tuple[str, str]], base: str = "",
                   base_text: str = "") -> str:
    """One table per variant of a session's `variants` (tag -> (name, override)), each with the commands that made
    it, against the default re-run `base` (`base_text` says which) or, without one, the recorded default."""
    against = f"the default re-run on {base_text}" if base else "the recorded default"
    return "".join(f"Session {session}, {name} (`grad-difference-{t}`: `--tag {t} --set generation.banks=1 {override}`; "
                   f"its averages `--assemble 3 --tag {t}`), against {against}:\n\n"
                   f"{against_default_table(rows, 'grad-difference-' + t, name, base, 're-run' if base else 'default')}\n\n"
                   for t, (name, override) in variants.items())


def margin_draws_ablation(rows: list[dict]) -> str:
    """Image AUROC (GRAD: fingerprint at training / validation re-checked / good test images) per (set, seed)."""
    return variant_table(rows, MARGIN_DRAWS, tuple(k for k in MARGIN_DRAWS if k.startswith("no margin")))


def table(rows: list[dict]) -> str:
    if not rows:
        return "_no results yet_"
    lines = ["| set | variant | seeds | image AUROC | pixel AUROC | AU-PRO | F1-max | logical / structural AUROC | fingerprint AUROC | train min (PatchDiff / generation / detector) | ms / image |",
             "|---|---|---|---|---|---|---|---|---|---|---|"]
    groups: dict[tuple[str, str], list[dict]] = {}
    for r in rows:
        groups.setdefault((r["set"], r["variant"]), []).append(r)
    for (s, v), rs in sorted(groups.items()):
        def agg(key, digits=3):
            vals = [r.get(key) for r in rs if r.get(key) is not None]
            if not vals:
                return "–"
            return f"{np.mean(vals):.{digits}f}" + (f" ± {np.std(vals):.{digits}f}" if len(vals) > 1 else "")
        t = rs[0].get("timings_s") or {}
        times = " / ".join(f"{t[k] / 60:.1f}" if k in t else "–" for k in ("patchdiff", "generation", "detector"))
        lines.append(f"| {s} | {v} | {','.join(str(r['seed']) for r in rs)} | {agg('image_auroc')} | "
                     f"{agg('pixel_auroc')} | {agg('au_pro')} | {agg('image_f1_max')} | "
                     f"{agg('auroc_logical')} / {agg('auroc_structural')} | {agg('fingerprint_auroc')} | {times} | "
                     f"{agg('inference_ms_per_image', 1)} |")
    lines += ["", "Per defect type, image AUROC (mean over seeds):", "",
              "| set | variant | " + "per-type AUROC |", "|---|---|---|"]
    for (s, v), rs in sorted(groups.items()):
        types = sorted({t for r in rs for t in r.get("per_type_auroc", {})})
        cells = ", ".join(f"{t} {np.mean([r['per_type_auroc'][t] for r in rs if t in r['per_type_auroc']]):.3f}" for t in types)
        lines.append(f"| {s} | {v} | {cells} |")
    return "\n".join(lines)


def write_markdown(md: Path, command: str) -> None:
    """Regenerate the marked accuracy section of `md` from every record under RECORDS."""
    rows = results()
    cpus = sorted({r.get("cpu", OLD_CPU) for r in rows}) or [this_cpu()]
    commands = sorted({r.get("command", "?") for r in rows})
    threads = sorted({str(r.get("torch_threads", "?")) for r in rows})
    dates = sorted({r.get("date", "?") for r in rows})
    body = (f"{START}\n_Table regenerated by `{command}` on {datetime.date.today()} from the records in "
            f"`{RECORDS.relative_to(REPO) if RECORDS.is_relative_to(REPO) else RECORDS}` (runs of "
            f"{', '.join(dates) or '–'}), made by: " + "; ".join(f"`{c}`" for c in commands)
            + f" (torch threads per process: {', '.join(threads)}); do not edit by hand._\n\n"
            f"- Machine: {' and '.join(cpus)} (each record since session 18 names its CPU, `cpu`; earlier "
            f"ones were made on the {OLD_CPU}); data: ../shared/data "
            f"(downsampled copies, see its README); profile `cpu` (128 px) with the overrides in the command.\n"
            f"- `{DEFAULT}` is the default configuration (since session 12: three canvas banks, one detector each, "
            f"their maps averaged; since session 13 with colour matching, records without it end in `{UNMATCHED}`); "
            f"`{SINGLE}` one detector on one bank (the default until session 12); `-drawK` the "
            f"same PatchDiff's banks drawn again with other noise (`--draws`), whose detectors are trained afresh. The "
            f"default's records were assembled from the single detectors' draws (`--assemble 3`: draws 0-2 are the "
            f"members of the default's draw 0). GRAD variants share PatchDiff per (set, seed). "
            f"`meanstd` and `{CUTPASTE}` are baselines (cut-and-paste = a hand-made anomaly simulation, never part of "
            f"gradad's default, trained with the default detector settings).\n"
            f"- ms / image: `GRAD.predict` over the test set (batch 16) timed inside the benchmark, on the threads listed "
            f"above while other benchmark jobs shared the machine; the speed section has the quiet figures.\n\n"
            f"Summary, default configuration, one row per set (draws = models behind the GRAD figures: seeds x "
            f"draws of the banks; each model averages three detectors):\n\n{summary(rows)}\n\n"
            f"One detector against the average of three, one per bank (the default), per set; the single detectors' "
            f"draws 0-2 are the members of the average (in brackets: how many single draws):\n\n{banks_table(rows)}\n\n"
            f"Reweighting ablation, one detector on the default configuration's first bank (draw 0), with colour "
            f"matching (the default) and without it (\"unmatched\", sessions 11-12), image AUROC (fp = fingerprint "
            f"check at training / validation re-checked / good test images, target <= 0.65):\n\n"
            f"{variant_table(rows, REWEIGHTING, ('uniform', 'belief', 'unmatched: uniform', 'unmatched: belief'))}\n\n"
            f"The same ablation over three draws of the bank from the same PatchDiff (session 16; each draw's detector "
            f"trained afresh: `--methods uniform belief --tag banks1 --set generation.banks=1 --draws 3`), where run:\n\n"
            f"{reweighting_draws_table(rows)}\n\n"
            f"Colour matching (`detector.match`, the default since session 13): each pasted canvas region shifted to the "
            f"mean colour of what it covers. Records without it carry the suffix `{UNMATCHED}`; the single detectors "
            f"of one draw differ only in that (same PatchDiff, canvases, initial weights and batches). `{HALF}` "
            f"(session 14): a share of 0.5 of the regions matched (`--tag match05 --set generation.banks=1 "
            f"detector.match=0.5`; its averages `--assemble 3 --tag match05`):\n\n"
            f"{match_table(rows)}\n\n"
            f"Region areas (`detector.blob_law`, session 17): each contrastive region's area drawn log-uniformly over "
            f"2-30 % of the image (`{LOGBLOBS}`: `--tag logblobs --set generation.banks=1 "
            f"detector.blob_law=\"loguniform\" detector.blob_area=[0.02,0.3]`; its averages `--assemble 3 --tag "
            f"logblobs`) against the default's uniform 2-12 %:\n\n"
            f"{against_default_table(rows, LOGBLOBS, 'log-uniform')}\n\n"
            f"PatchDiff's prediction (`patchdiff.prediction`, session 18): the denoiser predicts the velocity v instead "
            f"of the noise (`{VPRED}`: `--tag vpred --set generation.banks=1 patchdiff.prediction=\"v\"`, a PatchDiff "
            f"of its own; its averages `--assemble 3 --tag vpred`):\n\n{against_default_table(rows, VPRED, 'v')}\n\n"
            f"PatchDiff's training crops (`patchdiff.crop`, session 19): 64 px crops, 9 a step, instead of 48 px, 16 a "
            f"step, so that most training windows lie wholly inside the crop (`{CROP64}`: `--tag crop64 --set "
            f"generation.banks=1 patchdiff.crop=64 patchdiff.batch_size=9`, a PatchDiff of its own; its averages "
            f"`--assemble 3 --tag crop64`):\n\n{against_default_table(rows, CROP64, 'crop 64')}\n\n"
            f"A wider PatchDiff window (session 19): a 3-level denoiser, 117 px window, on 80 px crops, 6 a step "
            f"(`{RF120}`: `--tag rf120 --set generation.banks=1 patchdiff.receptive_field=120 patchdiff.crop=80 "
            f"patchdiff.batch_size=6`, a PatchDiff of its own; its averages `--assemble 3 --tag rf120`):\n\n"
            f"{against_default_table(rows, RF120, '117 px')}\n\n"
            f"Fainter contrastive patterns (`detector.opacity`, session 20): each pasted canvas region blended over what "
            f"it covers at an opacity drawn uniformly in 0.3-1, still labelled anomalous, instead of pasted whole, an "
            f"option of commit 81a965f removed after this measurement (`{OPACITY}`: `--tag op03 --set "
            f"generation.banks=1 detector.opacity=[0.3,1.0]`, the default's PatchDiff; its averages `--assemble 3 "
            f"--tag op03`):\n\n{against_default_table(rows, OPACITY, 'opacity 0.3-1')}\n\n"
            f"A positive-unlabelled risk (`reweight.pu_prior`, session 19): the contrastive cells treated as "
            f"unlabelled, a share (the prior) of them assumed normal-looking, with the non-negative PU risk of Kiryo "
            f"et al. (2017), an option of commit 45f5e76 removed after this measurement; one detector on draw 0's "
            f"bank (`--tag pu01 --set generation.banks=1 reweight.pu_prior=0.1`, and `pu03` with 0.3), against the default re-run on the same PatchDiff and bank "
            f"(`--tag amd --set generation.banks=1`), image AUROC (fp = fingerprint check at training / validation "
            f"re-checked / good test images):\n\n{variant_table(rows, PU, tuple(k for k in PU if k.startswith('PU')))}\n\n"
            f"A lighter fingerprint control (`generation.renoise_t`, session 20): the real normals re-noised at t 25 / "
            f"50 / 100 instead of 50 / 100 / 200 (`{RT25}`: `--tag rt25 --set generation.banks=1 "
            f"generation.renoise_t=[25,50,100]`; its averages `--assemble 3 --tag rt25`):\n\n"
            f"{against_default_table(rows, RT25, 't 25-100')}\n\n"
            f"Partial samples again (`generation.partials`, session 20, with today's detector): 64 SDEdit samples of "
            f"training images (t 300-600) pasted where they came from into their own source, half of each batch; one "
            f"detector on draw 0's bank (`--tag part64 --set generation.banks=1 generation.partials=64`) against the "
            f"default re-run on the same PatchDiff and bank, image AUROC (fp as above):\n\n"
            f"{variant_table(rows, PARTIALS, ('64 partials',))}\n\n"
            f"Sharper difference weights (`reweight.temperature`, session 21): each contrastive cell's weight, its "
            f"difference from the real image it covers over the batch's mean capped at 3, squared instead of taken as it is "
            f"(`{TEMP2}`: `--tag tw2 --set generation.banks=1 reweight.temperature=2.0`; its averages `--assemble 3 "
            f"--tag tw2`), against the default re-run on the same, freshly trained PatchDiff (`{RERUN21}`: `--tag "
            f"re21 --set generation.banks=1`, and `--assemble 3 --tag re21`):\n\n"
            f"{against_default_table(rows, TEMP2, 'temperature 2', RERUN21, 're-run')}\n\n"
            f"No whole re-noised normals (`detector.whole_renoised`, session 21): 0 instead of a quarter of the normal "
            f"training images replaced whole by their lightly re-noised copies (the re-noised control regions pasted "
            f"into every normal image stay; `{WHOLE0}`: `--tag wr0 --set generation.banks=1 "
            f"detector.whole_renoised=0.0`; its averages `--assemble 3 --tag wr0`), against the same re-run:\n\n"
            f"{against_default_table(rows, WHOLE0, 'no whole re-noised', RERUN21, 're-run')}\n\n"
            f"Blur or noise on every training image (`detector.jitter`, session 21): 1 instead of 0.5, each image of "
            f"both classes blurred or noised (`{JITTER1}`: `--tag jit1 --set generation.banks=1 detector.jitter=1.0`; "
            f"its averages `--assemble 3 --tag jit1`), against the same re-run:\n\n"
            f"{against_default_table(rows, JITTER1, 'jitter 1', RERUN21, 're-run')}\n\n"
            + session_tables(rows, 23, SESSION23, RERUN22, f"the same PatchDiff (`{RERUN22}`)")
            + session_tables(rows, 24, SESSION24, RERUN24, f"the same, freshly trained PatchDiffs (`{RERUN24}`: `--tag "
                             f"re24 --set generation.banks=1`, and `--assemble 3 --tag re24`)")
            + f"Session 25, images at 160 px instead of 128 (`{S160}`: `--tag s160 --tag-cutpaste --set generation.banks=1 "
            f"image_size=160`, a PatchDiff of its own; its averages `--assemble 3 --tag s160`), against the recorded "
            f"default at 128 px; the cut-and-paste baseline of the same run at 160 px is `cutpaste-s160` in \"All "
            f"variants\":\n\n{against_default_table(rows, S160, '160 px')}\n\n"
            + session_tables(rows, 25, SESSION25, RERUN25, f"the same, freshly trained PatchDiff (`{RERUN25}`: `--tag "
                             f"re25 --set generation.banks=1`, and `--assemble 3 --tag re25`)")
            + f"Session 27, a second PatchDiff with a 25-px window drawing a quarter of the canvases (`{RF30}`: `--tag "
            f"rf30 --set generation.banks=1 'generation.receptive_fields=[30]'`, PatchDiffs of its own; its averages "
            f"`--assemble 3 --tag rf30`), against the recorded default:\n\n{against_default_table(rows, RF30, '25-px second PatchDiff')}\n\n"
            + session_tables(rows, 28, ELSEWHERE)
            + f"Canvas margin over three draws of the bank, image AUROC (fp = fingerprint check at training / validation "
            f"re-checked / good test images, target <= 0.65; `python scripts/redraw_bank.py --train --cache C --canvases "
            f"24 --draw K --set generation.canvas_margin=M`):\n\n{margin_draws_ablation(rows)}\n\n"
            f"All variants:\n\n{table(rows)}\n{END}")
    text = md.read_text() if md.exists() else "# Benchmarks\n"
    if START in text:
        text = text[:text.index(START)] + body + text[text.index(END) + len(END):]
    else:
        text = text.rstrip() + "\n\n## Accuracy\n\n" + body + "\n"
    md.write_text(text)


def main() -> None:
    global RECORDS
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--sets", nargs="+", default=["mvtec_ad/bottle"])
    p.add_argument("--seeds", type=int, nargs="+", default=[0])
    p.add_argument("--methods", nargs="*", default=list(METHODS), choices=METHODS, help="reweighting methods (none: baselines only)")
    p.add_argument("--set", dest="overrides", nargs="*", default=[], help="config overrides KEY=VALUE")
    p.add_argument("--out", type=Path, default=REPO / "runs" / "bench_accuracy", help="generators and models")
    p.add_argument("--records", type=Path, default=RECORDS, help="the JSON records the tables are made from")
    p.add_argument("--draws", type=int, default=1,
                   help="detectors per (set, seed, method), each on another draw of the bank from the same PatchDiff")
    p.add_argument("--markdown", type=Path, default=REPO / "BENCHMARKS.md")
    p.add_argument("--table-only", action="store_true")
    p.add_argument("--tag", default="", help="suffix of the variant name, for detector-level ablations")
    p.add_argument("--save-models", action="store_true", help="keep each trained model (without its bank)")
    p.add_argument("--tag-cutpaste", action="store_true",
                   help="also train the cut-and-paste baseline under --tag (it shares the detector's configuration)")
    p.add_argument("--cutpaste-banks", type=int, default=1, metavar="B",
                   help="the cut-and-paste baseline as the average of B detectors, each pasting content from its own "
                        "share of the training images (recorded as cutpaste-banksB)")
    p.add_argument("--skip-snapshots", type=int, default=0,
                   help="ablation: train the detector without the canvases of the first K PatchDiff snapshots")
    p.add_argument("--reevaluate", action="store_true", help="evaluate the saved models again, train nothing")
    p.add_argument("--recalibrate", nargs="+", metavar="VARIANT",
                   help="calibrate these saved GRAD variants again with --set (calibration settings only) and evaluate "
                        "them as VARIANT-TAG; trains nothing")
    p.add_argument("--assemble", type=int, metavar="B",
                   help="record the average of the saved detectors of the default's first B draws as the default with "
                        "generation.banks=B would make it (see assemble); trains nothing")
    p.add_argument("--refingerprint", nargs="*", metavar="VARIANT",
                   help="measure the fingerprint check of these saved GRAD variants again (validation with today's "
                        "rule, good test images; default: the default variant); trains nothing")
    a = p.parse_args()
    RECORDS = a.records.resolve()
    overrides = {k: json.loads(v) for k, v in (o.split("=", 1) for o in a.overrides)}
    if a.reevaluate:
        reevaluate(a.out, a.sets)
    elif a.recalibrate:
        recalibrate(a.out, a.sets, a.recalibrate, a.tag, overrides, a.save_models)
    elif a.assemble:
        assemble(a.out, a.sets, a.seeds, a.assemble, a.draws, a.save_models, a.tag)
    elif a.refingerprint is not None:
        refingerprint(a.out, a.sets, a.refingerprint or [DEFAULT])
    elif not a.table_only:
        for name in a.sets:
            for seed in a.seeds:
                run_set(name, seed, a.methods, a.out, overrides, a.tag, a.save_models, a.skip_snapshots,
                        a.tag_cutpaste, a.draws, a.cutpaste_banks)
    write_markdown(a.markdown, COMMAND)


if __name__ == "__main__":
    main()
