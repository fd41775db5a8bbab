"""The optional stages that plug into the build after exact dedup, by name.

Each stage is a plain-Python core in its own package plus one composite `PTransform`
(`Class(stage_config, build_config)`, applied to a `PCollection[Document]`, returning
`(kept, rejected)`: documents that go on and `Rejected` rows with the stage's reasons). Its
settings are a dataclass filled from the build config's `[<name>]` table. Only this registry
and `pipeline/build.py` know all stages.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class StageSpec:
    name: str
    config: str
    """"module:Class" of the stage's config dataclass (importable without Beam)."""
    transform: str
    """"module:Class" of the composite PTransform."""


STAGES: dict[str, StageSpec] = {
    spec.name: spec
    for spec in [
        StageSpec("quality_filter", "quality_filter.config:QualityConfig",
                  "quality_filter.transforms:FilterQuality"),
        StageSpec("quality_train", "quality_filter.config:QualityConfig",
                  "quality_filter.train_transforms:TrainQualityModel"),
        StageSpec("fuzzy_dedup", "dedup.config:FuzzyDedupConfig", "dedup.transforms:DedupFuzzy"),
        StageSpec("contamination", "dedup.contamination_config:ContaminationConfig",
                  "dedup.transforms:RemoveContamination"),
        StageSpec("language_id", "quality_filter.heuristics_config:LanguageIdConfig",
                  "quality_filter.heuristics_transforms:IdentifyLanguage"),
        StageSpec("rules", "quality_filter.heuristics_config:RulesConfig",
                  "quality_filter.heuristics_transforms:ApplyRules"),
        StageSpec("line_cleanup", "quality_filter.heuristics_config:LineCleanupConfig",
                  "quality_filter.heuristics_transforms:CleanLines"),
        StageSpec("url_blocklist", "quality_filter.heuristics_config:BlocklistConfig",
                  "quality_filter.heuristics_transforms:BlockUrls"),
        StageSpec("pii", "quality_filter.heuristics_config:PiiConfig",
                  "quality_filter.heuristics_transforms:ScrubPii"),
    ]
}

# Config tables of build steps that are not filter stages: "module:Class" of their dataclass.
SECTIONS: dict[str, str] = {"tokenize": "mixing.config:TokenizeConfig"}

# The paper's order (quality filter, then fuzzy dedup, then contamination removal).
PAPER_ORDER = ["quality_filter", "fuzzy_dedup", "contamination"]


def load_object(target: str) -> Any:
    module, name = target.split(":")
    return getattr(importlib.import_module(module), name)


def section_config_class(name: str) -> Any:
    """The config dataclass of a stage or section table, by name."""
    if name in SECTIONS:
        return load_object(SECTIONS[name])
    return load_object(stage_spec(name).config)


def stage_spec(name: str) -> StageSpec:
    try:
        return STAGES[name]
    except KeyError:
        raise ValueError(f"unknown stage {name!r}; known stages: {sorted(STAGES)}") from None
