"""A convolutional autoencoder on scikit-learn's bundled 8x8 handwritten digits (1797 images, no download).

    pip install scikit-learn            # ships the data set; matplotlib (optional) draws the image grid
    python examples/digits_autoencoder.py [--device cpu] [--epochs 30] [--steps N] [--out digits_ae_out]
    python examples/digits_autoencoder.py --backend torch       # the same script on PyTorch CPU, for comparison

Encoder: Conv2d down to a 64 x 2 x 2 code (strided convolutions); decoder: ConvTranspose2d (2 -> 4) then
Upsample (bilinear, 4 -> 8) and two convolutions, trained with MSELoss and Adam. Prints a progress bar per epoch,
the final test reconstruction loss and the wall time, and saves a PNG grid of test inputs (top) and their
reconstructions (bottom) when matplotlib is installed.
"""
import argparse
import importlib
import os
import sys
import time

import numpy as np


def build(lib):
    nn = lib.nn

    class DigitsAutoencoder(nn.Module):
        def __init__(self):
            super().__init__()
            self.encoder = nn.Sequential(
                nn.Conv2d(1, 16, 3, padding=1), nn.ReLU(),                 # 16 x 8 x 8
                nn.Conv2d(16, 32, 3, stride=2, padding=1), nn.ReLU(),      # 32 x 4 x 4
                nn.Conv2d(32, 64, 3, stride=2, padding=1), nn.ReLU(),      # 64 x 2 x 2
            )
            self.decoder = nn.Sequential(
                nn.ConvTranspose2d(64, 32, 4, stride=2, padding=1), nn.ReLU(),   # 32 x 4 x 4
                nn.Upsample(scale_factor=2, mode="bilinear"),                   # 32 x 8 x 8
                nn.Conv2d(32, 16, 3, padding=1), nn.ReLU(),
                nn.Conv2d(16, 1, 3, padding=1), nn.Tanh(),                       # 1 x 8 x 8 in [-1, 1]
            )

        def forward(self, x):
            return self.decoder(self.encoder(x))
    return DigitsAutoencoder()


def load_digits_split(seed=0, test_fraction=0.2):
    from sklearn.datasets import load_digits
    d = load_digits()
    x = (d.images.astype(np.float32) / 16.0 - 0.5) / 0.5     # [0, 16] -> [-1, 1]
    rng = np.random.default_rng(seed)
    perm = rng.permutation(len(x))
    nte = int(round(len(x) * test_fraction))
    return x[perm[nte:], None], x[perm[:nte], None]


def progress(epoch, epochs, step, nsteps, loss, width=30):
    done = int(width * step / max(nsteps, 1))
    bar = "#" * done + "." * (width - done)
    end = "\n" if step == nsteps else ""
    sys.stdout.write(f"\repoch {epoch:3d}/{epochs} [{bar}] {step:3d}/{nsteps} loss {loss:.4f}" + end)
    sys.stdout.flush()


def save_grid(inputs, recons, path, backend):
    try:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        print("matplotlib is not installed: skipping the image grid (pip install matplotlib)")
        return None
    n = inputs.shape[0]
    fig, axes = plt.subplots(2, n, figsize=(n * 0.9, 2.1))
    for i in range(n):
        for row, img in ((0, inputs[i, 0]), (1, recons[i, 0])):
            ax = axes[row, i]
            ax.imshow(img, cmap="gray_r", vmin=-1, vmax=1)
            ax.set_xticks([])
            ax.set_yticks([])
    axes[0, 0].set_ylabel("input", fontsize=8)
    axes[1, 0].set_ylabel("output", fontsize=8)
    fig.suptitle(f"{backend}: digits autoencoder (test images)", fontsize=9)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return path


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--backend", default="cltensor", choices=("cltensor", "torch"))
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--epochs", type=int, default=30)
    ap.add_argument("--steps", type=int, default=None, help="limit the optimizer steps per epoch (quick runs)")
    ap.add_argument("--batch-size", type=int, default=64)
    ap.add_argument("--lr", type=float, default=2e-3)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--out", default="digits_ae_out", help="directory for the image grid")
    args = ap.parse_args(argv)
    lib = importlib.import_module(args.backend)
    F = lib.nn.functional
    try:
        xtr_np, xte_np = load_digits_split(args.seed)
    except ImportError:
        print("this example needs scikit-learn for its bundled digits data set: pip install scikit-learn")
        return 2
    dev = lib.device(args.device)
    lib.manual_seed(args.seed)
    xtr, xte = lib.tensor(xtr_np, device=dev), lib.tensor(xte_np, device=dev)
    print(f"digits: {xtr.shape[0]} train / {xte.shape[0]} test images of {tuple(xtr.shape[1:])} on {args.backend} "
          f"{dev}")
    model = build(lib).to(dev)
    print(model)
    opt = lib.optim.Adam(model.parameters(), lr=args.lr)
    rng = np.random.default_rng(args.seed)
    n, bs = xtr.shape[0], args.batch_size
    nsteps = (n + bs - 1) // bs if args.steps is None else min(args.steps, (n + bs - 1) // bs)
    t_start = time.perf_counter()
    test_loss = float("nan")
    for epoch in range(1, args.epochs + 1):
        model.train()
        perm = lib.tensor(rng.permutation(n), device=dev)
        run = lib.zeros((), device=dev)
        seen = 0
        for s in range(nsteps):
            xb = xtr[perm[s * bs:(s + 1) * bs]]
            opt.zero_grad()
            loss = F.mse_loss(model(xb), xb)
            loss.backward()
            opt.step()
            with lib.no_grad():
                run += loss.detach() * xb.shape[0]
            seen += xb.shape[0]
            if s + 1 == nsteps or (s + 1) % 4 == 0:       # the bar reads the running loss: one sync per 4 steps
                progress(epoch, args.epochs, s + 1, nsteps, run.item() / seen)
        model.eval()
        with lib.no_grad():
            test_loss = F.mse_loss(model(xte), xte).item()
        print(f"          test loss {test_loss:.4f}  ({time.perf_counter() - t_start:.1f} s)")
    total = time.perf_counter() - t_start
    print(f"final test reconstruction loss (MSE) {test_loss:.4f} after {args.epochs} epochs ({total:.1f} s, "
          f"{args.backend})")
    with lib.no_grad():
        recon = model(xte[:10])
    os.makedirs(args.out, exist_ok=True)
    png = save_grid(xte_np[:10], recon.detach().cpu().numpy(), os.path.join(args.out, "digits_autoencoder.png"),
                    args.backend)
    if png:
        print(f"inputs and reconstructions saved to {png}")
    return test_loss


if __name__ == "__main__":
    r = main()
    sys.exit(r if isinstance(r, int) and r == 2 else 0)
