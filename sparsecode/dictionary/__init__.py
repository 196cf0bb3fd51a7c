"""Dictionary learning and sparse coding over a dictionary."""

from ._coder import SparseCoder
from ._common import overcomplete_dct
from ._faust import FastTransformDictionary, hierarchical_factorization, palm4msa
from ._ksvd import KSVD, MOD
from ._masked import MaskedDictionaryLearning
from ._online import OnlineDictionaryLearning
from ._patches import image_patches, patches_to_image, plot_dictionary
from ._sparse_encode import available_encoders, complex_encoders, sparse_encode

__all__ = [
    "SparseCoder",
    "available_encoders",
    "complex_encoders",
    "sparse_encode",
    "KSVD",
    "MOD",
    "OnlineDictionaryLearning",
    "MaskedDictionaryLearning",
    "overcomplete_dct",
    "FastTransformDictionary",
    "palm4msa",
    "hierarchical_factorization",
    "image_patches",
    "patches_to_image",
    "plot_dictionary",
]
