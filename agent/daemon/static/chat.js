// The chat page: opens a chat in the daemon through its API (/api/v1/chats), streams each
// reply (NDJSON), shows tool calls folded, asks approvals with buttons, stops a reply, and
// renders the answer as Markdown (/render). No inline script: the page's CSP forbids it.
"use strict";

(() => {
  const root = document.getElementById("chat");
  const list = document.getElementById("messages");
  const statusLine = document.getElementById("chat-status");
  const form = document.getElementById("composer");
  const input = document.getElementById("message");
  const send = document.getElementById("send");
  const stop = document.getElementById("stop");
  const tier = document.getElementById("tier");
  const filter = document.getElementById("session-filter");
  let chat = null;

  const api = async (path, body) => (await Rung.call("POST", path, body)).json();

  function add(kind, text) {
    const node = document.createElement("div");
    node.className = "msg " + kind;
    if (text) node.textContent = text;
    list.appendChild(node);
    node.scrollIntoView({ block: "end" });
    return node;
  }

  function show(state) {
    statusLine.textContent = state.tier + " · " + state.model + " · session " + state.session_id;
    if (tier) tier.value = state.tier;
    const model = document.getElementById("model");
    if (model) model.value = state.model;
  }

  async function render(node, text) {
    const response = await fetch("/render", {
      method: "POST", credentials: "same-origin",
      headers: { "Content-Type": "text/plain; charset=utf-8" }, body: text,
    });
    if (response.ok) node.innerHTML = await response.text();  // Markdown, raw HTML escaped
  }

  function approval(event, before) {
    const box = document.createElement("div");
    box.className = "msg approval";
    const req = event.request;
    const what = document.createElement("p");
    what.textContent = "Allow " + req.server + ":" + req.tool + " " + JSON.stringify(req.arguments) + "?"
      + (req.gated ? " (" + req.gated + ")" : "");
    box.appendChild(what);
    const answer = async (value, label) => {
      box.querySelectorAll("button").forEach((b) => { b.disabled = true; });
      try { await api("/v1/approvals/" + event.id, { answer: value }); what.textContent += " " + label; }
      catch (error) { what.textContent += " " + error.message; }
    };
    for (const [value, label] of [["once", "Approve"], ["deny", "Deny"]]) {
      const button = document.createElement("button");
      button.type = "button";
      button.textContent = label;
      button.className = value === "once" ? "approve" : "deny";
      button.addEventListener("click", () => answer(value, label === "Approve" ? "approved" : "denied"));
      box.appendChild(button);
    }
    setTimeout(() => {
      if (!box.querySelector("button:disabled")) {
        box.querySelectorAll("button").forEach((b) => { b.disabled = true; });
        what.textContent += " (timed out: denied)";
      }
    }, event.timeout_s * 1000);
    list.insertBefore(box, before);
  }

  function handle(event, reply) {
    switch (event.type) {
      case "begun":
        statusLine.textContent = event.tier + " · " + event.model + " · session " + event.session_id;
        break;
      case "text":
        reply.textContent += event.text;
        break;
      case "notice":
        list.insertBefore(Object.assign(document.createElement("div"), { className: "msg notice", textContent: event.text }), reply);
        break;
      case "tool_call": {
        const fold = document.createElement("details");
        fold.className = "msg tool";
        fold.id = "call-" + event.call.id;
        const summary = document.createElement("summary");
        summary.textContent = event.call.name + " " + JSON.stringify(event.call.arguments) + " …";
        fold.appendChild(summary);
        list.insertBefore(fold, reply);
        break;
      }
      case "tool_result": {
        const fold = document.getElementById("call-" + event.call.id);
        if (!fold) break;
        const how = event.refused ? "refused" : event.is_error ? "failed" : "done";
        fold.classList.add(how);
        fold.querySelector("summary").textContent = event.call.name + ": " + how;
        const body = document.createElement("pre");
        body.textContent = event.content;
        fold.appendChild(body);
        break;
      }
      case "approval":
        approval(event, reply);
        break;
      case "final":
        reply.dataset.done = "yes";
        return render(reply, event.message.content);
      case "error":
        reply.remove();
        add("error", event.message + (event.hint ? " — " + event.hint : ""));
        break;
      default:
        break;
    }
    return null;
  }

  async function ask(text) {
    add("user", text);
    const reply = add("assistant", "");
    send.disabled = true;
    stop.hidden = false;
    try {
      const response = await Rung.call("POST", "/v1/chats/" + chat + "/messages", { text, interactive: true });
      await Rung.lines(response, (event) => handle(event, reply));
    } catch (error) {
      add("error", error.message);
    } finally {
      send.disabled = false;
      stop.hidden = true;
      input.focus();
    }
  }

  form.addEventListener("submit", (event) => {
    event.preventDefault();
    const text = input.value.trim();
    if (!text || !chat) return;
    input.value = "";
    ask(text);
  });
  input.addEventListener("keydown", (event) => {
    if (event.key === "Enter" && !event.shiftKey) {
      event.preventDefault();
      form.requestSubmit();
    }
  });
  stop.addEventListener("click", () => { if (chat) api("/v1/chats/" + chat + "/stop").catch(() => {}); });
  if (tier) {
    tier.addEventListener("change", async () => {
      try { show(await api("/v1/chats/" + chat + "/tier", { name: tier.value })); }
      catch (error) { add("error", error.message); }
    });
  }
  const modelForm = document.getElementById("model-form");
  if (modelForm) {
    modelForm.addEventListener("submit", async (event) => {
      event.preventDefault();
      try { show(await api("/v1/chats/" + chat + "/model", { name: document.getElementById("model").value.trim() })); }
      catch (error) { add("error", error.message); }
    });
  }
  if (filter) {
    // Every word said in a session, through /v1/sessions?q= (as you type, once you pause);
    // the matched words marked. An empty box shows the latest sessions again.
    const sessionList = document.getElementById("session-list");
    const latest = Array.from(sessionList.children);
    let typing = null;

    function marked(snippet) {
      const node = document.createElement("div");
      node.className = "meta snippet";
      snippet.split("\ue000").forEach((part, n) => {
        const [hit, rest] = n ? part.split("\ue001") : [null, part];
        if (hit !== null) {
          const mark = document.createElement("mark");
          mark.textContent = hit;
          node.appendChild(mark);
        }
        node.appendChild(document.createTextNode(rest || ""));
      });
      return node;
    }

    async function search() {
      const text = filter.value.trim();
      if (!text) { sessionList.replaceChildren(...latest); return; }
      try {
        const found = await (await Rung.call("GET", "/v1/sessions?q=" + encodeURIComponent(text))).json();
        if (filter.value.trim() !== text) return; // typed on meanwhile
        const rows = found.sessions.map((s) => {
          const row = document.createElement("li");
          const link = document.createElement("a");
          link.href = "/?session=" + s.id;
          link.textContent = s.title || "(untitled)";
          row.append(link, marked(s.snippet));
          return row;
        });
        if (!rows.length) {
          const none = document.createElement("li");
          none.className = "meta";
          none.textContent = "No session says that.";
          rows.push(none);
        }
        sessionList.replaceChildren(...rows);
        sessionList.dataset.query = text;
      } catch (error) {
        sessionList.replaceChildren(Object.assign(document.createElement("li"), { className: "error", textContent: error.message }));
      }
    }

    filter.addEventListener("input", () => {
      clearTimeout(typing);
      typing = setTimeout(search, 250);
    });
  }

  (async () => {
    try {
      const opened = await api("/v1/chats", { daemon_settings: true });
      chat = opened.chat;
      show(root.dataset.resume ? await api("/v1/chats/" + chat + "/resume", { session: root.dataset.resume }) : opened);
      root.dataset.ready = "yes";
    } catch (error) {
      statusLine.textContent = "The chat could not start: " + error.message;
    }
  })();
})();
