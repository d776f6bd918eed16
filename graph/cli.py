"""The ``clusterkg`` command line. Thin: parse, call one function of the graph layer, print.

Errors a user can cause are one line on stderr and a non-zero exit status, never a traceback.
"""

from __future__ import annotations

import csv
import io
import json
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import click

from graph import __version__
from graph.config import Settings
from graph.gc_tuning import fewer_collections
from graph.importer import Importer, ImportIdRefused, ImportRejected, UnreadableFile
from graph.queries import ParameterError, QueryFileError, load_queries
from graph.results import AskResult, GraphResult, SelectResult, to_csv, to_sparql_json, to_sparql_xml, to_table, to_tsv
from graph.sparql_text import query_form
from graph.store import Store, StoreError, open_store, with_confined_queries

EXIT_ERROR = 1
EXIT_INVALID = 2

REPORT_FORMATS = ["text", "json", "shacl-ttl", "shacl-jsonld"]
GRAPH_FORMATS = {"turtle": "turtle", "ttl": "turtle", "nt": "nt", "ntriples": "nt",
                 "jsonld": "json-ld", "json-ld": "json-ld", "xml": "xml", "rdfxml": "xml"}


class CLIError(click.ClickException):
    """A one-line error for the user."""

    exit_code = EXIT_ERROR

    def show(self, file: Any = None) -> None:
        click.echo(f"clusterkg: error: {self.format_message()}", err=True)


def _settings(ctx: click.Context) -> Settings:
    return ctx.obj["settings"]


@contextmanager
def _store(ctx: click.Context, *, read_only: bool = False, users_queries: bool = False) -> Iterator[Store]:
    """The settings' store, its errors one line; ``users_queries``: for queries the user wrote,
    which run where they reach only the allowed SERVICE endpoints (graph.store.with_confined_queries)."""
    stores: list[Store] = []
    try:
        stores.append(open_store(_settings(ctx), read_only=read_only))
        if users_queries:
            stores.append(with_confined_queries(stores[0]))
        yield stores[-1]
    except StoreError as exc:
        raise CLIError(str(exc)) from exc
    finally:
        for store in reversed(list(dict.fromkeys(stores))):
            store.close()


def _store_options(func: Callable) -> Callable:
    options = [
        click.option("--store", "store_path", type=click.Path(path_type=Path), default=None,
                     help="Directory of the embedded store [env CLUSTERKG_STORE; default var/store]."),
        click.option("--endpoint", default=None, help="SPARQL query endpoint of a remote engine [CLUSTERKG_ENDPOINT]."),
        click.option("--update-endpoint", default=None, help="SPARQL update endpoint [CLUSTERKG_UPDATE_ENDPOINT]."),
        click.option("--graph-store", default=None, help="Graph Store Protocol endpoint [CLUSTERKG_GRAPH_STORE]."),
        click.option("--auth", default=None, help="USER:PASSWORD for the remote engine [CLUSTERKG_AUTH]."),
        click.option("--auth-type", type=click.Choice(["basic", "digest"]), default=None,
                     help="HTTP authentication scheme of the remote engine [CLUSTERKG_AUTH_TYPE; basic]."),
        click.option("--base-iri", default=None, help="Base IRI of the data [CLUSTERKG_BASE_IRI]."),
    ]
    for option in reversed(options):
        func = option(func)
    return func


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="clusterkg")
@_store_options
@click.pass_context
def main(ctx: click.Context, store_path: Path | None, endpoint: str | None, update_endpoint: str | None,
         graph_store: str | None, auth: str | None, auth_type: str | None, base_iri: str | None) -> None:
    """clusterkg: cluster-manager surveys as a validated, queryable knowledge graph."""
    ctx.ensure_object(dict)
    ctx.obj["settings"] = _from_env(
        store_path=store_path, endpoint=endpoint, update_endpoint=update_endpoint,
        graph_store=graph_store, auth=auth, auth_type=auth_type, base_iri=base_iri)


