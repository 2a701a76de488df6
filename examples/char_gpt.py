"""A small character-level GPT trained on text that ships with Python (no download).

    python examples/char_gpt.py [--steps 800] [--device cpu] [--text textwrap|zen] [--out char_gpt_out] [--torch]

Two transformer blocks (d_model 64, 4 heads, pre-norm, causal self-attention through
F.scaled_dot_product_attention(is_causal=True), a 4x MLP), token and position embeddings, a tied-free output head,
trained with AdamW on the source of the stdlib module `textwrap` (or the Zen of Python, `this` decoded from rot13).
Prints a progress bar (a live bar on a terminal, plain lines otherwise), saves a loss-curve PNG when matplotlib is
installed and prints generated text at the end. `--torch` runs the same script on PyTorch for comparison.
"""
import argparse
import codecs
import contextlib
import inspect
import io
import math
import os
import sys
import time

import numpy as np

p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
p.add_argument("--steps", type=int, default=800)
p.add_argument("--device", default="cpu")
p.add_argument("--text", choices=["textwrap", "zen"], default="textwrap")
p.add_argument("--batch", type=int, default=32)
p.add_argument("--block", type=int, default=64)
p.add_argument("--lr", type=float, default=3e-3)
p.add_argument("--seed", type=int, default=0)
p.add_argument("--generate", type=int, default=300, help="characters to generate at the end")
p.add_argument("--out", default="char_gpt_out", help="folder for the loss-curve PNG")
p.add_argument("--torch", action="store_true", help="run on PyTorch instead of cltensor")
args = p.parse_args()

if args.torch:
    import torch
else:
    sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    import cltensor as torch
nn = torch.nn
F = torch.nn.functional


def load_text(name):
    if name == "zen":
        with contextlib.redirect_stdout(io.StringIO()):
            import this
        return codecs.decode(this.s, "rot13")
    import textwrap
    return inspect.getsource(textwrap)


class Block(nn.Module):
    def __init__(self, d, heads):
        super().__init__()
        self.heads = heads
        self.ln1 = nn.LayerNorm(d)
        self.qkv = nn.Linear(d, 3 * d)
        self.proj = nn.Linear(d, d)
        self.ln2 = nn.LayerNorm(d)
        self.mlp = nn.Sequential(nn.Linear(d, 4 * d), nn.GELU(), nn.Linear(4 * d, d))

    def forward(self, x):
        B, T, C = x.shape
        q, k, v = self.qkv(self.ln1(x)).split(C, dim=2)
        q, k, v = [t.reshape(B, T, self.heads, C // self.heads).transpose(1, 2) for t in (q, k, v)]
        y = F.scaled_dot_product_attention(q, k, v, is_causal=True)       # (B, heads, T, C / heads)
        x = x + self.proj(y.transpose(1, 2).reshape(B, T, C))
        return x + self.mlp(self.ln2(x))


class CharGPT(nn.Module):
    def __init__(self, vocab, block, d=64, heads=4, layers=2):
        super().__init__()
        self.block = block
        self.tok = nn.Embedding(vocab, d)
        self.pos = nn.Embedding(block, d)
        self.blocks = nn.Sequential(*[Block(d, heads) for _ in range(layers)])
        self.ln = nn.LayerNorm(d)
        self.head = nn.Linear(d, vocab)

    def forward(self, idx):
        T = idx.shape[1]
        pos = torch.arange(T, device=idx.device)
        x = self.tok(idx) + self.pos(pos)
        return self.head(self.ln(self.blocks(x)))


def progress(step, total, loss, t0):
    rate = step / max(time.perf_counter() - t0, 1e-9)
    if sys.stdout.isatty():
        w = 30
        done = int(w * step / total)
        eta = (total - step) / max(rate, 1e-9)
        sys.stdout.write(f"\r[{'#' * done}{'.' * (w - done)}] step {step}/{total} loss {loss:.3f} "
                         f"{rate:.1f} it/s eta {eta:.0f}s")
        if step == total:
            sys.stdout.write("\n")
        sys.stdout.flush()
    elif step == total or step % max(total // 10, 1) == 0 or step == 1:
        print(f"step {step}/{total} loss {loss:.4f} ({rate:.1f} it/s)", flush=True)


def main():
    torch.manual_seed(args.seed)
    rng = np.random.default_rng(args.seed)
    text = load_text(args.text)
    chars = sorted(set(text))
    stoi = {ch: i for i, ch in enumerate(chars)}
    data = np.array([stoi[ch] for ch in text], dtype=np.int64)
    block = min(args.block, len(data) - 2)
    print(f"{'torch' if args.torch else 'cltensor'}: {len(text)} characters of '{args.text}', vocabulary "
          f"{len(chars)}, block {block}, batch {args.batch}, device {args.device}")
    model = CharGPT(len(chars), block).to(args.device)
    print(f"parameters: {sum(p.numel() for p in model.parameters())}")
    opt = torch.optim.AdamW(model.parameters(), lr=args.lr, weight_decay=0.01)
    losses = []
    t0 = time.perf_counter()
    for step in range(1, args.steps + 1):
        starts = rng.integers(0, len(data) - block - 1, size=args.batch)
        xb = np.stack([data[s:s + block] for s in starts])
        yb = np.stack([data[s + 1:s + block + 1] for s in starts])
        x = torch.tensor(xb, device=args.device)
        y = torch.tensor(yb, device=args.device)
        logits = model(x)
        loss = F.cross_entropy(logits.reshape(-1, len(chars)), y.reshape(-1))
        opt.zero_grad()
        loss.backward()
        opt.step()
        lv = loss.item()
        losses.append(lv)
        progress(step, args.steps, lv, t0)
    train_s = time.perf_counter() - t0
    tail = float(np.mean(losses[-max(len(losses) // 10, 1):]))
    print(f"trained {args.steps} steps in {train_s:.1f} s ({train_s / max(args.steps, 1) * 1000:.0f} ms/step); "
          f"final loss {tail:.4f} (mean of the last 10%; uniform guess {math.log(len(chars)):.2f})")
    try:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
        os.makedirs(args.out, exist_ok=True)
        path = os.path.join(args.out, "char_gpt_loss_%s.png" % ("torch" if args.torch else "cltensor"))
        plt.figure(figsize=(6, 3.5))
        plt.plot(losses)
        plt.xlabel("step")
        plt.ylabel("cross-entropy")
        plt.title("char GPT on '%s' (%s)" % (args.text, "torch" if args.torch else "cltensor"))
        plt.tight_layout()
        plt.savefig(path, dpi=100)
        print(f"loss curve: {path}")
    except ImportError:
        print("matplotlib is not installed: no loss-curve PNG")
    model.eval()
    ctx = [stoi[ch] for ch in text[:8]]
    with torch.no_grad():
        for _ in range(args.generate):
            x = torch.tensor(np.array([ctx[-block:]], dtype=np.int64), device=args.device)
            probs = F.softmax(model(x)[0, -1], dim=-1)
            ctx.append(int(torch.multinomial(probs, 1).item()))
    print("generated:")
    print("".join(chars[i] for i in ctx))


if __name__ == "__main__":
    main()
