"""The model file users keep: save/load round trip, atomic writes, version checks, and no pickle."""
import json

import numpy as np
import pytest

from gradad import GRAD, GRADConfig, modelfile, profile
from gradad.modelfile import ModelFileError


def test_save_load_round_trip_gives_identical_predictions(tiny_run, tmp_path):
    images = [np.random.default_rng(i).integers(0, 256, (50 + 7 * i, 70, 3), dtype=np.uint8) for i in range(3)]
    before = tiny_run.model.predict(images)
    tiny_run.model.save(tmp_path / "m")
    loaded = GRAD.load(tmp_path / "m")
    after = loaded.predict(images)
    assert loaded.config == tiny_run.model.config
    assert loaded.threshold == tiny_run.model.threshold
    for a, b in zip(before, after):
        assert a.score == b.score and a.is_anomalous == b.is_anomalous
        np.testing.assert_array_equal(a.anomaly_map, b.anomaly_map)
    # PatchDiff comes back whole, its training images' mean colour included: it draws the same canvases
    import torch

    draw = [m.patchdiff.sample_canvas(1, 64, torch.Generator().manual_seed(0)) for m in (tiny_run.model, loaded)]
    assert loaded.patchdiff.mean is not None
    torch.testing.assert_close(draw[0], draw[1])


def test_model_records_config_seed_and_versions(tiny_run):
    meta = json.loads((tiny_run.run / "model" / "model.json").read_text())
    assert meta["format_version"] == modelfile.FORMAT_VERSION
    assert meta["gradad_version"]
    assert meta["config"]["seed"] == tiny_run.model.config.seed
    assert GRADConfig.from_dict(meta["config"]) == tiny_run.model.config
    assert meta["threshold"] is not None


def test_weights_are_safetensors_not_pickle(tiny_run):
    files = {p.name for p in (tiny_run.run / "model").iterdir()}
    assert "model.safetensors" in files
    assert not any(f.endswith((".pt", ".pth", ".pkl", ".ckpt")) for f in files)


def test_incompatible_format_version_says_so(tiny_run, tmp_path):
    tiny_run.model.save(tmp_path / "m")
    meta = json.loads((tmp_path / "m" / "model.json").read_text())
    meta["format_version"] = 999
    (tmp_path / "m" / "model.json").write_text(json.dumps(meta))
    with pytest.raises(ModelFileError, match="format version 999"):
        GRAD.load(tmp_path / "m")


def test_not_a_model_and_truncated_weights(tiny_run, tmp_path):
    with pytest.raises(ModelFileError, match="not a gradad model"):
        GRAD.load(tmp_path)
    tiny_run.model.save(tmp_path / "m")
    w = tmp_path / "m" / "model.safetensors"
    w.write_bytes(w.read_bytes()[: 100])
    with pytest.raises(ModelFileError, match="cannot read model weights"):
        GRAD.load(tmp_path / "m")


