"""Countries and NUTS regions as other datasets write them (IRIs, codes, names), read as the EU's
identifiers with the bundled reference file (ontology/reference/eu-places.ttl)."""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from functools import cache

from rdflib import URIRef

from graph.namespaces import CKG, SKOS
from graph.vocab import terminology

COUNTRY = "http://publications.europa.eu/resource/authority/country/"
COUNTRY_SCHEME = URIRef("http://publications.europa.eu/resource/authority/country")
NUTS = "http://data.europa.eu/nuts/code/"
NUTS_SCHEME = URIRef("http://data.europa.eu/nuts")
_NUTS_CODE = re.compile(r"[A-Z]{2}[0-9A-Z]{0,3}")
_NUTS_COUNTRY_EXCEPTIONS = {"EL": "GR", "UK": "GB"}  # NUTS country codes that are not ISO alpha-2


def _key(text: str) -> str:
    text = unicodedata.normalize("NFKD", text)
    return " ".join("".join(c for c in text if not unicodedata.combining(c)).lower().replace("-", " ").split())


@dataclass(frozen=True)
class Places:
    countries: dict[str, str]  # key (code, IRI, name) -> country IRI
    regions: dict[str, str]  # key (code, IRI, name) -> NUTS code
    region_labels: dict[str, str]  # NUTS code -> label
    country_labels: dict[str, str]  # country IRI -> label
    alpha2: dict[str, str]  # ISO alpha-2 -> country IRI

    def country(self, value: str | None) -> str | None:
        """The EU authority IRI of a country however written; None if not recognised."""
        if not value:
            return None
        text = value.strip()
        return self.countries.get(text) or self.countries.get(text.upper()) or self.countries.get(_key(text))

    def region(self, value: str | None) -> str | None:
        """The NUTS code of a region however written (an IRI or code not in the reference file is
        still read as a NUTS code when it has a NUTS code's form); None if not recognised."""
        if not value:
            return None
        text = value.strip()
        found = self.regions.get(text) or self.regions.get(_key(text))
        if found:
            return found
        code = text[len(NUTS):] if text.startswith(NUTS) else text
        return code if _NUTS_CODE.fullmatch(code) and len(code) >= 3 else None

    def is_region_code(self, value: str) -> bool:
        """Whether a value is a NUTS code or IRI (not a region's name, which may be shared:
        there is a Limburg in the Netherlands and one in Belgium)."""
        text = value.strip()
        code = text[len(NUTS):] if text.startswith(NUTS) else text
        return bool(_NUTS_CODE.fullmatch(code)) and len(code) >= 3

    def country_of_region(self, code: str) -> str | None:
        prefix = code[:2]
        return self.alpha2.get(_NUTS_COUNTRY_EXCEPTIONS.get(prefix, prefix))

    def region_label(self, code: str) -> str:
        return f"{code} {self.region_labels[code]}" if code in self.region_labels else code

    def country_label(self, iri: str) -> str:
        return self.country_labels.get(iri, iri.rsplit("/", 1)[-1])


def related_regions(a: str, b: str) -> bool:
    """Same NUTS region, or one inside the other (NUTS codes nest by prefix)."""
    return a.startswith(b) or b.startswith(a)


@cache
def places() -> Places:
    t = terminology()
    countries: dict[str, str] = {}
    labels: dict[str, str] = {}
    alpha2: dict[str, str] = {}
    for concept in t.subjects(SKOS.inScheme, COUNTRY_SCHEME):
        iri = str(concept)
        countries[iri] = iri
        for notation in t.objects(concept, SKOS.notation):
            countries[str(notation).upper()] = iri
            if len(str(notation)) == 2:
                alpha2[str(notation)] = iri
        for label in (*t.objects(concept, SKOS.prefLabel), *t.objects(concept, SKOS.altLabel)):
            countries[_key(str(label))] = iri
        labels[iri] = str(t.value(concept, SKOS.prefLabel))
    regions: dict[str, str] = {}
    region_labels: dict[str, str] = {}
    for concept in sorted(t.subjects(SKOS.inScheme, NUTS_SCHEME)):  # coarser codes first
        code = str(t.value(concept, SKOS.notation))
        regions[str(concept)] = code
        regions[code] = code
        for label in (*t.objects(concept, SKOS.prefLabel), *t.objects(concept, SKOS.altLabel)):
            regions.setdefault(_key(str(label)), code)  # the first (coarsest) region of a shared label
        region_labels[code] = str(t.value(concept, SKOS.prefLabel))
        assert t.value(concept, CKG.country) is not None
    return Places(countries, regions, region_labels, labels, alpha2)
