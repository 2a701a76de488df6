"""AdaptiveLogSoftmaxWithLoss: the efficient softmax approximation of Grave et al. (a head over the shortlist and
one entry per cluster, a two-layer projection per tail cluster)."""
from collections import namedtuple

import numpy as np

from ... import _creation as C
from ... import _dtypes as D
from ..._shape import cat
from .. import functional as F
from .container import ModuleList, Sequential
from .linear import Linear
from .module import Module

_ASMoutput = namedtuple("_ASMoutput", ["output", "loss"])


class AdaptiveLogSoftmaxWithLoss(Module):
    def __init__(self, in_features, n_classes, cutoffs, div_value=4.0, head_bias=False, device=None, dtype=None):
        factory_kwargs = {"device": device, "dtype": dtype}
        super().__init__()
        cutoffs = list(cutoffs)
        if len(cutoffs) == 0:
            raise ValueError("cutoffs should be a sequence of length larger than 0")
        if ((cutoffs != sorted(cutoffs)) or (min(cutoffs) <= 0) or (max(cutoffs) > (n_classes - 1))
                or (len(set(cutoffs)) != len(cutoffs)) or any(int(c) != c for c in cutoffs)):
            raise ValueError("cutoffs should be a sequence of unique, positive integers sorted in an increasing "
                             "order, where each value is between 1 and n_classes-1")
        self.in_features = in_features
        self.n_classes = n_classes
        self.cutoffs = cutoffs + [n_classes]
        self.div_value = div_value
        self.head_bias = head_bias
        self.shortlist_size = self.cutoffs[0]
        self.n_clusters = len(self.cutoffs) - 1
        self.head_size = self.shortlist_size + self.n_clusters
        self.head = Linear(self.in_features, self.head_size, bias=self.head_bias, **factory_kwargs)
        self.tail = ModuleList()
        for i in range(self.n_clusters):
            hsz = int(self.in_features // (self.div_value ** (i + 1)))
            osz = self.cutoffs[i + 1] - self.cutoffs[i]
            self.tail.append(Sequential(Linear(self.in_features, hsz, bias=False, **factory_kwargs),
                                        Linear(hsz, osz, bias=False, **factory_kwargs)))

    def reset_parameters(self):
        self.head.reset_parameters()
        for i2h, h2o in self.tail:
            i2h.reset_parameters()
            h2o.reset_parameters()

    def forward(self, input_, target_):
        """The targets are read on the host to split the batch by cluster (as PyTorch's nonzero does)."""
        targ_dim = target_.dim()
        if targ_dim == 1:
            if input_.size(0) != target_.size(0):
                raise RuntimeError("Input and target should have the same size in the batch dimension.")
            if input_.dim() != 2:
                raise RuntimeError(f"1D target tensor expects 2D input tensors, but found inputs with size "
                                   f"{input_.size()}")
        elif targ_dim == 0:
            if input_.dim() != 1:
                raise RuntimeError(f"0D target tensor expects 1D input tensors, but found inputs with size "
                                   f"{input_.size()}")
        else:
            raise RuntimeError("0D or 1D target tensor expected, multi-target not supported")
        is_batched = targ_dim > 0
        input = input_ if is_batched else input_.unsqueeze(0)
        target = target_ if is_batched else target_.unsqueeze(0)
        t = np.asarray(target._to_numpy_copy()).astype(np.int64).reshape(-1)
        batch_size = t.shape[0]
        dev = input._device
        gather_inds = t.copy()
        rows_all, pieces = [], []
        used_rows = 0
        cutoff_values = [0] + self.cutoffs
        for i in range(len(cutoff_values) - 1):
            low_idx, high_idx = cutoff_values[i], cutoff_values[i + 1]
            rows = np.nonzero((t >= low_idx) & (t < high_idx))[0]
            if rows.size == 0:
                continue
            if i > 0:
                rel = C.tensor(t[rows] - low_idx, dtype=D.int64, device=dev)
                ridx = C.tensor(rows, dtype=D.int64, device=dev)
                cluster_output = self.tail[i - 1](input.index_select(0, ridx))
                gather_inds[rows] = self.shortlist_size + i - 1
                cluster_logprob = F.log_softmax(cluster_output, dim=1)
                pieces.append(cluster_logprob.gather(1, rel.unsqueeze(1)).squeeze(1))
                rows_all.append(rows)
            used_rows += rows.size
        if used_rows != batch_size:
            raise RuntimeError(f"Target values should be in [0, {self.n_classes - 1}], but values in range "
                               f"[{t.min()}, {t.max()}] were found. ")
        head_logprob = F.log_softmax(self.head(input), dim=1)
        gi = C.tensor(gather_inds, dtype=D.int64, device=dev)
        output = head_logprob.gather(1, gi.unsqueeze(1)).squeeze(1)
        if pieces:
            rows = np.concatenate(rows_all)
            # the tail log-probabilities in batch order: the pieces and zeros for the shortlist rows, permuted
            rest = np.setdiff1d(np.arange(batch_size), rows)
            order = np.concatenate([rows, rest])
            inv = np.empty(batch_size, np.int64)
            inv[order] = np.arange(batch_size)
            tail = cat(pieces + [C.zeros((rest.size,), dtype=output._dtype, device=dev)])
            output = output + tail.index_select(0, C.tensor(inv, dtype=D.int64, device=dev))
        loss = (-output).mean()
        if not is_batched:
            output = output.squeeze(0)
        return _ASMoutput(output, loss)

    def _get_full_log_prob(self, input, head_output):
        head_logprob = F.log_softmax(head_output, dim=1)
        parts = [head_logprob[:, :self.shortlist_size]]
        for i in range(self.n_clusters):
            cluster_logprob = F.log_softmax(self.tail[i](input), dim=1)
            parts.append(cluster_logprob + head_logprob[:, self.shortlist_size + i].unsqueeze(1))
        return cat(parts, 1)

    def log_prob(self, input):
        return self._get_full_log_prob(input, self.head(input))

    def predict(self, input):
        return self.log_prob(input).argmax(1)
