"""cltensor.utils.tensorboard.SummaryWriter against torch.utils.tensorboard.SummaryWriter: the same calls write
event files that TensorBoard's own reader (EventAccumulator) reads back with the same scalars, histograms, image
pixels, text and hyperparameter records; add_graph gives a node per module and the data flow between them."""
import io
import os

import numpy as np
import pytest

import cltensor as ct
from cltensor import nn
from cltensor.utils.tensorboard import SummaryWriter

torch = pytest.importorskip("torch")
pytest.importorskip("tensorboard")
from torch.utils.tensorboard import SummaryWriter as TorchWriter  # noqa: E402
from tensorboard.backend.event_processing.event_accumulator import EventAccumulator  # noqa: E402
from PIL import Image  # noqa: E402


def _load(path):
    acc = EventAccumulator(str(path), size_guidance={"images": 0, "histograms": 0, "scalars": 0, "tensors": 0})
    acc.Reload()
    return acc


def _write(W, path, conv):
    rng = np.random.default_rng(0)
    vals = rng.standard_normal(1000).astype(np.float32) * 3
    img = rng.random((3, 5, 7)).astype(np.float32)
    imgs = (rng.random((10, 1, 4, 6)) * 255).astype(np.uint8)
    with W(str(path)) as w:
        for step in range(5):
            w.add_scalar("loss/train", conv(np.float32(1.0 / (step + 1))), step)
        w.add_scalar("plain", 2.5, 7)
        w.add_histogram("weights", conv(vals), 3)
        w.add_histogram("weights_auto", conv(vals), 4, bins="auto")
        w.add_histogram("few", conv(np.array([0.0, 1.0, 1.0, -2.0], np.float32)), 0, bins=4)
        w.add_image("one", conv(img), 1)
        w.add_image("hwc", conv(img.transpose(1, 2, 0)), 1, dataformats="HWC")
        w.add_images("grid", conv(imgs), 2)
        w.add_text("notes", "**bold** text", 5)
        w.add_scalars("run", {"a": conv(np.float32(1.0)), "b": 2.0}, 1)


def test_events_read_back_like_torchs(tmp_path):
    _write(SummaryWriter, tmp_path / "ours", lambda a: ct.tensor(a) if isinstance(a, np.ndarray) else a)
    _write(TorchWriter, tmp_path / "torch", lambda a: torch.tensor(a) if isinstance(a, np.ndarray) else a)
    ours, ref = _load(tmp_path / "ours"), _load(tmp_path / "torch")
    assert sorted(ours.Tags()["scalars"]) == sorted(ref.Tags()["scalars"]) == ["loss/train", "plain"]
    for tag in ("loss/train", "plain"):
        assert [(e.step, e.value) for e in ours.Scalars(tag)] == [(e.step, e.value) for e in ref.Scalars(tag)]
    for tag in ("weights", "weights_auto", "few"):
        (a,), (b,) = ours.Histograms(tag), ref.Histograms(tag)
        assert a.step == b.step
        ha, hb = a.histogram_value, b.histogram_value
        for f in ("min", "max", "num", "sum", "sum_squares"):
            assert getattr(ha, f) == pytest.approx(getattr(hb, f), rel=1e-12), (tag, f)
        np.testing.assert_allclose(ha.bucket_limit, hb.bucket_limit, rtol=1e-12)
        assert list(ha.bucket) == list(hb.bucket)
    for tag in ("one", "hwc", "grid"):
        (a,), (b,) = ours.Images(tag), ref.Images(tag)
        assert (a.step, a.width, a.height) == (b.step, b.width, b.height)
        pa = np.asarray(Image.open(io.BytesIO(a.encoded_image_string)).convert("RGB"))
        pb = np.asarray(Image.open(io.BytesIO(b.encoded_image_string)).convert("RGB"))
        np.testing.assert_array_equal(pa, pb)
    (ta,), (tb,) = ours.Tensors("notes/text_summary"), ref.Tensors("notes/text_summary")
    assert ta.tensor_proto.string_val == tb.tensor_proto.string_val == [b"**bold** text"]
    names = os.listdir(tmp_path / "ours")
    assert sorted(n for n in names if not n.startswith("events.out.tfevents.")) == ["run_a", "run_b"]
    for sub in ("run_a", "run_b"):
        (a,), (b,) = _load(tmp_path / "ours" / sub).Scalars("run"), _load(tmp_path / "torch" / sub).Scalars("run")
        assert (a.step, a.value) == (b.step, b.value)


