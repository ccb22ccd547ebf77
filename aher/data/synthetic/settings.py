"""The benchmark settings of the synthetic generator, its domains and its identity.

``SETTINGS`` maps a setting (paper_vs_code §1.5, paper_vs_code §11.2) to its :class:`SettingSpec`: the domain of
the untrimmed set and of the moment set, where the moments come from, how the class groups of
the two sets relate, and the class-name prefixes.  ``DOMAINS`` are the video domains the
layouts and the domain shift know.  ``GENERATOR_VERSION`` names the bytes written for a request
(a folder of another version is regenerated, not reused); ``FORMAT_NAME`` marks a manifest as
written by this generator.
"""

from dataclasses import dataclass

#: bump whenever the bytes written for an unchanged request change (older datasets are then
#: regenerated on the next request instead of being reused)
GENERATOR_VERSION = 4
FORMAT_NAME = "aher-synthetic"
DOMAINS = ("anet", "k600", "thumos")


@dataclass(frozen=True)
class SettingSpec:
    name: str
    untrimmed_domain: str
    moment_domain: str           # domain of the moment set's untrimmed videos (eval, oracle)
    moments_from: str            # "clips" (Kinetics-like) or "foreground" (of oracle videos)
    groups: str                  # "shared" | "disjoint" | "subset" (untrimmed groups within)
    prefixes: tuple[str, str]    # class-name prefixes (untrimmed set, moment set)
    description: str


SETTINGS = {
    "k600": SettingSpec("k600", "anet", "k600", "clips", "shared", ("anet", "k600"),
                        "ANet-like untrimmed set -> K600-like moments (~10 s clips); evaluation on "
                        "K600-like untrimmed validation videos"),
    "anet_split": SettingSpec("anet_split", "anet", "anet", "foreground", "disjoint", ("anetun", "anetam"),
                              "ANet-UN -> ANet-AM: classes of disjoint taxonomy groups; moments = foreground "
                              "of the moment classes' training videos; evaluation on their validation videos"),
    "th14_anet": SettingSpec("th14_anet", "thumos", "anet", "foreground", "subset", ("th14", "anetfg"),
                             "THUMOS-like untrimmed set (classes from a subset of the groups) -> ANet-FG "
                             "moments (foreground of all ANet-like training videos); evaluation on "
                             "ANet-like validation videos"),
}
