"""A character-level LSTM language model trained on text that ships with Python (no download).

    python examples/char_lstm.py [--steps 300] [--device cpu] [--text textwrap|zen] [--out char_lstm_out] [--torch]

An embedding, a 2-layer nn.LSTM (hidden 128, batch_first) and a linear output head, trained with Adam and gradient
clipping (nn.utils.clip_grad_norm_) on the source of the stdlib module `textwrap` (or the Zen of Python, `this`
decoded from rot13). The text is cut into `--batch` contiguous streams read `--block` characters at a time:
truncated backpropagation through time, with the hidden state carried (detached) from one block to the next and
reset when the streams wrap around. Prints a progress bar (a live bar on a terminal, plain lines otherwise), saves
a loss-curve PNG when matplotlib is installed and prints text sampled one character at a time with a temperature.
`--torch` runs the same script on PyTorch for comparison.
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
p.add_argument("--steps", type=int, default=300)
p.add_argument("--device", default="cpu")
p.add_argument("--text", choices=["textwrap", "zen"], default="textwrap")
p.add_argument("--batch", type=int, default=32, help="number of contiguous streams")
p.add_argument("--block", type=int, default=64, help="characters per truncated-BPTT block")
p.add_argument("--embed", type=int, default=64)
p.add_argument("--hidden", type=int, default=128)
p.add_argument("--layers", type=int, default=2)
p.add_argument("--lr", type=float, default=3e-3)
p.add_argument("--clip", type=float, default=1.0, help="max gradient norm")
p.add_argument("--seed", type=int, default=0)
p.add_argument("--generate", type=int, default=300, help="characters to generate at the end")
p.add_argument("--temperature", type=float, default=0.8, help="sampling temperature (> 0)")
p.add_argument("--out", default="char_lstm_out", help="folder for the loss-curve PNG")
p.add_argument("--torch", action="store_true", help="run on PyTorch instead of cltensor")
args = p.parse_args()
if args.temperature <= 0:
    p.error("--temperature must be > 0")

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


class CharLSTM(nn.Module):
    def __init__(self, vocab, embed, hidden, layers):
        super().__init__()
        self.emb = nn.Embedding(vocab, embed)
        self.lstm = nn.LSTM(embed, hidden, num_layers=layers, batch_first=True)
        self.head = nn.Linear(hidden, vocab)

    def forward(self, idx, state=None):
        y, state = self.lstm(self.emb(idx), state)       # y: (B, T, hidden); state: (h, c), each (layers, B, hidden)
        return self.head(y), state


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
    text = load_text(args.text)
    chars = sorted(set(text))
    stoi = {ch: i for i, ch in enumerate(chars)}
    data = np.array([stoi[ch] for ch in text], dtype=np.int64)
    # `batch` contiguous streams, stream b = data[b * L: (b + 1) * L + 1] (inputs and their next characters)
    batch = max(1, min(args.batch, (len(data) - 1) // 2))
    L = (len(data) - 1) // batch
    block = max(1, min(args.block, L))
    nblocks = L // block                 # blocks per pass over the streams; the hidden state resets after each pass
    streams = np.stack([data[b * L:(b + 1) * L + 1] for b in range(batch)])
    print(f"{'torch' if args.torch else 'cltensor'}: {len(text)} characters of '{args.text}', vocabulary "
          f"{len(chars)}, {batch} streams of {L}, block {block} ({nblocks} blocks a pass), device {args.device}")
    model = CharLSTM(len(chars), args.embed, args.hidden, args.layers).to(args.device)
    print(f"parameters: {sum(p.numel() for p in model.parameters())}")
    opt = torch.optim.Adam(model.parameters(), lr=args.lr)
    losses = []
    state = None
    t0 = time.perf_counter()
    for step in range(1, args.steps + 1):
        k = (step - 1) % nblocks
        if k == 0:
            state = None                 # a new pass starts each stream at its beginning again
        s = k * block
        x = torch.tensor(streams[:, s:s + block], device=args.device)
        y = torch.tensor(streams[:, s + 1:s + block + 1], device=args.device)
        logits, state = model(x, state)
        state = tuple(t.detach() for t in state)         # truncated BPTT: no gradient into the previous block
        loss = F.cross_entropy(logits.reshape(-1, len(chars)), y.reshape(-1))
        opt.zero_grad()
        loss.backward()
        nn.utils.clip_grad_norm_(model.parameters(), args.clip)
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
        path = os.path.join(args.out, "char_lstm_loss_%s.png" % ("torch" if args.torch else "cltensor"))
        plt.figure(figsize=(6, 3.5))
        plt.plot(losses)
        plt.xlabel("step")
        plt.ylabel("cross-entropy")
        plt.title("char LSTM on '%s' (%s)" % (args.text, "torch" if args.torch else "cltensor"))
        plt.tight_layout()
        plt.savefig(path, dpi=100)
        print(f"loss curve: {path}")
    except ImportError:
        print("matplotlib is not installed: no loss-curve PNG")
    model.eval()
    prime = text[:8]
    out = list(prime)
    with torch.no_grad():
        # read the prime once, then feed back one sampled character at a time, carrying the state
        x = torch.tensor(np.array([[stoi[ch] for ch in prime]], dtype=np.int64), device=args.device)
        state = None
        for _ in range(args.generate):
            logits, state = model(x, state)
            probs = F.softmax(logits[0, -1] / args.temperature, dim=-1)
            i = int(torch.multinomial(probs, 1).item())
            out.append(chars[i])
            x = torch.tensor(np.array([[i]], dtype=np.int64), device=args.device)
    print(f"generated (temperature {args.temperature}):")
    print("".join(out))


if __name__ == "__main__":
    main()
