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
        StageSpec("fuzzy_dedup", "dedup.config:FuzzyDedupConfig", "dedup.transforms:DedupFuzzy"),
        StageSpec("contamination", "dedup.contamination_config:ContaminationConfig",
                  "dedup.transforms:RemoveContamination"),
    ]
}

# The paper's order (quality filter, then fuzzy dedup, then contamination removal).
PAPER_ORDER = ["quality_filter", "fuzzy_dedup", "contamination"]


def load_object(target: str) -> Any:
    module, name = target.split(":")
    return getattr(importlib.import_module(module), name)


def stage_spec(name: str) -> StageSpec:
    try:
        return STAGES[name]
    except KeyError:
        raise ValueError(f"unknown stage {name!r}; known stages: {sorted(STAGES)}") from None
