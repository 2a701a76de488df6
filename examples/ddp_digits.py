"""The digits CNN (examples/digits_cnn.py) trained data-parallel on N processes with DistributedDataParallel.

    pip install -e '.[distributed,examples]'     # mpi4py, scikit-learn (needs Open MPI: apt-get install openmpi-bin)
    python -m cltensor.distributed.run --nproc-per-node 2 examples/ddp_digits.py [--epochs 10] [--steps N]
    mpirun -np 2 python examples/ddp_digits.py  # the same, started by mpirun directly

Each rank reads its own share of every epoch through a DistributedSampler (set_epoch reshuffles), computes the
loss on its batch, and DistributedDataParallel averages the gradients over the ranks in backward, so every rank
takes the same optimizer step. With N ranks and --batch-size B per rank, a step sees N x B images. Rank 0
evaluates, prints and saves the checkpoint (model.module.state_dict(), loadable into a plain DigitsCNN).
"""
import argparse
import os
import sys
import time

import numpy as np

import cltensor as torch
import cltensor.distributed as dist
import cltensor.nn as nn
import cltensor.optim as optim
from cltensor.nn.parallel import DistributedDataParallel as DDP
from cltensor.utils.data import DataLoader, TensorDataset
from cltensor.utils.data.distributed import DistributedSampler

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from digits_cnn import DigitsCNN, evaluate, load_digits_split  # noqa: E402


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--epochs", type=int, default=10)
    ap.add_argument("--steps", type=int, default=None, help="limit the steps per epoch (quick runs)")
    ap.add_argument("--batch-size", type=int, default=32, help="per rank")
    ap.add_argument("--lr", type=float, default=2e-3)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--out", default="ddp_digits_out")
    args = ap.parse_args(argv)

    dist.init_process_group("mpi")
    rank, world = dist.get_rank(), dist.get_world_size()
    try:
        xtr_np, ytr_np, xte_np, yte_np = load_digits_split(args.seed)
    except ImportError:
        print("this example needs scikit-learn for its bundled digits data set: pip install scikit-learn")
        return 2
    dev = torch.device(args.device)
    train = TensorDataset(torch.tensor(xtr_np), torch.tensor(ytr_np))
    sampler = DistributedSampler(train, shuffle=True, seed=args.seed)     # rank and size from the group
    loader = DataLoader(train, batch_size=args.batch_size, sampler=sampler, drop_last=False)
    xte, yte = torch.tensor(xte_np, device=dev), torch.tensor(yte_np, device=dev)

    torch.manual_seed(args.seed + rank)       # different on purpose: DDP broadcasts rank 0's parameters
    model = DDP(DigitsCNN().to(dev))
    criterion = nn.CrossEntropyLoss()
    optimizer = optim.Adam(model.parameters(), lr=args.lr)
    if rank == 0:
        print(f"{world} ranks; {len(train)} training images, {len(sampler)} per rank per epoch, batch "
              f"{args.batch_size} per rank ({world * args.batch_size} per step)")
    t_start = time.perf_counter()
    for epoch in range(1, args.epochs + 1):
        sampler.set_epoch(epoch)
        model.train()
        t0 = time.perf_counter()
        loss_sum = torch.zeros((), device=dev)
        seen = 0
        for s, (xb, yb) in enumerate(loader):
            if args.steps is not None and s >= args.steps:
                break
            xb, yb = xb.to(dev), yb.to(dev)
            optimizer.zero_grad()
            loss = criterion(model(xb), yb)
            loss.backward()
            optimizer.step()
            with torch.no_grad():
                loss_sum += loss.detach() * yb.shape[0]
            seen += yb.shape[0]
        stats = torch.tensor([loss_sum.item(), float(seen)])
        dist.all_reduce(stats)                       # the epoch's mean training loss over all ranks
        if rank == 0:
            te_loss, te_acc = evaluate(model.module, xte, yte)
            print(f"epoch {epoch:3d}  train loss {stats[0].item() / stats[1].item():.4f}  |  test loss "
                  f"{te_loss:.4f}  acc {100 * te_acc:5.1f}%  ({time.perf_counter() - t0:.2f} s)", flush=True)
    # every rank holds the same parameters: check, then rank 0 saves
    # (summed on the host in double precision: the device may lack float64)
    checksum = sum(float(np.asarray(p.detach().cpu().numpy(), dtype=np.float64).sum())
                   for p in model.module.parameters())
    sums = [None] * world
    dist.all_gather_object(sums, checksum)
    same = all(abs(s - sums[0]) <= 1e-6 * max(1.0, abs(sums[0])) for s in sums)
    if rank == 0:
        _, acc = evaluate(model.module, xte, yte)
        print(f"parameters identical on all ranks: {same}")
        print(f"final test accuracy {100 * acc:.2f}% after {args.epochs} epochs on {world} ranks "
              f"({time.perf_counter() - t_start:.1f} s)")
        os.makedirs(args.out, exist_ok=True)
        ckpt = os.path.join(args.out, "ddp_digits.ckpt")
        torch.save(model.module.state_dict(), ckpt)
        print(f"checkpoint saved to {ckpt}")
    dist.destroy_process_group()
    return 0 if same else 1


if __name__ == "__main__":
    sys.exit(main())
