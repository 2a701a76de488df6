"""torchrun-like launcher: python -m cltensor.distributed.run --nproc-per-node N script.py [args...]

Starts N copies of the script under mpirun (with --oversubscribe, and --allow-run-as-root when running as root)
and sets RANK, WORLD_SIZE, LOCAL_RANK, LOCAL_WORLD_SIZE, MASTER_ADDR and MASTER_PORT in each process, so
scripts written for torchrun (init_process_group("nccl"/"gloo"), int(os.environ["LOCAL_RANK"])) run as they are.
With --hostfile (or --nnodes > 1 and a hostfile) mpirun places the processes on several machines."""
import argparse
import os
import shutil
import sys

# Executed by mpirun in each rank (before the user's script): translate Open MPI's / MPICH's rank variables
# into torchrun's, then run the script as __main__.
_SHIM = r"""
import os, runpy, sys
e = os.environ
def first(*names):
    for n in names:
        if e.get(n) not in (None, ""):
            return e[n]
    return None
rank = first("OMPI_COMM_WORLD_RANK", "PMI_RANK", "PMIX_RANK")
size = first("OMPI_COMM_WORLD_SIZE", "PMI_SIZE")
local = first("OMPI_COMM_WORLD_LOCAL_RANK", "MPI_LOCALRANKID")
lsize = first("OMPI_COMM_WORLD_LOCAL_SIZE", "MPI_LOCALNRANKS")
for k, v in (("RANK", rank), ("WORLD_SIZE", size), ("LOCAL_RANK", local), ("LOCAL_WORLD_SIZE", lsize)):
    if v is not None:
        e[k] = v
e.setdefault("GROUP_RANK", str(int(rank or 0) // max(int(lsize or 1), 1)))
mode, target = sys.argv[1], sys.argv[2]
sys.argv = sys.argv[2:]
if mode == "-m":
    runpy.run_module(target, run_name="__main__", alter_sys=True)
else:
    sys.path.insert(0, os.path.dirname(os.path.abspath(target)))
    runpy.run_path(target, run_name="__main__")
"""


def _is_root():
    return hasattr(os, "geteuid") and os.geteuid() == 0


def build_command(args, script_args):
    mpirun = args.mpirun or shutil.which("mpirun") or shutil.which("mpiexec")
    if mpirun is None:
        raise SystemExit("cltensor.distributed.run: mpirun not found (Debian/Ubuntu: apt-get install openmpi-bin "
                         "libopenmpi-dev; then pip install mpi4py)")
    nproc = args.nproc_per_node
    if nproc in ("auto", "cpu", "gpu"):
        nproc = os.cpu_count() or 1
    nproc = int(nproc)
    total = nproc * args.nnodes
    cmd = [mpirun, "-np", str(total)]
    if args.hostfile:
        cmd += ["--hostfile", args.hostfile, "--map-by", f"ppr:{nproc}:node"]
    cmd += ["--oversubscribe"]
    if _is_root():
        cmd += ["--allow-run-as-root"]
    env = {"MASTER_ADDR": args.master_addr, "MASTER_PORT": str(args.master_port),
           "CLTENSOR_LAUNCHED": "1"}
    for k, v in env.items():
        cmd += ["-x", f"{k}={v}"]
    cmd += ["-x", "PYTHONPATH=" + os.pathsep.join(p for p in [os.getcwd(), os.environ.get("PYTHONPATH", "")] if p)]
    cmd += list(args.mpirun_args or [])
    cmd += [sys.executable, "-c", _SHIM, "-m" if args.module else "-s", args.script] + script_args
    return cmd


def parser():
    p = argparse.ArgumentParser(prog="python -m cltensor.distributed.run",
                                description="Run N copies of a training script under mpirun (torchrun-like).")
    p.add_argument("--nproc-per-node", "--nproc_per_node", default="1", help="processes per machine")
    p.add_argument("--nnodes", type=int, default=1, help="number of machines (needs --hostfile when > 1)")
    p.add_argument("--hostfile", default=None, help="Open MPI hostfile: one line per machine, 'host slots=N'")
    p.add_argument("--master-addr", "--master_addr", default="127.0.0.1")
    p.add_argument("--master-port", "--master_port", type=int, default=29500)
    p.add_argument("--mpirun", default=None, help="the mpirun executable (default: the one on PATH)")
    p.add_argument("--mpirun-args", nargs=argparse.REMAINDER, default=None,
                   help=argparse.SUPPRESS)
    p.add_argument("-m", "--module", action="store_true", help="run the script argument as a module (python -m)")
    p.add_argument("--dry-run", action="store_true", help="print the mpirun command instead of running it")
    p.add_argument("script")
    p.add_argument("script_args", nargs=argparse.REMAINDER)
    return p


def main(argv=None):
    args = parser().parse_args(argv)
    if args.nnodes > 1 and not args.hostfile:
        raise SystemExit("cltensor.distributed.run: --nnodes > 1 needs --hostfile")
    cmd = build_command(args, args.script_args)
    if args.dry_run:
        print(" ".join(cmd[:cmd.index("-c") + 1] + ["<shim>"] + cmd[cmd.index("-c") + 2:]))
        return 0
    os.execv(cmd[0], cmd)


if __name__ == "__main__":
    sys.exit(main())
