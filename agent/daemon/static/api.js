// What the page's scripts share: a call to the daemon's API (/api, by the page's cookie),
// and the lines of a streamed answer (NDJSON), each handed on as it comes.
"use strict";

window.Rung = {
  async call(method, path, body) {
    const options = { method, credentials: "same-origin", headers: {} };
    if (body !== undefined) {
      options.headers["Content-Type"] = "application/json";
      options.body = JSON.stringify(body);
    }
    const response = await fetch("/api" + path, options);
    if (!response.ok) {
      const data = await response.json().catch(() => ({}));
      throw new Error((data.error || response.statusText) + (data.hint ? " (" + data.hint + ")" : ""));
    }
    return response;
  },

  async lines(response, each) {
    const reader = response.body.getReader();
    const decoder = new TextDecoder();
    let buffer = "";
    for (;;) {
      const { value, done } = await reader.read();
      if (done) break;
      buffer += decoder.decode(value, { stream: true });
      let end;
      while ((end = buffer.indexOf("\n")) >= 0) {
        const line = buffer.slice(0, end);
        buffer = buffer.slice(end + 1);
        if (line.trim()) await each(JSON.parse(line));
      }
    }
  },
};