def _from_env(**overrides: Any) -> Settings:
    try:
        return Settings.from_env(**overrides)
    except ValueError as exc:
        raise CLIError(str(exc)) from exc


def _subcommand(name: str | None = None, **kwargs: Any) -> Callable:
    """A subcommand that also accepts the store options after its name."""
    def decorate(func: Callable) -> Callable:
        @main.command(name, **kwargs)
        @_store_options
        @click.pass_context
        def wrapper(ctx: click.Context, store_path: Any, endpoint: Any, update_endpoint: Any,
                    graph_store: Any, auth: Any, auth_type: Any, base_iri: Any, **params: Any) -> Any:
            overrides = {"store_path": store_path, "endpoint": endpoint, "update_endpoint": update_endpoint,
                         "graph_store": graph_store, "auth": auth, "auth_type": auth_type, "base_iri": base_iri}
            if any(v is not None for v in overrides.values()):
                current = _settings(ctx)
                merged = {k: v if v is not None else getattr(current, k) for k, v in overrides.items()}
                ctx.obj["settings"] = _from_env(**merged)
            return ctx.invoke(func, ctx, **params)
        wrapper.__doc__ = func.__doc__
        wrapper.params.extend(getattr(func, "__click_params__", [])[::-1])
        return wrapper
    return decorate


# -- init, import, validate -----------------------------------------------------------------------
@_subcommand("init")
def init_cmd(ctx: click.Context) -> None:
    """Load the ontology, the vocabularies and the bundled D2.3 dataset; idempotent."""
    with _store(ctx) as store, fewer_collections():
        try:
            outcomes = Importer(store, _settings(ctx)).init_bundled()
        except ImportRejected as exc:
            click.echo(exc.report.text(), err=True)
            raise CLIError("the bundled dataset does not conform to the shapes; nothing was written") from exc
    changed = [o for o in outcomes if o.status != "unchanged"]
    for o in outcomes:
        click.echo(f"{o.status:9}  {o.import_id}")
    click.echo(f"{len(changed)} graph(s) written, {len(outcomes) - len(changed)} unchanged.")


def _report_and_exit(report_text: str, as_json: str | None = None) -> None:
    click.echo(as_json if as_json is not None else report_text, nl=as_json is None)
    sys.exit(EXIT_INVALID)


@_subcommand("import")
@click.argument("files", nargs=-1, required=True, type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--format", "fmt", type=click.Choice(["csv", "ttl", "jsonld", "nt", "nq", "trig", "xml"]),
              default=None, help="The files' format (default: from each extension).")
@click.option("--id", "import_id", default=None, help="The import's id (one file only; default: file name + digest).")
@click.option("--replace", is_flag=True, help="Replace the import of that id if there is one (without: refused).")
@click.option("--report", type=click.Choice(REPORT_FORMATS), default="text",
              help="Violation report format (shacl-ttl, shacl-jsonld: the W3C sh:ValidationReport graph).")
@click.option("--shacl-engine", type=click.Choice(["fast", "pyshacl"]), default=None,
              help="What checks the shapes [env CLUSTERKG_SHACL_ENGINE; fast].")
def import_cmd(ctx: click.Context, files: tuple[Path, ...], fmt: str | None, import_id: str | None,
               replace: bool, report: str, shacl_engine: str | None) -> None:
    """Map, validate with SHACL, then commit FILES in one transaction, each into its own graph;
    all of them or none: exit 2 on any violation, with every file's violations."""
    if import_id is not None and len(files) > 1:
        raise click.UsageError("--id names one import: give one file with it")
    names = ", ".join(f.name for f in files)
    _choose_engine(ctx, shacl_engine)
    _bound_memory(_settings(ctx), files, fmt)
    with _store(ctx) as store, fewer_collections():
        importer = Importer(store, _settings(ctx))
        try:
            outcomes = importer.import_files(list(files), fmt, import_id, replace=replace)
        except ImportRejected as exc:
            _report_and_exit(f"{names}: not imported, nothing was written.\n" + exc.report.text(),
                             None if report == "text" else _report_text(exc.report, report))
            return
        except (UnreadableFile, ImportIdRefused) as exc:
            raise CLIError(str(exc)) from exc
        except MemoryError:
            raise CLIError(f"the import needed more memory than this process may use ({_settings(ctx).write_memory_mb} "
                           "MB, CLUSTERKG_WRITE_MEMORY_MB); import it in smaller files; nothing was written") from None
    for file, outcome in zip(files, outcomes, strict=True):
        if outcome.status == "unchanged":
            click.echo(f"{file.name}: already imported as {outcome.import_id}; nothing to do.")
        else:
            click.echo(f"{file.name}: imported as {outcome.import_id} "
                       f"({outcome.triples} triples in <{outcome.graph}>).")


