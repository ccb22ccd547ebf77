"""The file-level section of a config: its source file, ``config.yaml`` mapping, ``--set`` overrides.

Contract: a config class (AherNet's :class:`~aher.config.sections.Config`, SAL's experiment
config) derives from :class:`RootSection` and has a ``source: str | None`` field.  ``to_dict()``
gives the plain mapping written to ``config.yaml`` (``source`` as ``_source``);
``with_overrides(*texts)`` returns a new, validated config; ``build_root(cls, raw)`` validates a
merged YAML mapping (``_source`` optional) into ``cls``.
Limits: validation itself is :func:`aher.config.schema.build`.
"""

from dataclasses import replace

from aher.config.loader import apply_override, parse_override
from aher.config.schema import Section, build, to_dict


def build_root(cls, raw):
    """A validated ``cls`` from the merged YAML mapping ``raw`` (``_source`` optional)."""
    raw = dict(raw)
    source = raw.pop("_source", None)
    return replace(build(cls, raw), source=source)


class RootSection(Section):
    def to_dict(self):
        """The plain mapping (``source`` as ``_source``), as written to ``config.yaml``."""
        out = to_dict(self)
        out["_source"] = out.pop("source")
        return out

    def with_overrides(self, *texts):
        """A new, validated config with ``key=value`` overrides applied (``--set`` syntax)."""
        raw = self.to_dict()
        for text in texts:
            keys, value = parse_override(text)
            apply_override(raw, keys, value, text)
        return build_root(type(self), raw)
