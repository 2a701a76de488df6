"""A small CNN on scikit-learn's bundled 8x8 handwritten digits (1797 images, no download).

    pip install scikit-learn            # ships the data set; matplotlib (optional) draws the curves
    python examples/digits_cnn.py [--device cpu] [--epochs 15] [--steps N] [--out digits_out]

Conv2d -> BatchNorm2d -> ReLU -> MaxPool2d (twice), then Linear -> ReLU -> Dropout -> Linear, trained with
CrossEntropyLoss and Adam. Reaches >= 97% test accuracy with the defaults; saves a checkpoint (model +
optimizer state, cltensor.save) and, when matplotlib is installed, a PNG of the loss/accuracy curves.
"""
import argparse
import os
import sys
import time

import numpy as np

import cltensor as torch
import cltensor.nn as nn
import cltensor.nn.functional as F
import cltensor.optim as optim


class DigitsCNN(nn.Module):
    def __init__(self, num_classes=10):
        super().__init__()
        self.features = nn.Sequential(
            nn.Conv2d(1, 32, kernel_size=3, padding=1),    # 32 x 8 x 8
            nn.BatchNorm2d(32),
            nn.ReLU(inplace=True),
            nn.MaxPool2d(2),                               # 32 x 4 x 4
            nn.Conv2d(32, 64, kernel_size=3, padding=1),   # 64 x 4 x 4
            nn.BatchNorm2d(64),
            nn.ReLU(inplace=True),
            nn.MaxPool2d(2),                               # 64 x 2 x 2
        )
        self.classifier = nn.Sequential(
            nn.Flatten(),
            nn.Linear(64 * 2 * 2, 128),
            nn.ReLU(inplace=True),
            nn.Dropout(0.25),
            nn.Linear(128, num_classes),
        )

    def forward(self, x):
        return self.classifier(self.features(x))


def load_digits_split(seed=0, test_fraction=0.2):
    from sklearn.datasets import load_digits
    d = load_digits()
    x = (d.images.astype(np.float32) / 16.0 - 0.5) / 0.5     # [0, 16] -> [-1, 1]
    y = d.target.astype(np.int64)
    rng = np.random.default_rng(seed)
    perm = rng.permutation(len(x))
    nte = int(round(len(x) * test_fraction))
    te, tr = perm[:nte], perm[nte:]
    return x[tr, None], y[tr], x[te, None], y[te]


def evaluate(model, x, y, batch_size=256):
    model.eval()
    correct, total, loss_sum = 0, 0, 0.0
    with torch.no_grad():
        for i in range(0, x.shape[0], batch_size):
            xb, yb = x[i:i + batch_size], y[i:i + batch_size]
            out = model(xb)
            loss_sum += F.cross_entropy(out, yb, reduction="sum").item()
            correct += (out.argmax(dim=1) == yb).sum().item()
            total += yb.shape[0]
    return loss_sum / total, correct / total


