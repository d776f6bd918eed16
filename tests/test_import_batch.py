"""Several files in one import (``Importer.import_files``, ``clusterkg import A B ...``): the same
store as one import after another, all of them or none, every violation naming its file."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner

from graph.cli import EXIT_ERROR, main
from graph.config import Settings
from graph.importer import Importer, ImportRejected, UnreadableFile
from graph.namespaces import PROV
from graph.store import Store
from graph.store.embedded import EmbeddedStore

from .conftest import BASE, FIXTURES, ObserveLoads, quads_of
from .helpers import check_summary, waves


def _without_times(lines: list[str]) -> list[str]:
    """The quads but each import's end time (the only thing two imports of a file differ in)."""
    return [line for line in lines if str(PROV.endedAtTime) not in line]


def test_one_import_of_several_files_equals_one_import_after_another(template_store: Path, tmp_path: Path) -> None:
    files = waves(tmp_path / "waves")
    stores = {}
    for way in ("one after another", "together"):
        path = tmp_path / way.replace(" ", "-")
        shutil.copytree(template_store, path)
        store = EmbeddedStore(path)
        importer = Importer(store, Settings(base_iri=BASE, store_path=path))
        if way == "together":
            outcomes = importer.import_files(files)
        else:
            outcomes = [importer.import_file(f) for f in files]
        assert [o.status for o in outcomes] == ["imported"] * len(files)
        stores[way] = (store, outcomes)
    (one, one_outcomes), (together, together_outcomes) = stores.values()
    assert [(o.import_id, o.graph, o.triples) for o in one_outcomes] == \
        [(o.import_id, o.graph, o.triples) for o in together_outcomes]
    assert _without_times(quads_of(one)) == _without_times(quads_of(together))  # summary and sizes too
    # later waves name the first wave's clusters, not clusters of their own
    clusters = together.query("SELECT (COUNT(DISTINCT ?c) AS ?n) WHERE { GRAPH ?g { ?c a "
                              "<https://w3id.org/clusterkg/ontology#Cluster> "
                              "FILTER (CONTAINS(STR(?c), 'synthetic')) } }")
    assert int(clusters.rows[0]["n"]) == 12  # type: ignore[union-attr, arg-type]
    for store, _ in stores.values():
        store.close()


def test_several_files_on_every_backend_keep_the_summary_right(store: Store, settings: Settings,
                                                               tmp_path: Path) -> None:
    importer = Importer(store, settings)
    files = waves(tmp_path / "waves", clusters=6)
    outcomes = importer.import_files(files)
    assert [o.status for o in outcomes] == ["imported"] * 3
    assert {o.graph for o in outcomes} <= set(store.named_graphs())
    check_summary(store, settings)
    # the same files again: nothing to do, nothing written
    before = quads_of(store)
    assert [o.status for o in importer.import_files(files)] == ["unchanged"] * 3
    assert quads_of(store) == before


def test_a_violation_in_any_file_stops_them_all(store: Store, settings: Settings, tmp_path: Path) -> None:
    importer = Importer(store, settings)
    files = [*waves(tmp_path / "waves", clusters=4, waves=2), FIXTURES / "csv" / "bad-option.csv"]
    before = quads_of(store)
    with pytest.raises(ImportRejected) as info:
        importer.import_files(files)
    assert quads_of(store) == before, "a refused import of several files changed the store"
    [v] = info.value.report.violations
    assert (v.location.file, v.location.row, v.location.column, v.value) == \
        ("bad-option.csv", 2, "green_challenges", "Lack of patience")
    assert v.describe().startswith("bad-option.csv, row 2, column 'green_challenges'")
    assert v.as_dict()["file"] == "bad-option.csv"


def test_a_response_in_two_files_of_one_import_is_refused(store: Store, settings: Settings, tmp_path: Path) -> None:
    importer = Importer(store, settings)
    [first] = waves(tmp_path / "a", clusters=3, waves=1)
    again = tmp_path / "again.csv"  # the same responses, another file (another digest)
    again.write_bytes(first.read_bytes() + b"\n")
    before = quads_of(store)
    with pytest.raises(ImportRejected) as info:
        importer.import_files([first, again])
    assert quads_of(store) == before
    found = info.value.report.violations
    assert len(found) == 3 and {v.rule for v in found} == {"one import per response"}
    assert all(v.location.file == "again.csv" and first.name in v.message for v in found)
    assert sorted(v.location.row for v in found) == [2, 3, 4]  # type: ignore[type-var]


