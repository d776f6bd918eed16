"""Writes, for maintainers only: an import page, an imports API, the SPARQL 1.1 Graph Store HTTP
Protocol and SPARQL 1.1 Update. All need the maintainer token the operator configured
(``CLUSTERKG_ADMIN_TOKEN``); without one configured, every write is refused. Tokens are compared
in constant time; the import form also carries a CSRF token bound to the session."""

from __future__ import annotations

import hmac
import secrets
import tempfile
from functools import wraps
from pathlib import Path

from flask import Blueprint, Response, abort, jsonify, render_template, request, session
from rdflib import URIRef
from werkzeug.utils import secure_filename

from graph import importer as imports
from graph import writes
from graph.importer import Importer, ImportIdRefused, ImportRejected, UnreadableFile
from graph.jobs import JobLimits, job_settings, run_job
from graph.mapping.rdf_file import RDFFormatError
from graph.mapping.survey_csv import CSVFormatError
from graph.writes import WriteConflict, WriteRefused, WriteRejected
from service.negotiation import negotiate, render_result
from service.protocol import read_operation
from service.state import state

blueprint = Blueprint("admin", __name__)

BODY_FORMATS = {"text/turtle": "turtle", "application/n-triples": "nt", "application/ld+json": "json-ld",
                "application/rdf+xml": "xml", "application/n-quads": "nquads", "application/trig": "trig"}
UPLOAD_FORMATS = ["csv", "ttl", "jsonld", "nt", "nq", "trig", "xml"]


def token_ok(given: str | None) -> bool:
    expected = state().settings.admin_token
    if not expected or not given:
        return False
    return hmac.compare_digest(given.encode("utf-8"), expected.encode("utf-8"))


def bearer_required(view):
    """Refuse the request unless it carries ``Authorization: Bearer <maintainer token>``."""
    @wraps(view)
    def wrapper(*args, **kwargs):
        if not state().settings.admin_token:
            abort(403, description="writes are disabled: the operator has configured no maintainer token")
        header = request.headers.get("Authorization", "")
        scheme, _, given = header.partition(" ")
        if scheme.lower() != "bearer" or not given:
            response = jsonify({"error": "this write needs the maintainer token (Authorization: Bearer …)",
                                "status": 401})
            response.status_code = 401
            response.headers["WWW-Authenticate"] = 'Bearer realm="clusterkg"'
            return response
        if not token_ok(given.strip()):
            abort(403, description="the maintainer token is not valid")
        return view(*args, **kwargs)
    return wrapper


def _report_json(report) -> list[dict]:
    return [v.as_dict() for v in report.violations]


def _job(job, *args):
    """A maintainer's write, run in a process of its own (graph.jobs), on the service's store."""
    settings = state().settings
    limits = JobLimits(timeout=settings.write_timeout, memory_mb=settings.write_memory_mb or None)
    return run_job(job_settings(settings, state().store), job, *args, limits=limits)


# -- import page (browser) -------------------------------------------------------------------------
def _csrf_token() -> str:
    if "csrf" not in session:
        session["csrf"] = secrets.token_urlsafe(32)
    return session["csrf"]


@blueprint.get("/admin/import")
def import_page():
    return render_template("import.html", data={"formats": UPLOAD_FORMATS, "report": None, "outcome": None,
                                                "enabled": bool(state().settings.admin_token)},
                           csrf=_csrf_token(), nav="admin")


@blueprint.post("/admin/import")
def import_submit():
    expected = session.get("csrf")
    if not expected or not hmac.compare_digest(str(request.form.get("csrf", "")), str(expected)):
        abort(400, description="the form has expired or was not sent from this site; reload the page and try again")
    if not state().settings.admin_token:
        abort(403, description="writes are disabled: the operator has configured no maintainer token")
    if not token_ok(request.form.get("token")):
        abort(403, description="the maintainer token is not valid")
    upload = request.files.get("file")
    if upload is None or not upload.filename:
        abort(400, description="choose a file to import")
    commit = request.form.get("action") == "import"
    data: dict = {"formats": UPLOAD_FORMATS, "report": None, "outcome": None, "enabled": True,
                  "file": upload.filename, "committed": False}
    status = 200
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / (secure_filename(upload.filename) or "upload")
        upload.save(path)
        fmt = request.form.get("format") or None
        try:
            imports.check_memory([path], fmt, state().settings.write_memory_mb)
            checked = _job(imports.check_file_job, str(path), fmt, commit)
            report, outcome = checked.report, checked.outcome
            data["report"] = {"conforms": report.conforms, "violations": _report_json(report)}
            if outcome is not None:
                data["outcome"] = {"id": outcome.import_id, "status": outcome.status, "triples": outcome.triples}
                data["committed"] = True
            elif not report.conforms:
                status = 422
        except (CSVFormatError, RDFFormatError, UnreadableFile) as exc:
            data["error"] = str(exc)
            status = 400
        except imports.ImportTooLarge as exc:
            data["error"] = str(exc)
            status = 413
        except ImportRejected as exc:
            data["report"] = {"conforms": False, "violations": _report_json(exc.report)}
            status = 422
    return render_template("import.html", data=data, csrf=_csrf_token(), nav="admin"), status


# -- imports API --------------------------------------------------------------------------------------
@blueprint.get("/api/imports")
def list_imports():
    infos = Importer(state().store, state().settings).list_imports()
    return jsonify([i.__dict__ for i in infos])


REPORT_TYPES = ["application/json", "text/turtle", "application/ld+json"]


