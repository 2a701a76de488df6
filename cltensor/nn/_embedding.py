"""Embedding lookup (templates/embedding.mako) with its deterministic backward."""
import numpy as np

from .. import _dtypes as D
from .. import _kernels as K
from ..autograd import _tape as AG
from .._launch import rt_of, idx_np
from .._tensor import empty_tensor
from ._common import acc_of, c0, launch, sync_if_shared, zeros, check_err, idx_name

def embedding(ind, weight, padding_idx):
    rt = rt_of(weight)
    dt = weight._dtype
    V, Dm = weight._shape
    ic = c0(ind if ind._dtype is D.int64 else ind.to(D.int64))
    n = ic.numel()
    out = empty_tensor(tuple(ind._shape) + (Dm,), dt, weight._device)
    if n and Dm:
        err = zeros((2,), D.int64, weight._device)
        ext = weight._offset + (V - 1) * weight._strides[0] + (Dm - 1) * weight._strides[1] + 1
        idx = idx_name(ext, n * Dm)
        it = idx_np(idx)
        k = K.get(rt, "embedding", "emb_fwd", t=dt, idx=idx)
        launch(rt, k, n, [weight._st.buf, it(weight._offset), it(weight._strides[0]), it(weight._strides[1]),
                           ic._st.buf, out._st.buf, err._st.buf, np.int64(V), it(Dm), it(n)])
        check_err(err, "index out of range in self")
    sync_if_shared(rt, weight, ind)
    if AG.needs_grad(weight):
        pad = -1 if padding_idx is None else int(padding_idx)

        def bw(g):
            gc = c0(g)
            gw = zeros((V, Dm), dt, weight._device)
            if n and Dm:
                idx2 = idx_name(V * Dm, n * Dm)
                kb = K.get(rt, "embedding", "emb_bwd", t=dt, acc=acc_of(dt), idx=idx2)
                launch(rt, kb, Dm, [gc._st.buf, ic._st.buf, gw._st.buf, np.int64(V), idx_np(idx2)(Dm),
                                     idx_np(idx2)(n), np.int64(pad)])
            return (None, gw)
        AG.record("EmbeddingBackward0", (ind, weight), out, bw)
    return out
