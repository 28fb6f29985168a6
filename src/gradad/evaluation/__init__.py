"""Evaluation: image/pixel metrics as the official protocols compute them, MVTec LOCO sPRO, and results files."""
from gradad.evaluation.loco import au_spro, loco_au_spros, loco_aurocs, saturation_area, spro_curve
from gradad.evaluation.metrics import (
    au_pro,
    evaluate_category,
    group_auroc,
    image_auroc,
    image_f1_max,
    per_type_auroc,
    pixel_auroc,
    pro_curve,
    resize_map,
    trapezoid,
)
from gradad.evaluation.results import read_results, write_results

__all__ = [
    "au_pro",
    "au_spro",
    "evaluate_category",
    "group_auroc",
    "image_auroc",
    "image_f1_max",
    "loco_au_spros",
    "loco_aurocs",
    "per_type_auroc",
    "pixel_auroc",
    "pro_curve",
    "read_results",
    "resize_map",
    "saturation_area",
    "spro_curve",
    "trapezoid",
    "write_results",
]
