"""The files of a dataset folder (``docs/data_layer_contract.md``): key -> file name.

``FILES`` names the GT file, the two class lists and the feature stores every dataset folder
holds, synthetic or prepared from real features; ``OPTIONAL`` are the ones a dataset may lack
(evaluation videos of the untrimmed-set classes: only ``eval.label_space: untrimmed`` needs
them), ``REQUIRED`` the others.  This module imports nothing, so the dataset resolver
(:mod:`aher.datasets`) and the synthetic writer (:mod:`aher.data.synthetic`) share it without
depending on each other.
"""

FILES = {
    "gt": "gt.json",
    "classes_untrimmed": "classes_untrimmed.txt",
    "classes_moment": "classes_moment.txt",
    "untrimmed_train": "untrimmed_train.h5",
    "foreground_train": "foreground_train.h5",
    "moments_train": "moments_train.h5",
    "eval": "eval.h5",
    "oracle_train": "oracle_train.h5",
    "gt_untrimmed": "gt_untrimmed.json",
    "eval_untrimmed": "eval_untrimmed.h5",
}
#: files a dataset may lack: evaluation videos of the untrimmed-set classes (the paper's text
#: compares AherNet with AherNet* on them); only ``eval.label_space: untrimmed`` needs them
OPTIONAL = ("gt_untrimmed", "eval_untrimmed")
REQUIRED = tuple(key for key in FILES if key not in OPTIONAL)
