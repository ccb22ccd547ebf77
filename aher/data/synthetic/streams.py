"""The seeded random streams of the synthetic generator: one numpy ``Generator`` per purpose.

Every random quantity is drawn from a generator seeded by ``[seed, stream key, ids...]``, never
from a stream shared with anything else: a video's bytes do not depend on which other videos,
roles or files are generated, and re-rendering one video alone gives the stored bytes (tested).
The keys and ids below are part of the output: changing one changes the bytes of every dataset
(``GENERATOR_VERSION``).
"""

import numpy as np

SETTING_IDS = {"k600": 1, "anet_split": 2, "th14_anet": 3}
ROLE_IDS = {"untrim": 1, "clip": 2, "mtrain": 3, "eval": 4, "ueval": 5}
_WORLD, _TEMPLATE, _LABELMAP, _CLASS, _EXTRACTOR = 101, 102, 103, 104, 105


def world_rng(seed: int, setting: str) -> np.random.Generator:
    """Taxonomy, prototypes, signatures, scenes, domain maps and clutter of one setting."""
    return np.random.default_rng([int(seed), _WORLD, SETTING_IDS[setting]])


def extractor_rng(seed: int) -> np.random.Generator:
    """The fixed ReLU extractor's weights: one network per seed, shared by every setting."""
    return np.random.default_rng([int(seed), _EXTRACTOR])


def template_rng(seed: int, role: str) -> np.random.Generator:
    """The order in which a role draws real layout templates."""
    return np.random.default_rng([int(seed), _TEMPLATE, ROLE_IDS[role]])


def labelmap_rng(seed: int, class_set: str) -> np.random.Generator:
    """The many-to-one map of a real layout file's labels onto a synthetic class set."""
    return np.random.default_rng([int(seed), _LABELMAP, 1 if class_set == "untrimmed" else 2])


def class_order_rng(seed: int, role: str) -> np.random.Generator:
    """The order in which a role's videos take their primary class."""
    return np.random.default_rng([int(seed), _CLASS, ROLE_IDS[role]])


def video_rng(seed: int, setting: str, role: str, index: int) -> np.random.Generator:
    """Everything drawn for one video: its layout, its rendering and its sensor noise."""
    return np.random.default_rng([int(seed), SETTING_IDS[setting], ROLE_IDS[role], int(index)])
