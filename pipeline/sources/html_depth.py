"""A bound on the cost of parsing a page: how deep its elements nest, counted before parsing.

HTML parsers take time growing with the square of the nesting depth (4 MB of
`<div><span><p><b><i>` nested 100,000 deep took a minute in `main` mode), so a page nesting
deeper than MAX_NESTING is rejected (`html_too_deep`) instead of parsed. The count is linear
in the page's size: numpy over the bytes, no Python loop per tag.
"""

from __future__ import annotations

import numpy as np

MAX_NESTING = 4000
"""Deeper pages are not parsed. The count overestimates real pages, whose unclosed inline tags
add up (Chromium's parser stops nesting at 512, yet one of the 581 snippet pages in shared/data
counts 1,500 here; the deepest of the 130 readability pages counts 297); at 4,000 the parse
costs about half a second in `main` mode, at 100,000 a minute."""
# Elements that never hold others (void) or whose end tag pages often leave out.
_NOT_NESTING = (
    "area base br col embed hr img input link meta param source track wbr "
    "p li dt dd option optgroup tr td th thead tbody tfoot colgroup caption rb rt rp").split()
_NAME_KEYS = np.array([np.frombuffer(n.encode().ljust(8, b"\0"), np.uint64)[0]
                       for n in _NOT_NESTING])


class HtmlTooDeep(ValueError):
    """A page nests elements deeper than MAX_NESTING; it is rejected, not parsed."""

    def __init__(self, depth: int):
        super().__init__(f"elements nest deeper than {MAX_NESTING} ({depth})")
        self.depth = depth


def nesting_depth(html: str) -> int:
    """How deep the page's start and end tags nest, counted in bulk (numpy), linear in size.

    Void elements, those whose end tag is often left out (`p`, `li`, `td`...) and `<x/>` do not
    nest; a stray end tag does not go below zero. An estimate from the tags alone: comments
    and scripts are read as text.
    """
    data = np.frombuffer(html.encode("utf-8", "replace") + b" " * 11, np.uint8)
    lt = np.flatnonzero(data == ord("<"))
    closing = data[lt + 1] == ord("/")
    window = data[(lt + 1 + closing)[:, None] + np.arange(9)] | 0x20    # lower-cased
    letter = (window >= ord("a")) & (window <= ord("z"))
    digit = (window >= ord("0")) & (window <= ord("9"))
    in_name = np.logical_and.accumulate(letter | digit, axis=1) & letter[:, :1]
    keys = np.ascontiguousarray(window[:, :8] * in_name[:, :8]).view(np.uint64)[:, 0]
    nests = in_name[:, 0] & ~(np.isin(keys, _NAME_KEYS) & ~in_name[:, 8])
    gt = np.flatnonzero(data == ord(">"))
    if len(gt):    # <x/>: the byte before the tag's ">" is "/"
        tag_end = gt[np.minimum(np.searchsorted(gt, lt), len(gt) - 1)]
        nests &= closing | (data[np.maximum(tag_end - 1, 0)] != ord("/"))
    steps = np.where(nests, np.where(closing, -1, 1), 0).cumsum()
    if not len(steps):
        return 0
    return int((steps - np.minimum.accumulate(np.minimum(steps, 0))).max())


def check_nesting(html: str, limit: int = MAX_NESTING) -> None:
    """Raise HtmlTooDeep when the page's elements nest deeper than `limit`."""
    if html.count("<") > limit:
        depth = nesting_depth(html)
        if depth > limit:
            raise HtmlTooDeep(depth)
