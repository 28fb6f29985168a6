"""report.html (self-contained, complete, honest about absent metrics), the gallery and `gradad generate`."""
from __future__ import annotations

import base64
import copy
import io
import re
import subprocess
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from typer.testing import CliRunner

from gradad import workflow
from gradad.cli import app
from gradad.data.demo import DEFECT_GROUPS
from gradad.report import write_training_report
from gradad.report.page import fingerprint_sample_note, metric_rows

CHROMIUM = Path("/usr/bin/chromium")
CHECK_SCRIPT = Path(__file__).resolve().parents[1] / "scripts" / "check_report.sh"
EXTERNAL = re.compile(r"""(?:src|href)\s*=\s*["']?\s*(?:https?:|//)|<link\b|<script\b|@import|url\(""", re.I)


@pytest.fixture(scope="module")
def report(tiny_run, tmp_path_factory):
    """test_category on the tiny run: writes report.html beside results.json, as `gradad test/train/demo` do."""
    out = tmp_path_factory.mktemp("report")
    result = workflow.test_category(tiny_run.model, tiny_run.data, out, type_groups=DEFECT_GROUPS)
    return out / "report.html", result


def _pngs(html: str) -> list[Image.Image]:
    return [Image.open(io.BytesIO(base64.b64decode(b))) for b in re.findall(r"data:image/png;base64,([^\"']+)", html)]


def test_report_is_self_contained(report):
    html = report[0].read_text(encoding="utf-8")
    assert not EXTERNAL.search(html), EXTERNAL.search(html)
    images = _pngs(html)
    assert len(images) >= 6  # ROC, PRO, histogram, two worst-case grids, gallery, loss curves
    for im in images:
        im.verify()


def test_report_names_every_metric_and_defect_type(report, tiny_run):
    html = report[0].read_text(encoding="utf-8")
    for name in ("Image AUROC", "Pixel AUROC", "AU-PRO", "Image F1-max", "AUROC logical", "AUROC structural",
                 "Fingerprint check", "Threshold", "Contrastive patterns", "Worst false positives",
                 "Worst false negatives", "PatchDiff: denoising loss", "false_alarm_rate"):
        assert name in html, name
    for kind in tiny_run.data.defect_types:
        assert f"<td>{kind}</td>" in html, kind
    assert "pattern bank cached at training time" in html


def test_absent_metrics_say_absent_never_zero():
    rows = {r["key"]: r["value"] for r in metric_rows(
        {"image_auroc": 0.75, "pixel_auroc": None, "au_pro": None, "image_f1_max": float("nan"),
         "au_pro_fpr_limit": 0.3, "auroc_logical": None, "auroc_structural": 0.5})}
    assert rows == {"image_auroc": "0.7500", "pixel_auroc": "absent", "au_pro": "absent", "image_f1_max": "absent",
                    "auroc_logical": "absent", "auroc_structural": "0.5000"}
    loco = {r["key"] for r in metric_rows({"auroc_mean": 0.6, "au_spro": None, "au_spro_fpr_limit": 0.05})}
    assert {"auroc_mean", "au_spro"} <= loco and "au_spro_logical" not in loco


def test_training_report_without_test_data_or_generator(tiny_run, tmp_path):
    html = write_training_report(tmp_path / "a", tiny_run.model).read_text(encoding="utf-8")
    assert "Contrastive patterns" in html and "Worst false" not in html and not EXTERNAL.search(html)
    bare = copy.copy(tiny_run.model)
    bare.bank = bare.patchdiff = None
    html = write_training_report(tmp_path / "b", bare).read_text(encoding="utf-8")
    assert "neither PatchDiff weights nor a pattern bank" in html


