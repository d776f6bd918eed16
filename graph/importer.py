"""Map -> validate -> commit: the one path every import takes, the bundled D2.3 data included.

An import writes exactly one named graph, ``<base>graph/import/<id>``, in one transaction,
together with its PROV record (when, which file and its SHA-256, which tool version). A file
whose digest is already imported is not written again. Any violation stops the import before
the store is touched.

Several files can be imported in one write (:meth:`Importer.import_files`, ``clusterkg import
A.csv B.csv ...``): still one graph each, the same triples as one import after another (each file
is mapped and validated as if the files before it were in the store), but all of them or none,
and one write, one compaction of the store and one summary update for them all.
"""

from __future__ import annotations

import hashlib
import logging
import re
from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from functools import partial
from pathlib import Path

from rdflib import Graph, Literal, URIRef
from rdflib.namespace import XSD

from graph import __version__, ownership
from graph.config import PROJECT_ROOT, Settings
from graph.derived import add_derived, is_current, keep_summary, rebuild_summary, write_with_summary
from graph.mapping.d23 import D23Records, map_d23, source_digest
from graph.mapping.rdf_file import RDFFormatError, format_for, parse_rdf_graphs
from graph.mapping.survey_csv import CSVFormatError, map_survey_csv
from graph.namespaces import CKG, DCTERMS, PROV, RDF, RDFS, SKOS, DataIRIs, slugify
from graph.results import SelectResult
from graph.store import Store, Write, sizes
from graph.store.write import Reads
from graph.validate import Location, ValidationReport, Violation, start_validation
from graph.vocab import normalise_label, system_graph_iri, system_graphs

log = logging.getLogger("clusterkg.import")

D23_IMPORT_ID = "bioman4r2-d2.3"
SYSTEM_DIGEST_PROP = CKG.sha256


class ImportRejected(Exception):
    """The import did not conform; ``report`` says why. Nothing was written."""

    def __init__(self, report: ValidationReport) -> None:
        super().__init__(report.text())
        self.report = report

    def __reduce__(self) -> tuple:
        return type(self), (self.report,)


IMPORT_ID = re.compile(r"[A-Za-z0-9](?:[A-Za-z0-9_-]|\.(?!\.)){0,99}")


class ImportIdRefused(ValueError):
    """An import id that is not one (it becomes part of an IRI) or that names an existing import
    without ``replace``; nothing was written."""


def check_import_id(import_id: str) -> str:
    if not IMPORT_ID.fullmatch(import_id) or import_id.endswith("."):
        raise ImportIdRefused(f"{import_id!r} is not an import id: use 1-100 letters, digits, '-', '_' and '.' "
                              "(not two dots in a row), starting with a letter or digit")
    return import_id


# What importing costs in the memory RLIMIT_DATA counts (docs/security.md): what the process and its
# engines set aside, and per byte of the file, by format (a CSV row becomes a hundred triples or
# more; N-Triples is the most verbose RDF); measured, with a margin: docs/security.md.
MEMORY_BASE_MB = 800
MEMORY_PER_BYTE = {"csv": 200, "turtle": 60, "trig": 60, "json-ld": 60, "xml": 60, "nt": 30, "nquads": 30}


class ImportTooLarge(ValueError):
    """The files would need more memory to import than the limit allows; nothing was read further."""


def memory_needed_mb(paths: Sequence[Path], fmt: str | None = None) -> int:
    """What importing ``paths`` together would take, in MB, estimated from their sizes and formats."""
    total = 0.0
    for path in paths:
        try:
            kind = "csv" if (fmt or path.suffix.lstrip(".")).lower() == "csv" else format_for(path.name, fmt)
        except RDFFormatError:
            kind = "unknown"  # refused when it is read
        total += path.stat().st_size * MEMORY_PER_BYTE.get(kind, 60)
    return MEMORY_BASE_MB + round(total / (1024 * 1024))


