"""LightningModules that clip wrongly, for tests/impl/training/test_lightning.py.

Each is :class:`impl.lightning.TrainingModule` (manual optimization, ``config`` micro-batches
per step) with one fault in where it clips (the dispatch itself is right, with the declared
AGC unit axes: it is given the module); each records the global gradient norm its clip
saw (``seen``, floats), so a test can show the fault with numbers.
"""

from __future__ import annotations

from typing import Any

from torch import Tensor

from impl.clipping import clip_gradients_
from impl.lightning import TrainingModule


class PlanTask13AsWritten(TrainingModule):
    """The plan's task 1.3 as written: the dispatch right after ``manual_backward``.

    Under a GradScaler (16-mixed) the gradients there are still multiplied by the scale
    (Lightning issue 18089): the clip sees scale x the true gradients, then Lightning
    unscales the clipped ones inside ``opt.step()`` (TRN-001's failure).
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.seen: list[float] = []

    def training_step(self, batch: Any, batch_idx: int) -> Tensor:
        k = self.training_config.accumulate_grad_batches
        loss = self.loss_fn(self.model, batch)
        self.manual_backward(loss / k)
        if (batch_idx + 1) % k == 0 or self.trainer.is_last_batch:
            opt = self.optimizers()
            assert not isinstance(opt, list)
            out = clip_gradients_(self, config=self.training_config)
            self.seen.append(float(out.grad_norm_before))
            opt.step()
            opt.zero_grad(set_to_none=True)
        return loss.detach()


class ClipsEveryMicroBatch(TrainingModule):
    """Clips after each micro-batch's backward, the partial sums (TRN-002's failure).

    Without a GradScaler (32-true) its only fault is the accumulation one: with
    ``accumulate_grad_batches=1`` it clips what the right module clips.
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.seen: list[float] = []

    def training_step(self, batch: Any, batch_idx: int) -> Tensor:
        k = self.training_config.accumulate_grad_batches
        loss = self.loss_fn(self.model, batch)
        self.manual_backward(loss / k)
        out = clip_gradients_(self, config=self.training_config)
        self.seen.append(float(out.grad_norm_before))
        if (batch_idx + 1) % k == 0 or self.trainer.is_last_batch:
            opt = self.optimizers()
            assert not isinstance(opt, list)
            opt.step()
            opt.zero_grad(set_to_none=True)
        return loss.detach()
