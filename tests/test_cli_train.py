"""`gradad train`, `gradad test` and `gradad demo` from a user's side: results written, bad input is one line."""
import json

import pytest
from typer.testing import CliRunner

from conftest import TINY_CONFIG
from gradad.cli import app

runner = CliRunner()
TINY_SET = [f"--set={k}={json.dumps(v)}" for k, v in TINY_CONFIG.items()]


def one_line_error(result, *fragments):
    assert result.exit_code == 2, result.output
    lines = [l for l in result.output.splitlines() if l.strip()]
    assert len(lines) == 1 and lines[0].startswith("error:"), result.output
    assert "Traceback" not in result.output
    for f in fragments:
        assert f in lines[0], lines[0]


def test_train_then_test_writes_model_results_and_report(tiny_run, tmp_path):
    data_root = tiny_run.data.root
    out = tmp_path / "run"
    r = runner.invoke(app, ["train", "--data", str(data_root), "--out", str(out), "--seed", "3", *TINY_SET])
    assert r.exit_code == 0, r.output
    assert (out / "model" / "model.json").is_file() and (out / "results.json").is_file()
    assert (out / "report.html").is_file() and (out / "results.csv").is_file()
    assert json.loads((out / "model" / "model.json").read_text())["config"]["seed"] == 3

    r = runner.invoke(app, ["test", "--model", str(out), "--data", str(data_root), "--out", str(tmp_path / "t")])
    assert r.exit_code == 0, r.output
    results = json.loads((tmp_path / "t" / "results.json").read_text())["results"][0]
    assert results["category"] == "widget" and results["num_images"] == len(tiny_run.data.test)
    assert set(results["per_type_auroc"]) == set(tiny_run.data.defect_types)


def test_train_says_when_patchdiff_training_collapsed_and_was_restored(tiny_run, tmp_path, monkeypatch):
    from gradad.patchdiff import PatchDiff

    fit = PatchDiff.fit

    def collapsing_fit(self, *args, **kwargs):  # the record PatchDiff.fit keeps when its guard restored a state
        curve = fit(self, *args, **kwargs)
        self.restores.append({"step": 475, "restored_to": 425, "loss": 0.98})
        return curve

    monkeypatch.setattr(PatchDiff, "fit", collapsing_fit)
    r = runner.invoke(app, ["train", "--data", str(tiny_run.data.root), "--out", str(tmp_path / "run"), "--no-evaluate",
                            *TINY_SET])
    assert r.exit_code == 0, r.output
    assert "collapsed at step 475" in " ".join(r.output.split()) and "restored from step 425" in " ".join(r.output.split())


def test_train_says_when_patchdiff_learned_nothing_and_was_restarted():
    from gradad.cli.train import restore_notes

    notes = restore_notes({"patchdiff_restores": [{"step": 150, "restored_to": 0, "loss": 0.97}]})
    assert notes == ["PatchDiff learned nothing by step 150 (loss at 0.97 of a constant prediction's) and was "
                     "restarted with half the learning rate"]


@pytest.mark.parametrize("args, fragments", [
    (["--data", "/nonexistent/place"], ["/nonexistent/place"]),
    (["--profile", "huge"], ["--profile", "huge"]),
    (["--set", "detector.steps=-4"], ["detector.steps", "positive integer"]),
    (["--set", "detector.nope=1"], ["detector.nope"]),
    (["--set", "no-equals-sign"], ["KEY=VALUE"]),
    (["--set", "image_size=100"], ["image_size", "multiple of 32"]),
    (["--set", "patchdiff.receptive_field=20"], ["patchdiff.receptive_field", "at least 25"]),
    (["--set", "generation.receptive_fields=[30,10]"], ["generation.receptive_fields", "at least 25"]),
    (["--set", "patchdiff.padding=\"circular\""], ["patchdiff.padding", "zeros or reflect"]),
    (["--set", "generation.renoise_margin=64"], ["generation.renoise_margin", "image_size / 2"]),
    (["--set", "generation.canvas_margin=-1"], ["generation.canvas_margin", "[0, image_size]"]),
    (["--set", "generation.canvas_margin_share=1.5"], ["generation.canvas_margin_share", "[0, 1]"]),
    (["--set", "patchdiff.start=\"zero\""], ["patchdiff.start", "mean or model"]),
    (["--set", "detector.offset=\"ring\""], ["detector.offset", "none or border or pixel"]),
])
def test_train_bad_input_is_one_line(tiny_run, tmp_path, args, fragments):
    base = {"--data": str(tiny_run.data.root)}
    argv = ["train", "--out", str(tmp_path / "x")]
    if "--data" not in args:
        argv += ["--data", base["--data"]]
    one_line_error(runner.invoke(app, argv + args), *fragments)


def test_test_with_a_path_that_is_not_a_model(tiny_run, tmp_path):
    one_line_error(runner.invoke(app, ["test", "--model", str(tmp_path), "--data", str(tiny_run.data.root)]),
                   "not a gradad model")


def test_test_on_a_folder_without_the_layout(tiny_run, tmp_path):
    (tmp_path / "empty").mkdir()
    one_line_error(runner.invoke(app, ["test", "--model", str(tiny_run.run), "--data", str(tmp_path / "empty")]),
                   str(tmp_path / "empty"))


def test_train_with_one_validation_image_says_the_fingerprint_check_is_absent(tmp_path):
    """5 normal images leave 1 to validate on: the threshold is still set, the fingerprint check (2 needed) is not."""
    from gradad.data.demo import write_demo

    root = write_demo(tmp_path / "data", size=64, n_train=5, n_test_good=2, n_per_type=1)
    r = runner.invoke(app, ["train", "--data", str(root), "--out", str(tmp_path / "run"), "--no-evaluate", *TINY_SET])
    assert r.exit_code == 0, r.output
    assert "fingerprint check AUROC absent" in r.output
