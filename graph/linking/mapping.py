"""The mapping that says where, in another dataset, an organisation's name, country and region are."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import yaml

DEFAULT_MAPPING_FILE = Path(__file__).with_name("default-mapping.yaml")

_STEP = re.compile(r"<([^<>\s\"{}|^`\\]+)>|([A-Za-z][\w-]*):([\w.-]*)")


class MappingError(ValueError):
    """A mapping file that cannot be used; the message names the key and the value."""


@dataclass(frozen=True)
class Mapping:
    classes: tuple[str, ...]  # full IRIs
    names: tuple[str, ...]  # SPARQL property paths, built here from full IRIs
    countries: tuple[str, ...]
    regions: tuple[str, ...]
    id_columns: tuple[str, ...]
    name_columns: tuple[str, ...]
    country_columns: tuple[str, ...]
    region_columns: tuple[str, ...]

    @classmethod
    def load(cls, path: Path | None = None) -> Mapping:
        """The defaults, with the keys of ``path`` (if given) replacing theirs."""
        data = _read(DEFAULT_MAPPING_FILE)
        if path is not None:
            given = _read(path)
            unknown = sorted(set(given) - set(data))
            if unknown:
                raise MappingError(f"{path.name}: unknown key {unknown[0]!r} (known: {', '.join(sorted(data))})")
            prefixes = {**data["prefixes"], **(given.get("prefixes") or {})}
            data.update(given)
            data["prefixes"] = prefixes
        prefixes = data["prefixes"]
        columns = data.get("columns") or {}

        def paths(key: str) -> tuple[str, ...]:
            return tuple(_path(str(p), prefixes, key) for p in _list(data, key))

        return cls(
            classes=tuple(_iri(str(c), prefixes, "classes") for c in _list(data, "classes")),
            names=paths("names"), countries=paths("countries"), regions=paths("regions"),
            id_columns=tuple(columns.get("id") or ()), name_columns=tuple(columns.get("names") or ()),
            country_columns=tuple(columns.get("country") or ()), region_columns=tuple(columns.get("region") or ()),
        )


def _read(path: Path) -> dict:
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as exc:
        raise MappingError(f"cannot read the mapping {path}: {exc}") from None
    if not isinstance(data, dict):
        raise MappingError(f"{path.name}: a mapping is a YAML mapping of keys (classes, names, countries, ...)")
    return data


def _list(data: dict, key: str) -> list:
    value = data.get(key) or []
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list):
        raise MappingError(f"mapping key {key!r} must be a list")
    return value


def _iri(text: str, prefixes: dict[str, str], key: str) -> str:
    match = _STEP.fullmatch(text.strip())
    if not match:
        raise MappingError(f"mapping {key}: {text!r} is not a prefixed name or an <IRI>")
    if match.group(1):
        return match.group(1)
    prefix, local = match.group(2), match.group(3)
    if prefix not in prefixes:
        raise MappingError(f"mapping {key}: unknown prefix {prefix!r} in {text!r}; declare it under 'prefixes'")
    return prefixes[prefix] + local


def _path(text: str, prefixes: dict[str, str], key: str) -> str:
    """A sequence path as SPARQL text, from validated IRIs only (nothing of the file is pasted)."""
    steps = re.split(r"/(?![^<]*>)", text.strip())  # a "/" inside <...> belongs to the IRI
    return "/".join(f"<{_iri(step, prefixes, key)}>" for step in steps)
