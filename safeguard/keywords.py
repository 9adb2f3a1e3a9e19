"""Safeguarding keyword lists: phrases per theme, matched as whole words in search terms.

The product ships lists per theme (self-harm, suicide, bullying, extremism, sexual,
violence, drugs); a school extends them with `keywords/<theme>.txt`. Matching is
case-insensitive on word boundaries, so "cutting myself" matches "i keep cutting myself"
but "porn" does not match "pornography" unless listed.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field

THEMES = ("self-harm", "suicide", "bullying", "extremism", "sexual", "violence", "drugs")


def parse_keywords(text: str) -> list[str]:
    """Phrases of a keyword file: one per line, `#` comments, white space folded."""
    out = []
    for line in text.splitlines():
        phrase = " ".join(line.split("#", 1)[0].split()).lower()
        if phrase:
            out.append(phrase)
    return out


@dataclass
class KeywordIndex:
    """Theme -> phrases, compiled to one regex per theme on first use."""

    phrases: dict[str, set[str]] = field(default_factory=dict)
    _compiled: dict[str, re.Pattern[str]] = field(default_factory=dict, repr=False)

    def add(self, theme: str, phrases: Iterable[str]) -> None:
        self.phrases.setdefault(theme, set()).update(p.lower() for p in phrases if p.strip())
        self._compiled.pop(theme, None)

    def _pattern(self, theme: str) -> re.Pattern[str]:
        pat = self._compiled.get(theme)
        if pat is None:
            alts = sorted(self.phrases[theme], key=len, reverse=True)
            body = "|".join(r"\s+".join(map(re.escape, p.split())) for p in alts)
            pat = re.compile(rf"(?<!\w)(?:{body})(?!\w)", re.IGNORECASE)
            self._compiled[theme] = pat
        return pat

    def themes_of(self, text: str | None) -> tuple[str, ...]:
        """Themes whose phrases occur in `text`, sorted; () for empty text."""
        if not text:
            return ()
        return tuple(sorted(t for t in self.phrases if self.phrases[t]
                            and self._pattern(t).search(text)))
