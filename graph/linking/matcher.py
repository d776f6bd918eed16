"""Candidate owl:sameAs pairs between our clusters and another dataset's organisations.

Blocking: when both sides have a country and they differ, the pair is not compared (a "Biocat" in
Denmark is not Spain's Biocat). Score: the best name comparison (graph.linking.names), plus 0.03
when the countries agree and 0.02 when the NUTS regions agree (same or nested); 0.15 off when both
sides have regions of one country that do not nest. A local cluster whose two best candidates are
within 0.05 of each other is ambiguous: such candidates are printed but never accepted by a
threshold, only by a reviewed file.
"""

from __future__ import annotations

from dataclasses import dataclass

from graph.linking import names
from graph.linking.places import Places, places, related_regions
from graph.linking.records import Record

AMBIGUITY_MARGIN = 0.05


@dataclass(frozen=True)
class Candidate:
    local: str
    remote: str
    score: float
    reason: str
    ambiguous: bool = False

    def as_dict(self) -> dict[str, object]:
        return {"local": self.local, "remote": self.remote, "score": self.score, "reason": self.reason}


@dataclass(frozen=True)
class _Place:
    country: str | None
    region: str | None
    unread: tuple[str, ...]  # values that were not recognised


def _place(record: Record, p: Places) -> _Place:
    region = next((r for v in record.regions if (r := p.region(v))), None)
    country = next((c for v in record.countries if (c := p.country(v))), None)
    if country is None and region is not None and any(p.is_region_code(v) for v in record.regions):
        country = p.country_of_region(region)  # a NUTS code names its country; a region's name may not
    unread = tuple(v for v in record.countries if not p.country(v)) + \
        tuple(v for v in record.regions if not p.region(v))
    return _Place(country, region, unread)


def _compare(local: Record, lp: _Place, remote: Record, rp: _Place, p: Places) -> Candidate | None:
    if lp.country and rp.country and lp.country != rp.country:
        return None  # blocked
    match = names.best(local.names, remote.names)
    if match is None:
        return None
    score = match.score
    reasons = [f"name {match.how}: {match.local!r} ~ {match.remote!r} ({match.score:.2f})"]
    if lp.country and rp.country:
        score += 0.03
        reasons.append(f"same country {p.country_label(lp.country)}")
    elif lp.country or rp.country:
        reasons.append("country known on one side only")
    else:
        reasons.append("no country on either side")
    if lp.region and rp.region:
        if related_regions(lp.region, rp.region):
            score += 0.02
            reasons.append(f"region {p.region_label(lp.region)} ~ {p.region_label(rp.region)}")
        else:
            score -= 0.15
            reasons.append(f"regions differ: {p.region_label(lp.region)} / {p.region_label(rp.region)}")
    if rp.unread:
        reasons.append(f"not recognised as a place: {', '.join(repr(u) for u in rp.unread)}")
    return Candidate(local.iri, remote.iri, round(max(0.0, min(1.0, score)), 3), "; ".join(reasons))


def candidates(local: list[Record], remote: list[Record], *, floor: float = 0.5) -> list[Candidate]:
    """Every pair scoring at least ``floor``, best first; ambiguous ones marked."""
    p = places()
    remote_places = [(r, _place(r, p)) for r in remote]
    found: list[Candidate] = []
    for record in local:
        lp = _place(record, p)
        mine = [c for r, rp in remote_places if (c := _compare(record, lp, r, rp, p)) and c.score >= floor]
        mine.sort(key=lambda c: -c.score)
        if len(mine) >= 2 and mine[0].score - mine[1].score <= AMBIGUITY_MARGIN:
            top = mine[0].score
            mine = [Candidate(c.local, c.remote, c.score, c.reason + "; ambiguous: another candidate scores "
                              "as high, review it", ambiguous=True)
                    if top - c.score <= AMBIGUITY_MARGIN else c for c in mine]
        found += mine
    return sorted(found, key=lambda c: (-c.score, c.local, c.remote))


def accept(found: list[Candidate], threshold: float) -> list[Candidate]:
    """Candidates at or above the threshold, one-to-one (best first), never an ambiguous one."""
    taken_local: set[str] = set()
    taken_remote: set[str] = set()
    accepted = []
    for c in found:
        if c.score < threshold or c.ambiguous or c.local in taken_local or c.remote in taken_remote:
            continue
        accepted.append(c)
        taken_local.add(c.local)
        taken_remote.add(c.remote)
    return accepted
