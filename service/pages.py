"""The HTML pages. Each view asks service.viewmodels for its data and renders it; with
``?format=json`` (or ``Accept: application/json``) it returns that data instead."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, abort, current_app, jsonify, render_template, request, send_from_directory

from service import viewmodels as vm
from service.negotiation import wants_page_json
from service.state import state

blueprint = Blueprint("pages", __name__)


def page(template: str, data: dict[str, Any], **extra: Any):
    if wants_page_json():
        return jsonify(data)
    return render_template(template, data=data, **extra)


@blueprint.get("/")
def home():
    return page("home.html", vm.home(), nav="home")


@blueprint.get("/favicon.ico")
def favicon():
    return send_from_directory(current_app.static_folder, "favicon.svg", mimetype="image/svg+xml")


@blueprint.get("/share")
def share():
    concepts = [c for c in request.args.getlist("concept") if c.strip()]
    if not concepts:
        abort(400, description="choose at least one challenge, option or theme")
    return page("share.html", vm.share(concepts), nav="home")


@blueprint.get("/clusters")
def clusters():
    return page("clusters.html", vm.clusters(), nav="clusters")


@blueprint.get("/vocab")
def vocabularies():
    return page("vocabularies.html", vm.vocabularies(), nav="vocab")


@blueprint.get("/figures")
def figures():
    return page("figures.html", vm.figures(), nav="figures")


@blueprint.get("/figures/<int:number>")
def figure(number: int):
    if number not in vm.FIGURES:
        abort(404, description="the catalogue has Figures 1-5")
    return page("figure.html", vm.figure(number), nav="figures")


@blueprint.get("/matrix")
def matrix():
    return page("matrix.html", vm.matrix(request.args.get("question") or None, request.args.get("theme") or None,
                                         request.args.get("attribution") or None), nav="matrix")


@blueprint.get("/network")
def network():
    try:
        minimum = max(1, int(request.args.get("min", "2")))
    except ValueError:
        abort(400, description="min must be a whole number")
    return page("network.html", vm.network(request.args.get("question") or None,
                                           request.args.get("theme") or None, minimum), nav="network")


@blueprint.get("/queries")
def queries():
    return page("queries.html", vm.queries_index(), nav="queries")


@blueprint.get("/queries/<name>")
def saved_query(name: str):
    if name not in state().queries:
        abort(404, description=f"no saved query {name!r}")
    args = {key: request.args.getlist(key) for key in request.args if key != "format"}
    return page("query.html", vm.query_page(name, args), nav="queries")
