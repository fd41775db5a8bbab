"""Errors and helpers the inspection reports share; the build itself is opened with
`crawl2gpt.core.manifest.OpenedBuild` (its manifest, shard paths and filtered reads)."""

from __future__ import annotations

import json
from typing import Any


class InspectError(ValueError):
    """A run or results folder cannot be reported on; the message names the file."""


def detail_of(row: dict[str, Any]) -> dict[str, Any]:
    """The parsed `detail` JSON of a rejected row."""
    return json.loads(row.get("detail") or "{}")