def test_the_same_file_twice_is_imported_once(store: Store, settings: Settings, tmp_path: Path) -> None:
    [wave] = waves(tmp_path / "a", clusters=3, waves=1)
    outcomes = Importer(store, settings).import_files([wave, wave])
    assert [o.status for o in outcomes] == ["imported", "unchanged"]
    assert outcomes[0].graph == outcomes[1].graph and outcomes[0].triples == outcomes[1].triples
    check_summary(store, settings)


def test_an_unreadable_file_is_named_and_nothing_is_written(store: Store, settings: Settings, tmp_path: Path) -> None:
    files = [*waves(tmp_path / "a", clusters=3, waves=1), FIXTURES / "csv" / "latin1.csv"]
    before = quads_of(store)
    with pytest.raises(UnreadableFile) as info:
        Importer(store, settings).import_files(files)
    assert str(info.value).startswith("latin1.csv: line ") and "UTF-8" in str(info.value)
    assert quads_of(store) == before


def test_cli_imports_several_files_in_one_command(store_path: Path, tmp_path: Path) -> None:
    files = waves(tmp_path / "waves", clusters=3, waves=2)
    runner = CliRunner()
    done = runner.invoke(main, ["--store", str(store_path), "import", *map(str, files)])
    assert done.exit_code == 0, done.output
    lines = done.output.splitlines()
    assert len(lines) == 2
    assert all(line.startswith(f.name + ": imported as ") for line, f in zip(lines, files, strict=True))
    refused = runner.invoke(main, ["--store", str(store_path), "import", "--id", "x", *map(str, files)])
    assert refused.exit_code == 2 and "--id names one import" in refused.output
    bad = runner.invoke(main, ["--store", str(store_path), "import", "--report", "json", str(files[0]),
                               str(FIXTURES / "csv" / "bad-option.csv")])
    assert bad.exit_code == 2 and '"file": "bad-option.csv"' in bad.output


def test_cli_validates_several_files_as_one_import_and_writes_nothing(store_path: Path, tmp_path: Path) -> None:
    files = waves(tmp_path / "waves", clusters=3, waves=2)
    store = EmbeddedStore(store_path, read_only=True)
    before = quads_of(store)
    store.close()
    runner = CliRunner()
    good = runner.invoke(main, ["--store", str(store_path), "validate", *map(str, files)])
    assert good.exit_code == 0 and good.output.startswith("Conforms"), good.output
    again = tmp_path / "again.csv"  # the first wave's responses again: a duplicate only within the files
    again.write_bytes(files[0].read_bytes() + b"\n")
    bad = runner.invoke(main, ["--store", str(store_path), "validate", "--report", "json", str(files[0]),
                               str(again), str(FIXTURES / "csv" / "bad-option.csv")])
    assert bad.exit_code == 2, bad.output
    found = json.loads(bad.output)["violations"]
    assert {v["file"] for v in found} == {"again.csv", "bad-option.csv"}
    assert sum(v["rule"] == "one import per response" for v in found) == 3
    unreadable = runner.invoke(main, ["--store", str(store_path), "validate", str(files[0]),
                                      str(FIXTURES / "csv" / "latin1.csv")])
    assert unreadable.exit_code == EXIT_ERROR and "latin1.csv: line " in unreadable.output
    store = EmbeddedStore(store_path, read_only=True)
    assert quads_of(store) == before
    store.close()


def test_an_imports_bulk_load_skips_the_iri_checks_its_validation_made(tmp_path: Path,
                                                                        observe_loads: ObserveLoads) -> None:
    """The validation parsed each graph's text strictly (graph.shacl_sparql.memory_store_of), so the
    import's bulk load is lenient; any other write's bulk load keeps Oxigraph's checks."""
    from rdflib import Graph, Literal, URIRef

    lenient: list[bool] = []
    observe_loads(lambda load: None if load.done else lenient.append(load.lenient))
    files = waves(tmp_path / "waves")
    store = EmbeddedStore(tmp_path / "s")  # empty: the import's graphs are bulk-loaded
    outcomes = Importer(store, Settings(base_iri=BASE, store_path=tmp_path / "s")).import_files(files)
    assert lenient and all(lenient)
    assert int(store.query("SELECT (COUNT(*) AS ?n) WHERE { GRAPH ?g { ?s ?p ?o } "
                           "FILTER (STRSTARTS(STR(?g), 'https://w3id.org/clusterkg/data/graph/import/')) }")
               .rows[0]["n"]) == sum(o.triples for o in outcomes)  # type: ignore[union-attr, arg-type]
    lenient.clear()
    other = Graph()
    for i in range(20_000):
        other.add((URIRef(f"https://example.org/s/{i}"), URIRef("https://example.org/p"), Literal(i)))
    store.replace_graphs({"https://example.org/graph/other": other})
    assert lenient and not any(lenient)
    store.close()
