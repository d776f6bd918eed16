"""The clusterkg web service: a Flask app factory with one blueprint per area."""

from __future__ import annotations

import os
import secrets

from flask import Flask

from graph.config import Settings
from graph.store import Store, open_store, with_query_limits
from service.state import ServiceState


def create_app(settings: Settings | None = None, *, store: Store | None = None,
               config: dict | None = None) -> Flask:
    """The WSGI app. ``store`` lets tests and embedders pass an open store; otherwise the
    settings' store is opened. ``app.extensions["clusterkg"].close()`` stops the query workers
    (and closes the store if it opened it)."""
    settings = settings or Settings.from_env()
    app = Flask(__name__)
    app.json.sort_keys = False  # type: ignore[attr-defined]
    app.config.update(
        MAX_CONTENT_LENGTH=settings.max_upload_mb * 1024 * 1024,  # uploads and request bodies
        SECRET_KEY=os.environ.get("CLUSTERKG_SECRET_KEY") or secrets.token_hex(32),  # signs the CSRF session
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Strict",
    )
    if config:
        app.config.update(config)
    opened = open_store(settings) if store is None else None
    given = store or opened
    assert given is not None
    limited = with_query_limits(given, settings)
    owned = [s for s in (limited if limited is not given else None, opened) if s is not None]
    app.extensions["clusterkg"] = ServiceState(settings, limited, owned=owned)

    from service import admin, api, errors, linkeddata, pages, security, sparql
    from service.links import href

    errors.register(app)
    security.register(app)
    app.add_template_filter(href, "href")
    app.register_blueprint(pages.blueprint)
    app.register_blueprint(api.blueprint)
    app.register_blueprint(sparql.blueprint)
    app.register_blueprint(linkeddata.blueprint)
    app.register_blueprint(admin.blueprint)
    return app