def save_plot(history, path):
    try:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        print("matplotlib is not installed: skipping the loss/accuracy plot (pip install matplotlib)")
        return None
    ep = range(1, len(history["train_loss"]) + 1)
    fig, (a1, a2) = plt.subplots(1, 2, figsize=(10, 4))
    a1.plot(ep, history["train_loss"], label="train")
    a1.plot(ep, history["test_loss"], label="test")
    a1.set_xlabel("epoch")
    a1.set_ylabel("cross-entropy")
    a1.legend()
    a2.plot(ep, [100 * a for a in history["train_acc"]], label="train")
    a2.plot(ep, [100 * a for a in history["test_acc"]], label="test")
    a2.set_xlabel("epoch")
    a2.set_ylabel("accuracy (%)")
    a2.legend()
    fig.suptitle("cltensor: digits CNN")
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return path


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--epochs", type=int, default=15)
    ap.add_argument("--steps", type=int, default=None, help="limit the optimizer steps per epoch (quick runs)")
    ap.add_argument("--batch-size", type=int, default=64)
    ap.add_argument("--lr", type=float, default=2e-3)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--out", default="digits_out", help="directory for the checkpoint and the plot")
    args = ap.parse_args(argv)

    try:
        xtr_np, ytr_np, xte_np, yte_np = load_digits_split(args.seed)
    except ImportError:
        print("this example needs scikit-learn for its bundled digits data set: pip install scikit-learn")
        return 2
    dev = torch.device(args.device)
    torch.manual_seed(args.seed)
    xtr, ytr = torch.tensor(xtr_np, device=dev), torch.tensor(ytr_np, device=dev)
    xte, yte = torch.tensor(xte_np, device=dev), torch.tensor(yte_np, device=dev)
    print(f"digits: {xtr.shape[0]} train / {xte.shape[0]} test images of {tuple(xtr.shape[1:])} on {dev}")

    model = DigitsCNN().to(dev)
    print(model)
    print(f"parameters: {sum(p.numel() for p in model.parameters())}")
    criterion = nn.CrossEntropyLoss()
    optimizer = optim.Adam(model.parameters(), lr=args.lr)
    scheduler = optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=max(args.epochs, 1))
    history = {"train_loss": [], "train_acc": [], "test_loss": [], "test_acc": []}
    rng = np.random.default_rng(args.seed)
    n = xtr.shape[0]
    bs = args.batch_size
    t_start = time.perf_counter()
    for epoch in range(1, args.epochs + 1):
        model.train()
        t0 = time.perf_counter()
        perm = torch.tensor(rng.permutation(n), device=dev)
        nsteps = (n + bs - 1) // bs
        if args.steps is not None:
            nsteps = min(nsteps, args.steps)
        run_loss = torch.zeros((), device=dev)
        run_correct = torch.zeros((), dtype=torch.int64, device=dev)
        seen = 0
        for s in range(nsteps):
            idx = perm[s * bs:(s + 1) * bs]
            xb, yb = xtr[idx], ytr[idx]
            optimizer.zero_grad()
            out = model(xb)
            loss = criterion(out, yb)
            loss.backward()
            optimizer.step()
            with torch.no_grad():     # accumulate on the device: no host sync per step
                run_loss += loss.detach() * yb.shape[0]
                run_correct += (out.argmax(dim=1) == yb).sum()
            seen += yb.shape[0]
        scheduler.step()
        tr_loss, tr_acc = run_loss.item() / seen, run_correct.item() / seen
        te_loss, te_acc = evaluate(model, xte, yte)
        for k, v in (("train_loss", tr_loss), ("train_acc", tr_acc), ("test_loss", te_loss), ("test_acc", te_acc)):
            history[k].append(v)
        print(f"epoch {epoch:3d}  train loss {tr_loss:.4f}  acc {100 * tr_acc:5.1f}%  |  test loss {te_loss:.4f}  "
              f"acc {100 * te_acc:5.1f}%  ({time.perf_counter() - t0:.2f} s)", flush=True)
    total = time.perf_counter() - t_start
    final_acc = history["test_acc"][-1] if history["test_acc"] else 0.0
    print(f"final test accuracy {100 * final_acc:.2f}% after {args.epochs} epochs ({total:.1f} s)")

    os.makedirs(args.out, exist_ok=True)
    ckpt = os.path.join(args.out, "digits_cnn.ckpt")
    torch.save({"model": model.state_dict(), "optimizer": optimizer.state_dict(),
                "scheduler": scheduler.state_dict(), "epoch": args.epochs, "history": history}, ckpt)
    # reload into a fresh model to show the round trip
    restored = DigitsCNN().to(dev)
    ck = torch.load(ckpt, map_location=dev)
    restored.load_state_dict(ck["model"])
    r_loss, r_acc = evaluate(restored, xte, yte)
    print(f"checkpoint saved to {ckpt}; reloaded model test accuracy {100 * r_acc:.2f}%")
    png = save_plot(history, os.path.join(args.out, "digits_cnn_curves.png"))
    if png:
        print(f"loss/accuracy curves saved to {png}")
    return final_acc


if __name__ == "__main__":
    r = main()
    sys.exit(r if isinstance(r, int) and r == 2 else 0)
