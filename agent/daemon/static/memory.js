// The memory page: search (with why each hit ranked), the facts (add, edit, forget, the
// history of superseded ones), documents (add a folder with progress, forget), all through
// the daemon's own API under /api.
"use strict";

(() => {
  const $ = (id) => document.getElementById(id);

  const api = (method, path, body) => Rung.call(method, path, body);
  const json = async (method, path, body) => (await api(method, path, body)).json();

  function item(parent, cls, text) {
    const node = document.createElement(parent === "li" ? "li" : "div");
    node.className = cls;
    if (text !== undefined) node.textContent = text;
    return node;
  }

  $("search").addEventListener("submit", async (event) => {
    event.preventDefault();
    const hits = $("hits");
    hits.replaceChildren(item("li", "meta", "Searching…"));
    const collections = [];
    if ($("in-documents").checked) collections.push("documents");
    if ($("in-conversations").checked) collections.push("conversations");
    try {
      const body = { query: $("query").value, collections, limit: 10 };
      if ($("mode").value) body.mode = $("mode").value;
      const found = (await json("POST", "/v1/memory/search", body)).hits;
      hits.replaceChildren();
      if (!found.length) hits.appendChild(item("li", "meta", "Nothing found."));
      for (const hit of found) {
        const row = item("li", "hit");
        const why = ["score " + hit.score.toFixed(3)];
        if (hit.similarity !== null && hit.similarity !== undefined) why.push("meaning " + hit.similarity.toFixed(2));
        if (hit.keyword) why.push("words " + Number(hit.keyword).toFixed(2));
        row.appendChild(item("div", "meta", (hit.chunk.source || "") + " · " + why.join(" · ")));
        row.appendChild(item("div", "text", hit.chunk.text));
        hits.appendChild(row);
      }
    } catch (error) {
      hits.replaceChildren(item("li", "error", error.message));
    }
  });

  async function facts() {
    const list = $("facts");
    try {
      const all = $("fact-history").checked ? "?all=1" : "";
      const found = (await json("GET", "/v1/memory/facts" + all)).facts;
      list.replaceChildren();
      if (!found.length) list.appendChild(item("li", "meta", "No facts yet."));
      for (const fact of found) {
        const row = item("li", fact.superseded_by ? "fact superseded" : "fact");
        row.dataset.id = fact.id;
        row.appendChild(item("span", "text", fact.text));
        row.appendChild(item("span", "meta", " " + fact.created_at.slice(0, 10) + (fact.superseded_by ? " · replaced by " + fact.superseded_by : "")));
        if (!fact.superseded_by) {
          for (const [label, act] of [["Edit", edit], ["Forget", forget]]) {
            const button = document.createElement("button");
            button.type = "button";
            button.textContent = label;
            button.addEventListener("click", () => act(fact));
            row.appendChild(button);
          }
        }
        list.appendChild(row);
      }
    } catch (error) {
      list.replaceChildren(item("li", "error", error.message));
    }
  }
  async function edit(fact) {
    const text = window.prompt("The fact:", fact.text);
    if (text && text !== fact.text) await json("PUT", "/v1/memory/facts/" + fact.id, { text }).catch((e) => alert(e.message));
    facts();
  }
  async function forget(fact) {
    await json("DELETE", "/v1/memory/facts/" + fact.id).catch((e) => alert(e.message));
    facts();
    stats();
  }
  $("remember").addEventListener("submit", async (event) => {
    event.preventDefault();
    try {
      await json("POST", "/v1/memory/facts", { text: $("fact-text").value });
      $("fact-text").value = "";
    } catch (error) {
      alert(error.message);
    }
    facts();
    stats();
  });
  $("fact-history").addEventListener("change", facts);

  $("add-folder").addEventListener("submit", async (event) => {
    event.preventDefault();
    const status = $("add-status");
    const progress = $("progress");
    try {
      status.textContent = "Looking…";
      const files = (await json("POST", "/v1/memory/plan", { paths: [$("folder").value] })).files;
      if (!files.length) { status.textContent = "No files to add there."; return; }
      progress.hidden = false;
      progress.max = files.length;
      progress.value = 0;
      let added = 0, failed = 0;
      await Rung.lines(await api("POST", "/v1/memory/add", { files }), (line) => {
        if (line.error) { status.textContent = line.error; return; }
        progress.value += 1;
        if (line.outcome === "failed") failed += 1; else added += 1;
        status.textContent = progress.value + " of " + files.length + " files";
      });
      status.textContent = "Added " + added + " of " + files.length + " files" + (failed ? " (" + failed + " failed)" : "") + ".";
      stats();
    } catch (error) {
      status.textContent = error.message;
    } finally {
      progress.hidden = true;
    }
  });
  $("forget").addEventListener("submit", async (event) => {
    event.preventDefault();
    try {
      const count = (await json("POST", "/v1/memory/forget", { what: $("forget-what").value })).count;
      $("forget-status").textContent = count ? "Forgot " + count + " chunks." : "Nothing stored for that.";
      stats();
    } catch (error) {
      $("forget-status").textContent = error.message;
    }
  });
  async function stats() {
    try {
      const s = await json("GET", "/v1/memory/stats");
      $("stats").textContent = "Stored: " + s.chunks.documents + " document chunks from "
        + s.sources.documents + " files, " + s.chunks.conversations + " conversation turns, "
        + s.facts + " facts (" + s.embedding_model + ").";
    } catch (error) {
      $("stats").textContent = error.message;
    }
  }

  facts();
  stats();
})();
