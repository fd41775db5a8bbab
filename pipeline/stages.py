"""The optional stages that plug into the build after exact dedup, by name.

Each stage is a plain-Python core in its own package plus one composite `PTransform`
(`Class(stage_config, build_config)`, applied to a `PCollection[Document]`, returning
`(kept, rejected)`: documents that go on and `Rejected` rows with the stage's reasons). Its
settings are a dataclass filled from the build config's `[<name>]` table (local paths named in
its `PATH_FIELDS`). A composite may also set `.report` (rows for the manifest) and `.index`
(rows for the build's index), and offer `document_step()`: its work on one document (a DoFn
whose `process(doc)` yields `("kept", doc)` or `("rejected", Rejected)`, or None when this
configuration needs all documents at once). The build runs such steps inside its passes over
input parts (`pipeline.passes`), so the stage's documents never cross a shuffle; a stage that
decides on all documents at once can do the same through `StageSpec.keyed`. Adding a stage is
its package plus one line here (docs/architecture.md); only this registry and the build know
all stages.
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
    manifest_section: str = ""
    """"module:function" turning the stage's report rows into its own manifest section
    (`f(stage_config, rows, staging_dir) -> (section, extra files)`); by default the rows go
    to the manifest's `stage_reports`."""
    corpus_report: str = ""
    """"module:Class" of a composite `Class(stage_config)` applied to the build's finished
    documents, whose rows join the stage's report (tagged `part = "corpus"`)."""
    keyed: str = ""
    """"module:Class" of the stage as rounds of the build's passes (`Class(stage_config,
    build_config).rounds()`: (emitter, global step) pairs, `.index` after the last), so that
    only keys cross shuffles; used unless the build compares against previous builds."""
    against_previous: str = ""
    """"module:Class" of the composite that removes what previous builds already hold
    (`crawl2gpt build --against`), applied after the stage: `(kept, index) -> (kept,
    rejected, index)`, with `INDEX_KEY`, `index_params(config)` and
    `previous_problems(index, config)`."""


STAGES: dict[str, StageSpec] = {
    spec.name: spec
    for spec in [
        StageSpec("quality_filter", "crawl2gpt.quality_filter.config:QualityConfig",
                  "crawl2gpt.quality_filter.transforms:FilterQuality"),
        StageSpec("quality_train", "crawl2gpt.quality_filter.config:QualityConfig",
                  "crawl2gpt.quality_filter.train_transforms:TrainQualityModel"),
        StageSpec("fuzzy_dedup", "crawl2gpt.dedup.config:FuzzyDedupConfig",
                  "crawl2gpt.dedup.transforms:DedupFuzzy",
                  keyed="crawl2gpt.dedup.keyed:KeyedFuzzyDedup",
                  against_previous="crawl2gpt.dedup.incremental:FuzzyAgainstPrevious"),
        StageSpec("contamination", "crawl2gpt.dedup.contamination_config:ContaminationConfig",
                  "crawl2gpt.dedup.contamination_transforms:RemoveContamination",
                  manifest_section="crawl2gpt.dedup.clean_dirty:contamination_section",
                  corpus_report="crawl2gpt.dedup.contamination_transforms:SplitCleanDirty"),
        StageSpec("language_id", "crawl2gpt.quality_filter.heuristics_config:LanguageIdConfig",
                  "crawl2gpt.quality_filter.heuristics_transforms:IdentifyLanguage"),
        StageSpec("rules", "crawl2gpt.quality_filter.heuristics_config:RulesConfig",
                  "crawl2gpt.quality_filter.heuristics_transforms:ApplyRules"),
        StageSpec("line_cleanup", "crawl2gpt.quality_filter.heuristics_config:LineCleanupConfig",
                  "crawl2gpt.quality_filter.heuristics_transforms:CleanLines"),
        StageSpec("url_blocklist", "crawl2gpt.quality_filter.heuristics_config:BlocklistConfig",
                  "crawl2gpt.quality_filter.heuristics_transforms:BlockUrls"),
        StageSpec("pii", "crawl2gpt.quality_filter.heuristics_config:PiiConfig",
                  "crawl2gpt.quality_filter.heuristics_transforms:ScrubPii"),
    ]
}

# Config tables of build steps that are not filter stages: "module:Class" of their dataclass.
SECTIONS: dict[str, str] = {"tokenize": "crawl2gpt.mixing.config:TokenizeConfig"}

# The paper's order (quality filter, then fuzzy dedup, then contamination removal).
PAPER_ORDER = ["quality_filter", "fuzzy_dedup", "contamination"]


def load_object(target: str) -> Any:
    module, name = target.split(":")
    return getattr(importlib.import_module(module), name)


def config_sections() -> list[str]:
    """Names of every `[<name>]` table a build config may hold besides the build's own."""
    return sorted(set(STAGES) | set(SECTIONS))


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