def test_a_restored_patchdiff_collapse_is_in_the_report(tiny_run, tmp_path):
    model = copy.copy(tiny_run.model)
    model.info = dict(model.info, patchdiff_restores=[{"step": 475, "restored_to": 425, "loss": 0.98}])
    html = write_training_report(tmp_path, model).read_text(encoding="utf-8")
    assert "PatchDiff collapse restored" in html and "at step 475, from step 425" in html
    assert "PatchDiff collapse" not in write_training_report(tmp_path / "b", tiny_run.model).read_text(encoding="utf-8")
    model.info = dict(model.info, patchdiff_restores=[{"step": 150, "restored_to": 0, "loss": 0.97}])
    html = write_training_report(tmp_path / "c", model).read_text(encoding="utf-8")
    assert "PatchDiff restarted" in html and "it learned nothing by step 150" in html


def test_a_detector_that_learned_nothing_is_in_the_report(tiny_run, tmp_path):
    model = copy.copy(tiny_run.model)
    model.info = dict(model.info, detector_retries=[1, 1], detector_failed=[1])
    html = write_training_report(tmp_path, model).read_text(encoding="utf-8")
    assert "detector 1: it learned nothing the first time" in html and "DETECTOR LEARNED NOTHING" in html
    assert "learned nothing" not in write_training_report(tmp_path / "b", tiny_run.model).read_text(encoding="utf-8")


def test_generate_writes_gallery_and_samples(tiny_run, tmp_path):
    result = CliRunner().invoke(app, ["generate", "--model", str(tiny_run.run), "--out", str(tmp_path), "--n", "3"])
    assert result.exit_code == 0, result.output
    gallery = Image.open(tmp_path / "gallery.png")
    assert gallery.width > 300 and gallery.height > 300
    assert len(list((tmp_path / "canvases").glob("*.png"))) == 3  # of the tiny model's 3 banks of 2 canvases
    assert len(list((tmp_path / "renoised").glob("*.png"))) == 3


def test_generate_samples_fresh_without_bank(tiny_run, tmp_path):
    model = copy.copy(tiny_run.model)
    model.bank = None
    model.save(tmp_path / "model")
    result = CliRunner().invoke(app, ["generate", "--model", str(tmp_path), "--out", str(tmp_path / "g"), "--n", "1"])
    assert result.exit_code == 0, result.output
    assert "sampling fresh" in result.output
    assert len(list((tmp_path / "g" / "canvases").glob("*.png"))) == 1


def test_generate_on_non_model_path_is_one_line_exit_2(tmp_path):
    result = CliRunner().invoke(app, ["generate", "--model", str(tmp_path), "--out", str(tmp_path / "g")])
    assert result.exit_code == 2
    lines = [line for line in result.output.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("error: ") and "not a gradad model" in lines[0]


@pytest.mark.skipif(not CHROMIUM.exists(), reason=f"{CHROMIUM} not installed (Debian: apt-get install -y chromium); "
                                                   "the headless-browser rendering check is skipped")
def test_report_renders_in_headless_chromium(report, tmp_path):
    shot = tmp_path / "report.png"
    subprocess.run(["bash", str(CHECK_SCRIPT), str(report[0]), str(shot), "2000"], check=True, timeout=180,
                   capture_output=True)
    pixels = np.asarray(Image.open(shot).convert("L"), dtype=np.float32)
    assert pixels.shape == (2000, 1280)
    assert pixels.std() > 20 and (pixels < 200).mean() > 0.02, "the screenshot is blank"


def test_fingerprint_note_says_how_many_images_it_used(report, tiny_run):
    n = tiny_run.model.info["fingerprint_images"]
    assert n == len(tiny_run.data.val)
    html = report[0].read_text(encoding="utf-8")
    assert f"Measured on only {n} held-out normal images" in html  # the tiny set holds out fewer than 10
    assert f"each re-noised {tiny_run.model.info['fingerprint_draws']} times" in html
    assert fingerprint_sample_note({"fingerprint_images": 40}) == " Measured on 40 held-out normal images."
    # 4 images re-noised 8 times each: 4 x 32 pairs
    assert "steps of 1/128" in fingerprint_sample_note({"fingerprint_images": 4, "fingerprint_draws": 8})
    assert "steps of 1/16" in fingerprint_sample_note({"fingerprint_images": 4})  # files from before the draws
    assert fingerprint_sample_note({}) == ""  # models saved before the count was recorded
