from .module import Module, RemovableHandle, register_module_forward_hook, register_module_forward_pre_hook  # noqa
from .container import Sequential, ModuleList, ModuleDict, ParameterList, ParameterDict, Container  # noqa
from .linear import Identity, Linear, Bilinear, LazyLinear, LazyModuleMixin, UninitializedBuffer  # noqa
from .conv import Conv1d, Conv2d  # noqa
from .conv import (Conv3d, ConvTranspose1d, ConvTranspose2d, ConvTranspose3d, LazyConv1d, LazyConv2d,  # noqa
                   LazyConv3d, LazyConvTranspose1d, LazyConvTranspose2d, LazyConvTranspose3d)
from .fold import Fold, Unfold  # noqa
from .pooling import (MaxPool3d, AvgPool3d, AdaptiveAvgPool3d, AdaptiveMaxPool1d, AdaptiveMaxPool3d,  # noqa
                      MaxUnpool1d, MaxUnpool2d, MaxUnpool3d, LPPool1d, LPPool2d, LPPool3d, FractionalMaxPool2d,
                      FractionalMaxPool3d)
from .padding import (ReflectionPad1d, ReflectionPad2d, ReflectionPad3d, ReplicationPad1d, ReplicationPad2d,  # noqa
                      ReplicationPad3d, CircularPad1d, CircularPad2d, CircularPad3d, ConstantPad1d, ConstantPad3d,
                      ZeroPad1d, ZeroPad3d)
from .upsampling import Upsample, UpsamplingNearest2d, UpsamplingBilinear2d  # noqa
from .pixelshuffle import PixelShuffle, PixelUnshuffle  # noqa
from .channelshuffle import ChannelShuffle  # noqa
from .pooling import (MaxPool1d, MaxPool2d, AvgPool1d, AvgPool2d, AdaptiveAvgPool1d, AdaptiveAvgPool2d,  # noqa
                      AdaptiveMaxPool2d)
from .normalization import (BatchNorm1d, BatchNorm2d, BatchNorm3d, LayerNorm, GroupNorm, InstanceNorm1d,  # noqa
                            InstanceNorm2d, InstanceNorm3d, SyncBatchNorm, RMSNorm, LocalResponseNorm, CrossMapLRN2d,
                            LazyBatchNorm1d, LazyBatchNorm2d, LazyBatchNorm3d, LazyInstanceNorm1d,
                            LazyInstanceNorm2d, LazyInstanceNorm3d)
from .activation import (ReLU, ReLU6, LeakyReLU, ELU, SELU, CELU, Hardtanh, GELU, Sigmoid, Tanh, LogSigmoid,  # noqa
                         Softsign, Tanhshrink, SiLU, Hardsigmoid, Hardswish, Mish, Softplus, Threshold, Softmax,
                         LogSoftmax, Softmin, GLU, PReLU, RReLU, Hardshrink, Softshrink, Softmax2d)
from .misc import (Dropout, Dropout1d, Dropout2d, Dropout3d, AlphaDropout, FeatureAlphaDropout, Flatten, Unflatten, Embedding,  # noqa
                   ConstantPad2d, ZeroPad2d)
from .loss import (L1Loss, MSELoss, SmoothL1Loss, HuberLoss, KLDivLoss, PoissonNLLLoss, BCELoss,  # noqa
                   BCEWithLogitsLoss, NLLLoss, CrossEntropyLoss, NLLLoss2d, GaussianNLLLoss, CosineEmbeddingLoss,
                   MarginRankingLoss, HingeEmbeddingLoss, MultiLabelMarginLoss, SoftMarginLoss,
                   MultiLabelSoftMarginLoss, MultiMarginLoss, TripletMarginLoss, TripletMarginWithDistanceLoss,
                   CTCLoss)
from .distance import PairwiseDistance, CosineSimilarity  # noqa
from .adaptive import AdaptiveLogSoftmaxWithLoss  # noqa
from .rnn import RNNBase, RNN, LSTM, GRU, RNNCellBase, RNNCell, LSTMCell, GRUCell  # noqa
from .attention import MultiheadAttention  # noqa
from .transformer import (Transformer, TransformerEncoder, TransformerDecoder, TransformerEncoderLayer,  # noqa
                          TransformerDecoderLayer)
from .sparse import EmbeddingBag  # noqa
