"""nn.parallel.DistributedDataParallel over cltensor.distributed (MPI).

At construction the parameters and buffers of rank 0 are broadcast to every rank. Parameters that require grad
are grouped into buckets of at most bucket_cap_mb, in reverse registration order (the order backward usually
produces their gradients) and by dtype. A post-accumulation hook on each parameter's gradient sink counts the
bucket's ready gradients; when a bucket is complete its gradients are copied into one flat host buffer and an
asynchronous MPI all-reduce (Iallreduce) starts, so communication overlaps the rest of backward. Buckets start
strictly in index order on every rank (MPI matches collectives by order). When the last bucket has started, the
hook waits for all of them, divides by the world size and writes the averages back into `.grad`.

gradient_as_bucket_view=True keeps each bucket as one flat tensor on the parameters' device and makes every
`.grad` a view into it (PyTorch's layout): backward accumulates straight into the bucket, the all-reduce runs on
the bucket's own memory where the device shares host memory (no copy in or out), and the averaged gradients are
already in `.grad`. A gradient that is not a view of its bucket (the first step, or after zero_grad() set it to
None) is copied in once and replaced by the view. static_graph=True records in the first iteration which
parameters the graph leaves unused and reuses that set later without walking the graph again."""
import contextlib

import numpy as np

from ... import distributed as dist
from ...distributed import _core as DC
from ...distributed._buffers import HostBuf, write_array
from ...distributed._collectives import mpi_view
from ...distributed._bucket import GradBucket
from ...distributed.algorithms.join import Join, Joinable, JoinHook, _JoinConfig
from ...autograd import _edge, no_grad, is_grad_enabled
from ..._tensor import Tensor
from ... import _creation
from ... import _shape
from ... import _dtypes as D
from ..modules.module import Module

__all__ = ["DistributedDataParallel"]


class _Bucket:
    __slots__ = ("params", "idx", "offsets", "numel", "dtype", "arr", "pending", "work", "stacked", "flat", "buf",
                 "views")

    def __init__(self, params, idx, as_view=False):
        self.params, self.idx = params, idx
        self.offsets, n = [], 0
        for p in params:
            self.offsets.append(n)
            n += p.numel()
        self.numel = n
        self.dtype = params[0]._dtype
        self.pending = len(params)
        self.work = None
        self.stacked = None
        self.buf = None
        if as_view:
            # one flat tensor on the parameters' device; each parameter's .grad is a view of its segment
            self.flat = _creation.zeros(n, dtype=self.dtype, device=params[0].device)
            self.views = [self.flat[o:o + p.numel()].view(p.shape) for p, o in zip(params, self.offsets)]
            self.arr = None
        else:
            self.flat = self.views = None
            self.arr = np.zeros(n, self.dtype.np)

    def is_view(self, j, g):
        """Whether gradient g is the bucket's view for parameter j (accumulated in place)."""
        v = self.views[j]
        return g is v or (g._st is v._st and g._offset == v._offset and g._shape == v._shape and
                          g._strides == v._strides)


# dtypes whose gradients are gathered and averaged on the host in float32 (MPI has no arithmetic for them)
_GATHERED = (D.float16, D.bfloat16)


def _mean_gathered(stacked, dtype, n):
    """The mean over ranks of gathered float16 values or bfloat16 bits, in the same host form."""
    if dtype is D.bfloat16:
        return D.bf16_bits(D.bf16_values(stacked).sum(0) / n)
    return stacked.astype(np.float32).sum(0) / n


def _start_reduction(g, arr, dtype):
    """Start the reduction of a bucket's flat host array: (request, stacked). float16/bfloat16 are gathered into
    stacked (averaged on the host, _mean_gathered); other dtypes are summed in place (stacked None)."""
    a, t = mpi_view(arr)
    if dtype in _GATHERED:
        stacked = np.empty((g.size(), arr.size), dtype.np)
        s, st = mpi_view(stacked)
        return g.comm.Iallgather([a, t], [s, st]), stacked
    MPI = DC._mpi()
    return g.comm.Iallreduce(MPI.IN_PLACE, [a, t], MPI.SUM), None


