"""The clusterkg web service: a Flask app factory with one blueprint per area."""

from __future__ import annotations

import os
import secrets

from flask import Flask

from graph.config import Settings
from graph.store import Store, open_store, with_query_limits, with_result_cache
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
    cached = with_result_cache(limited, settings)
    owned = [s for s in (cached if cached is not limited else None, limited if limited is not given else None, opened)
             if s is not None]
    app.extensions["clusterkg"] = ServiceState(settings, cached, owned=owned)

    from service import admin, api, catalogue, errors, linkeddata, pages, security, sparql
    from service.links import href

    _honour_no_cache(app)
    from service.negotiation import vary_on_accept

    app.after_request(vary_on_accept)
    _name_the_client(app, settings)
    errors.register(app)
    security.register(app)
    app.add_template_filter(href, "href")
    app.register_blueprint(pages.blueprint)
    app.register_blueprint(api.blueprint)
    app.register_blueprint(sparql.blueprint)
    app.register_blueprint(catalogue.blueprint)
    app.register_blueprint(linkeddata.blueprint)
    app.register_blueprint(admin.blueprint)
    return app


def _name_the_client(app: Flask, settings: Settings) -> None:
    """Each request's queries are counted against its client (graph.store.sandbox.query_client):
    one client's heavy queries cannot hold every query worker. Behind ``trusted_proxies`` reverse
    proxies the client is what they say in X-Forwarded-For."""
    from flask import g, request
    from werkzeug.middleware.proxy_fix import ProxyFix

    from graph.store.sandbox import query_client

    if settings.trusted_proxies:
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=settings.trusted_proxies)  # type: ignore[method-assign]

    @app.before_request
    def name_client() -> None:
        g.clusterkg_client_token = query_client.set(request.remote_addr or "unknown")

    @app.teardown_request
    def forget_client(_exc: BaseException | None) -> None:
        token = g.pop("clusterkg_client_token", None)
        if token is not None:
            query_client.reset(token)


def _honour_no_cache(app: Flask) -> None:
    """A request with ``Cache-Control: no-cache`` is answered from the store, not from the result
    cache (graph.store.cache): what a client asks for when it must see the engine's own answer."""
    from flask import g, request

    from graph.store.cache import cache_bypass

    @app.before_request
    def bypass_cache() -> None:
        if "no-cache" in request.headers.get("Cache-Control", "").lower():
            g.clusterkg_cache_token = cache_bypass.set(True)

    @app.teardown_request
    def restore_cache(_exc: BaseException | None) -> None:
        token = g.pop("clusterkg_cache_token", None)
        if token is not None:
            cache_bypass.reset(token)
