"""The classic SimpleModel regression: Linear(10, 50) -> ReLU -> Linear(50, 1), MSELoss, SGD.

    python examples/regression.py [--device cpu] [--steps 500] [--batch-size 32] [--lr 0.05]

Data: y = sum(sin(x)) + noise over 10 features, 1024 training and 256 test samples.
"""
import argparse
import time

import cltensor as torch
import cltensor.nn as nn
import cltensor.optim as optim


class SimpleModel(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc1 = nn.Linear(10, 50)
        self.relu = nn.ReLU()
        self.fc2 = nn.Linear(50, 1)

    def forward(self, x):
        return self.fc2(self.relu(self.fc1(x)))


def make_data(n, dev, gen):
    x = torch.randn(n, 10, generator=gen).to(dev)
    y = x.sin().sum(dim=1, keepdim=True) + 0.1 * torch.randn(n, 1, generator=gen).to(dev)
    return x, y


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--steps", type=int, default=500)
    ap.add_argument("--batch-size", type=int, default=32)
    ap.add_argument("--lr", type=float, default=0.05)
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args(argv)
    dev = torch.device(args.device)
    torch.manual_seed(args.seed)
    gen = torch.Generator().manual_seed(args.seed)
    xtr, ytr = make_data(1024, dev, gen)
    xte, yte = make_data(256, dev, gen)

    model = SimpleModel().to(dev)
    print(model)
    criterion = nn.MSELoss()
    optimizer = optim.SGD(model.parameters(), lr=args.lr, momentum=0.9)
    with torch.no_grad():
        first = criterion(model(xte), yte).item()
    print(f"initial test loss {first:.4f}")

    t0 = time.perf_counter()
    bs = args.batch_size
    nb = xtr.shape[0] // bs
    perm = torch.randperm(xtr.shape[0], generator=gen).to(dev)
    for step in range(args.steps):
        i = step % nb
        if i == 0 and step:
            perm = torch.randperm(xtr.shape[0], generator=gen).to(dev)
        idx = perm[i * bs:(i + 1) * bs]
        xb, yb = xtr[idx], ytr[idx]
        optimizer.zero_grad()
        loss = criterion(model(xb), yb)
        loss.backward()
        optimizer.step()
        if step % max(1, args.steps // 10) == 0 or step == args.steps - 1:
            print(f"step {step:5d}  train loss {loss.item():.4f}")
    dt = time.perf_counter() - t0
    model.eval()
    with torch.no_grad():
        test = criterion(model(xte), yte).item()
    print(f"test loss {first:.4f} -> {test:.4f}  ({args.steps} steps in {dt:.2f} s, "
          f"{dt / max(args.steps, 1) * 1e3:.2f} ms/step)")
    return first, test


if __name__ == "__main__":
    main()
