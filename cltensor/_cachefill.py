"""Store the binaries of programs a finished cltensor process built from source (run as a script, detached, at low
priority; see cltensor/_kernels.py `_to_fill`). It imports only pyopencl: each program is built again (PoCL's own
cache makes that quick), its binary written atomically where cltensor's binary cache looks for it, and a
`.seen` marker left by the "build twice, then store" rule is removed. The job file is deleted at the end."""
import os
import pickle
import sys


def main(job):
    try:
        os.nice(10)
    except (AttributeError, OSError):
        pass
    try:
        with open(job, "rb") as f:
            spec = pickle.load(f)
    finally:
        try:
            os.unlink(job)
        except OSError:
            pass
    import pyopencl as cl
    devices = {}
    for plat in cl.get_platforms():
        for d in plat.get_devices():
            devices.setdefault((plat.name, d.name), d)
    contexts = {}
    for plat_name, dev_name, path, src, options in spec["programs"]:
        if os.path.exists(path):
            continue
        d = devices.get((plat_name, dev_name))
        if d is None:
            continue
        ctx = contexts.get(d.int_ptr)
        if ctx is None:
            ctx = contexts[d.int_ptr] = cl.Context([d])
        try:
            data = cl.Program(ctx, src).build(options=options).binaries[0]
        except cl.Error:
            continue
        if not data:
            continue
        os.makedirs(os.path.dirname(path), exist_ok=True)
        tmp = f"{path}.{os.getpid()}.tmp"
        with open(tmp, "wb") as f:
            f.write(data)
        os.replace(tmp, path)
        try:
            os.unlink(path[:-4] + ".seen")
        except OSError:
            pass


if __name__ == "__main__":
    main(sys.argv[1])
