"""The default generator's seed: drawn from the OS in each process (as PyTorch), fixed by manual_seed."""
import subprocess
import sys

import cltensor as ct


def _seed_of_new_process(code="import cltensor as ct; print(ct.initial_seed())"):
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=True)
    return int(r.stdout.split()[-1])


def test_each_process_starts_from_another_seed():
    seeds = {_seed_of_new_process() for _ in range(3)}
    assert len(seeds) == 3
    assert 67280421310721 not in seeds          # the fixed seed of a fresh Generator() is not the default's


def test_manual_seed_fixes_the_stream_across_processes():
    code = "import cltensor as ct; ct.manual_seed(7); print(ct.initial_seed(), ct.rand(3).cpu().tolist())"
    outs = {subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120,
                           check=True).stdout for _ in range(2)}
    assert len(outs) == 1 and outs.pop().startswith("7 ")


def test_new_generator_has_pytorchs_default_seed():
    assert ct.Generator().initial_seed() == 67280421310721
