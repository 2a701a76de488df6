"""nn.DataParallel: one process drives several OpenCL devices (contexts). Each forward scatters the batch along
`dim` over the devices, runs a replica of the module on each, and gathers the outputs on `output_device`.

Replicas hold `param.to(device)` copies of the parameters (non-leaf tensors), so backward carries each
replica's gradient back to the original parameters and sums them there. Replicas run one after the other from
Python, but each device has its own in-order queue and kernels are enqueued asynchronously, so the devices
compute concurrently."""
from ... import _device as dv
from ..._tensor import Tensor
from ..modules.module import Module
from ... import _shape

__all__ = ["DataParallel", "data_parallel", "replicate", "scatter", "gather", "parallel_apply"]


def _device_of(d):
    """A device from an int (index into cltensor.devices()), a string or a device."""
    if isinstance(d, int):
        devs = [x for x, _ in dv.devices()]
        if not 0 <= d < len(devs):
            raise ValueError(f"device index {d} out of range: {len(devs)} OpenCL devices")
        return devs[d]
    return dv._resolve(d)


def scatter(inputs, devices, dim=0):
    """Split every tensor in `inputs` (nested tuples/lists/dicts) into len(devices) chunks along dim; one tuple
    of arguments per device (fewer when the batch is smaller than the number of devices)."""
    def split(obj):
        if isinstance(obj, Tensor):
            chunks = obj.chunk(len(devices), dim)
            return [c.to(d) for c, d in zip(chunks, devices)]
        if isinstance(obj, (tuple, list)) and obj:
            cols = [split(o) for o in obj]
            n = min(len(c) for c in cols)
            return [type(obj)(c[i] for c in cols) if isinstance(obj, tuple) else [c[i] for c in cols]
                    for i in range(n)]
        if isinstance(obj, dict) and obj:
            cols = {k: split(v) for k, v in obj.items()}
            n = min(len(c) for c in cols.values())
            return [{k: c[i] for k, c in cols.items()} for i in range(n)]
        return [obj for _ in devices]
    return split(inputs)


def replicate(module, devices):
    """One module per device sharing the structure of `module`; parameters and buffers are copies made with
    .to(device) (gradients flow back to the originals). The replica on the module's own device is the module."""
    def copy_to(m, d, memo):
        if id(m) in memo:
            return memo[id(m)]
        r = m.__new__(type(m))
        r.__dict__.update(m.__dict__)
        memo[id(m)] = r
        r.__dict__["_parameters"] = type(m._parameters)(
            (k, None if p is None else p.to(d)) for k, p in m._parameters.items())
        r.__dict__["_buffers"] = type(m._buffers)(
            (k, None if b is None else b.to(d)) for k, b in m._buffers.items())
        r.__dict__["_modules"] = type(m._modules)(
            (k, None if c is None else copy_to(c, d, memo)) for k, c in m._modules.items())
        return r
    home = _module_device(module)
    return [module if d == home else copy_to(module, d, {}) for d in devices]


def _module_device(module):
    for p in module.parameters():
        return p.device
    for b in module.buffers():
        return b.device
    return dv.get_default_device()


def parallel_apply(modules, inputs, kwargs_tup=None, devices=None):
    """Run modules[i](*inputs[i], **kwargs_tup[i]); each replica's kernels go to its own device queue."""
    if kwargs_tup is None:
        kwargs_tup = [{} for _ in modules]
    outs = []
    for m, a, k in zip(modules, inputs, kwargs_tup):
        if not isinstance(a, (tuple, list)):
            a = (a,)
        outs.append(m(*a, **k))
    return outs


def gather(outputs, target_device, dim=0):
    """Concatenate the replicas' outputs (tensors, or matching tuples/lists/dicts of them) along dim on
    target_device."""
    first = outputs[0]
    if isinstance(first, Tensor):
        if first.dim() == 0:
            return _shape.stack([o.to(target_device) for o in outputs], 0)
        return _shape.cat([o.to(target_device) for o in outputs], dim)
    if first is None:
        return None
    if isinstance(first, dict):
        return type(first)((k, gather([o[k] for o in outputs], target_device, dim)) for k in first)
    if isinstance(first, (tuple, list)):
        return type(first)(gather(list(col), target_device, dim) for col in zip(*outputs))
    return outputs


class DataParallel(Module):
    """DataParallel(module, device_ids=None, output_device=None, dim=0): device_ids are indices into
    cltensor.devices() or device names ("cpu", "cl:1", "gpu:0"); all devices by default. The module's parameters
    must be on device_ids[0]."""

    def __init__(self, module, device_ids=None, output_device=None, dim=0):
        super().__init__()
        if device_ids is None:
            device_ids = [d for d, _ in dv.devices()]
        self.device_ids = [_device_of(d) for d in device_ids]
        if not self.device_ids:
            raise ValueError("DataParallel needs at least one device")
        self.module = module
        self.dim = dim
        self.output_device = _device_of(output_device) if output_device is not None else self.device_ids[0]
        self.src_device_obj = self.device_ids[0]
        for t in list(module.parameters()) + list(module.buffers()):
            if t.device != self.src_device_obj:
                raise RuntimeError(f"module must have its parameters and buffers on device {self.src_device_obj} "
                                   f"(device_ids[0]) but found one of them on device: {t.device}")

    def forward(self, *inputs, **kwargs):
        if len(self.device_ids) == 1:
            return self.module(*inputs, **kwargs)
        ins = scatter(tuple(inputs), self.device_ids, self.dim)
        kws = scatter(kwargs, self.device_ids, self.dim) if kwargs else [{} for _ in ins]
        if not ins:
            ins = [()]
        n = len(ins)
        replicas = self.replicate(self.module, self.device_ids[:n])
        outs = self.parallel_apply(replicas, ins, kws[:n])
        return self.gather(outs, self.output_device)

    def replicate(self, module, device_ids):
        return replicate(module, device_ids)

    def scatter(self, inputs, kwargs, device_ids):
        return scatter(inputs, device_ids, self.dim), scatter(kwargs, device_ids, self.dim)

    def parallel_apply(self, replicas, inputs, kwargs):
        return parallel_apply(replicas, inputs, kwargs)

    def gather(self, outputs, output_device):
        return gather(outputs, output_device, self.dim)


def data_parallel(module, inputs, device_ids=None, output_device=None, dim=0, module_kwargs=None):
    """The functional form of DataParallel."""
    dp = DataParallel.__new__(DataParallel)
    Module.__init__(dp)
    if not isinstance(inputs, tuple):
        inputs = (inputs,)
    devs = [_device_of(d) for d in (device_ids if device_ids is not None else [d for d, _ in dv.devices()])]
    ins = scatter(inputs, devs, dim)
    kws = scatter(module_kwargs or {}, devs, dim) if module_kwargs else [{} for _ in ins]
    reps = replicate(module, devs[:len(ins)])
    outs = parallel_apply(reps, ins, kws[:len(ins)])
    return gather(outs, _device_of(output_device) if output_device is not None else devs[0], dim)
