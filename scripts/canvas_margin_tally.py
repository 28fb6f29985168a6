"""Image AUROC per set (mean over seeds; fp = highest re-checked validation fingerprint): the default
(grad-difference-offb) against canvas margin 16 + border offset and both baselines, from runs/bench_accuracy."""
import json, glob, os, collections
import numpy as np
rows = collections.defaultdict(lambda: collections.defaultdict(list))
for f in glob.glob('runs/bench_accuracy/*/seed*/*.json'):
    j = json.load(open(f)); rows[j['set']][j['variant']].append(j)
V = ['meanstd', 'cutpaste-offb', 'grad-difference-offb', 'grad-difference-cmargin16-offb']
print(f"{'set':22s} " + " ".join(f"{v[:26]:>26s}" for v in V))
for s in sorted(rows):
    cells = []
    for v in V:
        rs = rows[s].get(v, [])
        cells.append(" - " if not rs else f"{np.mean([r['image_auroc'] for r in rs]):.3f} fp{max(r.get('fingerprint_val') or 0 for r in rs):.2f} s{''.join(str(r['seed']) for r in sorted(rs, key=lambda r: r['seed']))}")
    print(f"{s:22s} " + " ".join(f"{c:>26s}" for c in cells))