def _report_response(report, status: int, error: str):
    """A validation report: JSON (the readable rows), or the W3C sh:ValidationReport graph."""
    from graph.shacl_report import serialize_report

    media = negotiate(REPORT_TYPES, "application/json")
    if media == "text/turtle":
        return Response(serialize_report(report, "shacl-ttl"), status=status, content_type="text/turtle; charset=utf-8")
    if media == "application/ld+json":
        return Response(serialize_report(report, "shacl-jsonld"), status=status, mimetype="application/ld+json")
    return jsonify({"error" if status >= 400 else "message": error, "conforms": report.conforms,
                    "violations": _report_json(report), "status": status}), status


def _uploaded(run):
    """``run(path, fmt)`` on the request's file (a multipart ``file`` or the body, named by ``?name=``),
    kept in a temporary directory; what a file can be refused for is answered here."""
    upload = request.files.get("file")
    name = secure_filename(upload.filename if upload else request.args.get("name", "upload")) or "upload"
    fmt = request.args.get("format") or request.form.get("format") or None
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / name
        if upload:
            upload.save(path)
        else:
            path.write_bytes(request.get_data())
        try:
            imports.check_memory([path], fmt, state().settings.write_memory_mb)
            return run(path, fmt)
        except ImportRejected as exc:
            return _report_response(exc.report, 422, "the file does not conform to the shapes; nothing was written")
        except (CSVFormatError, RDFFormatError, UnreadableFile) as exc:
            abort(400, description=str(exc))
        except ImportIdRefused as exc:
            abort(409, description=str(exc))
        except imports.ImportTooLarge as exc:
            abort(413, description=str(exc))


@blueprint.post("/api/imports")
@bearer_required
def create_import():
    def run(path: Path, fmt: str | None):
        outcome = _job(imports.import_file_job, str(path), fmt)
        body = {"id": outcome.import_id, "graph": outcome.graph, "status": outcome.status, "triples": outcome.triples}
        return jsonify(body), 201 if outcome.status == "imported" else 200
    return _uploaded(run)


@blueprint.post("/api/validate")
def validate_upload():
    """Validate a file as an import would, writing nothing: open to anyone (no token), in a job
    with the write's limits, the file as large as an upload may be and an import could take."""
    def run(path: Path, fmt: str | None):
        report = _job(imports.check_file_job, str(path), fmt, False).report
        return _report_response(report, 200 if report.conforms else 422,
                                "the file conforms" if report.conforms else "the file does not conform to the shapes")
    return _uploaded(run)


@blueprint.delete("/api/imports/<import_id>")
@bearer_required
def delete_import(import_id: str):
    try:
        _job(imports.drop_import_job, import_id)
    except KeyError as exc:
        abort(404, description=str(exc.args[0]))
    return Response(status=204)


# -- Graph Store Protocol -----------------------------------------------------------------------------
def _graph_name() -> str:
    if "default" in request.args:
        abort(400, description="the default graph is the union of all graphs and is not written directly; "
                               "use ?graph=IRI")
    name = request.args.get("graph")
    if not name:
        abort(400, description="name the graph with ?graph=IRI")
    return name


def _body_format() -> str:
    media = (request.mimetype or "").lower()
    if media not in BODY_FORMATS:
        abort(415, description="send RDF as one of: " + ", ".join(BODY_FORMATS))
    return BODY_FORMATS[media]


def _write(action):
    try:
        outcome = action()
    except WriteConflict as exc:
        abort(409, description=str(exc))
    except (WriteRefused, RDFFormatError) as exc:
        abort(400, description=str(exc))
    except WriteRejected as exc:
        return jsonify({"error": "the write would leave data violating the shapes; nothing was written",
                        "violations": {g: _report_json(r) for g, r in exc.reports.items()}, "status": 422}), 422
    except KeyError as exc:
        abort(404, description=str(exc.args[0]))
    return outcome


GRAPH_TRIPLES = "CONSTRUCT { ?s ?p ?o } WHERE { GRAPH ?graph { ?s ?p ?o } }"


@blueprint.get("/graph-store")
def gsp_get():
    """A named graph, read as any query is: in a query worker, with the time limit and the row
    and byte caps (the truncation marker says when it was cut)."""
    name = _graph_name()
    if name not in state().store.named_graphs():
        abort(404, description=f"no graph <{name}>")
    result = state().store.query(GRAPH_TRIPLES, {"graph": URIRef(name)}, max_rows=state().settings.max_rows)
    return render_result(result, request)


def _store_graph(replace: bool):
    """PUT (replace) or POST (add to) a named graph; 201 if it is new, 204 otherwise."""
    name = _graph_name()
    existed = name in state().store.named_graphs()
    fmt = _body_format()
    outcome = _write(lambda: _job(writes.store_graph_job, name, request.get_data(), fmt, replace))
    if isinstance(outcome, tuple):
        return outcome
    return Response(status=204 if existed else 201)


@blueprint.put("/graph-store")
@bearer_required
def gsp_put():
    return _store_graph(replace=True)


@blueprint.post("/graph-store")
@bearer_required
def gsp_post():
    return _store_graph(replace=False)


@blueprint.delete("/graph-store")
@bearer_required
def gsp_delete():
    name = _graph_name()
    outcome = _write(lambda: _job(writes.delete_graph_job, name))
    if isinstance(outcome, tuple):
        return outcome
    return Response(status=204)


# -- SPARQL Update --------------------------------------------------------------------------------------
@blueprint.post("/update")
@bearer_required
def sparql_update():
    operation = read_operation("update")
    if operation is None or not operation.text.strip():
        abort(400, description="the update is empty")
    outcome = _write(lambda: _job(writes.update_job, operation.text, operation.dataset, operation.base))
    if isinstance(outcome, tuple):
        return outcome
    return jsonify({"changed": outcome.changed, "triples": outcome.triples})
