"""`cltensor.utils.tensorboard`: PyTorch's `SummaryWriter`, writing TensorBoard event files with the `tensorboard`
package's event-file writer and protocol buffers (`pip install tensorboard`; TensorFlow is not needed).

    from cltensor.utils.tensorboard import SummaryWriter
    w = SummaryWriter("runs/exp1")
    w.add_scalar("loss/train", loss, step)        # a cltensor tensor, numpy value or Python number
    w.add_histogram("fc1.weight", model.fc1.weight, step)
    w.add_image("inputs", img_chw, step)          # CHW float in [0, 1] or uint8 in [0, 255]
    w.close()

Values are read on the host (one read per call, as PyTorch's writer does); images are encoded as PNG here
(zlib, no imaging library).
"""
from ._writer import SummaryWriter, FileWriter  # noqa: F401

__all__ = ["SummaryWriter", "FileWriter"]
