"""Errors as clear JSON (or text) answers; never a traceback to a client."""

from __future__ import annotations

import logging

from flask import Flask, jsonify, request
from werkzeug.exceptions import HTTPException

from graph.queries import ParameterError
from graph.store import StoreError
from service.negotiation import NotAcceptable

log = logging.getLogger("clusterkg.service")


def _error(status: int, message: str, **extra: object):
    body = {"error": message, "status": status, **extra}
    return jsonify(body), status


def register(app: Flask) -> None:
    @app.errorhandler(ParameterError)
    def parameter_error(exc: ParameterError):
        return _error(400, str(exc), parameter=exc.param)

    @app.errorhandler(NotAcceptable)
    def not_acceptable(exc: NotAcceptable):
        return _error(406, str(exc))

    @app.errorhandler(StoreError)
    def store_error(exc: StoreError):
        return _error(400, str(exc))

    @app.errorhandler(HTTPException)
    def http_error(exc: HTTPException):
        return _error(exc.code or 500, exc.description or exc.name)

    @app.errorhandler(Exception)
    def unexpected(exc: Exception):
        log.exception("unhandled error on %s %s", request.method, request.path)
        return _error(500, "internal error; the administrator can find the details in the service log")