def check_memory(paths: Sequence[Path], fmt: str | None, limit_mb: int | None) -> None:
    """Refuse an import that would need more than ``limit_mb`` MB, before anything is read."""
    if not limit_mb:
        return
    needed = memory_needed_mb(paths, fmt)
    if needed > limit_mb:
        names = ", ".join(p.name for p in paths)
        raise ImportTooLarge(f"{names}: importing this would need about {needed} MB of memory; this service allows "
                             f"{limit_mb} MB for a write (CLUSTERKG_WRITE_MEMORY_MB): import it in smaller files; "
                             "nothing was written")


class UnreadableFile(ValueError):
    """A file of an import could not be read as its format (graph.mapping); nothing was written."""

    def __init__(self, file_name: str, error: ValueError) -> None:
        super().__init__(f"{file_name}: {error}")
        self.file_name = file_name
        self.error = error

    def __reduce__(self) -> tuple:
        return type(self), (self.file_name, self.error)


@dataclass
class Prepared:
    """A source mapped to RDF, not yet validated or written."""

    graph: Graph
    file_name: str
    sha256: str
    kind: str  # "csv", "rdf" or "d23"
    origins: dict = field(default_factory=dict)
    responses: list[URIRef] = field(default_factory=list)
    graph_names: set[str] = field(default_factory=set)  # named graphs of a TriG/N-Quads/JSON-LD file, merged
    problems: list[Violation] = field(default_factory=list)  # the mapping's own findings (graph.mapping)


@dataclass
class ImportOutcome:
    import_id: str
    graph: str
    status: str  # "imported", "unchanged"
    triples: int


@dataclass
class ImportInfo:
    import_id: str
    graph: str
    file_name: str
    sha256: str
    when: str
    triples: int


_CONTEXT_PROPERTIES = (RDF.type, DCTERMS.title, SKOS.prefLabel)


def store_context(store: Reads, graph: Graph, earlier: Sequence[Graph] = ()) -> Graph:
    """What the shapes need from the store: the types, titles and names of resources ``graph``
    refers to but does not describe (an existing survey, cluster or document); from the
    ``earlier`` graphs of the same import too (files before this one, not yet in the store, or
    loaded by the write but not committed: the same triples either way)."""
    referenced = {o for p in (CKG.survey, CKG.respondingCluster, CKG.attributionCandidate, CKG.proposedCluster,
                              CKG.reportedIn)
                  for o in graph.objects(None, p) if isinstance(o, URIRef)}
    described = set(graph.subjects(RDF.type, None))
    wanted = sorted(referenced - described)
    context = Graph()
    if not wanted:
        return context
    for other in earlier:
        for iri in wanted:
            for p in _CONTEXT_PROPERTIES:
                for o in other.objects(iri, p):
                    context.add((iri, p, o))
    values = " ".join(f"<{iri}>" for iri in wanted)  # minted or parsed IRIs, never user text
    # one branch per property: with ``VALUES ?p`` instead, Oxigraph scans every quad
    branches = " UNION ".join(f"{{ ?s <{p}> ?o BIND(<{p}> AS ?p) }}" for p in _CONTEXT_PROPERTIES)
    result = store.query("SELECT ?s ?p ?o WHERE { VALUES ?s { " + values + " } " + branches + " }")
    assert isinstance(result, SelectResult)
    for row in result.rows:
        context.add((row["s"], row["p"], row["o"]))
    return context


