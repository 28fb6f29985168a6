"""The inference graph every backend runs: detector + post-processing as one module, BatchNorm optionally folded."""
from __future__ import annotations

import copy
from typing import TYPE_CHECKING

import torch
import torch.nn as nn
from torch.nn.utils.fusion import fuse_conv_bn_eval

from gradad.detector.network import Detector
from gradad.detector.postprocess import AnomalyMap

if TYPE_CHECKING:
    from gradad.pipeline import GRAD


class InferenceGraph(nn.Module):
    """(N, 3, S, S) in [-1, 1] -> (maps (N, S, S), scores (N,)): what GRAD.predict computes after to_tensor."""

    def __init__(self, detector: nn.Module, postprocess: AnomalyMap):
        super().__init__()
        self.detector = detector
        self.postprocess = postprocess

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        return self.postprocess(self.detector(x))


class BFloat16Graph(nn.Module):
    """An inference graph run in bfloat16 autocast with channels_last tensors; outputs returned as float32."""

    def __init__(self, graph: InferenceGraph):
        super().__init__()
        self.graph = graph.to(memory_format=torch.channels_last)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        with torch.autocast(x.device.type, dtype=torch.bfloat16):
            maps, scores = self.graph(x.contiguous(memory_format=torch.channels_last))
        return maps.float(), scores.float()


def fuse_bn(detector: Detector) -> Detector:
    """A copy with every Conv-BatchNorm pair folded into one Conv (eval mode only: running statistics are frozen)."""
    fused = copy.deepcopy(detector).eval()
    for module in fused.modules():
        if isinstance(module, nn.Sequential):
            for i in range(len(module) - 1):
                if isinstance(module[i], nn.Conv2d) and isinstance(module[i + 1], nn.BatchNorm2d):
                    module[i] = fuse_conv_bn_eval(module[i], module[i + 1])
                    module[i + 1] = nn.Identity()
    return fused


def inference_graph(model: "GRAD", fuse: bool = True) -> InferenceGraph:
    """The graph of a trained GRAD on the CPU in eval mode; the model itself is left untouched."""
    if model.detector is None:
        raise RuntimeError("the model is not trained; call fit() or GRAD.load()")
    detector = fuse_bn(model.detector) if fuse else copy.deepcopy(model.detector).eval()
    d = model.config.detector
    offset = None if model.map_offset is None else torch.from_numpy(model.map_offset)
    post = AnomalyMap(model.config.image_size, d.smoothing_sigma, d.score, d.topk, offset)
    return InferenceGraph(detector, post).cpu().eval()
