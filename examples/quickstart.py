"""A tour of the first things PyTorch tutorials teach, running on cltensor (any OpenCL device).

    python examples/quickstart.py [--device cpu|gpu|cl:N] [--steps 100]

Covers: creating tensors, dtypes, devices, views and reshaping, numpy interop (shared memory), elementwise math
and reductions, autograd, and a tiny gradient-descent loop written by hand.
"""
import argparse

import numpy as np

import cltensor as torch   # the whole point: the PyTorch names work


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--device", default="cpu", help="cltensor device: cpu, gpu, gpu:1, cl:N (default cpu)")
    ap.add_argument("--steps", type=int, default=100, help="steps of the hand-written gradient descent at the end")
    args = ap.parse_args(argv)
    dev = torch.device(args.device)
    print(f"cltensor {torch.__version__} on {dev}")

    # --- 1. creating tensors
    print("\n# 1. Creating tensors")
    data = [[1, 2], [3, 4]]
    x_data = torch.tensor(data, device=dev)
    print("from a list:\n", x_data)
    x_ones = torch.ones_like(x_data)
    print("ones_like:\n", x_ones)
    x_rand = torch.rand_like(x_data, dtype=torch.float)
    print("rand_like (float):\n", x_rand)
    shape = (2, 3)
    print("zeros:", torch.zeros(shape, device=dev))
    print("arange:", torch.arange(0, 10, 2, device=dev))
    print("linspace:", torch.linspace(0, 1, 5, device=dev))
    print("shape / dtype / device:", x_rand.shape, x_rand.dtype, x_rand.device)

    # --- 2. dtypes
    print("\n# 2. dtypes and promotion")
    i = torch.tensor([1, 2, 3], device=dev)
    f = torch.tensor([0.5, 1.5, 2.5], device=dev)
    print("int64 + float32 ->", (i + f).dtype, "| int / int ->", (i / i).dtype, "| .int():", f.int().dtype)
    print("half storage:", f.half(), "| bool mask:", f > 1)

    # --- 3. indexing, views and reshaping
    print("\n# 3. Indexing, views and reshaping")
    t = torch.arange(12, device=dev, dtype=torch.float32).reshape(3, 4)
    print("t:\n", t)
    print("first row:", t[0], "| last column:", t[:, -1], "| t[1:, ::2]:\n", t[1:, ::2])
    v = t.view(4, 3)
    print("view(4, 3) shares storage; transpose is a view too:\n", t.t())
    t[0, 0] = 100.0
    print("after t[0, 0] = 100, the view sees it:", v[0, 0].item())
    print("cat along dim 1:\n", torch.cat([t, t], dim=1))

    # --- 4. numpy bridge
    print("\n# 4. numpy interop")
    n = np.ones(5, dtype=np.float32)
    tn = torch.from_numpy(n)          # shares memory on the CPU device
    np.add(n, 1, out=n)
    print("from_numpy shares memory with numpy:", tn)
    back = torch.ones(3).cpu().numpy()   # .cpu() first: numpy() needs a CPU tensor (as in PyTorch)
    print(".numpy() of a CPU tensor:", back, type(back).__name__)

    # --- 5. math and reductions
    print("\n# 5. Operations")
    a = torch.randn(3, 4, device=dev)
    b = torch.randn(4, 2, device=dev)
    print("matmul:", (a @ b).shape, "| elementwise:", (a * a).sum().item() >= 0)
    print("mean / std / max:", a.mean().item(), a.std().item(), a.max().item())
    print("softmax rows sum to 1:", torch.softmax(a, dim=1).sum(dim=1))
    a.add_(1)   # in-place ops end with _
    print("in-place add_ done; argmax per row:", a.argmax(dim=1))

    # --- 6. autograd
    print("\n# 6. Autograd")
    x = torch.ones(5, device=dev)
    y = torch.zeros(3, device=dev)
    w = torch.randn(5, 3, device=dev, requires_grad=True)
    bias = torch.randn(3, device=dev, requires_grad=True)
    z = x @ w + bias
    loss = torch.nn.functional.binary_cross_entropy_with_logits(z, y)
    print("grad_fn of z:", z.grad_fn, "| of loss:", loss.grad_fn)
    loss.backward()
    print("w.grad:\n", w.grad)
    print("b.grad:", bias.grad)
    with torch.no_grad():
        print("inside no_grad, requires_grad =", (x @ w + bias).requires_grad)
    print("detach():", z.detach().requires_grad)

    # --- 7. a hand-written training loop: fit y = 2x + 1
    print("\n# 7. Gradient descent by hand: fit y = 2x + 1")
    torch.manual_seed(0)
    xs = torch.linspace(-1, 1, 64, device=dev).unsqueeze(1)
    ys = 2 * xs + 1 + 0.05 * torch.randn(64, 1, device=dev)
    wgt = torch.zeros(1, 1, device=dev, requires_grad=True)
    b0 = torch.zeros(1, device=dev, requires_grad=True)
    lr = 0.1
    for step in range(args.steps):
        pred = xs @ wgt + b0
        l = ((pred - ys) ** 2).mean()
        l.backward()
        with torch.no_grad():
            wgt -= lr * wgt.grad
            b0 -= lr * b0.grad
            wgt.grad.zero_()
            b0.grad.zero_()
        if step % max(1, args.steps // 5) == 0 or step == args.steps - 1:
            print(f"step {step:4d}  loss {l.item():.5f}  w {wgt.item():.3f}  b {b0.item():.3f}")
    print("done")


if __name__ == "__main__":
    main()