def sha256_of(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


@dataclass
class Staged:
    """A file of an import, mapped, its validation under way, ready to be written."""

    graph_iri: URIRef
    prepared: Prepared
    validation: Callable[[], ValidationReport]

    @property
    def graph(self) -> Graph:
        return self.prepared.graph


@dataclass
class Batch:
    """The files of one import (one write), in order. ``named``: violations name their file."""

    named: bool = True
    write: Write | None = None  # the write each graph staged is put to
    staged: dict[str, Staged] = field(default_factory=dict)  # by import id
    clusters: dict[str, URIRef] = field(default_factory=dict)  # the files' clusters, by normalised name
    responses: dict[URIRef, str] = field(default_factory=dict)  # response -> the file holding it
    _store_clusters: dict[str, URIRef] | None = None

    def store_clusters(self, importer: Importer) -> dict[str, URIRef]:
        """The store's clusters, read once for the batch (its files do not change the store)."""
        if self._store_clusters is None:
            self._store_clusters = importer.known_clusters()
        return self._store_clusters

    def graphs(self) -> list[Graph]:
        return [s.graph for s in self.staged.values()]

    def add(self, import_id: str, graph_iri: URIRef, prepared: Prepared,
            validation: Callable[[], ValidationReport]) -> None:
        self.staged[import_id] = Staged(graph_iri, prepared, validation)
        graph = prepared.graph
        for cluster in graph.subjects(RDF.type, CKG.Cluster):
            if isinstance(cluster, URIRef):
                for p in (SKOS.prefLabel, SKOS.altLabel, RDFS.label):
                    for label in graph.objects(cluster, p):
                        self.clusters[normalise_label(str(label))] = cluster
        for response in prepared.responses:
            self.responses.setdefault(response, prepared.file_name)
        if self.write is not None:  # the graph is final: the store may load it once it conforms
            self.write.put(str(graph_iri), graph, ready=lambda: validation().conforms)

    def conflicts(self, prepared: Prepared) -> list[Violation]:
        """Responses of ``prepared`` that an earlier file of the batch holds."""
        return [Violation(
            focus=str(r), path=None, value=None,
            message=f"this response is also in {self.responses[r]}, imported with this file; give the "
                    "response another response_id or leave one of the files out",
            rule="one import per response", severity="Violation",
            location=prepared.origins.get((r, None), Location())) for r in prepared.responses if r in self.responses]

    def report(self) -> ValidationReport:
        """Every file's violations (waiting for their checks), each naming its file in a batch of several."""
        violations = []
        for staged in self.staged.values():
            found = staged.validation().violations
            if self.named:
                found = [replace(v, location=replace(v.location, file=staged.prepared.file_name)) for v in found]
            violations += found
        return ValidationReport(violations)


class Importer:
    """Imports into ``store``. ``reads``: what the import reads (the store; during a write, the write)."""

    def __init__(self, store: Store, settings: Settings, *, reads: Reads | None = None) -> None:
        self.store = store
        self.reads: Reads = reads if reads is not None else store
        self.settings = settings
        self.iris = DataIRIs(settings.base_iri)
        self.engine = settings.shacl_engine

    # -- preparing -------------------------------------------------------------------------------
    def prepare_file(self, path: Path, fmt: str | None = None, *, batch: Batch | None = None) -> Prepared:
        """``path`` mapped to RDF; in a ``batch``, its clusters also found among the earlier files'."""
        data = path.read_bytes()
        kind = (fmt or path.suffix.lstrip(".")).lower()
        if kind == "csv":
            known = self.known_clusters() if batch is None else {**batch.store_clusters(self), **batch.clusters}
            mapped = map_survey_csv(data, self.iris, known_clusters=known)
            return Prepared(mapped.graph, path.name, sha256_of(data), "csv", mapped.origins,
                            mapped.responses, problems=mapped.problems)
        digest = sha256_of(data)
        # relative IRIs become the file's own: under the IRI the import mints for it
        graph, names = parse_rdf_graphs(data, format_for(path.name, fmt), base=f"{self.iris.source_file(digest)}/")
        if not len(graph):
            raise RDFFormatError("the file holds no triples: nothing to import")
        responses = [r for r in graph.subjects(RDF.type, CKG.SurveyResponse) if isinstance(r, URIRef)]
        return Prepared(graph, path.name, digest, "rdf", responses=responses, graph_names=names)

    def prepare_d23(self) -> Prepared:
        graph = map_d23(D23Records.load(), self.iris)
        responses = [r for r in graph.subjects(RDF.type, CKG.SurveyResponse) if isinstance(r, URIRef)]
        # the digest covers the vocabularies too: the derived ckg:matches edges depend on them
        digest = sha256_of((source_digest() + "".join(sg.digest() for sg in system_graphs())).encode())
        return Prepared(graph, "graph/data/d23", digest, "d23", responses=responses)

    def known_clusters(self) -> dict[str, URIRef]:
        """The store's clusters by normalised name (preferred, alternative and rdfs labels)."""
        result = self.reads.query(
            "PREFIX skos: <http://www.w3.org/2004/02/skos/core#> "
            "PREFIX ckg: <https://w3id.org/clusterkg/ontology#> "
            "SELECT ?c ?l WHERE { ?c a ckg:Cluster . { ?c skos:prefLabel ?l } UNION { ?c skos:altLabel ?l } "
            "UNION { ?c <http://www.w3.org/2000/01/rdf-schema#label> ?l } }")
        assert isinstance(result, SelectResult)
        return {normalise_label(str(r["l"])): r["c"] for r in result.rows}  # type: ignore[misc]

    # -- validating --------------------------------------------------------------------------------
    def validate(self, prepared: Prepared, import_id: str | None = None) -> ValidationReport:
        return self.start_validation(prepared, import_id)()

    def start_validation(self, prepared: Prepared, import_id: str | None = None, *,
                         batch: Batch | None = None) -> Callable[[], ValidationReport]:
        """The validation begun (graph.validate.start_validation: the core constraints are checked
        in a thread); the function returned waits for its report. In a ``batch``, the earlier
        files' graphs count as stored."""
        data = prepared.graph
        earlier = batch.graphs() if batch is not None else []
        pending = start_validation(data, prepared.origins, context=store_context(self.reads, data, earlier),
                                   engine=self.engine)
        # the batch's graphs are this write's own: an old version of one, which this write replaces,
        # is no other import; batch.conflicts names what the batch's files share
        conflicts = self._conflicts(prepared, import_id or self.import_id_for(prepared),
                                    skip={str(s.graph_iri) for s in batch.staged.values()} if batch else set())
        if batch is not None:
            conflicts += batch.conflicts(prepared)

        def report() -> ValidationReport:
            return ValidationReport([*pending.report().violations, *conflicts])

        return report

    def _conflicts(self, prepared: Prepared, import_id: str, skip: Collection[str] = ()) -> list[Violation]:
        """Responses of this import that another import (not in ``skip``) already holds, and what
        it says of resources it does not own (graph.ownership)."""
        owner = ownership.Owner(self.iris, str(self.iris.import_graph(import_id)), mints_data=prepared.kind != "rdf",
                                parts_of=frozenset(prepared.responses) if prepared.kind == "csv" else frozenset())
        found = ownership.violations(self.reads, owner, prepared.graph, prepared.origins, skip)
        found += ownership.graph_name_violations(owner, prepared.graph_names) + prepared.problems
        return found + self._response_conflicts(prepared, import_id, skip)

    def _response_conflicts(self, prepared: Prepared, import_id: str, skip: Collection[str]) -> list[Violation]:
        if not prepared.responses:
            return []
        values = " ".join(f"<{r}>" for r in prepared.responses)
        result = self.reads.query(
            "SELECT ?r ?g WHERE { VALUES ?r { " + values + " } GRAPH ?g { ?r a <"
            + str(CKG.SurveyResponse) + "> } }")
        assert isinstance(result, SelectResult)
        own = str(self.iris.import_graph(import_id))
        out = []
        for row in result.rows:
            if str(row["g"]) == own or str(row["g"]) in skip:
                continue
            other = self.iris.import_id_of(str(row["g"]))
            out.append(Violation(
                focus=str(row["r"]), path=None, value=None,
                message=f"this response is already in import {other!r}; drop that import first "
                        f"(clusterkg drop-import {other}) or give the response another response_id",
                rule="one import per response", severity="Violation",
                location=prepared.origins.get((row["r"], None), Location())))
        return out

    # -- committing --------------------------------------------------------------------------------
    def import_id_for(self, prepared: Prepared) -> str:
        if prepared.kind == "d23":
            return D23_IMPORT_ID
        stem = slugify(prepared.file_name.rsplit(".", 1)[0])[:40] or "import"
        return f"{stem}-{prepared.sha256[:10]}"

    def import_prepared(self, prepared: Prepared, import_id: str | None = None, *,
                        replace: bool = False) -> ImportOutcome:
        return self._import([lambda importer, batch: prepared], import_id, named=False, replace=replace)[0]

    def import_file(self, path: Path, fmt: str | None = None, import_id: str | None = None, *,
                    replace: bool = False) -> ImportOutcome:
        return self.import_prepared(self.prepare_file(path, fmt), import_id, replace=replace)

    def import_files(self, paths: Sequence[Path], fmt: str | None = None,
                     import_id: str | None = None, *, replace: bool = False) -> list[ImportOutcome]:
        """Import ``paths`` in one write: each file into its own graph, as one import after another
        would (a file's clusters, surveys and responses are found in the files before it), but all
        of them or none. A violation in any file stops them all: the report names the file of each
        violation; a file that cannot be read raises :class:`UnreadableFile`. While a file's
        constraints are checked (in threads) the next one is mapped. ``import_id``: one file only.
        An import whose id exists already with other content is refused (:class:`ImportIdRefused`)
        unless ``replace``."""
        if import_id is not None and len(paths) != 1:
            raise ValueError("an import id names the import of one file")
        return self._import([partial(Importer._prepare_in, path=path, fmt=fmt) for path in paths], import_id,
                            named=len(paths) > 1, replace=replace)

    def _import(self, sources: Sequence[Callable[[Importer, Batch], Prepared]], import_id: str | None, *,
                named: bool, replace: bool = False) -> list[ImportOutcome]:
        """Each source prepared and staged in turn, reading through the write, then all of them
        committed in that write: each graph is put to it as it is staged, ready once its file
        conforms (the embedded store may load it meanwhile), the commit refused unless every file
        conforms, and the summary kept right."""
        batch = Batch(named=named)
        with self.store.writing(trusted=True) as write:
            staging = Importer(self.store, self.settings, reads=write)
            batch.write = write
            outcomes = [staging._stage(source(staging, batch), import_id, batch, replace) for source in sources]
            if batch.staged:
                write.before_commit(lambda _write: self._refuse_unless_valid(batch))
                keep_summary(write, self.iris)
        if batch.staged:
            log.info("import %s: committed", ", ".join(batch.staged))
        return outcomes

    def validate_files(self, paths: Sequence[Path], fmt: str | None = None) -> ValidationReport:
        """:meth:`import_files`' report, without writing anything."""
        batch = Batch(named=len(paths) > 1)
        for path in paths:
            prepared = self._prepare_in(batch, path=path, fmt=fmt)
            import_id = self.import_id_for(prepared)
            if import_id not in batch.staged:
                batch.add(import_id, self.iris.import_graph(import_id), prepared,
                          self.start_validation(prepared, import_id, batch=batch))
        return batch.report()

    def _prepare_in(self, batch: Batch, *, path: Path, fmt: str | None) -> Prepared:
        try:
            return self.prepare_file(path, fmt, batch=batch)
        except (CSVFormatError, RDFFormatError) as exc:
            raise UnreadableFile(path.name, exc) from exc

    def _stage(self, prepared: Prepared, import_id: str | None, batch: Batch, replace: bool) -> ImportOutcome:
        """Validation begun and the graph made ready for the write (derived edges, provenance): the
        outcome the write will have, if it is made."""
        import_id = check_import_id(import_id or self.import_id_for(prepared))
        graph_iri = self.iris.import_graph(import_id)
        if import_id in batch.staged:  # the same file twice
            return ImportOutcome(import_id, str(graph_iri), "unchanged", len(batch.staged[import_id].graph))
        existing = self._import_digest(graph_iri)
        if existing == prepared.sha256:
            return ImportOutcome(import_id, str(graph_iri), "unchanged", len(self.reads.get_graph(str(graph_iri))))
        if not replace and (existing is not None or str(graph_iri) in self.reads.named_graphs()):
            raise ImportIdRefused(f"an import {import_id!r} exists already, with other content; give --replace to "
                                  "replace it, or another id; nothing was written")
        log.info("import %s: %d triples mapped from %s; validating", import_id, len(prepared.graph),
                 prepared.file_name)
        validation = self.start_validation(prepared, import_id, batch=batch)
        # while the constraints are checked (in threads), the graph is made ready for the write:
        # derived edges and provenance, all thrown away if the validation fails
        final = prepared.graph  # the prepared graph becomes the import graph (a copy would cost seconds)
        add_derived(final)
        self._add_provenance(final, prepared, import_id, graph_iri)
        batch.add(import_id, graph_iri, prepared, validation)
        return ImportOutcome(import_id, str(graph_iri), "imported", len(final))

    @staticmethod
    def _refuse_unless_valid(batch: Batch) -> None:
        """The commit's first step: every file's validation conforms, or nothing is written.
        ``trusted``: each graph's text was parsed strictly into the validation's store (what was
        added since, the derived edges and provenance, is made of its terms and of minted IRIs)."""
        names = ", ".join(batch.staged)
        report = batch.report()
        if not report.conforms:
            log.info("import %s: rejected, %d violation(s); nothing written", names, len(report.violations))
            raise ImportRejected(report)
        log.info("import %s: valid; writing %d triples", names, sum(len(s.graph) for s in batch.staged.values()))

    def _add_provenance(self, g: Graph, prepared: Prepared, import_id: str, graph_iri: URIRef) -> None:
        activity = self.iris.import_activity(import_id)
        source = self.iris.source_file(prepared.sha256)
        now = datetime.now(UTC).replace(microsecond=0)
        add = g.add
        add((activity, RDF.type, CKG.Import))
        add((activity, RDFS.label, Literal(f"Import {import_id} of {prepared.file_name}", lang="en")))
        add((activity, CKG.importId, Literal(import_id)))
        add((activity, CKG.importedGraph, graph_iri))
        add((activity, PROV.used, source))
        add((activity, PROV.endedAtTime, Literal(now.isoformat(), datatype=XSD.dateTime)))
        add((activity, CKG.toolVersion, Literal(f"clusterkg {__version__}")))
        add((source, RDF.type, CKG.SourceFile))
        add((source, CKG.fileName, Literal(prepared.file_name)))
        add((source, CKG.sha256, Literal(prepared.sha256)))
        for response in prepared.responses:
            add((response, PROV.wasGeneratedBy, activity))
        add((activity, CKG.tripleCount, Literal(len(g) + 1, datatype=XSD.integer)))

    def _import_digest(self, graph_iri: URIRef) -> str | None:
        result = self.reads.query(
            "SELECT ?g ?sha WHERE { GRAPH ?g { ?a <" + str(CKG.importedGraph) + "> ?g ; <"
            + str(PROV.used) + "> ?f . ?f <" + str(CKG.sha256) + "> ?sha } }",
            {"g": graph_iri})
        assert isinstance(result, SelectResult)
        values = result.values("sha")
        return str(values[0]) if values else None

    # -- listing and dropping ------------------------------------------------------------------------
    def list_imports(self) -> list[ImportInfo]:
        result = self.store.query(
            "PREFIX ckg: <https://w3id.org/clusterkg/ontology#> PREFIX prov: <http://www.w3.org/ns/prov#> "
            "SELECT ?id ?g ?name ?sha ?when ?n WHERE { GRAPH ?g { ?a a ckg:Import ; ckg:importId ?id ; "
            "ckg:importedGraph ?g ; prov:used ?f ; prov:endedAtTime ?when ; ckg:tripleCount ?n . "
            "?f ckg:fileName ?name ; ckg:sha256 ?sha } } ORDER BY ?when ?id")
        assert isinstance(result, SelectResult)
        return [ImportInfo(str(r["id"]), str(r["g"]), str(r["name"]), str(r["sha"]), str(r["when"]),
                           int(r["n"])) for r in result.rows]  # type: ignore[arg-type]

    def drop_import(self, import_id: str) -> None:
        graph_iri = str(self.iris.import_graph(import_id))
        if graph_iri not in self.store.named_graphs():
            known = ", ".join(i.import_id for i in self.list_imports()) or "none"
            raise KeyError(f"no import {import_id!r} (imports: {known})")
        write_with_summary(self.store, self.iris, {graph_iri: None})

    # -- the bundled data ------------------------------------------------------------------------------
    def init_bundled(self) -> list[ImportOutcome]:
        """Load the ontology, the vocabularies and D2.3; unchanged parts are left alone."""
        self.store.recover()
        outcomes = []
        changed: dict[str, Graph | None] = {}
        for sg in system_graphs():
            iri = system_graph_iri(self.iris, sg)
            digest = sg.digest()
            if self._system_digest(iri) == digest:
                outcomes.append(ImportOutcome(sg.name, str(iri), "unchanged", 0))
                continue
            graph = sg.graph()
            graph.add((iri, SYSTEM_DIGEST_PROP, Literal(digest)))
            graph.add((iri, CKG.repositoryFile, Literal(sg.path.relative_to(PROJECT_ROOT).as_posix())))
            changed[str(iri)] = graph
            outcomes.append(ImportOutcome(sg.name, str(iri), "imported", len(graph)))
        if changed:
            self.store.replace_graphs(changed)
        outcomes.append(self.import_prepared(self.prepare_d23(), replace=True))
        if changed or not is_current(self.store, self.iris):
            # the vocabularies changed (ckg:matches may have) or the summary is missing or older
            with self.store.writing() as write:
                rebuild_summary(write, self.iris)
        sizes.record_missing(self.store)
        return outcomes

    def _system_digest(self, iri: URIRef) -> str | None:
        result = self.store.query(
            "SELECT ?g ?d WHERE { GRAPH ?g { ?g <" + str(SYSTEM_DIGEST_PROP) + "> ?d } }", {"g": iri})
        assert isinstance(result, SelectResult)
        values = result.values("d")
        return str(values[0]) if values else None


# -- as maintainers' jobs (graph.jobs: a process of their own, given its store) -------------------------
@dataclass
class Checked:
    """A file's report, and its import's outcome when it was also committed."""

    report: ValidationReport
    outcome: ImportOutcome | None = None


def check_file_job(store: Store, settings: Settings, path: str, fmt: str | None, commit: bool) -> Checked:
    """Validate one file; with ``commit``, import it too when it conforms."""
    importer = Importer(store, settings)
    prepared = importer.prepare_file(Path(path), fmt)
    report = importer.validate(prepared)
    if not (report.conforms and commit):
        return Checked(report)
    return Checked(report, importer.import_prepared(prepared))


def import_file_job(store: Store, settings: Settings, path: str, fmt: str | None) -> ImportOutcome:
    return Importer(store, settings).import_file(Path(path), fmt)


def drop_import_job(store: Store, settings: Settings, import_id: str) -> None:
    Importer(store, settings).drop_import(import_id)
