"""Errors as clear answers: JSON for API clients, a page for browsers; never a traceback."""

from __future__ import annotations

import logging
import math

from flask import Flask, jsonify, make_response, render_template, request
from werkzeug.exceptions import HTTPException, RequestEntityTooLarge

from graph.queries import ParameterError
from graph.store import QueryAborted, QueryTimeout, StoreBusy, StoreError, StoreUnavailable, TooManyQueries
from service.negotiation import JSON, NotAcceptable, prefers_html, wants_page_json
from service.state import state

log = logging.getLogger("clusterkg.service")

TITLES = {400: "Bad request", 403: "Forbidden", 404: "Not found", 405: "Method not allowed",
          406: "Not acceptable", 413: "Too large", 415: "Unsupported media type", 429: "Too many requests",
          500: "Internal error",
          503: "Unavailable"}


def _wants_page() -> bool:
    """An error as a page only to a browser asking for one, and never on the APIs."""
    if request.path.startswith(("/api/", "/sparql", "/graph-store", "/update")):
        return False
    try:
        return not wants_page_json() and prefers_html([JSON], JSON)
    except NotAcceptable:
        return False


def _error(status: int, message: str, **extra: object):
    if _wants_page():
        return render_template("error.html", status=status, title=TITLES.get(status, "Error"),
                               message=message, data=None), status
    return jsonify({"error": message, "status": status, **extra}), status


def register(app: Flask) -> None:
    @app.errorhandler(ParameterError)
    def parameter_error(exc: ParameterError):
        return _error(400, str(exc), parameter=exc.param)

    @app.errorhandler(NotAcceptable)
    def not_acceptable(exc: NotAcceptable):
        return _error(406, str(exc))

    @app.errorhandler(StoreError)
    def store_error(exc: StoreError):
        if isinstance(exc, (QueryTimeout, QueryAborted)):
            return _error(503, str(exc), limit="timeout" if isinstance(exc, QueryTimeout) else "memory")
        if isinstance(exc, TooManyQueries):
            response = make_response(*_error(429, str(exc)))
            response.headers["Retry-After"] = str(math.ceil(state().settings.query_timeout) or 1)
            return response
        if isinstance(exc, (StoreBusy, StoreUnavailable)):
            response, status = _error(503, str(exc))
            response = make_response(response, status)
            response.headers["Retry-After"] = "5"
            return response
        return _error(400, str(exc))

    @app.errorhandler(413)
    def too_large(exc: HTTPException):
        if exc.description and exc.description != RequestEntityTooLarge.description:  # our own words
            return _error(413, exc.description)
        limit = (app.config.get("MAX_CONTENT_LENGTH") or 0) // (1024 * 1024)
        return _error(413, f"the request body is larger than this service's limit of {limit} MB "
                           "(CLUSTERKG_MAX_UPLOAD_MB); nothing was written")

    @app.errorhandler(HTTPException)
    def http_error(exc: HTTPException):
        return _error(exc.code or 500, exc.description or exc.name)

    @app.errorhandler(Exception)
    def unexpected(exc: Exception):
        log.exception("unhandled error on %s %s", request.method, request.path)
        return _error(500, "internal error; the administrator can find the details in the service log")
