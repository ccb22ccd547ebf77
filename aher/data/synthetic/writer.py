"""Writing a synthetic dataset folder: ``build_dataset`` and the atomic folder swap.

``build_dataset(setting, scale, out_root, *, seed=0, overrides=(), layouts=(), force=False,
progress=True, log=print, check_disk=True) -> BuildResult(path, reused, seconds, manifest)``
writes ``out_root/<setting>_<scale>/`` (``dataset.yaml``, ``gt.json``, ``gt_untrimmed.json``,
``classes_*.txt`` and the six feature stores of the contract) with
:func:`write_folder_atomically`: everything goes to a hidden temporary folder next to the
target, renamed at the end.  An existing folder made from the same request (every file
present) is reused; one made from the same request by an older ``GENERATOR_VERSION`` is
regenerated; a different one is a :class:`aher.errors.UserError` unless ``force``.  A folder
without ``dataset.yaml`` is never replaced, even with ``force``.

Videos are generated role by role (:func:`aher.data.synthetic.plan.roles_for`), each with its
own generator; features are made at the extractor rate over the whole video, then resized with
:func:`aher.data.features.resize` / cut with :func:`aher.data.moments.extract_segments`, exactly
as real features would be.  Same request => identical bytes of every file (HDF5 written with
fixed settings, no timestamps; tested), on the same numpy/scipy/h5py versions and platform.
:func:`estimate_bytes` is checked against the free disk before anything is written.
"""

from __future__ import annotations

import os
import shlex
import shutil
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import yaml

from aher.data.annotations import Video, write_activitynet_gt, write_class_list
from aher.data.features import FEATURE_STRIDE, FeatureStoreWriter, resize
from aher.data.moments import extract_segments
from aher.data.synthetic.knobs import resolve_config
from aher.data.synthetic.layout import LayoutSource, layout_params_md5, load_layout, load_layout_params
from aher.data.synthetic.manifest import (FILES, canonical_command, make_request, read_manifest, request_hash,
                                          same_request_older_version)
from aher.data.synthetic.plan import Plan, make_plan, roles_for
from aher.data.synthetic.render import render_features
from aher.data.synthetic.settings import DOMAINS, FORMAT_NAME, GENERATOR_VERSION, SETTINGS
from aher.data.synthetic.streams import video_rng
from aher.data.synthetic.world import World
from aher.errors import UserError
from aher.progress import progress_bar

#: minimum features of a kept segment (contract: foreground 32, moments 8)
FOREGROUND_MIN_FEATURES = 32
MOMENT_MIN_FEATURES = 8


@dataclass
class BuildResult:
    path: Path
    reused: bool
    seconds: float
    manifest: dict


def build_dataset(setting: str, scale: str, out_root, *, seed: int = 0, overrides=(), layouts=(),
                  force: bool = False, progress: bool = True, log=print, check_disk: bool = True) -> BuildResult:
    """Write (or reuse) ``out_root/<setting>_<scale>``; see the module docstring.

    ``layouts``: ``"[domain=]path"`` strings (or ``(domain or None, path)`` pairs) of real
    annotation files; domains a setting does not use are ignored (logged).
    """
    t0 = time.perf_counter()
    if not isinstance(seed, int) or seed < 0:
        raise UserError(f"--seed must be a non-negative integer, got {seed!r}")
    cfg = resolve_config(setting, scale, overrides)
    layout_args, templates, layout_info = _layout_inputs(setting, layouts, log)
    request = make_request(setting, scale, seed, cfg, layout_info)
    digest = request_hash(request)
    out_root = Path(out_root)
    target = out_root / f"{setting}_{scale}"
    command = canonical_command(setting, scale, seed, layout_args, overrides)
    reusable = _check_existing(target, request, digest, force, log,
                               replace_hint=f"{command} --out {shlex.quote(str(out_root))} --force")
    if reusable is not None:
        return BuildResult(target, True, time.perf_counter() - t0, reusable)
    out_root.mkdir(parents=True, exist_ok=True)
    if check_disk:
        _check_disk(out_root, setting, scale, cfg)

    def fill(folder):
        return _write(folder, request, digest, templates, command, progress)

    manifest = write_folder_atomically(target, fill)
    return BuildResult(target, False, time.perf_counter() - t0, manifest)


