"""The teacher's part of the loss: weighted for a student, matched as it is when adapting."""

from __future__ import annotations

import torch

from training.losses import batch_loss


def test_unweighted_teacher_scores_are_matched_where_they_are() -> None:
    soft = torch.tensor([[0.1, 0.3, 0.7]])
    batch = {"target": torch.zeros(1, 3), "known": torch.zeros(1, 3),  # no gold label known
             "token_known": torch.zeros(1, 3, dtype=torch.bool), "soft": soft,
             "token_soft": torch.zeros(1, 4, 0), "token_real": torch.zeros(1, 4, 0)}
    pos_weight = torch.tensor([10.0, 4.0, 2.0])

    def gradient(weigh_teacher: bool) -> torch.Tensor:
        seq = torch.logit(soft).clone().requires_grad_(True)  # the student says what the teacher says
        loss = batch_loss(seq, torch.zeros(1, 4, 3), batch, pos_weight, 1.0, 1.0, [],
                          weigh_teacher=weigh_teacher)
        loss.backward()
        assert seq.grad is not None
        return seq.grad

    # unweighted, the teacher's scores are the optimum: nothing to move
    assert torch.allclose(gradient(False), torch.zeros(1, 3), atol=1e-6)
    # weighted, every score is pushed up, most where the weight is largest
    pushed = gradient(True)
    assert (pushed < 0).all() and pushed[0, 0] < pushed[0, 2]
