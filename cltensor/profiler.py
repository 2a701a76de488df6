"""Kernel profiler: device time per kernel from OpenCL event profiling, plus the host time around each launch.

    import cltensor as ct
    with ct.profiler.profile() as p:
        y = (x @ w).relu().sum()
    print(p.table())                      # per kernel: calls, device total / mean, host time per launch
    p.export_chrome_trace("trace.json")   # chrome://tracing or https://ui.perfetto.dev

While a profile is open every device used gets a command queue with CL_QUEUE_PROFILING_ENABLE in place of its
normal queue (the normal queue is drained first, so ordering is kept, and it is put back on exit): the normal
path never pays for profiling. Kernel names are `template.def[op, dtypes]`, e.g. `elementwise.flat[add,float32]`
or `reduce.partial[sum,float32]`.

Host columns: `enqueue` is the time inside the enqueue call itself; `host gap` is the wall time since the
previous launch returned (or since the profile opened), i.e. the Python time cltensor (and the user's code
between ops) spends per op before this kernel is enqueued. Tiny ops are host bound when the gap exceeds the
device time.
"""
import json
import time

import pyopencl as cl

from . import _device as dv
from . import _kernels as K

__all__ = ["profile"]

_prof_queues = {}      # runtime -> its profiling queue (created once, reused by later profiles)
_active = []


class KernelStats:
    __slots__ = ("name", "calls", "device_ns", "enqueue_s", "gap_s")

    def __init__(self, name):
        self.name, self.calls, self.device_ns, self.enqueue_s, self.gap_s = name, 0, 0, 0.0, 0.0

    @property
    def device_total_ms(self):
        return self.device_ns / 1e6

    @property
    def device_mean_us(self):
        return self.device_ns / 1e3 / max(self.calls, 1)

    @property
    def enqueue_mean_us(self):
        return self.enqueue_s * 1e6 / max(self.calls, 1)

    @property
    def host_gap_mean_us(self):
        return self.gap_s * 1e6 / max(self.calls, 1)

    def __repr__(self):
        return (f"KernelStats({self.name!r}, calls={self.calls}, device_total_ms={self.device_total_ms:.3f}, "
                f"device_mean_us={self.device_mean_us:.2f})")


