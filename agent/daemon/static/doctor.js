// The Doctor page: the checks of `rung doctor`, run by the daemon (/api/v1/doctor), each
// shown as it is found, in colour: ✓ ok, ! a warning, ✗ a failure with the fix.
"use strict";

(() => {
  const $ = (id) => document.getElementById(id);
  const MARKS = { ok: "✓", warn: "!", fail: "✗" };

  function show(finding) {
    const row = document.createElement("li");
    row.className = "finding " + finding.status;
    row.dataset.check = finding.check;
    const mark = document.createElement("span");
    mark.className = "mark";
    mark.textContent = MARKS[finding.status] || "?";
    const check = document.createElement("strong");
    check.textContent = finding.check;
    const detail = document.createElement("span");
    detail.textContent = finding.detail;
    row.append(mark, check, detail);
    if (finding.hint && finding.status !== "ok") {
      const hint = document.createElement("div");
      hint.className = "meta hint";
      hint.textContent = "fix: " + finding.hint;
      row.appendChild(hint);
    }
    $("findings").appendChild(row);
  }

  async function check() {
    $("again").disabled = true;
    $("findings").replaceChildren();
    $("verdict").textContent = "Checking…";
    const counts = { ok: 0, warn: 0, fail: 0 };
    try {
      const response = await Rung.call("GET", "/v1/doctor");
      await Rung.lines(response, (finding) => {
        counts[finding.status] += 1;
        show(finding);
      });
      $("verdict").textContent = counts.fail
        ? counts.fail + " failed, " + counts.warn + " to look at."
        : counts.warn ? "Nothing failed; " + counts.warn + " to look at." : "All is well.";
    } catch (error) {
      $("verdict").textContent = "The checks could not run: " + error.message;
    } finally {
      $("again").disabled = false;
      $("findings").dataset.done = "yes";
    }
  }

  $("again").addEventListener("click", check);
  check();
})();
