"""What videos a synthetic dataset holds (roles) and the plan of each video (its GT and spans).

A :class:`Role` is a kind of video of a setting (``untrim``: untrimmed-set training videos;
``clip``: K600-like moment clips, ``k600`` only; ``mtrain``: training videos of the moment
classes (oracle, and in ``anet_split``/``th14_anet`` the source of the moments); ``eval``:
evaluation videos of the moment classes; ``ueval``: held-out videos of the untrimmed-set
classes).  :func:`make_plan` lays out video ``index`` of a role with the video's own generator
(:func:`aher.data.synthetic.streams.video_rng`): its GT instances, the action spans rendered
and the template it follows.  K600-like clips are ``moment_len_s`` long; their action
boundaries are jittered by ``moment_jitter_s`` around the clip ends (so some clips show a
little context, others start inside the action).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from aher.data.annotations import Instance, Video
from aher.data.features import FEATURE_STRIDE
from aher.data.synthetic.layout import LayoutSource, draw_fps, frames
from aher.data.synthetic.settings import SETTINGS
from aher.data.synthetic.streams import class_order_rng
from aher.data.synthetic.world import World


@dataclass(frozen=True)
class Role:
    name: str          # untrim | clip | mtrain | eval | ueval
    class_set: str     # untrimmed | moment
    domain: str
    subset: str
    count: int


def roles_for(setting: str, cfg: dict) -> list[Role]:
    """The roles of ``setting`` in generation order (the held-out ``ueval`` role last)."""
    spec = SETTINGS[setting]
    roles = [Role("untrim", "untrimmed", spec.untrimmed_domain, "training", int(cfg["n_untrimmed_train"]))]
    if spec.moments_from == "clips":
        roles.append(Role("clip", "moment", spec.moment_domain, "training", int(cfg["n_moments"])))
    roles.append(Role("mtrain", "moment", spec.moment_domain, "training", int(cfg["n_oracle_train"])))
    roles.append(Role("eval", "moment", spec.moment_domain, "validation", int(cfg["n_eval"])))
    roles.append(Role("ueval", "untrimmed", spec.untrimmed_domain, "validation", int(cfg["n_eval_untrimmed"])))
    return roles


@dataclass
class Plan:
    """One video to synthesise: its GT record and what is rendered."""

    video_id: str
    role: str                    # untrim | clip | mtrain | eval | ueval
    class_set: str               # untrimmed | moment
    domain: str
    subset: str
    duration: float
    fps: float                   # effective frame rate = duration_frame / duration
    duration_frame: int
    feature_frame: int
    instances: list[tuple[float, float, int]]           # GT (start, end, class index)
    render: list[tuple[float, float, int]] = field(default_factory=list)  # action spans drawn
    template: str = ""

    @property
    def n_features(self) -> int:
        return max(1, self.feature_frame // FEATURE_STRIDE)

    def video(self, names: list[str]) -> Video:
        return Video(self.video_id, self.duration, self.subset,
                     [Instance(s, e, names[c]) for s, e, c in self.instances],
                     fps=self.fps, duration_frame=self.duration_frame, feature_frame=self.feature_frame)


def make_plan(world: World, layouts: dict[str, LayoutSource], setting: str, role: Role, index: int, cfg: dict,
              seed: int, rng) -> Plan:
    """The layout of video ``index`` of ``role`` (uses ``rng``, the video's own generator)."""
    cset = world.sets[role.class_set]
    n_classes = len(cset.names)
    order = class_order_rng(seed, role.name).permutation(n_classes)
    primary = int(order[index % n_classes])
    video_id = f"{role.domain}_{role.name}_{index:06d}"
    if role.name == "clip":
        return _clip_plan(video_id, role, primary, layouts[role.domain], cfg, rng)
    duration, fps, duration_frame, feature_frame, inst, template = layouts[role.domain].sample(
        rng, role.name, index, cset, role.class_set, primary, cfg)
    return Plan(video_id, role.name, role.class_set, role.domain, role.subset, duration, fps,
                duration_frame, feature_frame, inst, render=list(inst), template=template)


def _clip_plan(video_id: str, role: Role, primary: int, layout: LayoutSource, cfg: dict, rng) -> Plan:
    """A K600-like clip: GT = the whole clip, the action drawn with jittered ends."""
    duration = round(float(cfg["moment_len_s"]), 2)
    fps, duration_frame, feature_frame = frames(duration, draw_fps(rng, layout.fps_fit))
    j = cfg["moment_jitter_s"]
    a = float(np.clip(rng.normal(0.0, j), -0.3 * duration, 0.3 * duration)) if j > 0 else 0.0
    b = float(np.clip(rng.normal(0.0, j), -0.3 * duration, 0.3 * duration)) if j > 0 else 0.0
    return Plan(video_id, role.name, role.class_set, role.domain, role.subset, duration, fps,
                duration_frame, feature_frame, [(0.0, duration, primary)], render=[(a, duration + b, primary)])
