"""The torch.* forms of nn functions (torch.conv2d, torch.batch_norm, torch.dropout, torch.kl_div ...): PyTorch
publishes its native nn ops at the top level too, with the native argument orders (batch_norm's weight before its
running statistics, embedding's weight first, losses' `reduction` as an int: 0 none, 1 mean, 2 sum) and tuple
results where the native op returns indices. Each is the nn.functional implementation behind that signature."""
from .._registry import register
from . import functional as F

_SAME = ("conv1d", "conv2d", "conv3d", "conv_transpose1d", "conv_transpose2d", "conv_transpose3d", "max_pool1d",
         "max_pool2d", "max_pool3d", "avg_pool1d", "adaptive_avg_pool1d", "pixel_shuffle", "pixel_unshuffle",
         "channel_shuffle", "prelu", "selu", "celu", "threshold", "hardshrink", "selu_", "celu_", "threshold_",
         "bilinear", "cosine_similarity", "pairwise_distance", "rms_norm")
for _n in _SAME:
    register(_n, getattr(F, _n), method=_n in ("prelu", "hardshrink"))     # (Tensor.prelu, Tensor.hardshrink)

_REDUCTION = {0: "none", 1: "mean", 2: "sum"}


def _red(r):
    return _REDUCTION.get(r, r) if isinstance(r, int) else r


@register("dropout")
def dropout(input, p, train):
    return F.dropout(input, p, train)


@register("dropout_")
def dropout_(input, p, train):
    return F.dropout(input, p, train, inplace=True)


@register("alpha_dropout")
def alpha_dropout(input, p, train):
    return F.alpha_dropout(input, p, train)


@register("alpha_dropout_")
def alpha_dropout_(input, p, train):
    return F.alpha_dropout(input, p, train, inplace=True)


@register("rrelu")
def rrelu(input, lower=1.0 / 8, upper=1.0 / 3, training=False, generator=None):
    return F.rrelu(input, lower, upper, training)


@register("rrelu_")
def rrelu_(input, lower=1.0 / 8, upper=1.0 / 3, training=False, generator=None):
    return F.rrelu(input, lower, upper, training, inplace=True)


@register("adaptive_max_pool1d")
def adaptive_max_pool1d(input, output_size):
    return F.adaptive_max_pool1d(input, output_size, return_indices=True)


@register("max_pool1d_with_indices")
def max_pool1d_with_indices(input, kernel_size, stride=(), padding=0, dilation=1, ceil_mode=False):
    return F.max_pool1d(input, kernel_size, stride or None, padding, dilation, ceil_mode, return_indices=True)


@register("layer_norm")
def layer_norm(input, normalized_shape, weight=None, bias=None, eps=1e-05, cudnn_enable=True):
    return F.layer_norm(input, normalized_shape, weight, bias, eps)


@register("group_norm")
def group_norm(input, num_groups, weight=None, bias=None, eps=1e-05, cudnn_enabled=True):
    return F.group_norm(input, num_groups, weight, bias, eps)


@register("batch_norm")
def batch_norm(input, weight, bias, running_mean, running_var, training, momentum, eps, cudnn_enabled):
    return F.batch_norm(input, running_mean, running_var, weight, bias, training, momentum, eps)


@register("instance_norm")
def instance_norm(input, weight, bias, running_mean, running_var, use_input_stats, momentum, eps, cudnn_enabled):
    return F.instance_norm(input, running_mean, running_var, weight, bias, use_input_stats, momentum, eps)


@register("embedding")
def embedding(weight, indices, padding_idx=-1, scale_grad_by_freq=False, sparse=False):
    return F.embedding(indices, weight, None if padding_idx == -1 else padding_idx,
                       scale_grad_by_freq=scale_grad_by_freq, sparse=sparse)


@register("kl_div")
def kl_div(input, target, reduction=1, log_target=False):
    return F.kl_div(input, target, reduction=_red(reduction), log_target=log_target)


@register("ctc_loss")
def ctc_loss(log_probs, targets, input_lengths, target_lengths, blank=0, reduction=1, zero_infinity=False):
    return F.ctc_loss(log_probs, targets, input_lengths, target_lengths, blank, _red(reduction), zero_infinity)


@register("margin_ranking_loss")
def margin_ranking_loss(input1, input2, target, margin=0.0, reduction=1):
    return F.margin_ranking_loss(input1, input2, target, margin, reduction=_red(reduction))


@register("hinge_embedding_loss")
def hinge_embedding_loss(input, target, margin=1.0, reduction=1):
    return F.hinge_embedding_loss(input, target, margin, reduction=_red(reduction))


@register("cosine_embedding_loss")
def cosine_embedding_loss(input1, input2, target, margin=0.0, reduction=1):
    return F.cosine_embedding_loss(input1, input2, target, margin, reduction=_red(reduction))


@register("triplet_margin_loss")
def triplet_margin_loss(anchor, positive, negative, margin=1.0, p=2, eps=1e-06, swap=False, reduction=1):
    return F.triplet_margin_loss(anchor, positive, negative, margin, p, eps, swap, reduction=_red(reduction))


@register("poisson_nll_loss")
def poisson_nll_loss(input, target, log_input, full, eps, reduction):
    return F.poisson_nll_loss(input, target, log_input, full, eps=eps, reduction=_red(reduction))


@register("binary_cross_entropy_with_logits")
def binary_cross_entropy_with_logits(input, target, weight=None, pos_weight=None, reduction=1):
    return F.binary_cross_entropy_with_logits(input, target, weight, reduction=_red(reduction),
                                              pos_weight=pos_weight)


NAMES = _SAME + ("dropout", "dropout_", "alpha_dropout", "alpha_dropout_", "rrelu", "rrelu_", "adaptive_max_pool1d",
                 "max_pool1d_with_indices", "layer_norm", "group_norm", "batch_norm", "instance_norm", "embedding",
                 "kl_div", "ctc_loss", "margin_ranking_loss", "hinge_embedding_loss", "cosine_embedding_loss",
                 "triplet_margin_loss", "poisson_nll_loss", "binary_cross_entropy_with_logits")