def _layout_inputs(setting: str, layouts, log) -> tuple[list[str], dict, dict]:
    """``(layout arguments for the command, templates per domain, layout identity per domain)``."""
    spec = SETTINGS[setting]
    used_domains = {spec.untrimmed_domain, spec.moment_domain}
    layout_args, templates, layout_info = [], {}, {}
    for item in layouts:
        if isinstance(item, str):
            head, sep, tail = item.partition("=")
            dom, p = (head, tail) if sep and head in DOMAINS else (None, item)
        else:
            dom, p = item
        domain, videos, md5 = load_layout(p, dom)
        layout_args.append(f"{domain}={p}" if dom else str(p))
        if domain in templates:
            raise UserError(f"{p}: a second layout file for domain {domain}")
        if domain not in used_domains:
            log(f"note: layout {p} ({domain}) is not used by setting {setting}")
            continue
        templates[domain] = videos
        layout_info[domain] = {"file": Path(p).name, "md5": md5, "videos": len(videos)}
    for domain in sorted(used_domains):
        layout_info.setdefault(domain, {"file": "parametric", "params_md5": layout_params_md5()})
    return layout_args, templates, layout_info


def _check_existing(target: Path, request: dict, digest: str, force: bool, log, replace_hint: str = "") -> dict | None:
    """The manifest of ``target`` if it holds this request complete (reuse it); None if it may be
    (re)written; a UserError if it must not be replaced.  ``replace_hint`` is the generator command
    that replaces it; the message also names the way out from a training config (another
    ``data.root``), since the training scripts have no ``--force``."""
    if not target.exists():
        return None
    old = read_manifest(target)
    complete = old is not None and all((target / name).is_file() for name in FILES.values())
    if old is not None and old.get("request_sha256") == digest and complete:
        log(f"{target}: identical dataset already present (reused)")
        return old
    if old is not None and same_request_older_version(old, request):
        log(f"{target}: made by generator v{old.get('generator_version')}, regenerating with v{GENERATOR_VERSION}")
    elif old is None or old.get("format") != FORMAT_NAME:
        if not target.is_dir() or any(target.iterdir()):
            raise UserError(f"{target}: exists and is not a synthetic dataset (no {FILES['manifest']}); "
                            "remove it or choose another --out")
    elif not force:
        why = "was made from a different request" if complete else "is incomplete"
        made_by = f" (made by: {old['command']})" if complete and old.get("command") else ""
        replace = f"run `{replace_hint}`" if replace_hint else "pass --force to the generator"
        raise UserError(f"{target}: exists and {why}{made_by}; to replace it {replace}, or keep it and "
                        "write this dataset elsewhere (from a training config: --set data.root=OTHER_FOLDER)")
    return None


def estimate_bytes(setting: str, cfg: dict) -> int:
    """Rough size of the dataset on disk (feature stores only)."""
    item = 2 if cfg["dtype"] == "float16" else 4
    lu, lm, dim = cfg["length_untrimmed"], cfg["length_moment"], cfg["dim"]
    spec = SETTINGS[setting]
    inst = 1.5 if spec.untrimmed_domain != "thumos" else 3.0        # kept foreground per video
    total = (cfg["n_untrimmed_train"] * (1 + inst) + cfg["n_oracle_train"] + cfg["n_eval"] + cfg["n_eval_untrimmed"]) * lu
    total += (cfg["n_moments"] if spec.moments_from == "clips" else 1.5 * cfg["n_oracle_train"]) * lm
    return int(total * dim * item * 1.05)


def _check_disk(out_root: Path, setting: str, scale: str, cfg: dict):
    need = estimate_bytes(setting, cfg)
    free = shutil.disk_usage(out_root).free
    if need > free:
        raise UserError(f"{out_root}: dataset {setting}/{scale} needs about {need / 1e9:.1f} GB, only "
                        f"{free / 1e9:.1f} GB free (reduce counts with --set, e.g. --set n_moments=...)")