def _used_map(g, local):
    """Which parameters some rank used: the MAX over the group of each rank's 0/1 map."""
    MPI = DC._mpi()
    used = np.empty_like(local)
    DC.wait_requests([g.comm.Iallreduce([local, MPI.INT64_T], [used, MPI.INT64_T], MPI.MAX)], g,
                     "DistributedDataParallel unused-parameter map")
    return used


def _walk_outputs(obj, out):
    if isinstance(obj, Tensor):
        out.append(obj)
    elif isinstance(obj, (list, tuple)):
        for o in obj:
            _walk_outputs(o, out)
    elif isinstance(obj, dict):
        for o in obj.values():
            _walk_outputs(o, out)
    return out


class DistributedDataParallel(Module, Joinable):
    """DistributedDataParallel(module, device_ids=None, output_device=None, dim=0, broadcast_buffers=True,
    process_group=None, bucket_cap_mb=25, find_unused_parameters=False, check_reduction=False,
    gradient_as_bucket_view=False, static_graph=False): replicate `module` on each rank of the process group
    and average gradients in backward. Each rank passes its own share of the batch. gradient_as_bucket_view makes
    `.grad` views of flat per-bucket tensors; static_graph finds the unused parameters once (module doc)."""

    def __init__(self, module, device_ids=None, output_device=None, dim=0, broadcast_buffers=True,
                 process_group=None, bucket_cap_mb=None, find_unused_parameters=False, check_reduction=False,
                 gradient_as_bucket_view=False, static_graph=False, delay_all_reduce_named_params=None,
                 param_to_hook_all_reduce=None, mixed_precision=None, device_mesh=None):
        super().__init__()
        self._join_config = _JoinConfig()
        self._divide_by_initial_world_size = True
        self._active = None                 # ranks that have not joined, this iteration (inside join())
        self._comm_hook = self._comm_state = None
        self._hook_used = False
        self.module = module
        self.process_group = DC._group(process_group)
        if self.process_group is None:
            raise ValueError("DistributedDataParallel: this rank is not a member of the process group")
        self.device_ids = device_ids
        self.output_device = output_device
        self.dim = dim
        self.broadcast_buffers = broadcast_buffers
        self.find_unused_parameters = find_unused_parameters
        self.gradient_as_bucket_view = gradient_as_bucket_view
        self.static_graph = static_graph
        self.require_backward_grad_sync = True
        self.require_forward_param_sync = True
        self.bucket_bytes_cap = int((25 if bucket_cap_mb is None else bucket_cap_mb) * 1024 * 1024)
        params = [p for p in module.parameters() if p.requires_grad]
        if not params:
            raise RuntimeError("DistributedDataParallel is not needed when a module doesn't have any parameter "
                               "that requires a gradient.")
        self._params = params
        root = self.process_group.ranks[0]
        self._sync_tensors(list(module.parameters()) + list(module.buffers()), root)
        self._build_buckets()
        if gradient_as_bucket_view:
            with no_grad():                 # existing gradients move into their buckets
                for b in self._buckets:
                    for p, v in zip(b.params, b.views):
                        if p.grad is not None:
                            v.copy_(p.grad)
                            p.grad = v
        self._static_unused = None          # static_graph: the unused parameters seen in the first iteration
        self._hook_handles = []
        self._acc_nodes = []
        for i, p in enumerate(params):
            acc = _edge(p)[0]          # the gradient sink; held here so it (and its hook) lives with DDP
            self._acc_nodes.append(acc)
            self._hook_handles.append(acc.register_hook(self._make_hook(i)))
        self._expect = False
        self._next = 0
        self._unused = set()

    # ------------------------------------------------------------------ set-up
    def _sync_tensors(self, tensors, root):
        with no_grad():
            for t in tensors:
                dist.broadcast(t, src=root, group=self.process_group)

    def _build_buckets(self):
        order = list(range(len(self._params)))[::-1]
        buckets, cur, cur_bytes, cur_dt = [], [], 0, None
        for i in order:
            p = self._params[i]
            nb = p.numel() * p._dtype.itemsize
            if cur and (p._dtype is not cur_dt or cur_bytes + nb > self.bucket_bytes_cap):
                buckets.append(cur)
                cur, cur_bytes = [], 0
            cur.append(i)
            cur_bytes += nb
            cur_dt = p._dtype
        if cur:
            buckets.append(cur)
        self._buckets = [_Bucket([self._params[i] for i in b], b, self.gradient_as_bucket_view) for b in buckets]
        self._where = {}
        for k, b in enumerate(buckets):
            for j, i in enumerate(b):
                self._where[i] = (k, j)

    @property
    def bucket_indices(self):
        """Parameter indices (registration order) of each bucket."""
        return [list(b.idx) for b in self._buckets]

    # ------------------------------------------------------------------ forward
    def forward(self, *inputs, **kwargs):
        if self._expect and self.require_backward_grad_sync:
            raise RuntimeError(
                "Expected to have finished reduction in the prior iteration before starting a new one. This error "
                "indicates that your module has parameters that were not used in producing loss. You can enable "
                "unused parameter detection by passing the keyword argument `find_unused_parameters=True` to "
                "`torch.nn.parallel.DistributedDataParallel`, and by making sure all `forward` function outputs "
                "participate in calculating loss.")
        if self.device_ids:
            dev = self._device()
            inputs = tuple(a.to(dev) if isinstance(a, Tensor) else a for a in inputs)
        self._active = None
        if is_grad_enabled() and self.require_backward_grad_sync:
            self._active = Join.notify_join_context(self)    # (inside join(): the ranks still running)
        if self.broadcast_buffers and self.require_forward_param_sync:
            bufs = list(self.module.buffers())
            if bufs:
                self._sync_tensors(bufs, self.process_group.ranks[0])
        out = self.module(*inputs, **kwargs)
        if is_grad_enabled() and self.require_backward_grad_sync:
            self._prepare(out)
        else:
            self._expect = False
        return out

    def _device(self):
        return self._params[0].device

    def _prepare(self, out):
        """Reset the buckets for the coming backward (and mark parameters the output does not reach as ready
        when find_unused_parameters)."""
        for b in self._buckets:
            b.pending = len(b.params)
            b.work = None
        self._next = 0
        self._unused = set()
        self._expect = True
        if self.static_graph and self._static_unused is not None:
            self._mark_unused(self._static_unused)
        elif self.find_unused_parameters or self.static_graph:
            seen, stack = set(), [t.grad_fn if t.grad_fn is not None else (_edge(t)[0] if t.requires_grad else None)
                                  for t in _walk_outputs(out, [])]
            while stack:
                n = stack.pop()
                if n is None or id(n) in seen:
                    continue
                seen.add(id(n))
                for nxt, _ in n.next_functions:
                    if nxt is not None and id(nxt) not in seen:
                        stack.append(nxt)
            unused = {i for i, acc in enumerate(self._acc_nodes) if id(acc) not in seen}
            if self.static_graph:
                self._static_unused = unused
            self._mark_unused(unused)

    def _mark_unused(self, unused):
        for i in unused:
            self._unused.add(i)
            k, _ = self._where[i]
            self._buckets[k].pending -= 1
        if unused and all(b.pending == 0 for b in self._buckets):
            self._launch_ready()

    # ------------------------------------------------------------------ backward
    def _make_hook(self, i):
        def hook(grad_inputs, grad_outputs):
            if not self._expect or i in self._unused:
                return
            k, _ = self._where[i]
            b = self._buckets[k]
            b.pending -= 1
            if b.pending == 0:
                self._launch_ready()
        return hook

    def _launch_ready(self):
        g = self.process_group
        while self._next < len(self._buckets) and self._buckets[self._next].pending == 0:
            b = self._buckets[self._next]
            if self._comm_hook is not None:
                self._hook_used = True
                bucket = GradBucket(self._next, self._bucket_tensor(b), b.params, b.offsets,
                                    self._next == len(self._buckets) - 1)
                b.work = self._comm_hook(self._comm_state, bucket)
                if not hasattr(b.work, "wait"):
                    raise RuntimeError("DistributedDataParallel: a communication hook must return a "
                                       "cltensor.futures.Future (of the bucket's reduced flat tensor)")
                self._next += 1
                continue
            if b.flat is not None:
                self._fill_views(b)
                b.buf = HostBuf(b.flat)      # the storage itself where the device shares host memory
                arr = b.buf.arr
            else:
                for p, off, i in zip(b.params, b.offsets, b.idx):
                    seg = b.arr[off:off + p.numel()]
                    if p.grad is None or i in self._unused:
                        seg[...] = 0
                    else:
                        seg[...] = HostBuf(p.grad).arr
                arr = b.arr
            req, b.stacked = _start_reduction(g, arr, b.dtype)
            b.work = DC.Work(g, [req], "DistributedDataParallel gradient all_reduce")
            self._next += 1
        if self._next == len(self._buckets):
            self._finalize()

    def _bucket_tensor(self, b):
        """The bucket's gradients as one flat tensor for a communication hook (zeros for unused parameters): the
        bucket itself with gradient_as_bucket_view, else a fresh concatenation."""
        if b.flat is not None:
            self._fill_views(b)
            return b.flat
        with no_grad():
            parts = [p.grad.reshape(-1) if p.grad is not None and i not in self._unused else
                     _creation.zeros(p.numel(), dtype=p.dtype, device=p.device) for p, i in zip(b.params, b.idx)]
            return _shape.cat(parts) if len(parts) > 1 else parts[0].clone()

    def _finish_hooked(self, b, used):
        """Write the hook's result (a flat tensor of the bucket's size) into the gradients."""
        res = b.work.wait()
        b.work = None
        if not isinstance(res, Tensor) or res.numel() != b.numel:
            raise RuntimeError(f"DistributedDataParallel: the communication hook's Future must hold a tensor of "
                               f"the bucket's {b.numel} elements, got {res!r:.60}")
        res = res.reshape(-1)
        if b.flat is not None and res is not b.flat:
            b.flat.copy_(res)
        for j, (p, off, i) in enumerate(zip(b.params, b.offsets, b.idx)):
            if used is not None and not used[i]:
                continue
            if b.flat is not None:
                p.grad = b.views[j]
                continue
            seg = res[off:off + p.numel()].view(p.shape)
            if p.grad is None:
                p.grad = seg.clone()
            else:
                p.grad.copy_(seg)

    def _fill_views(self, b):
        """gradient_as_bucket_view: bring every gradient of the bucket into its view (zeros for unused ones)."""
        with no_grad():
            for j, (p, i) in enumerate(zip(b.params, b.idx)):
                g = p.grad
                if g is None or i in self._unused:
                    b.views[j].zero_()
                elif not b.is_view(j, g):
                    b.views[j].copy_(g)

    def _finalize(self):
        self._expect = False
        n = self.process_group.size()
        if self._active is not None and not self._divide_by_initial_world_size:
            n = self._active                # (join(divide_by_initial_world_size=False): the ranks still running)
        used = None
        if self.find_unused_parameters or self.static_graph:
            local = np.ones(len(self._params), np.int64)
            for i in self._unused:
                local[i] = 0
            used = _used_map(self.process_group, local)
        with no_grad():
            for b in self._buckets:
                if self._comm_hook is not None:
                    self._finish_hooked(b, used)
                    continue
                b.work.wait()
                if b.flat is not None:
                    arr = b.buf.arr
                    if b.stacked is not None:
                        arr[...] = _mean_gathered(b.stacked, b.dtype, n)
                        b.stacked = None
                    elif arr.dtype.kind == "f":
                        arr /= n
                    else:
                        arr[...] = arr / n
                    b.buf.commit()              # writes a staging copy back; bumps the version
                    b.buf = None
                    for j, (p, i) in enumerate(zip(b.params, b.idx)):
                        if used is not None and not used[i]:
                            continue            # unused on every rank: its gradient is left as it was
                        p.grad = b.views[j]
                    continue
                if b.stacked is not None:
                    b.arr[...] = _mean_gathered(b.stacked, b.dtype, n)
                    b.stacked = None
                else:
                    b.arr /= n
                for p, off, i in zip(b.params, b.offsets, b.idx):
                    if used is not None and not used[i]:
                        continue
                    if p.grad is None:
                        p.grad = _creation.zeros_like(p)
                    write_array(p.grad, b.arr[off:off + p.numel()])
                    p.grad._st.version += 1

    # ------------------------------------------------------------------ API
    @contextlib.contextmanager
    def no_sync(self):
        """Gradients accumulate locally inside the context; the first backward outside it averages them."""
        old = self.require_backward_grad_sync
        self.require_backward_grad_sync = False
        try:
            yield
        finally:
            self.require_backward_grad_sync = old

    def join(self, divide_by_initial_world_size=True, enable=True, throw_on_early_termination=False):
        """Context manager for uneven inputs: a rank that runs out of batches leaves the block and shadows the
        others' gradient all-reduces with zeros until every rank has (cltensor.distributed.algorithms.Join).
        The average divides by the initial world size, or by the ranks still running when
        divide_by_initial_world_size=False. At the end every rank gets the model of the last rank to join."""
        return Join([self], enable, throw_on_early_termination,
                    divide_by_initial_world_size=divide_by_initial_world_size)

    def join_hook(self, **kwargs):
        self._divide_by_initial_world_size = bool(kwargs.get("divide_by_initial_world_size", True))
        return _DDPJoinHook(self)

    @property
    def join_device(self):
        return self._params[0].device

    @property
    def join_process_group(self):
        return self.process_group

    def register_comm_hook(self, state, hook):
        """Replace the gradient all-reduce by hook(state, bucket) -> cltensor.futures.Future of the bucket's
        reduced flat tensor (bucket: cltensor.distributed.GradBucket), called for each bucket in index order once
        its gradients are ready; the Future's tensor becomes the gradients (the hook does any averaging). Stock
        hooks: cltensor.distributed.algorithms.ddp_comm_hooks.default_hooks. Once, before the first backward."""
        if not callable(hook):
            raise TypeError("Communication hook must be callable.")
        if self._comm_hook is not None:
            raise RuntimeError("register_comm_hook or register_builtin_comm_hook can only be called once.")
        if self._hook_used or any(b.work is not None for b in self._buckets) or self._expect:
            raise RuntimeError("register_comm_hook must be called before the first backward of the model")
        self._comm_state, self._comm_hook = state, hook

    def _get_ddp_logging_data(self):
        return {"world_size": self.process_group.size(), "bucket_cap_bytes": self.bucket_bytes_cap,
                "num_buckets": len(self._buckets)}


