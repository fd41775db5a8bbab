"""The manifest's `tokens` section: tokenizer, token shards per source and the mixture table.

This is what the trainer reads: per source, its shard files (in shuffled order by name), token
count, mixture weight and epochs (`weight × budget / tokens`, the paper's Table 2.2).
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from crawl2gpt.core.shards import ShardReport
from crawl2gpt.core.tokenizer import Tokenizer
from crawl2gpt.mixing.config import TokenizeConfig
from crawl2gpt.mixing.weights import compute_mixture


class TokenCountMismatch(RuntimeError):
    """A source's token shards do not hold exactly its kept documents."""


def tokens_section(config: TokenizeConfig, reports: list[ShardReport],
                   kept_documents: dict[str, int]) -> dict[str, Any]:
    """Assemble the section from the token-shard writers' reports; checks document counts."""
    by_source: dict[str, list[ShardReport]] = defaultdict(list)
    for r in sorted(reports, key=lambda r: r.path):
        by_source[r.source].append(r)
    for source, kept in kept_documents.items():
        rows = sum(r.rows for r in by_source.get(source, []))
        if rows != kept:
            raise TokenCountMismatch(f"source {source!r}: {kept} documents kept but {rows} "
                                     f"in its token shards")
    counts = {s: sum(r.tokens for r in shards) for s, shards in by_source.items()}
    table = compute_mixture(counts, config.weights, config.token_budget, config.max_epochs,
                            config.weight_sum_tolerance)
    tokenizer = Tokenizer.from_path(config.require_tokenizer(), config.tokenizer_kind)
    return {
        "tokenizer": {**tokenizer.describe(), "path": config.tokenizer},
        "seed": config.seed,
        "mixture": {**table.to_dict(), "table": table.render()},
        "sources": {s: {"documents": sum(r.rows for r in shards), "tokens": counts[s],
                        "weight": table.row(s).weight, "epochs": table.row(s).epochs,
                        "shards": [{"path": r.path, "rows": r.rows, "tokens": r.tokens,
                                    "bytes": r.file_bytes, "sha256": r.sha256} for r in shards]}
                    for s, shards in sorted(by_source.items())},
    }
