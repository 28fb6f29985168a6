"""The model file: one folder with weights in safetensors and everything else in JSON; atomic, no pickle.

    <model>/model.json          format version, gradad version, config, threshold, normalisation, info
    <model>/model.safetensors   detector weights (and PatchDiff's EMA weights, for `gradad generate`)
    <model>/bank.safetensors    the cached contrastive-pattern bank (optional; for galleries and retraining)
"""
from __future__ import annotations

import json
import os
import shutil
import tempfile
from pathlib import Path

import torch
from safetensors.torch import load_file, save_file

FORMAT_VERSION = 1
MODEL_JSON = "model.json"
WEIGHTS = "model.safetensors"
BANK = "bank.safetensors"


class ModelFileError(ValueError):
    """A path that is not a gradad model, or one written by an incompatible version."""


def save(path: Path, meta: dict, weights: dict[str, torch.Tensor], bank: dict[str, torch.Tensor] | None = None) -> None:
    """Write into a temporary sibling folder, then swap it in: an interrupted save never leaves a half model."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{path.name}.", dir=path.parent))
    try:
        save_file({k: v.detach().contiguous().cpu() for k, v in weights.items()}, tmp / WEIGHTS)
        if bank:
            save_file({k: v.contiguous().cpu() for k, v in bank.items()}, tmp / BANK)
        (tmp / MODEL_JSON).write_text(json.dumps({"format_version": FORMAT_VERSION, **meta}, indent=2))
        if path.exists():
            old = path.with_name(f".{path.name}.old")
            shutil.rmtree(old, ignore_errors=True)
            os.replace(path, old)
            os.replace(tmp, path)
            shutil.rmtree(old, ignore_errors=True)
        else:
            os.replace(tmp, path)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise


def load(path: Path, with_bank: bool = False) -> tuple[dict, dict[str, torch.Tensor], dict[str, torch.Tensor] | None]:
    path = Path(path)
    meta_file = path / MODEL_JSON
    if not meta_file.is_file():
        raise ModelFileError(f"{path}: not a gradad model (no {MODEL_JSON}); train one with `gradad train`")
    try:
        meta = json.loads(meta_file.read_text())
    except json.JSONDecodeError as err:
        raise ModelFileError(f"{meta_file}: corrupt model description ({err})") from None
    version = meta.get("format_version")
    if version != FORMAT_VERSION:
        raise ModelFileError(
            f"{path}: model format version {version} (written by gradad {meta.get('gradad_version', '?')}) "
            f"is not supported by this gradad, which reads format version {FORMAT_VERSION}; retrain the model")
    try:
        weights = load_file(path / WEIGHTS)
        bank = load_file(path / BANK) if with_bank and (path / BANK).is_file() else None
    except Exception as err:  # safetensors raises several types for truncated or foreign files
        raise ModelFileError(f"{path}: cannot read model weights ({err})") from None
    return meta, weights, bank
