"""Organisation names, normalised and compared.

Normalisation: Unicode compatibility form, accents dropped, lower case, "&" as "and", punctuation
as spaces; legal forms (GmbH, Ltd, Oy, S.A., e.V., ...) and words that every cluster name may or
may not carry ("cluster", "the", "management") dropped. Two names are then compared in several ways
and the best one counts, so that the reason can say which: equal, equal without spaces
("BioRegio STERN" / "Bioregiostern"), one's words within the other's ("Medicen" / "Medicen Paris
Region"), an acronym of the other ("TSP" / "Turku Science Park"), or similar letter trigrams
(spelling variants).
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

LEGAL_FORMS = {
    "gmbh", "mbh", "ag", "kg", "ev", "ltd", "limited", "plc", "inc", "llc", "corp", "oy", "oyj", "ab", "ry",
    "sa", "sas", "sarl", "srl", "spa", "bv", "nv", "vzw", "asbl", "aps", "as", "asa", "kft", "zrt", "sro",
    "spzoo", "sp", "zoo", "oo", "doo", "ou",
}
NOISE = {"the", "cluster", "management", "of", "and", "de", "der", "la", "le"}


@dataclass(frozen=True)
class NameMatch:
    score: float
    how: str  # "equal", "equal without spaces", "contained", "acronym", "similar spelling"
    local: str
    remote: str


def normalise(name: str) -> str:
    text = unicodedata.normalize("NFKD", name)
    text = "".join(ch for ch in text if not unicodedata.combining(ch)).lower().replace("&", " and ")
    text = re.sub(r"\be\.\s?v\.", " ev ", text)  # e.V. before the dots go
    text = re.sub(r"\bsp\.\s?z\s?o\.\s?o\.", " spzoo ", text)
    text = re.sub(r"[^\w\s]", " ", text)
    words = [w for w in text.split() if w not in LEGAL_FORMS and w not in NOISE]
    return " ".join(words)


def _trigrams(text: str) -> set[str]:
    padded = f"  {text} "
    return {padded[i:i + 3] for i in range(len(padded) - 2)}


def _dice(a: str, b: str) -> float:
    ta, tb = _trigrams(a), _trigrams(b)
    return 2 * len(ta & tb) / (len(ta) + len(tb)) if ta and tb else 0.0


def compare(local: str, remote: str) -> NameMatch | None:
    """How alike two names are, 0..1, and why; None when nothing is left to compare."""
    a, b = normalise(local), normalise(remote)
    if not a or not b:
        return None
    if a == b:
        return NameMatch(1.0, "equal", local, remote)
    ca, cb = a.replace(" ", ""), b.replace(" ", "")
    if ca == cb:
        return NameMatch(0.97, "equal without spaces", local, remote)
    wa, wb = a.split(), b.split()
    candidates = [NameMatch(round(_dice(ca, cb), 3), "similar spelling", local, remote)]
    shorter, longer = (wa, wb) if len(wa) <= len(wb) else (wb, wa)
    if set(shorter) <= set(longer) and len("".join(shorter)) >= 4:
        # "Medicen" in "Medicen Paris Region": the more of the longer name it covers, the better
        cover = len("".join(shorter)) / len("".join(longer))
        candidates.append(NameMatch(round(0.85 + 0.1 * cover, 3), "contained", local, remote))
    for short, long_ in ((ca, wb), (cb, wa)):
        if len(short) >= 3 and len(long_) >= 3 and short == "".join(w[0] for w in long_):
            candidates.append(NameMatch(0.85, "acronym", local, remote))
    return max(candidates, key=lambda m: m.score)


def best(local_names: list[str], remote_names: list[str]) -> NameMatch | None:
    """The best comparison over every name variant of both sides."""
    found = [m for a in local_names for b in remote_names if (m := compare(a, b)) is not None]
    return max(found, key=lambda m: m.score) if found else None
