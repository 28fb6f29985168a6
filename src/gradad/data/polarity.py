"""Mask polarity: some published data sets (e.g. PIPED) mark defects with 0 on a white mask, the reverse of MVTec AD.

Defects are almost always a small part of an image, so when most masks mark most of their image as anomalous, the
masks are read inverted, and the data set says so in its notes. `mask_polarity` forces either reading.
"""
from __future__ import annotations

import dataclasses

import numpy as np

from gradad.data.base import CategoryData, DatasetError
from gradad.data.images import read_mask_layers

POLARITIES = ("auto", "nonzero", "zero")  # auto: detect; nonzero: MVTec AD convention; zero: 0 marks the defect
SAMPLED = 16  # masks looked at to decide


def apply_polarity(data: CategoryData, mask_polarity: str = "auto") -> CategoryData:
    """`data` with every test sample's masks read as `mask_polarity` says (auto: the majority reading)."""
    if mask_polarity not in POLARITIES:
        raise DatasetError(f"mask polarity {mask_polarity!r}: choose one of {', '.join(POLARITIES)}")
    masked = [s for s in data.test if s.label == 1 and s.mask_paths]
    if not masked or mask_polarity == "nonzero":
        return data
    inverted = mask_polarity == "zero"
    if mask_polarity == "auto":
        step = max(1, len(masked) // SAMPLED)
        fractions = [np.mean([(layer != 0).mean() for layer in read_mask_layers(s)]) for s in masked[::step][:SAMPLED]]
        inverted = float(np.median(fractions)) > 0.5
        if inverted:
            data.notes.append(
                f"masks look inverted: the median mask marks {100 * np.median(fractions):.0f} % of its image as "
                "anomalous, so 0 is read as the defect (as in PIPED); pass --mask-polarity nonzero to read them "
                "as MVTec AD does")
    if not inverted:
        return data
    data.test = [dataclasses.replace(s, mask_inverted=True) if s.mask_paths else s for s in data.test]
    return data
