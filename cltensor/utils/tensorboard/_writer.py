"""SummaryWriter and FileWriter: PyTorch's TensorBoard writer API over the `tensorboard` package's EventFileWriter.

Each `add_*` call turns its values into a `Summary` protocol buffer (scalars, histograms in TensorBoard's
exponential buckets, PNG images, text, hyperparameters, a module graph) and queues an `Event` on the event file;
`flush()` writes the queue, `close()` ends the file. The layouts follow TensorBoard's plugins, so TensorBoard (and
`EventAccumulator`) reads them as it reads PyTorch's files.
"""
import os
import socket
import time
from datetime import datetime

import numpy as np

from ._png import encode_png

__all__ = ["SummaryWriter", "FileWriter"]


def _tb():
    try:
        from tensorboard.compat.proto import event_pb2, summary_pb2
        from tensorboard.summary.writer.event_file_writer import EventFileWriter
    except ImportError as e:          # pragma: no cover - depends on the environment
        raise ImportError("cltensor.utils.tensorboard needs the tensorboard package: pip install tensorboard") from e
    return event_pb2, summary_pb2, EventFileWriter


def _np(x):
    """A value as a numpy array: cltensor tensors are read on the host (detached), numpy arrays and numbers kept."""
    if hasattr(x, "detach") and hasattr(x, "numpy"):
        return np.asarray(x.detach().cpu().numpy())
    if isinstance(x, np.ndarray):
        return x
    if isinstance(x, (list, tuple)):
        return np.asarray([_np(v) for v in x])
    return np.asarray(x)


def _scalar(x):
    a = _np(x)
    if a.squeeze().ndim != 0:
        raise AssertionError(f"Tensor should contain one element (0 dimensions). Was given size: {a.size} and "
                             f"{a.ndim} dimensions.")
    return a.reshape(()).item()


# ---------------------------------------------------------------- summaries

def _default_bins():
    """TensorBoard's histogram buckets: +-1e-12 * 1.1^k up to 1e20, mirrored, and 0."""
    v, pos = 1e-12, []
    while v < 1e20:
        pos.append(v)
        v *= 1.1
    pos.append(float(np.finfo("float64").max))
    return [-b for b in reversed(pos)] + [0] + pos


_BINS = None


def _histogram_proto(values, bins, max_bins=None):
    _, summary_pb2, _ = _tb()
    values = np.asarray(values, dtype=np.float64).reshape(-1)
    if values.size == 0:
        raise ValueError("The input has no element.")
    counts, limits = np.histogram(values, bins=bins)
    if max_bins is not None and len(counts) > max_bins:
        step = len(counts) // max_bins
        rem = len(counts) % step
        if rem:
            counts = np.pad(counts, (0, step - rem))
        counts = counts.reshape(-1, step).sum(axis=-1)
        merged = np.empty(counts.size + 1, limits.dtype)
        merged[:-1] = limits[:-1:step]
        merged[-1] = limits[-1]
        limits = merged
    # keep the bins from the first to the last non-empty one; TensorBoard stores right edges only, so one empty
    # bin (or the bin left of the first non-empty one) carries the left edge
    nz = np.flatnonzero(counts)
    first, last = int(nz[0]), int(nz[-1]) + 1
    if first > 0:
        counts, limits = counts[first - 1:last], limits[first:last + 1]
    else:
        counts, limits = np.concatenate([[0], counts[:last]]), limits[:last + 1]
    return summary_pb2.HistogramProto(min=values.min(), max=values.max(), num=len(values), sum=values.sum(),
                                      sum_squares=values.dot(values), bucket_limit=limits.tolist(),
                                      bucket=counts.tolist())