@_subcommand("validate")
@click.argument("files", nargs=-1, required=True, type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--format", "fmt", type=click.Choice(["csv", "ttl", "jsonld", "nt", "nq", "trig", "xml"]),
              default=None, help="The files' format (default: from each extension).")
@click.option("--report", type=click.Choice(REPORT_FORMATS), default="text",
              help="Report format (shacl-ttl, shacl-jsonld: the W3C sh:ValidationReport graph).")
@click.option("--shacl-engine", type=click.Choice(["fast", "pyshacl"]), default=None,
              help="What checks the shapes [env CLUSTERKG_SHACL_ENGINE; fast].")
def validate_cmd(ctx: click.Context, files: tuple[Path, ...], fmt: str | None, report: str,
                 shacl_engine: str | None) -> None:
    """Validate FILES as `import` would (several: as one import of them all), and never write;
    exit 2 on any violation."""
    _choose_engine(ctx, shacl_engine)
    _bound_memory(_settings(ctx), files, fmt)
    with _store(ctx) as store:
        try:
            result = Importer(store, _settings(ctx)).validate_files(list(files), fmt)
        except UnreadableFile as exc:
            raise CLIError(str(exc)) from exc
    if report == "json":
        click.echo(json.dumps({"conforms": result.conforms,
                               "violations": [v.as_dict() for v in result.violations]}, indent=2))
    elif report == "text":
        click.echo(result.text(), nl=False)
    else:
        click.echo(_report_text(result, report), nl=False)
    if not result.conforms:
        sys.exit(EXIT_INVALID)


def _report_text(report: Any, fmt: str) -> str:
    if fmt == "json":
        return json.dumps([v.as_dict() for v in report.violations], indent=2)
    from graph.shacl_report import serialize_report

    return serialize_report(report, fmt)


def _choose_engine(ctx: click.Context, engine: str | None) -> None:
    if engine is not None:
        import dataclasses

        ctx.obj["settings"] = dataclasses.replace(_settings(ctx), shacl_engine=engine)


def _bound_memory(settings: Settings, files: tuple[Path, ...], fmt: str | None) -> None:
    """This process may use ``write_memory_mb`` (RLIMIT_DATA), and files that would need more are
    refused before they are read."""
    from graph.importer import ImportTooLarge, check_memory
    from graph.worker_process import limit_data_memory

    try:
        check_memory(list(files), fmt, settings.write_memory_mb)
    except ImportTooLarge as exc:
        raise CLIError(str(exc)) from exc
    limit_data_memory(settings.write_memory_mb)


@_subcommand("imports")
def imports_cmd(ctx: click.Context) -> None:
    """List the imports: id, when, triples, file and its SHA-256."""
    with _store(ctx) as store:
        infos = Importer(store, _settings(ctx)).list_imports()
    if not infos:
        click.echo("No imports (run `clusterkg init` to load the bundled dataset).")
    for i in infos:
        click.echo(f"{i.import_id}\t{i.when}\t{i.triples} triples\t{i.file_name}\tsha256:{i.sha256}")


@_subcommand("drop-import")
@click.argument("import_id")
def drop_import_cmd(ctx: click.Context, import_id: str) -> None:
    """Remove one import (its named graph) from the store."""
    with _store(ctx) as store:
        try:
            Importer(store, _settings(ctx)).drop_import(import_id)
        except KeyError as exc:
            raise CLIError(str(exc.args[0])) from exc
    click.echo(f"dropped {import_id}")


