"""The miniature end-to-end test (tests/test_grad_learns.py) at another seed: `python scripts/mini_seeds.py SEED`
prints seed, image AUROC, structural AUROC and the fingerprint check, to see how wide the miniature spreads."""
import sys, tempfile, torch
from pathlib import Path
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
from test_grad_learns import MINI
from gradad.config import profile
from gradad.data import load_category
from gradad.data.demo import DEFECT_GROUPS, write_demo
from gradad.evaluation import evaluate_category
from gradad.workflow import predict_samples, train_category
torch.set_num_threads(1)
seed = int(sys.argv[1])
tmp = Path(tempfile.mkdtemp())
data = load_category(write_demo(tmp / "data", size=128, n_train=60, n_test_good=10, n_per_type=4))
model = train_category(data, profile("cpu").replace(**MINI, seed=seed), tmp / "run")
preds, _ = predict_samples(model, data.test)
r = evaluate_category(data, [p.score for p in preds], [p.anomaly_map for p in preds], type_groups=DEFECT_GROUPS)
print(seed, round(r["image_auroc"], 3), round(r["auroc_structural"], 3), model.info["fingerprint_auroc"])