def write_folder_atomically(target: Path, fill):
    """Make the folder ``target`` with ``fill(folder)`` all at once and return what ``fill``
    returns.  ``fill`` writes into a hidden temporary folder next to ``target``, which then
    takes its place (an existing ``target`` is moved aside first and deleted after); on any
    failure the temporary folder is removed and ``target`` is left as it was."""
    target = Path(target)
    tmp = target.parent / f".{target.name}.tmp-{os.getpid()}"
    if tmp.exists():
        shutil.rmtree(tmp)
    tmp.mkdir()
    try:
        result = fill(tmp)
        if target.exists():
            old = target.parent / f".{target.name}.old-{os.getpid()}"
            os.replace(target, old)
            os.replace(tmp, target)
            shutil.rmtree(old)
        else:
            os.replace(tmp, target)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return result


# ------------------------------------------------------------------------------ the folder's content


#: role -> the store of its whole (resized) videos
_VIDEO_STORE = {"untrim": "untrimmed_train", "mtrain": "oracle_train", "eval": "eval", "ueval": "eval_untrimmed"}


class _Output:
    """The six feature stores of one folder and its GT records, filled video by video."""

    def __init__(self, folder: Path, request: dict):
        self.spec = SETTINGS[request["setting"]]
        cfg = request["config"]
        self.lu, self.lm = int(cfg["length_untrimmed"]), int(cfg["length_moment"])
        common = {"generator": FORMAT_NAME, "generator_version": GENERATOR_VERSION, "setting": request["setting"],
                  "scale": request["scale"], "seed": request["seed"]}
        kinds = {"untrimmed_train": ("untrimmed", self.lu, self.spec.untrimmed_domain),
                 "foreground_train": ("foreground", self.lu, self.spec.untrimmed_domain),
                 "moments_train": ("moments", self.lm, self.spec.moment_domain),
                 "eval": ("eval", self.lu, self.spec.moment_domain),
                 "oracle_train": ("oracle", self.lu, self.spec.moment_domain),
                 "eval_untrimmed": ("eval", self.lu, self.spec.untrimmed_domain)}
        self.stores = {key: FeatureStoreWriter(folder / FILES[key], int(cfg["dim"]), cfg["dtype"],
                                               attrs={**common, "kind": kind, "length": length, "domain": domain})
                       for key, (kind, length, domain) in kinds.items()}
        self.videos: list[Video] = []            # gt.json
        self.untrimmed_eval: list[Video] = []    # gt_untrimmed.json (other label space, same subset name)
        self.instances = dict.fromkeys(("untrimmed_train", "eval", "oracle_train", "eval_untrimmed"), 0)

    def add(self, role: str, plan: Plan, feats: np.ndarray, video: Video):
        """Store one rendered video of ``role``: whole, and/or cut into segments."""
        (self.untrimmed_eval if role == "ueval" else self.videos).append(video)
        key = _VIDEO_STORE.get(role)
        if key is not None:
            resized = resize(feats, plan.duration_frame, plan.duration, self.lu)
            self.stores[key].add(video.video_id, resized, **_video_meta(plan, video))
            self.instances[key] += len(plan.instances)
        if role == "untrim":
            _add_segments(self.stores["foreground_train"], feats, video, FOREGROUND_MIN_FEATURES, self.lu)
        elif role == "clip" or (role == "mtrain" and self.spec.moments_from == "foreground"):
            _add_segments(self.stores["moments_train"], feats, video, MOMENT_MIN_FEATURES, self.lm)

    def close(self) -> dict:
        """Close every store; ``{store: items}``."""
        counts = {key: len(w) for key, w in self.stores.items()}
        for w in self.stores.values():
            w.close()
        return counts

    def abort(self):
        for w in self.stores.values():
            w.abort()


def _video_meta(plan: Plan, video: Video) -> dict:
    return {"duration": plan.duration, "n_frames": plan.duration_frame, "fps": plan.fps,
            "feature_frame": plan.feature_frame, "n_features": plan.n_features,
            "label": video.instances[0].label if video.instances else "",
            "subset": plan.subset, "n_instances": len(plan.instances),
            "domain": plan.domain, "template": plan.template}


def _add_segments(store: FeatureStoreWriter, feats: np.ndarray, video: Video, min_features: int, length: int):
    """Cut the kept instances of ``video`` with ``extract_segments``; ids ``"<video>#<k>"`` with
    ``k`` the instance's index in ``video.instances`` (as ``write_segment_store`` does)."""
    covered = video.covered_seconds
    for inst, seg in extract_segments(feats, video, video.duration_frame, min_features, length):
        k = next(j for j, other in enumerate(video.instances) if other is inst)
        seconds = min(inst.end, covered) - max(inst.start, 0.0)
        store.add(f"{video.video_id}#{k}", seg, label=inst.label, video=video.video_id,
                  start=float(inst.start), end=float(inst.end), duration=float(seconds))


