"""Progress of kernel builds on stderr, so that a first run does not look hung.

Kernels are built from source the first time a program needs them (later runs load them from the binary caches).
Once this process has spent more than a second building (CLTENSOR_BUILD_PROGRESS=auto), a terminal gets one
updating line, `building OpenCL kernels (first run only): 12 built, 3.4 s`, and other streams (logs, CI) get one
summary line when the process ends. CLTENSOR_BUILD_PROGRESS=0 silences both, =1 reports from the first build.
The seconds are wall time since the first build of the process (PoCL also compiles a kernel at its first launch,
which happens in between).
"""
import atexit
import sys
import time

from . import _config as cfg

__all__ = ["built", "state"]

state = {"count": 0, "start": None, "shown": False, "last": 0.0, "build_s": 0.0}


def _mode():
    m = cfg.build_progress()
    return m if m in ("0", "1") else "auto"


def built(n, seconds):
    """Record n kernels built from source, the build having taken `seconds`."""
    now = time.perf_counter()
    if state["start"] is None:
        state["start"] = now - seconds
        atexit.register(_summary)
    state["count"] += n
    state["build_s"] += seconds
    mode = _mode()
    if mode == "0" or (mode == "auto" and state["build_s"] < 1.0):
        return
    stream = sys.stderr
    if stream is not None and stream.isatty() and now - state["last"] > 0.1:
        state["last"] = now
        state["shown"] = True
        stream.write(f"\rbuilding OpenCL kernels (first run only): {state['count']} built, "
                     f"{now - state['start']:.1f} s")
        stream.flush()


def _summary():
    mode = _mode()
    if state["count"] == 0 or mode == "0" or (mode == "auto" and state["build_s"] < 1.0):
        return
    stream = sys.stderr
    if stream is None:
        return
    try:
        line = (f"cltensor: built {state['count']} OpenCL kernel programs in the first "
                f"{time.perf_counter() - state['start']:.1f} s of this run (first run only: later runs load them "
                f"from the cache)")
        stream.write(("\r" + line + "\n") if state["shown"] else line + "\n")
        stream.flush()
    except (OSError, ValueError):
        pass