class profile:
    """Context manager recording every kernel launch (all devices) while open. Profiles do not nest."""

    def __init__(self):
        self._records = []        # (kernel label, device name, event, host t0, host t1, gap)
        self._swapped = {}        # runtime -> its normal queue
        self._stats = None
        self.wall_s = 0.0

    # -- recording
    def __enter__(self):
        if _active:
            raise RuntimeError("cltensor.profiler.profile: a profile is already open (profiles do not nest)")
        _active.append(self)
        self._prev_observer = K.observer
        for rt in list(dv._RUNTIMES.values()):
            if rt is not None:
                self._swap(rt)
        K.observer = self._launch
        self._t_open = self._last = time.perf_counter()
        return self

    def _swap(self, rt):
        q = _prof_queues.get(rt)
        if q is None:
            q = _prof_queues[rt] = dv.Queue(rt.ctx, properties=cl.command_queue_properties.PROFILING_ENABLE)
        rt.queue.finish()
        self._swapped[rt] = rt.queue
        rt.queue = q

    def _launch(self, rt, kernel, gsize, lsize, args):
        if rt not in self._swapped:          # a device first used inside the profile
            self._swap(rt)
        t0 = time.perf_counter()
        ev = K._launch_slow(rt.queue, kernel, gsize, lsize, args)
        t1 = time.perf_counter()
        self._records.append((K.label(kernel), str(rt.device), ev, t0, t1, t0 - self._last))
        self._last = t1
        return ev

    def __exit__(self, *exc):
        try:
            for rt, q in self._swapped.items():
                rt.queue.finish()
                rt.queue = q
        finally:
            K.observer = self._prev_observer
            _active.remove(self)
        self.wall_s = time.perf_counter() - self._t_open
        self._collect()
        return False

    def _collect(self):
        stats = {}
        events = []
        for name, dev, ev, t0, t1, gap in self._records:
            try:
                pr = ev.profile
                start, end, queued = pr.start, pr.end, pr.queued
            except cl.Error:            # a driver without timestamps for this command
                start = end = queued = 0
            s = stats.get(name)
            if s is None:
                s = stats[name] = KernelStats(name)
            s.calls += 1
            s.device_ns += max(end - start, 0)
            s.enqueue_s += t1 - t0
            s.gap_s += gap
            events.append((name, dev, t0, t1, queued, start, end))
        self._stats = stats
        self._events = events
        self._records = []          # drop the events (and their OpenCL handles)

    # -- results
    def _done(self):
        if self._stats is None:
            raise RuntimeError("profile results are available after the `with` block has closed")
        return self._stats

    def key_averages(self):
        """KernelStats per kernel name, largest device total first."""
        return sorted(self._done().values(), key=lambda s: -s.device_ns)

    @property
    def launches(self):
        return sum(s.calls for s in self._done().values())

    @property
    def device_time_ms(self):
        return sum(s.device_ns for s in self._done().values()) / 1e6

    def table(self, sort_by="device_total", row_limit=None):
        """A text table: kernel, calls, device total (ms) / mean (us) / share, host enqueue and gap (us per
        launch). sort_by: device_total, device_mean, calls, host_gap or name."""
        keys = {"device_total": lambda s: -s.device_ns, "device_mean": lambda s: -s.device_mean_us,
                "calls": lambda s: -s.calls, "host_gap": lambda s: -s.gap_s, "name": lambda s: s.name}
        if sort_by not in keys:
            raise ValueError(f"sort_by must be one of {sorted(keys)}, not {sort_by!r}")
        rows = sorted(self._done().values(), key=keys[sort_by])
        if row_limit is not None:
            rows = rows[:row_limit]
        tot_ns = sum(s.device_ns for s in self._stats.values()) or 1
        w = max([len("kernel")] + [len(s.name) for s in rows])
        head = (f"{'kernel':<{w}}  {'calls':>6}  {'device total ms':>15}  {'device mean us':>14}  {'device %':>8}  "
                f"{'enqueue us':>10}  {'host gap us':>11}")
        lines = [head, "-" * len(head)]
        for s in rows:
            lines.append(f"{s.name:<{w}}  {s.calls:>6}  {s.device_total_ms:>15.3f}  {s.device_mean_us:>14.2f}  "
                         f"{100 * s.device_ns / tot_ns:>7.1f}%  {s.enqueue_mean_us:>10.2f}  "
                         f"{s.host_gap_mean_us:>11.2f}")
        n = self.launches
        gap = sum(s.gap_s for s in self._stats.values())
        lines.append("-" * len(head))
        lines.append(f"{n} launches of {len(self._stats)} kernels; device busy {self.device_time_ms:.3f} ms; "
                     f"wall {self.wall_s * 1e3:.3f} ms; host time per launch {gap * 1e6 / max(n, 1):.2f} us "
                     f"(gap) + {sum(s.enqueue_s for s in self._stats.values()) * 1e6 / max(n, 1):.2f} us (enqueue)")
        return "\n".join(lines)

    def __str__(self):
        return self.table()

    def export_chrome_trace(self, path):
        """Write the launches as Chrome trace JSON: a host track (enqueue calls) and a track per device (kernel
        execution from the event timestamps, aligned to the host clock at the first launch)."""
        self._done()
        trace = []
        offset = {}
        base = self._t_open
        for name, dev, t0, t1, queued, start, end in self._events:
            if dev not in offset and queued:
                offset[dev] = (t0 - base) * 1e6 - queued / 1e3   # device ns -> host us (first command queued at t0)
            trace.append({"name": name, "cat": "enqueue", "ph": "X", "pid": "host", "tid": "python",
                          "ts": (t0 - base) * 1e6, "dur": (t1 - t0) * 1e6})
            if start and end:
                trace.append({"name": name, "cat": "kernel", "ph": "X", "pid": dev, "tid": "queue",
                              "ts": start / 1e3 + offset.get(dev, 0.0), "dur": (end - start) / 1e3})
        with open(path, "w") as f:
            json.dump({"traceEvents": trace, "displayTimeUnit": "ns"}, f)
        return path