def _write(folder: Path, request: dict, digest: str, templates: dict, command: str, progress: bool) -> dict:
    """Every file of the dataset into ``folder``; returns the manifest."""
    world = World(request["setting"], request["config"], request["seed"])
    output = _Output(folder, request)
    try:
        _generate(world, output, request, templates, progress)
        counts = output.close()
    except BaseException:
        output.abort()
        raise
    write_activitynet_gt(output.videos, folder / FILES["gt"], taxonomy=world.taxonomy())
    write_activitynet_gt(output.untrimmed_eval, folder / FILES["gt_untrimmed"], taxonomy=world.taxonomy())
    write_class_list(world.sets["untrimmed"].names, folder / FILES["classes_untrimmed"])
    write_class_list(world.sets["moment"].names, folder / FILES["classes_moment"])
    manifest = _manifest(request, digest, command, world, output, counts)
    text = yaml.safe_dump(manifest, sort_keys=False, default_flow_style=None, width=100, allow_unicode=True)
    (folder / FILES["manifest"]).write_text(text, encoding="utf-8")
    return manifest


def _generate(world: World, output: _Output, request: dict, templates: dict, progress: bool):
    """Render every video of every role into ``output``, each with its own generator."""
    setting, seed, cfg = request["setting"], request["seed"], request["config"]
    params = load_layout_params()
    layouts = {d: LayoutSource(d, params, seed, templates.get(d)) for d in DOMAINS}
    roles = roles_for(setting, cfg)
    with progress_bar(total=sum(r.count for r in roles), enabled=progress,
                      desc=f"synthesize {setting}/{request['scale']}", unit="video") as bar:
        for role in roles:
            names = world.sets[role.class_set].names
            for i in range(role.count):
                rng = video_rng(seed, setting, role.name, i)
                plan = make_plan(world, layouts, setting, role, i, cfg, seed, rng)
                feats = render_features(world, plan, cfg, rng)
                output.add(role.name, plan, feats, plan.video(names))
                bar.update(1)


def _manifest(request: dict, digest: str, command: str, world: World, output: _Output, counts: dict) -> dict:
    spec, cfg = SETTINGS[request["setting"]], request["config"]
    sets = world.sets
    return {
        "format": FORMAT_NAME,
        "format_version": 1,
        "generator_version": GENERATOR_VERSION,
        "setting": request["setting"],
        "scale": request["scale"],
        "seed": request["seed"],
        "description": spec.description,
        "command": command,
        "dim": int(cfg["dim"]),
        "dtype": cfg["dtype"],
        "feature_stride": FEATURE_STRIDE,
        "lengths": {"untrimmed": output.lu, "moment": output.lm},
        "min_features": {"foreground": FOREGROUND_MIN_FEATURES, "moments": MOMENT_MIN_FEATURES},
        "domains": {"untrimmed": spec.untrimmed_domain, "moment": spec.moment_domain,
                    "eval": spec.moment_domain, "oracle": spec.moment_domain, "eval_untrimmed": spec.untrimmed_domain},
        "moments_from": "k600-like clips" if spec.moments_from == "clips" else "foreground of oracle_train videos",
        "files": {k: v for k, v in FILES.items() if k != "manifest"},
        "gt_subsets": {"training": sum(v.subset == "training" for v in output.videos),
                       "validation": sum(v.subset == "validation" for v in output.videos)},
        "counts": {"classes_untrimmed": len(sets["untrimmed"].names),
                   "classes_moment": len(sets["moment"].names),
                   "groups": len(world.group_names),
                   **counts,
                   "instances": dict(output.instances)},
        "classes": {"untrimmed": sets["untrimmed"].names, "moment": sets["moment"].names},
        "class_groups": {"untrimmed": [int(g) for g in sets["untrimmed"].groups],
                         "moment": [int(g) for g in sets["moment"].groups]},
        "layouts": request["layouts"],
        "config": cfg,
        "request_sha256": digest,
    }
