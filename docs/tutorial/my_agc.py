"""A first adaptive gradient clipping (AGC), written from the paper, with one bug."""

import torch


def agc(parameters, clip_factor=0.01, eps=1e-3):
    """Clip each unit's gradient to clip_factor * max(||W_i||, eps), in place."""
    if isinstance(parameters, torch.Tensor):
        parameters = [parameters]
    with torch.no_grad():
        for p in parameters:
            if p.grad is None:
                continue
            if p.ndim <= 1:
                dims = None  # a vector or a scalar is one unit
            else:
                dims = tuple(range(1, p.ndim))  # one unit per slice along dim 0
            w_norm = torch.linalg.vector_norm(p, dim=dims, keepdim=True)
            g_norm = torch.linalg.vector_norm(p.grad, dim=dims, keepdim=True)
            bound = clip_factor * w_norm
            scale = torch.where(g_norm > bound, bound / g_norm, torch.ones_like(g_norm))
            p.grad.mul_(scale)
