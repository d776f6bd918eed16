"""Security headers on every response: a Content Security Policy without inline scripts, and
the usual hardening headers; CORS on every read, errors included, never on a write.

Reads are open to scripts of any origin, as public SPARQL endpoints are (WDQS): a GET, HEAD or
OPTIONS anywhere but the maintainers' pages, and a query POSTed to ``/sparql``. A write (the
imports API, the Graph Store Protocol's PUT/POST/DELETE, ``/update``, the import form) gets no
CORS header, so a page of another origin cannot read its answer, and its preflight is refused.
"""

from __future__ import annotations

from flask import Flask, Response, request

CSP = ("default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
       "connect-src 'self'; object-src 'none'; base-uri 'self'; form-action 'self'; frame-ancestors 'none'")
READ_METHODS = {"GET", "HEAD", "OPTIONS"}


def is_read() -> bool:
    if request.path.startswith("/admin"):
        return False
    if request.method == "OPTIONS":  # a preflight: for what it asks to do
        asked = request.headers.get("Access-Control-Request-Method", "GET").upper()
        return asked in READ_METHODS or (asked == "POST" and request.path == "/sparql")
    return request.method in READ_METHODS or (request.method == "POST" and request.path == "/sparql")


def register(app: Flask) -> None:
    @app.after_request
    def headers(response: Response) -> Response:
        if is_read():
            response.headers["Access-Control-Allow-Origin"] = "*"
            response.headers["Access-Control-Allow-Methods"] = "GET, HEAD, POST, OPTIONS" \
                if request.path == "/sparql" else "GET, HEAD, OPTIONS"
            response.headers["Access-Control-Allow-Headers"] = "Accept, Content-Type, Cache-Control"
            response.headers["Access-Control-Expose-Headers"] = "X-Clusterkg-Truncated, Retry-After, Link"
            response.headers["Access-Control-Max-Age"] = "86400"
        response.headers.setdefault("Content-Security-Policy", CSP)
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        response.headers.setdefault("X-Frame-Options", "DENY")
        response.headers.setdefault("Referrer-Policy", "same-origin")
        response.headers.setdefault("Cross-Origin-Opener-Policy", "same-origin")
        return response