def test_interrupted_save_leaves_the_previous_model_loadable(tiny_run, tmp_path, monkeypatch):
    tiny_run.model.save(tmp_path / "m")

    def crash(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(modelfile, "save_file", crash)
    with pytest.raises(KeyboardInterrupt):
        tiny_run.model.save(tmp_path / "m")
    assert GRAD.load(tmp_path / "m").threshold == tiny_run.model.threshold
    assert [p.name for p in tmp_path.iterdir()] == ["m"], "no temporary folders left behind"


def test_config_overrides_and_profiles():
    cfg = profile("cpu").replace(**{"detector.steps": 7, "generation.renoise_t": [10, 20]})
    assert cfg.detector.steps == 7 and cfg.generation.renoise_t == (10, 20)
    assert GRADConfig.from_dict(cfg.to_dict()) == cfg
    with pytest.raises(KeyError):
        cfg.replace(**{"detector.nope": 1})
    with pytest.raises(KeyError):
        profile("gpu-huge")
    with pytest.raises(ValueError, match="detector.ema"):
        cfg.replace(**{"detector.ema": 1.0})
    with pytest.raises(ValueError, match="detector.coords"):
        cfg.replace(**{"detector.coords": "yes"})
    with pytest.raises(ValueError, match="detector.padding"):
        cfg.replace(**{"detector.padding": "circular"})
    with pytest.raises(ValueError, match="patchdiff.prediction"):
        cfg.replace(**{"patchdiff.prediction": "x0"})


def test_detector_training_length_follows_the_training_set_size():
    from gradad.detector.train import detector_steps

    d = profile("cpu").detector  # steps 3000, min_steps 1500, passes 300, batch 16
    assert [detector_steps(d, n) for n in (2, 28, 80, 100, 160, 188, 686)] == [1500, 1500, 1500, 1875, 3000, 3000, 3000]
    assert detector_steps(profile("cpu").replace(**{"detector.passes": 0}).detector, 28) == 3000
    assert detector_steps(profile("demo").detector, 180) == 600, "a short profile stays short"
    assert detector_steps(profile("cpu").replace(**{"detector.steps": 7}).detector, 500) == 7


def test_interrupted_training_resumes_from_the_completed_generation_phase(tmp_path, monkeypatch):
    from conftest import TINY_CONFIG
    from gradad.data import load_category
    from gradad.data.demo import write_demo
    from gradad.detector import train as detector_train
    from gradad.workflow import CHECKPOINT_DIR, train_category

    data = load_category(write_demo(tmp_path / "data", size=64, n_train=8, n_test_good=1, n_per_type=1))
    cfg = profile("cpu").replace(**TINY_CONFIG)

    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr("gradad.pipeline.train_detector", interrupted)
    with pytest.raises(KeyboardInterrupt):
        train_category(data, cfg, tmp_path / "run")
    assert (tmp_path / "run" / CHECKPOINT_DIR / "generator" / "model.json").is_file()

    monkeypatch.setattr("gradad.pipeline.train_detector", detector_train.train_detector)
    trained = []
    monkeypatch.setattr("gradad.patchdiff.PatchDiff.fit", lambda *a, **k: trained.append(1) or [])
    model = train_category(data, cfg, tmp_path / "run")
    assert trained == [], "PatchDiff was trained again instead of resumed"
    assert model.info["resumed_from"].endswith("generator")
    assert (tmp_path / "run" / "model" / "model.json").is_file()
    assert not (tmp_path / "run" / CHECKPOINT_DIR).exists()

    fresh = train_category(data, cfg.replace(seed=5), tmp_path / "other")
    assert "resumed_from" not in fresh.info


def test_a_model_file_older_than_a_setting_loads_with_the_value_it_was_made_with(tmp_path):
    """`detector.coords` came later: a file without it was made without position channels, whatever today's default."""
    import torch

    from gradad.detector.network import Detector

    torch.manual_seed(0)
    model = GRAD(profile("cpu").replace(**{"image_size": 64, "detector.width": 8, "detector.coords": False}), device="cpu")
    model.detector = Detector(8, coords=False).eval()
    model.threshold = 0.0
    model.save(tmp_path / "m")
    meta_path = tmp_path / "m" / "model.json"
    meta = json.loads(meta_path.read_text())
    del meta["config"]["detector"]["coords"]
    meta_path.write_text(json.dumps(meta))
    loaded = GRAD.load(tmp_path / "m")
    assert loaded.config.detector.coords is False
    image = np.random.default_rng(0).integers(0, 256, (64, 64, 3), dtype=np.uint8)
    np.testing.assert_array_equal(loaded.predict([image])[0].anomaly_map, model.predict([image])[0].anomaly_map)


def test_every_setting_added_later_reads_as_it_was_before_it_existed():
    """A file written before a setting existed was made without it: no canvas margin, no position channels, no map
    offset, whatever today's defaults are or become."""
    d = GRADConfig().to_dict()
    del d["generation"]["canvas_margin"], d["detector"]["coords"], d["detector"]["offset"], d["patchdiff"]["start"]
    del d["generation"]["banks"], d["patchdiff"]["prediction"]
    old = GRADConfig.from_dict(d)
    assert (old.generation.canvas_margin, old.detector.coords, old.detector.offset, old.patchdiff.start,
            old.generation.banks, old.patchdiff.prediction) == (0, False, "none", "model", 1, "eps")


def test_several_canvas_banks_make_one_model_that_averages_one_detector_per_bank(tiny_run, tmp_path):
    """The default model holds one detector per canvas bank (`generation.banks`) and its map is their mean; the model
    file, the ONNX export and the loaded model give the same maps."""
    import torch

    from gradad.detector.network import Ensemble
    from gradad.export import export_onnx
    from gradad.export.onnx_backend import OnnxBackend

    model = tiny_run.model
    banks = model.config.generation.banks
    assert banks > 1 and isinstance(model.detector, Ensemble) and len(model.detector.members) == banks
    assert len(model.bank.canvases) == banks * model.config.generation.canvases
    x = torch.rand(3, 3, 64, 64, generator=torch.Generator().manual_seed(1)) * 2 - 1
    with torch.no_grad():
        each = [m(x) for m in model.detector.members]
        torch.testing.assert_close(model.detector(x), sum(each) / banks)
        assert not torch.allclose(each[0], each[1]), "the banks differ, so do their detectors"

    images = [np.random.default_rng(i).integers(0, 256, (64, 64, 3), dtype=np.uint8) for i in range(3)]
    before = [p.anomaly_map for p in model.predict(images)]
    loaded = GRAD.load(model.save(tmp_path / "m", with_bank=False))
    assert loaded.config.generation.banks == banks and loaded.threshold == model.threshold
    backend = OnnxBackend(export_onnx(loaded, tmp_path / "m.onnx"))
    for a, b, c in zip(before, loaded.predict(images), backend.predict(images)):
        np.testing.assert_array_equal(a, b.anomaly_map)
        np.testing.assert_allclose(a, c.anomaly_map, atol=1e-4)


def test_a_one_bank_cache_serves_more_banks_keeping_its_first_bank(tmp_path, monkeypatch):
    """More banks only add canvases: a cache made with one bank is reused (PatchDiff not trained again), its bank
    kept first and the others drawn."""
    import torch
    from conftest import TINY_CONFIG

    cfg = profile("cpu").replace(**TINY_CONFIG | {"generation.banks": 1})
    x = torch.rand(6, 3, 64, 64, generator=torch.Generator().manual_seed(0)) * 2 - 1
    made = GRAD(cfg, device="cpu")
    made.fit_generator(x)
    made._save_generator(tmp_path)
    monkeypatch.setattr("gradad.patchdiff.PatchDiff.fit", lambda *a, **k: pytest.fail("PatchDiff trained again"))
    more = GRAD(cfg.replace(**{"generation.banks": 3}), device="cpu")
    assert more._resume(tmp_path, x) and more.info["canvases_redrawn"]
    n = len(made.bank.canvases)
    assert len(more.bank.canvases) == 3 * n
    assert torch.equal(more.bank.canvases[:n], made.bank.canvases)
    assert not torch.allclose(more.bank.canvases[n:2 * n], more.bank.canvases[:n], atol=0.1)


def test_a_cached_generator_serves_other_renoising_settings_by_drawing_the_copies_again(tmp_path, monkeypatch):
    """Only the re-noised copies depend on `generation.renoise_*`: a cache made with other values is reused (no
    PatchDiff training), its canvases kept and its copies drawn again; any other difference trains afresh."""
    import torch
    from conftest import TINY_CONFIG

    cfg = profile("cpu").replace(**TINY_CONFIG)
    x = torch.rand(6, 3, 64, 64, generator=torch.Generator().manual_seed(0)) * 2 - 1
    made = GRAD(cfg, device="cpu")
    made.fit_generator(x)
    made._save_generator(tmp_path)
    monkeypatch.setattr("gradad.patchdiff.PatchDiff.fit", lambda *a, **k: pytest.fail("PatchDiff trained again"))

    same = GRAD(cfg, device="cpu")
    assert same._resume(tmp_path, x) and "renoised_redrawn" not in same.info
    other = GRAD(cfg.replace(**{"generation.renoise_margin": 8}), device="cpu")
    assert other._resume(tmp_path, x) and other.info["renoised_redrawn"]
    assert torch.equal(other.bank.canvases, same.bank.canvases)
    assert other.bank.renoised.shape == same.bank.renoised.shape
    assert not torch.equal(other.bank.renoised, same.bank.renoised)
    assert not GRAD(cfg.replace(**{"patchdiff.steps": 4}), device="cpu")._resume(tmp_path, x)
    assert not GRAD(cfg.replace(**{"generation.snapshots": [0.5]}), device="cpu")._resume(tmp_path, x)


def test_a_cached_generator_draws_its_canvases_again_for_other_canvas_settings_as_a_fresh_run_would(tmp_path, monkeypatch):
    """The checkpoint keeps the snapshot denoisers: a call that changes only how canvases are drawn (their number,
    margin, first step) redraws them from the cache, the same canvases a fresh run draws; a cache made before the
    denoisers were kept trains afresh."""
    import torch
    from conftest import TINY_CONFIG

    cfg = profile("cpu").replace(**TINY_CONFIG)
    x = torch.rand(6, 3, 64, 64, generator=torch.Generator().manual_seed(0)) * 2 - 1
    made = GRAD(cfg, device="cpu")
    made.fit_generator(x)
    made._save_generator(tmp_path)
    more = cfg.replace(**{"generation.canvases": 6, "generation.canvas_margin": 8})
    fresh = GRAD(more, device="cpu")
    fresh.fit_generator(x)

    monkeypatch.setattr("gradad.patchdiff.PatchDiff.fit", lambda *a, **k: pytest.fail("PatchDiff trained again"))
    resumed = GRAD(more, device="cpu")
    assert resumed._resume(tmp_path, x) and resumed.info["canvases_redrawn"]
    assert resumed.bank.canvases.shape == (6 * more.generation.banks, 3, 64, 64)  # 6 canvases per bank
    assert torch.equal(resumed.bank.canvases, fresh.bank.canvases)
    same = GRAD(cfg, device="cpu")
    assert same._resume(tmp_path, x) and "canvases_redrawn" not in same.info
    assert torch.equal(resumed.bank.renoised, same.bank.renoised), "the re-noised copies come from the cache"
    assert not GRAD(more, device="cpu")._resume(tmp_path), "canvases cannot be redrawn without the training images"

    meta_path = tmp_path / "generator" / "model.json"
    meta = json.loads(meta_path.read_text())
    del meta["canvas_nets"]
    meta_path.write_text(json.dumps(meta))
    assert not GRAD(more, device="cpu")._resume(tmp_path, x)
    assert GRAD(cfg, device="cpu")._resume(tmp_path, x), "the same settings still resume"