class _DDPJoinHook(JoinHook):
    """What a joined rank does for DistributedDataParallel: each iteration the others still run, the buffer
    broadcast of their forward, the bucket reductions of their backward with zero gradients (through the
    communication hook when one is registered) and the unused-parameter map; at the end, the model of the last
    rank to join is broadcast to every rank."""

    def __init__(self, ddp):
        self.ddp = ddp

    def main_hook(self):
        ddp = self.ddp
        g = ddp.process_group
        if ddp.broadcast_buffers and ddp.require_forward_param_sync:
            bufs = list(ddp.module.buffers())
            if bufs:
                ddp._sync_tensors(bufs, g.ranks[0])
        with no_grad():
            for k, b in enumerate(ddp._buckets):
                if ddp._comm_hook is not None:
                    zero = _creation.zeros(b.numel, dtype=b.dtype, device=ddp.join_device)
                    ddp._comm_hook(ddp._comm_state, GradBucket(k, zero, b.params, b.offsets,
                                                               k == len(ddp._buckets) - 1)).wait()
                    continue
                zero = np.zeros(b.numel, b.dtype.np)
                req, stacked = _start_reduction(g, zero, b.dtype)     # (both buffers live until the wait)
                DC.wait_requests([req], g, "DistributedDataParallel gradient all_reduce (joined rank)")
                del zero, stacked
        if ddp.find_unused_parameters or ddp.static_graph:
            _used_map(g, np.zeros(len(ddp._params), np.int64))

    def post_hook(self, is_last_joiner):
        """Every rank takes the parameters and buffers of the last rank to join (the highest such rank)."""
        ddp = self.ddp
        g = ddp.process_group
        MPI = DC._mpi()
        mine = np.array([g.rank() if is_last_joiner else -1], np.int64)
        src = np.empty_like(mine)
        DC.wait_requests([g.comm.Iallreduce([mine, MPI.INT64_T], [src, MPI.INT64_T], MPI.MAX)], g,
                         "DistributedDataParallel join: final model")
        ddp._sync_tensors(list(ddp.module.parameters()) + list(ddp.module.buffers()), g.ranks[int(src[0])])
