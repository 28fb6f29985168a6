#!/bin/bash
name=$1; shift
cd /work/main
export PYTHONPATH=/tmp/src_op OMP_NUM_THREADS=${THREADS:-1}
for s in "$@"; do
  .venv/bin/python scripts/bench_accuracy.py --sets $s --seeds 0 --draws 3 --methods difference --save-models --tag op03 --set generation.banks=1 detector.opacity=[0.3,1.0] --markdown /tmp/bm_op_$name.md
  .venv/bin/python scripts/bench_accuracy.py --sets $s --seeds 0 --assemble 3 --tag op03 --save-models --markdown /tmp/bm_op_$name.md
done
