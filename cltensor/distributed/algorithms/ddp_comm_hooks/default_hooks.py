"""The stock DistributedDataParallel communication hooks. Each takes (process_group or None, GradBucket) and
returns a cltensor.futures.Future holding the bucket's averaged gradients as one flat tensor."""
from ... import _collectives as CC
from ... import _core as C
from .... import _dtypes as D

__all__ = ["allreduce_hook", "fp16_compress_hook", "bf16_compress_hook"]


def _group_size(process_group):
    return C._group(process_group).size()


def allreduce_hook(process_group, bucket):
    """Average the bucket over the group (what DistributedDataParallel does without a hook): divide by the
    world size, all-reduce asynchronously, return a Future of the bucket's tensor."""
    t = bucket.buffer()
    t.div_(_group_size(process_group))
    return CC.all_reduce(t, group=process_group, async_op=True).get_future().then(lambda f: f.value()[0])


def _compress_hook(dtype, process_group, bucket):
    buf = bucket.buffer()
    small = buf.to(dtype).div_(_group_size(process_group))
    fut = CC.all_reduce(small, group=process_group, async_op=True).get_future()

    def decompress(f):
        buf.copy_(f.value()[0])
        return buf
    return fut.then(decompress)


def fp16_compress_hook(process_group, bucket):
    """Average in float16 (half the bytes on the wire), written back into the bucket's own dtype."""
    return _compress_hook(D.float16, process_group, bucket)


def bf16_compress_hook(process_group, bucket):
    """Average in bfloat16 (half the bytes on the wire, float32's range), written back into the bucket's dtype."""
    return _compress_hook(D.bfloat16, process_group, bucket)