def _make_grid(nchw, ncols=8):
    if nchw.shape[1] == 1:
        nchw = np.concatenate([nchw] * 3, 1)
    if nchw.ndim != 4 or nchw.shape[1] != 3:
        raise AssertionError("Input should be a 4D numpy array with 3 channels")
    n, _, h, w = nchw.shape
    ncols = min(n, ncols)
    nrows = -(-n // ncols)
    canvas = np.zeros((3, h * nrows, w * ncols), dtype=nchw.dtype)
    for i in range(n):
        y, x = divmod(i, ncols)
        canvas[:, y * h:(y + 1) * h, x * w:(x + 1) * w] = nchw[i]
    return canvas


def _to_hwc(a, fmt):
    fmt = fmt.upper()
    if len(set(fmt)) != len(fmt):
        raise AssertionError(f"You can not use the same dimension shorthand twice. input_format: {fmt}")
    if a.ndim != len(fmt):
        raise AssertionError(f"size of input tensor and input format are different. tensor shape: {a.shape}, "
                             f"input_format: {fmt}")
    if len(fmt) == 4:
        return _make_grid(a.transpose([fmt.find(c) for c in "NCHW"])).transpose(1, 2, 0)
    if len(fmt) == 3:
        hwc = a.transpose([fmt.find(c) for c in "HWC"])
        return np.concatenate([hwc] * 3, 2) if hwc.shape[2] == 1 else hwc
    if len(fmt) == 2:
        return np.stack([a.transpose([fmt.find(c) for c in "HW"])] * 3, 2)
    raise AssertionError(f"dataformats must have 2, 3 or 4 letters, got {fmt!r}")


def _image_proto(img, dataformats):
    _, summary_pb2, _ = _tb()
    a = _np(img)
    hwc = _to_hwc(a, dataformats)
    scale = 1 if hwc.dtype == np.uint8 else 255
    hwc = (hwc.astype(np.float32) * scale).clip(0, 255).astype(np.uint8)
    h, w, c = hwc.shape
    return summary_pb2.Summary.Image(height=h, width=w, colorspace=c, encoded_image_string=encode_png(hwc))


def _plugin_meta(name, content=b""):
    _, summary_pb2, _ = _tb()
    return summary_pb2.SummaryMetadata(plugin_data=summary_pb2.SummaryMetadata.PluginData(plugin_name=name,
                                                                                        content=content))


# ---------------------------------------------------------------- writers

class FileWriter:
    """One event file in `log_dir` (PyTorch's torch.utils.tensorboard.writer.FileWriter)."""

    def __init__(self, log_dir, max_queue=10, flush_secs=120, filename_suffix=""):
        _, _, EventFileWriter = _tb()
        self._log_dir = str(log_dir)
        self.event_writer = EventFileWriter(self._log_dir, max_queue, flush_secs, filename_suffix)

    def get_logdir(self):
        return self._log_dir

    def add_event(self, event, step=None, walltime=None):
        event.wall_time = time.time() if walltime is None else walltime
        if step is not None:
            event.step = int(step)
        self.event_writer.add_event(event)

    def add_summary(self, summary, global_step=None, walltime=None):
        event_pb2, _, _ = _tb()
        self.add_event(event_pb2.Event(summary=summary), global_step, walltime)

    def add_graph(self, graph_def, walltime=None):
        event_pb2, _, _ = _tb()
        self.add_event(event_pb2.Event(graph_def=graph_def.SerializeToString()), None, walltime)

    def flush(self):
        self.event_writer.flush()

    def close(self):
        self.event_writer.close()

    def reopen(self):
        self.event_writer.reopen()


class SummaryWriter:
    """SummaryWriter(log_dir=None, comment='', purge_step=None, max_queue=10, flush_secs=120, filename_suffix=''):
    writes TensorBoard event files under `log_dir` (default runs/<date>_<host><comment>), as PyTorch's does."""

    def __init__(self, log_dir=None, comment="", purge_step=None, max_queue=10, flush_secs=120,
                 filename_suffix=""):
        if not log_dir:
            stamp = datetime.now().strftime("%b%d_%H-%M-%S")
            log_dir = os.path.join("runs", stamp + "_" + socket.gethostname() + comment)
        self.log_dir = str(log_dir)
        self.purge_step = purge_step
        self.max_queue = max_queue
        self.flush_secs = flush_secs
        self.filename_suffix = filename_suffix
        self.file_writer = None
        self.all_writers = None
        self._get_file_writer()

    # ------------------------------------------------------------ files
    def _get_file_writer(self):
        if self.file_writer is None:
            self.file_writer = FileWriter(self.log_dir, self.max_queue, self.flush_secs, self.filename_suffix)
            self.all_writers = {self.file_writer.get_logdir(): self.file_writer}
            if self.purge_step is not None:
                event_pb2, _, _ = _tb()
                self.file_writer.add_event(event_pb2.Event(step=self.purge_step, file_version="brain.Event:2"))
                self.file_writer.add_event(event_pb2.Event(
                    step=self.purge_step, session_log=event_pb2.SessionLog(status=event_pb2.SessionLog.START)))
                self.purge_step = None
        return self.file_writer

    def get_logdir(self):
        return self.log_dir

    def flush(self):
        for w in (self.all_writers or {}).values():
            w.flush()

    def close(self):
        for w in (self.all_writers or {}).values():
            w.flush()
            w.close()
        self.file_writer = self.all_writers = None

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    # ------------------------------------------------------------ scalars
    def add_scalar(self, tag, scalar_value, global_step=None, walltime=None, new_style=False,
                   double_precision=False):
        """One scalar (a one-element tensor, numpy value or number) at `global_step`."""
        _, summary_pb2, _ = _tb()
        v = float(_scalar(scalar_value))
        if new_style:
            from tensorboard.compat.proto.tensor_pb2 import TensorProto
            from tensorboard.compat.proto.tensor_shape_pb2 import TensorShapeProto
            if double_precision:
                t = TensorProto(dtype="DT_DOUBLE", double_val=[v], tensor_shape=TensorShapeProto())
            else:
                t = TensorProto(dtype="DT_FLOAT", float_val=[v], tensor_shape=TensorShapeProto())
            value = summary_pb2.Summary.Value(tag=tag, tensor=t, metadata=_plugin_meta("scalars"))
        else:
            value = summary_pb2.Summary.Value(tag=tag, simple_value=v)
        self._get_file_writer().add_summary(summary_pb2.Summary(value=[value]), global_step, walltime)

    def add_scalars(self, main_tag, tag_scalar_dict, global_step=None, walltime=None):
        """Several scalars under one chart: each key gets its own run directory <log_dir>/<main_tag>_<key>."""
        _, summary_pb2, _ = _tb()
        walltime = time.time() if walltime is None else walltime
        self._get_file_writer()
        for tag, value in tag_scalar_dict.items():
            path = os.path.join(self.log_dir, main_tag.replace("/", "_") + "_" + tag)
            w = self.all_writers.get(path)
            if w is None:
                w = self.all_writers[path] = FileWriter(path, self.max_queue, self.flush_secs, self.filename_suffix)
            s = summary_pb2.Summary(value=[summary_pb2.Summary.Value(tag=main_tag, simple_value=float(_scalar(value)))])
            w.add_summary(s, global_step, walltime)

    def add_tensor(self, tag, tensor, global_step=None, walltime=None):
        """A tensor's values as a TensorProto summary."""
        from tensorboard.compat.proto.tensor_pb2 import TensorProto
        from tensorboard.compat.proto.tensor_shape_pb2 import TensorShapeProto
        _, summary_pb2, _ = _tb()
        a = _np(tensor)
        shape = TensorShapeProto(dim=[TensorShapeProto.Dim(size=int(d)) for d in a.shape])
        if a.dtype.kind == "f":
            t = TensorProto(dtype="DT_FLOAT", float_val=a.astype(np.float32).reshape(-1).tolist(), tensor_shape=shape)
        elif a.dtype.kind == "b":
            t = TensorProto(dtype="DT_BOOL", bool_val=a.reshape(-1).tolist(), tensor_shape=shape)
        elif a.dtype.kind in "iu":
            t = TensorProto(dtype="DT_INT64", int64_val=a.astype(np.int64).reshape(-1).tolist(), tensor_shape=shape)
        else:
            raise ValueError(f"add_tensor: unsupported dtype {a.dtype}")
        value = summary_pb2.Summary.Value(tag=tag, tensor=t, metadata=_plugin_meta("tensor"))
        self._get_file_writer().add_summary(summary_pb2.Summary(value=[value]), global_step, walltime)

    # ------------------------------------------------------------ histograms
    def add_histogram(self, tag, values, global_step=None, bins="tensorflow", walltime=None, max_bins=None):
        """A histogram of `values`: bins='tensorflow' (TensorBoard's exponential buckets) or any `np.histogram`
        bins argument ('auto', 'fd', an int, edges)."""
        global _BINS
        _, summary_pb2, _ = _tb()
        if isinstance(bins, str) and bins == "tensorflow":
            if _BINS is None:
                _BINS = _default_bins()
            bins = _BINS
        h = _histogram_proto(_np(values), bins, max_bins)
        s = summary_pb2.Summary(value=[summary_pb2.Summary.Value(tag=tag, histo=h)])
        self._get_file_writer().add_summary(s, global_step, walltime)

    def add_histogram_raw(self, tag, min, max, num, sum, sum_squares, bucket_limits, bucket_counts,
                          global_step=None, walltime=None):
        """A histogram given by its statistics and buckets."""
        _, summary_pb2, _ = _tb()
        if len(bucket_limits) != len(bucket_counts):
            raise ValueError("len(bucket_limits) != len(bucket_counts), see the document.")
        h = summary_pb2.HistogramProto(min=min, max=max, num=num, sum=sum, sum_squares=sum_squares,
                                       bucket_limit=list(bucket_limits), bucket=list(bucket_counts))
        s = summary_pb2.Summary(value=[summary_pb2.Summary.Value(tag=tag, histo=h)])
        self._get_file_writer().add_summary(s, global_step, walltime)

    # ------------------------------------------------------------ images and text
    def add_image(self, tag, img_tensor, global_step=None, walltime=None, dataformats="CHW"):
        """One image: float values in [0, 1] or uint8 in [0, 255]; dataformats CHW, HWC, HW ..."""
        _, summary_pb2, _ = _tb()
        s = summary_pb2.Summary(value=[summary_pb2.Summary.Value(tag=tag, image=_image_proto(img_tensor,
                                                                                            dataformats))])
        self._get_file_writer().add_summary(s, global_step, walltime)

    def add_images(self, tag, img_tensor, global_step=None, walltime=None, dataformats="NCHW"):
        """A batch of images as one grid (8 per row)."""
        self.add_image(tag, img_tensor, global_step, walltime, dataformats)

    def add_figure(self, tag, figure, global_step=None, close=True, walltime=None):
        """A matplotlib figure (or a list of figures, as a grid) rendered to an image."""
        figs = figure if isinstance(figure, (list, tuple)) else [figure]
        imgs = []
        for f in figs:
            f.canvas.draw()
            rgba = np.asarray(f.canvas.buffer_rgba())
            imgs.append(rgba[..., :3].transpose(2, 0, 1))
            if close:
                import matplotlib.pyplot as plt
                plt.close(f)
        if isinstance(figure, (list, tuple)):
            self.add_images(tag, np.stack(imgs), global_step, walltime, dataformats="NCHW")
        else:
            self.add_image(tag, imgs[0], global_step, walltime, dataformats="CHW")

    def add_text(self, tag, text_string, global_step=None, walltime=None):
        """Markdown text (the text plugin's layout)."""
        from tensorboard.compat.proto.tensor_pb2 import TensorProto
        from tensorboard.compat.proto.tensor_shape_pb2 import TensorShapeProto
        _, summary_pb2, _ = _tb()
        t = TensorProto(dtype="DT_STRING", string_val=[text_string.encode("utf-8")],
                        tensor_shape=TensorShapeProto(dim=[TensorShapeProto.Dim(size=1)]))
        value = summary_pb2.Summary.Value(tag=tag + "/text_summary", metadata=_plugin_meta("text"), tensor=t)
        self._get_file_writer().add_summary(summary_pb2.Summary(value=[value]), global_step, walltime)

    # ------------------------------------------------------------ hyperparameters
    def add_hparams(self, hparam_dict, metric_dict, hparam_domain_discrete=None, run_name=None, global_step=None):
        """Hyperparameters and their metrics for TensorBoard's HParams dashboard: a run directory
        (<log_dir>/<run_name or time>) with the experiment, session start and session end records and the
        metrics as scalars."""
        if not isinstance(hparam_dict, dict) or not isinstance(metric_dict, dict):
            raise TypeError("hparam_dict and metric_dict should be dictionary.")
        exp, ssi, sei = _hparams(hparam_dict, metric_dict, hparam_domain_discrete)
        logdir = os.path.join(self.log_dir, run_name or str(time.time()))
        with SummaryWriter(log_dir=logdir) as w:
            w.file_writer.add_summary(exp, global_step)
            w.file_writer.add_summary(ssi, global_step)
            w.file_writer.add_summary(sei, global_step)
            for k, v in metric_dict.items():
                w.add_scalar(k, v, global_step)

    # ------------------------------------------------------------ graph
    def add_graph(self, model, input_to_model=None, verbose=False, use_strict_trace=True):
        """The module graph of one forward call of `model` on `input_to_model`: a node per called submodule
        (named by its path, typed by its class, with its output shapes) and the data flow between them, for
        TensorBoard's Graphs dashboard."""
        from ._graph import graph_def
        gd = graph_def(model, input_to_model)
        if verbose:
            print(gd)
        self._get_file_writer().add_graph(gd)


def _hparams(hparam_dict, metric_dict, hparam_domain_discrete=None):
    from tensorboard.plugins.hparams import api_pb2, plugin_data_pb2
    from google.protobuf import struct_pb2
    _, summary_pb2, _ = _tb()
    hparam_domain_discrete = hparam_domain_discrete or {}
    for k, vals in hparam_domain_discrete.items():
        if k not in hparam_dict or not isinstance(vals, list) or \
                not all(isinstance(v, type(hparam_dict[k])) for v in vals):
            raise TypeError(f"parameter: hparam_domain_discrete[{k}] should be a list of same type as "
                            f"hparam_dict[{k}].")
    infos, start = [], plugin_data_pb2.SessionStartInfo()
    for k, v in hparam_dict.items():
        if v is None:
            continue
        if hasattr(v, "item") and not isinstance(v, (bool, int, float, str)):
            v = _scalar(v)
        if isinstance(v, (int, float)):         # bool too (an int), recorded as a number as PyTorch does
            start.hparams[k].number_value = v
            dtype, key = api_pb2.DATA_TYPE_FLOAT64, "number_value"
        elif isinstance(v, str):
            start.hparams[k].string_value = v
            dtype, key = api_pb2.DATA_TYPE_STRING, "string_value"
        else:
            raise ValueError("value should be one of int, float, str, bool, or torch.Tensor")
        info = api_pb2.HParamInfo(name=k, type=dtype)
        if k in hparam_domain_discrete:
            info.domain_discrete.CopyFrom(struct_pb2.ListValue(values=[
                struct_pb2.Value(**{key: d}) for d in hparam_domain_discrete[k]]))
        infos.append(info)
    metrics = [api_pb2.MetricInfo(name=api_pb2.MetricName(tag=k)) for k in metric_dict]
    experiment = api_pb2.Experiment(hparam_infos=infos, metric_infos=metrics)

    def summ(tag, **data):
        content = plugin_data_pb2.HParamsPluginData(version=0, **data).SerializeToString()
        return summary_pb2.Summary(value=[summary_pb2.Summary.Value(tag=tag, metadata=_plugin_meta("hparams",
                                                                                                   content))])
    end = plugin_data_pb2.SessionEndInfo(status=api_pb2.STATUS_SUCCESS)
    return (summ("_hparams_/experiment", experiment=experiment),
            summ("_hparams_/session_start_info", session_start_info=start),
            summ("_hparams_/session_end_info", session_end_info=end))

