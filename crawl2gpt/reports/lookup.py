"""`crawl2gpt inspect doc`: one document's fate through every stage of a build.

A document is either in a `documents/` shard (kept; its token row says which token shard) or
in one `rejected/<stage>/` shard (that stage removed it, with reason and detail). Contamination
removal replaces a document by pieces whose ids derive from the parent's
(`core.records.derive_id`): the parent's rejected row lists `piece_ids`, a kept piece's
`meta.parent_id` names the parent, so the trace follows pieces both ways.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from crawl2gpt.core.manifest import OpenedBuild
from crawl2gpt.reports.errors import detail_of

SPLITTING_STAGE = "contamination"
DOCUMENT_COLUMNS = ["id", "source", "url", "source_file", "source_offset", "language",
                    "quality_score", "meta"]
REJECTED_COLUMNS = ["doc_id", "source", "stage", "reason", "url", "source_file",
                    "source_offset", "detail"]


@dataclass
class Fate:
    """Where one document ended: kept (shard, token shard) or removed (stage, reason, detail)."""

    doc_id: str
    status: str  # "kept", "removed" or "not_found"
    source: str | None = None
    shard: str | None = None  # the documents/ or rejected/ shard holding its row
    stage: str | None = None  # the stage that removed it
    reason: str | None = None
    detail: dict[str, Any] = field(default_factory=dict)
    row: dict[str, Any] = field(default_factory=dict)  # url, input file and offset, scores
    token_shard: str | None = None
    num_tokens: int | None = None
    parent_id: str | None = None  # set on a piece cut by contamination removal
    parent: Fate | None = None
    pieces: list[Fate] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        out = {k: v for k, v in self.__dict__.items() if k not in ("parent", "pieces")}
        out["parent"] = self.parent.to_dict() if self.parent else None
        out["pieces"] = [p.to_dict() for p in self.pieces]
        return out


def find_document(build: OpenedBuild, doc_id: str) -> Fate:
    """The one row of `doc_id` in the build's document or rejected shards."""
    for source, path in build.document_shards():
        rows = build.read(path, DOCUMENT_COLUMNS, ("id", doc_id)).to_pylist()
        if rows:
            row = rows[0]
            row["meta"] = json.loads(row["meta"])
            fate = Fate(doc_id, "kept", source=source, shard=path, row=row)
            _add_tokens(build, fate)
            return fate
    for entry in build.rejected_shards():
        rows = build.read(entry["path"], REJECTED_COLUMNS, ("doc_id", doc_id)).to_pylist()
        if rows:
            row = rows[0]
            return Fate(doc_id, "removed", source=row["source"], shard=entry["path"],
                        stage=row["stage"], reason=row["reason"], detail=detail_of(row), row=row)
    return Fate(doc_id, "not_found")


def _add_tokens(build: OpenedBuild, fate: Fate) -> None:
    for _, path in build.token_shards():
        rows = build.read(path, ["id", "num_tokens"], ("id", fate.doc_id)).to_pylist()
        if rows:
            fate.token_shard, fate.num_tokens = path, rows[0]["num_tokens"]
            return


def find_parent_id(build: OpenedBuild, fate: Fate) -> str | None:
    """The id of the document this one is a contamination piece of, if any."""
    if fate.status == "kept":
        return fate.row["meta"].get("parent_id")
    if fate.status == "not_found":
        return None
    for entry in build.rejected_shards(SPLITTING_STAGE):
        rows = build.read_containing(entry["path"], ["doc_id", "detail"], "detail",
                                     fate.doc_id).to_pylist()
        for row in rows:
            if fate.doc_id in detail_of(row).get("piece_ids", []):
                return row["doc_id"]
    return None


def trace_document(build: OpenedBuild, doc_id: str) -> Fate:
    """The document's fate, with the parent it was cut from and the pieces cut from it."""
    fate = find_document(build, doc_id)
    fate.parent_id = find_parent_id(build, fate)
    if fate.parent_id:
        fate.parent = find_document(build, fate.parent_id)
        fate.parent.pieces = pieces_of(build, fate.parent)
    fate.pieces = pieces_of(build, fate)
    return fate


def pieces_of(build: OpenedBuild, fate: Fate) -> list[Fate]:
    pieces = [find_document(build, p) for p in fate.detail.get("piece_ids", [])]
    for piece in pieces:
        piece.parent_id = fate.doc_id
    return pieces


def short_detail(detail: dict[str, Any], items: int = 3) -> dict[str, Any]:
    """The detail with long lists cut to their first items (`--json` prints them whole)."""
    return {k: v[:items] + [f"... {len(v)} in all"] if isinstance(v, list) and len(v) > items
            else v for k, v in detail.items()}


def stage_path(build: OpenedBuild, fate: Fate) -> list[tuple[str, str]]:
    """(stage, verdict) for each stage the document went through, in funnel order."""
    stages = build.stage_names(fate.source)
    if fate.parent_id and SPLITTING_STAGE in stages:
        stages = stages[stages.index(SPLITTING_STAGE) + 1:]
    out = []
    for stage in stages:
        if stage == fate.stage:
            detail = json.dumps(short_detail(fate.detail))
            return out + [(stage, f"REMOVED: {fate.reason} {detail}")]
        out.append((stage, "passed"))
    return out


def describe(build: OpenedBuild, fate: Fate, indent: str = "") -> list[str]:
    """Human-readable lines for one fate and the pieces or parent around it."""
    if fate.status == "not_found":
        return [f"{indent}{fate.doc_id}: not in any document or rejected shard of {build.root}"]
    row = fate.row
    lines = [f"{indent}document {fate.doc_id} (source {fate.source})",
             f"{indent}  url: {row.get('url')}",
             f"{indent}  input: {row.get('source_file')} @ {row.get('source_offset')}"]
    if fate.parent_id:
        lines.append(f"{indent}  a piece cut by {SPLITTING_STAGE} from {fate.parent_id}")
    lines += [f"{indent}  {stage}: {verdict}" for stage, verdict in stage_path(build, fate)]
    if fate.status == "kept":
        lines.append(f"{indent}  KEPT in {fate.shard}")
        if fate.token_shard:
            lines.append(f"{indent}  tokens: {fate.num_tokens:,} in {fate.token_shard}")
    else:
        lines.append(f"{indent}  row in {fate.shard}")
    for piece in fate.pieces:
        lines += [f"{indent}  piece:"] + describe(build, piece, indent + "    ")
    if fate.parent:  # its pieces, this one among them, are listed under it
        lines += [f"{indent}  parent:"] + describe(build, fate.parent, indent + "    ")
    return lines
