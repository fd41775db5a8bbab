"""Personal data in text → placeholders: e-mail addresses, IP addresses, phone numbers.

`scrub(text, config)` returns the new text and a count per kind (`{"email": 2}`), replacing
each match with `<EMAIL>`, `<IP_ADDRESS>` or `<PHONE_NUMBER>` (the placeholders Dolma and
BigScience's ROOTS use). Patterns favour precision: an IPv6 candidate must parse as an
address, a phone number needs 9–15 digits in groups separated by spaces, dots, hyphens or
brackets (or a leading `+`), so dates, years and ISBNs are left alone. Plain Python; no Beam.
"""

from __future__ import annotations

import ipaddress
import re
from typing import Callable

from crawl2gpt.quality_filter.heuristics_config import PiiConfig

PLACEHOLDERS = {"email": "<EMAIL>", "ip_address": "<IP_ADDRESS>",
                "phone_number": "<PHONE_NUMBER>"}

EMAIL = re.compile(r"(?<![\w.+-])[\w.+-]+@(?:[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?\.)+"
                   r"[A-Za-z]{2,63}\b")
_OCTET = r"(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)"
IPV4 = re.compile(rf"(?<![\w.]){_OCTET}(?:\.{_OCTET}){{3}}(?![\w]|\.\d)")
IPV6_CANDIDATE = re.compile(r"(?<![\w:])(?:[0-9A-Fa-f]{0,4}:){2,7}[0-9A-Fa-f]{0,4}(?![\w:])")
PHONE = re.compile(r"(?<![\w+])(?:\+\d{1,3}[ .-]?)?(?:\(\d{1,4}\)[ .-]?)?\d{2,4}"
                   r"(?:[ .-]\d{2,4}){1,4}(?![\w:/]|[.,-]\d)")


def _ipv6_ok(candidate: str) -> bool:
    if candidate.count(":") < 2 or not any(c.isdigit() for c in candidate):
        return False
    try:
        ipaddress.IPv6Address(candidate)
    except ValueError:
        return False
    return True


def _phone_ok(candidate: str) -> bool:
    digits = sum(c.isdigit() for c in candidate)
    if not 9 <= digits <= 15:
        return False
    # Groups joined by dots alone are more often version numbers or amounts than phones.
    return candidate.startswith(("+", "(")) or any(c in candidate for c in " -)")


def _may_hold_ipv6(text: str) -> bool:
    return "::" in text or text.count(":") >= 7


# name → (pattern, check of a match, quick test that the text can hold one at all)
_CHECKS: dict[str, tuple[re.Pattern, Callable[[str], bool] | None, Callable[[str], bool]]] = {
    "email": (EMAIL, None, lambda text: "@" in text),
    "ip_address": (IPV4, None, lambda text: "." in text),
    "ipv6": (IPV6_CANDIDATE, _ipv6_ok, _may_hold_ipv6),
    "phone_number": (PHONE, _phone_ok, lambda text: True),
}


def _replace(text: str, pattern: re.Pattern, check: Callable[[str], bool] | None,
             placeholder: str) -> tuple[str, int]:
    count = 0

    def substitute(match: re.Match) -> str:
        nonlocal count
        if check is not None and not check(match.group(0)):
            return match.group(0)
        count += 1
        return placeholder

    return pattern.sub(substitute, text), count


def scrub(text: str, config: PiiConfig) -> tuple[str, dict[str, int]]:
    """The text with personal data replaced, and the number of replacements per kind.

    E-mails go first (their digits must not become phone numbers), then IP addresses (before
    phones, which would otherwise eat dotted quads), then phones.
    """
    counts: dict[str, int] = {}
    for name, (pattern, check, may_hold) in _CHECKS.items():
        kind = "ip_address" if name == "ipv6" else name
        if not getattr(config, kind) or not may_hold(text):
            continue
        text, n = _replace(text, pattern, check, PLACEHOLDERS[kind])
        if n:
            counts[kind] = counts.get(kind, 0) + n
    return text, counts
