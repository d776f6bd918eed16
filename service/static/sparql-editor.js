// The SPARQL editor: CodeMirror for syntax highlighting, examples from the saved queries,
// results rendered with DOM text nodes only (never innerHTML), links to resource pages.
(function () {
  "use strict";
  const config = JSON.parse(document.getElementById("editor-data").textContent);
  const textarea = document.getElementById("query");
  const editor = window.CodeMirror
    ? window.CodeMirror.fromTextArea(textarea, { mode: "application/sparql-query", lineNumbers: true, viewportMargin: Infinity })
    : { getValue: () => textarea.value, setValue: (v) => { textarea.value = v; }, save: () => {} };
  const status = document.getElementById("status");
  const table = document.getElementById("sparql-results");
  const graphBox = document.getElementById("sparql-graph");

  function localHref(iri) {
    for (const [prefix, path] of config.spaces) {
      if (iri.startsWith(prefix)) { return path + iri.slice(prefix.length); }
    }
    return "/resource?iri=" + encodeURIComponent(iri);
  }

  function cell(term) {
    const td = document.createElement("td");
    if (!term) { return td; }
    if (term.type === "uri") {
      const a = document.createElement("a");
      a.href = localHref(term.value);
      a.textContent = term.value;
      td.appendChild(a);
    } else {
      td.textContent = term.value;
      if (term["xml:lang"]) { td.title = "@" + term["xml:lang"]; }
    }
    return td;
  }

  function render(json) {
    table.replaceChildren();
    graphBox.hidden = true;
    if (Object.prototype.hasOwnProperty.call(json, "boolean")) {
      status.textContent = "ASK: " + json.boolean;
      return;
    }
    const vars = json.head.vars;
    const head = document.createElement("thead");
    const tr = document.createElement("tr");
    vars.forEach((v) => { const th = document.createElement("th"); th.textContent = v; tr.appendChild(th); });
    head.appendChild(tr);
    const body = document.createElement("tbody");
    json.results.bindings.forEach((binding) => {
      const row = document.createElement("tr");
      vars.forEach((v) => row.appendChild(cell(binding[v])));
      body.appendChild(row);
    });
    table.append(head, body);
    status.textContent = json.results.bindings.length + " row(s)";
  }

  document.getElementById("example").addEventListener("change", (event) => {
    const text = config.examples[event.target.value];
    if (text) { editor.setValue(text); }
  });
  document.getElementById("prefixes").addEventListener("click", () => {
    editor.setValue(config.prefixes + "\n" + editor.getValue());
  });
  document.getElementById("editor-form").addEventListener("submit", async (event) => {
    event.preventDefault();
    editor.save();
    status.textContent = "running…";
    const body = new URLSearchParams({ query: editor.getValue() });
    try {
      const response = await fetch("/sparql", {
        method: "POST", body: body,
        headers: { "Accept": "application/sparql-results+json, text/turtle;q=0.9" },
      });
      const type = response.headers.get("Content-Type") || "";
      if (!response.ok) {
        const problem = type.includes("json") ? (await response.json()).error : await response.text();
        table.replaceChildren();
        status.textContent = "Error " + response.status + ": " + problem;
        return;
      }
      if (type.includes("turtle")) {
        table.replaceChildren();
        graphBox.textContent = await response.text();
        graphBox.hidden = false;
        status.textContent = "graph (Turtle)";
        return;
      }
      render(await response.json());
    } catch (error) {
      status.textContent = "The query could not be sent: " + error;
    }
  });
})();