# -- queries ---------------------------------------------------------------------------------------
def _load_queries() -> dict:
    try:
        return load_queries()
    except QueryFileError as exc:
        raise CLIError(f"broken saved query: {exc}") from exc


@_subcommand("queries")
def queries_cmd(ctx: click.Context) -> None:
    """The saved queries, one a line, with their parameters."""
    for query in _load_queries().values():
        params = " ".join(
            f"{'' if p.required else '['}{p.name}={p.type}{'...' if p.repeatable else ''}{'' if p.required else ']'}"
            for p in query.params)
        click.echo(f"{query.name}\t{params}\t{query.summary}")


def _emit(result: Any, fmt: str) -> None:
    if isinstance(result, GraphResult):
        if fmt in ("json", "csv", "table"):
            fmt = "turtle"
        if fmt not in GRAPH_FORMATS:
            raise CLIError(f"a graph result cannot be written as {fmt}; use turtle, nt or jsonld")
        from graph.namespaces import PREFIXES

        click.echo(result.serialize(GRAPH_FORMATS[fmt], PREFIXES), nl=False)
        return
    if isinstance(result, AskResult):
        if fmt in ("json",):
            click.echo(to_sparql_json(result))
        elif fmt == "xml":
            click.echo(to_sparql_xml(result), nl=False)
        else:
            click.echo("true" if result.value else "false")
        return
    assert isinstance(result, SelectResult)
    writers = {"json": to_sparql_json, "csv": to_csv, "tsv": to_tsv, "xml": to_sparql_xml, "table": to_table}
    if fmt not in writers:
        raise CLIError(f"SELECT results cannot be written as {fmt}; use json, csv, tsv, xml or table")
    text = writers[fmt](result)
    click.echo(text, nl=not text.endswith("\n"))


@_subcommand("query")
@click.argument("name")
@click.option("--param", "-p", "params", multiple=True, metavar="KEY=VALUE",
              help="A parameter value; repeat the option for several values of one parameter.")
@click.option("--format", "fmt", type=click.Choice(["json", "csv", "tsv", "xml", "table", "turtle", "nt", "jsonld"]),
              default="table", help="Output format (json: SPARQL 1.1 Query Results JSON).")
def query_cmd(ctx: click.Context, name: str, params: tuple[str, ...], fmt: str) -> None:
    """Run the saved query NAME."""
    queries = _load_queries()
    if name not in queries:
        raise CLIError(f"no saved query {name!r}; `clusterkg queries` lists them")
    values: dict[str, list[str]] = {}
    for item in params:
        key, sep, value = item.partition("=")
        if not sep or not key:
            raise CLIError(f"--param {item!r} is not KEY=VALUE")
        values.setdefault(key.strip(), []).append(value)
    with _store(ctx, users_queries=True) as store:
        try:
            result = queries[name].run(store, values)
        except ParameterError as exc:
            raise CLIError(str(exc)) from exc
    _emit(result, fmt)


@_subcommand("sparql")
@click.argument("query")
@click.option("--format", "fmt", type=click.Choice(["json", "csv", "tsv", "xml", "table", "turtle", "nt", "jsonld"]),
              default="table", help="Output format.")
def sparql_cmd(ctx: click.Context, query: str, fmt: str) -> None:
    """Run an ad-hoc read-only SPARQL QUERY (or - to read it from standard input)."""
    text = sys.stdin.read() if query == "-" else query
    if query_form(text) is None:
        raise CLIError("only queries (SELECT, CONSTRUCT, ASK, DESCRIBE) are allowed here; updates are refused")
    with _store(ctx, users_queries=True) as store:
        result = store.query(text)
    _emit(result, fmt)


@_subcommand("export")
@click.option("--format", "fmt", type=click.Choice(["ttl", "nq", "trig", "jsonld"]), default="nq",
              help="ttl: every triple in one graph; nq, trig, jsonld: with their named graphs.")
