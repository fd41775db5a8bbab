"""Near-duplicates at a planned Jaccard similarity, for the demo crawl's dedup ground truth.

Similarity is the Jaccard index of word 5-gram shingle sets (the unit fuzzy dedup works on).
Replacing one word changes exactly the 5 shingles that contain it, so after structural edits
(a moved paragraph, other site chrome, added boilerplate) leave `inter` shared shingles out of
`union`, `k` well-separated replacements give J = (inter - 5k) / (union + 5k): solve for k.
"""

from __future__ import annotations

import random
import re

SHINGLE = 5
LEVELS = (0.9, 0.8, 0.7, 0.6)
PLANS = (("edited", 0.9), ("shuffled", 0.8), ("republished", 0.7), ("edited", 0.8),
         ("shuffled", 0.9), ("republished", 0.8), ("edited", 0.7), ("shuffled", 0.7),
         ("republished", 0.6), ("edited", 0.6))
"""(edit, target) cycled over the near-duplicates: `edited` changes words only, `shuffled` also
moves a paragraph, `republished` puts the article on another site with share/newsletter
boilerplate added."""

_WORD = re.compile(r"\w+")
_EDITABLE = re.compile(r"^([A-Za-z]+)([,.;:]?)$")


def shingles(text: str) -> set[tuple[str, ...]]:
    words = _WORD.findall(text.lower())
    return set(zip(*(words[i:] for i in range(SHINGLE))))


def jaccard(a: set, b: set) -> float:
    inter = len(a & b)
    return inter / (len(a) + len(b) - inter) if a or b else 1.0


def reachable(target: float, unedited: float) -> float:
    """The planned level, or the highest lower level if structural edits already went below it."""
    if unedited >= target + 0.01:
        return target
    lower = [level for level in LEVELS if level <= unedited - 0.01]
    return max(lower) if lower else round(unedited, 2)


def edits_needed(inter: int, union: int, target: float) -> int:
    return max(0, round((inter - target * union) / (SHINGLE * (1 + target))))


def replace_words(blocks: list[tuple[str, str]], edits: int, rng: random.Random,
                  replacements: list[str]) -> list[tuple[str, str]]:
    """Replace `edits` words of the `p` blocks, at least SHINGLE words apart from each other.

    Only plain words are touched (punctuation kept, capitalisation copied), and never with a
    word from `replacements` already there, so each edit removes exactly SHINGLE shingles.
    """
    words = [(b, w) for b, (tag, block) in enumerate(blocks) if tag == "p"
             for w in range(block.count(" ") + 1)]
    split = {b: block.split(" ") for b, (tag, block) in enumerate(blocks) if tag == "p"}
    banned = {r.lower() for r in replacements}
    chosen: set[int] = set()
    for _ in range(50 * edits):  # random probes: cheaper than listing every candidate word
        if len(chosen) == edits:
            break
        i = int(rng.random() * len(words))
        b, w = words[i]
        match = _EDITABLE.match(split[b][w])
        if (match and match.group(1).lower() not in banned
                and not any(j in chosen for j in range(i - SHINGLE + 1, i + SHINGLE))):
            chosen.add(i)
    for i in sorted(chosen):
        b, w = words[i]
        old, end = _EDITABLE.match(split[b][w]).groups()
        new = replacements[int(rng.random() * len(replacements))]
        split[b][w] = (new.capitalize() if old[0].isupper() else new) + end
    return [(tag, " ".join(split[b]) if b in split else block)
            for b, (tag, block) in enumerate(blocks)]