def test_hparams_records_like_torchs(tmp_path):
    from tensorboard.plugins.hparams import plugin_data_pb2
    hp = {"lr": 0.1, "bsize": 32, "opt": "adam", "nesterov": True}
    metrics = {"hparam/accuracy": 0.9, "hparam/loss": 0.25}
    contents = []
    for W, d in ((SummaryWriter, "ours"), (TorchWriter, "torch")):
        with W(str(tmp_path / d)) as w:
            w.add_hparams(hp, metrics, hparam_domain_discrete={"opt": ["adam", "sgd"]}, run_name="r")
        acc = _load(tmp_path / d / "r")
        assert sorted(acc.Tags()["scalars"]) == sorted(metrics)
        assert [e.value for e in acc.Scalars("hparam/loss")] == [0.25]
        meta = acc.summary_metadata
        got = {}
        for tag in ("_hparams_/experiment", "_hparams_/session_start_info", "_hparams_/session_end_info"):
            assert meta[tag].plugin_data.plugin_name == "hparams"
            got[tag] = plugin_data_pb2.HParamsPluginData.FromString(meta[tag].plugin_data.content)
        contents.append(got)
    for tag in contents[0]:
        assert contents[0][tag] == contents[1][tag], tag


class _Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc1 = nn.Linear(4, 8)
        self.fc2 = nn.Linear(8, 3)
        self.act = nn.Tanh()

    def forward(self, x):
        h = ct.relu(self.fc1(x))            # a functional op between two modules
        return self.act(self.fc2(h * 2))


def test_add_graph_nodes_and_data_flow(tmp_path):
    from tensorboard.compat.proto.graph_pb2 import GraphDef
    with SummaryWriter(str(tmp_path)) as w:
        w.add_graph(_Net(), ct.randn(5, 4))
    acc = _load(tmp_path)
    g = GraphDef.FromString(acc.Graph().SerializeToString())
    nodes = {n.name: n for n in g.node}
    assert set(nodes) == {"input/input.0", "_Net/fc1", "_Net/fc2", "_Net/act", "output/output.0"}
    assert nodes["_Net/fc1"].op == "Linear" and nodes["_Net/act"].op == "Tanh"
    assert list(nodes["_Net/fc1"].input) == ["input/input.0"]
    assert list(nodes["_Net/fc2"].input) == ["_Net/fc1"]            # through relu and * 2
    assert list(nodes["_Net/act"].input) == ["_Net/fc2"]
    assert list(nodes["output/output.0"].input) == ["_Net/act"]
    dims = [d.size for d in nodes["_Net/fc2"].attr["_output_shapes"].list.shape[0].dim]
    assert dims == [5, 3]


def test_errors_and_defaults(tmp_path, monkeypatch):
    with SummaryWriter(str(tmp_path)) as w:
        with pytest.raises(AssertionError, match="one element"):
            w.add_scalar("x", ct.ones(3))
        with pytest.raises(ValueError, match="no element"):
            w.add_histogram("h", ct.ones(0))
        with pytest.raises(TypeError, match="dictionary"):
            w.add_hparams([1], {})
        w.add_scalar("t", ct.tensor(3.0), 0)
        assert w.get_logdir() == str(tmp_path)
    monkeypatch.chdir(tmp_path)
    w = SummaryWriter(comment="_x")
    assert w.get_logdir().startswith("runs" + os.sep) and w.get_logdir().endswith("_x")
    w.close()