@click.option("--output", "-o", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Write to this file instead of standard output.")
def export_cmd(ctx: click.Context, fmt: str, output: Path | None) -> None:
    """Export the whole graph."""
    from graph.exporting import export_dataset

    with _store(ctx) as store:
        data = export_dataset(store, fmt)
    if output:
        output.write_bytes(data)
    else:
        sys.stdout.buffer.write(data)


@_subcommand("link")
@click.argument("source")
@click.option("--mapping", "mapping_file", type=click.Path(exists=True, dir_okay=False, path_type=Path), default=None,
              help="YAML file: the other dataset's classes and name/country/region properties (or CSV columns).")
@click.option("--threshold", type=click.FloatRange(0, 1), default=0.9, show_default=True,
              help="Accept candidates scoring at least this (one-to-one, never an ambiguous one).")
@click.option("--accept", "reviewed", type=click.Path(exists=True, dir_okay=False, path_type=Path), default=None,
              help="Write exactly the pairs of this reviewed CSV (columns local,remote) instead of a threshold.")
@click.option("--dry-run", is_flag=True, help="Print the candidates, best first; write nothing.")
@click.option("--format", "fmt", type=click.Choice(["csv", "json"]), default="csv", show_default=True)
@click.option("--source-format", default=None, help="RDF format of a SOURCE file when its extension does not say.")
@click.option("--source-auth", default=None, help="USER:PASSWORD for a SOURCE endpoint.")
def link_cmd(ctx: click.Context, source: str, mapping_file: Path | None, threshold: float, reviewed: Path | None,
             dry_run: bool, fmt: str, source_format: str | None, source_auth: str | None) -> None:
    """Propose owl:sameAs links between our clusters and the organisations of SOURCE (a SPARQL
    endpoint URL, or an RDF or CSV file); write the accepted ones to a links graph."""
    from graph.linking import links, matcher
    from graph.linking.mapping import Mapping, MappingError
    from graph.linking.records import SourceError, our_clusters, read_source
    from graph.namespaces import DataIRIs

    try:
        mapping = Mapping.load(mapping_file)
        remote = read_source(source, mapping, fmt=source_format, auth=source_auth)
    except (MappingError, SourceError) as exc:
        raise CLIError(str(exc)) from exc
    with _store(ctx) as store:
        found = matcher.candidates(our_clusters(store), remote)
        if dry_run:
            _print_candidates(found, fmt)
            return
        try:
            accepted = links.read_reviewed(reviewed, found) if reviewed else matcher.accept(found, threshold)
        except links.ReviewError as exc:
            raise CLIError(str(exc)) from exc
        method = (f"reviewed file {reviewed.name}" if reviewed else
                  f"normalised-name similarity with country blocking, one-to-one, threshold {threshold:g}")
        iris = DataIRIs(_settings(ctx).base_iri)
        graph_iri = links.links_graph_iri(iris, source)
        store.replace_graphs({str(graph_iri): links.build(iris, source, accepted, method)})
    click.echo(f"{len(accepted)} link(s) written to <{graph_iri}> "
               f"({len(remote)} organisation(s) read, {len(found)} candidate(s))")


def _print_candidates(found: list, fmt: str) -> None:
    rows = [c.as_dict() for c in found]
    if fmt == "json":
        click.echo(json.dumps(rows, indent=2, ensure_ascii=False))
        return
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=["local", "remote", "score", "reason"], lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    click.echo(out.getvalue(), nl=False)


@_subcommand("backup")
@click.argument("output", type=click.Path(dir_okay=False, allow_dash=True, path_type=Path), default="-")
def backup_cmd(ctx: click.Context, output: Path) -> None:
    """Write every quad of the store to OUTPUT (N-Quads; default: standard output)."""
    from graph.backup import backup_nquads

    with _store(ctx) as store:
        data = backup_nquads(store)
    if str(output) == "-":
        sys.stdout.buffer.write(data)
        return
    partial = output.with_name(output.name + ".partial")
    partial.write_bytes(data)
    partial.replace(output)  # a backup file is complete or absent
    quads = data.count(b"\n") - 1  # the first line is a comment
    click.echo(f"backed up {quads} quads to {output}", err=True)


@_subcommand("restore")
@click.argument("backup", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--yes", is_flag=True, help="Do not ask before replacing the store's content.")
def restore_cmd(ctx: click.Context, backup: Path, yes: bool) -> None:
    """Replace the whole store by a backup made with `clusterkg backup` (all or nothing)."""
    from graph.backup import BackupError, restore

    if not yes:
        click.confirm(f"Replace everything in the store by {backup.name}?", abort=True)
    with _store(ctx) as store:
        try:
            summary = restore(store, backup)
        except BackupError as exc:
            raise CLIError(f"{exc}; nothing was written") from exc
    dropped = f"; dropped {len(summary.dropped)} graph(s) not in the backup" if summary.dropped else ""
    click.echo(f"restored {summary.quads} quads in {summary.graphs} graphs from {backup}{dropped}")


SERVE_SWITCH_INTERVAL_S = 0.001  # the GIL's switch interval while serving (see serve_cmd)


@_subcommand("serve")
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option("--port", default=8000, show_default=True, type=int, help="Port to listen on.")
@click.option("--threads", default=8, show_default=True, type=int, help="Worker threads.")
@click.option("--admin-token-file", type=click.Path(exists=True, dir_okay=False, path_type=Path), default=None,
              help="File holding the maintainer token that enables writes [or env CLUSTERKG_ADMIN_TOKEN].")
def serve_cmd(ctx: click.Context, host: str, port: int, threads: int, admin_token_file: Path | None) -> None:
    """Run the web service on a production WSGI server (waitress); on an empty store, `init` first."""
    import dataclasses
    import logging

    import waitress

    from service import create_app

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    settings = _settings(ctx)
    if admin_token_file is not None:
        token = admin_token_file.read_text(encoding="utf-8").strip()
        try:
            settings = dataclasses.replace(settings, admin_token=token)
        except ValueError as exc:
            raise CLIError(str(exc)) from exc
    try:
        store = open_store(settings)
    except StoreError as exc:
        raise CLIError(str(exc)) from exc
    try:
        store.recover()
        if not store.named_graphs():
            click.echo("The store is empty: loading the bundled dataset first (clusterkg init).")
            with fewer_collections():
                Importer(store, settings).init_bundled()
        else:
            _record_missing_sizes(store)
        app = create_app(settings, store=store)
    except (StoreError, QueryFileError, ImportRejected) as exc:
        store.close()
        raise CLIError(str(exc)) from exc
    click.echo(f"clusterkg {__version__} serving {settings.store_path} on http://{host}:{port}/ (Ctrl-C stops)")
    # The service's threads mostly wait: on a query worker's pipe, on the socket. One whose worker
    # has answered needs the GIL back before the worker can be handed the next query, and with
    # Python's default switch interval it can wait longer than a light query takes behind a thread
    # rendering a page, the workers idle meanwhile; a shorter interval hands the GIL over sooner
    # (the figures: docs/performance.md). The process is the service's own: set here.
    sys.setswitchinterval(SERVE_SWITCH_INTERVAL_S)
    try:
        waitress.serve(app, host=host, port=port, threads=threads, ident="clusterkg")
    finally:
        app.extensions["clusterkg"].close()
        store.close()


def _record_missing_sizes(store: Store) -> None:
    """Graphs loaded behind clusterkg's back have no recorded size; the named-graphs query counts
    them, except on Virtuoso, which cannot list graphs without reading their triples."""
    from graph.store.sizes import record_missing

    try:
        missing = record_missing(store)
    except StoreError as exc:  # a read-only account on a remote engine: serve all the same
        click.echo(f"Warning: the sizes of the graphs could not be recorded ({exc}); they are counted instead.",
                   err=True)
        return
    if missing:
        click.echo(f"Recorded the sizes of {len(missing)} graph(s) that had none.")


if __name__ == "__main__":  # pragma: no cover
    main()
