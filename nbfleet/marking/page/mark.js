"use strict";
// The marking page: one question at a time, identical answers together, every mark saved at once through the API.
(() => {
  const token = document.querySelector('meta[name="nbfleet-token"]').content;
  const $ = (id) => document.getElementById(id);
  let overview = null, question = null, shown = [], current = 0;

  async function api(path, options = {}) {
    const response = await fetch(path, {...options, headers: {Authorization: "token " + token, "Content-Type": "application/json"}});
    const body = await response.json().catch(() => ({error: response.statusText}));
    if (!response.ok) { const e = new Error(body.error || response.statusText); e.status = response.status; e.body = body; throw e; }
    return body;
  }

  const fmt = (p) => (p === null || p === undefined) ? "–" : String(Math.round(p * 100) / 100);
  const showTests = () => $("show-tests").checked;
  const listed = () => overview.questions.filter((q) => q.by_hand || showTests());

  function say(text) { $("message").textContent = text || ""; }

  function drawOverall() {
    const mine = overview.questions.filter((q) => q.by_hand);
    const done = mine.reduce((n, q) => n + q.marked, 0), all = mine.reduce((n, q) => n + q.answers, 0);
    $("overall").textContent = mine.length
      ? `${done} of ${all} answers marked, over ${mine.length} question${mine.length > 1 ? "s" : ""} marked by hand`
      : "no question of this assignment is marked by hand: tick \u201cautograded tests too\u201d to review the tests";
  }

  function drawSelect() {
    const select = $("question"), wanted = question ? question.id : select.value;
    select.replaceChildren(...listed().map((q) => {
      const o = document.createElement("option");
      o.value = q.id;
      o.textContent = `${q.id} (${q.notebook}, ${fmt(q.max_points)} point${q.max_points === 1 ? "" : "s"}${q.by_hand ? "" : ", autograded"}): ${q.marked} of ${q.answers} marked`;
      return o;
    }));
    if (wanted && listed().some((q) => q.id === wanted)) select.value = wanted;
  }

  async function loadOverview() {
    overview = await api("api/questions");
    drawOverall();
    drawSelect();
  }

  function groupMark(g) {
    const ps = g.students.map((s) => s.points);
    const marked = ps.every((p) => p !== null && p !== undefined);
    const same = ps.every((p) => p === ps[0]);
    const comments = g.students.map((s) => s.comment);
    return {marked, points: same ? ps[0] : null, mixed: !same, comment: comments.every((c) => c === comments[0]) ? comments[0] : ""};
  }

  function drawProgress() {
    const students = question.groups.flatMap((g) => g.students);
    const done = students.filter((s) => s.points !== null && s.points !== undefined).length;
    $("progress").textContent = `${done} of ${students.length} marked`;
    const q = overview.questions.find((x) => x.id === question.id);
    if (q) { q.marked = done; drawOverall(); drawSelect(); }
  }

  function drawCard(li) {
    const g = shown[Number(li.dataset.index)], m = groupMark(g);
    li.classList.toggle("marked", m.marked);
    li.querySelector(".state").textContent = m.mixed ? "marked differently" : (m.marked ? `${fmt(m.points)} / ${fmt(question.max_points)} points` : "not marked yet");
    const input = li.querySelector("input.points");
    if (document.activeElement !== input) input.value = m.mixed || !m.marked ? "" : fmt(m.points);
    const area = li.querySelector("textarea");
    if (document.activeElement !== area) area.value = m.comment;
    li.querySelector(".who").textContent = g.students.map((s) => s.id).join(", ");
    li.querySelector(".who").hidden = !$("show-names").checked;
    const auto = g.students[0];
    li.querySelector(".auto").textContent = question.by_hand ? (auto.why && auto.autograded !== null ? `nbfleet: ${auto.why}` : "")
      : `autograded: ${fmt(auto.autograded)} / ${fmt(question.max_points)}${auto.why ? " (" + auto.why + ")" : ""}`;
  }

  function card(g, i, total) {
    const li = document.createElement("li");
    li.className = "answer";
    li.dataset.index = i;
    li.tabIndex = -1;
    const head = document.createElement("div");
    head.className = "head";
    const label = document.createElement("strong");
    label.textContent = `Answer ${i + 1} of ${total}`;
    const count = document.createElement("span");
    count.textContent = g.students.length > 1 ? `${g.students.length} students gave this answer` : "1 student";
    const who = document.createElement("span");
    who.className = "who";
    const state = document.createElement("span");
    state.className = "state";
    head.append(label, count, who, state);
    const body = document.createElement("div");
    body.className = "body";
    body.innerHTML = g.html; // cleaned by the server (nbfleet.grading.sanitize); the page's CSP runs no other script
    const auto = document.createElement("p");
    auto.className = "auto";
    const controls = document.createElement("div");
    controls.className = "controls";
    const points = document.createElement("input");
    points.className = "points"; points.type = "number"; points.min = "0"; points.max = String(question.max_points); points.step = "any";
    points.setAttribute("aria-label", "points");
    const of = document.createElement("span");
    of.textContent = `/ ${fmt(question.max_points)}`;
    const comment = document.createElement("textarea");
    comment.placeholder = "comment for the student (c)";
    comment.setAttribute("aria-label", "comment");
    const save = document.createElement("button");
    save.textContent = "Save";
    save.addEventListener("click", () => saveFrom(li));
    li.addEventListener("click", () => select(i, false));
    controls.append(points, of, comment, save);
    li.append(head, body, auto, controls);
    return li;
  }

  function draw() {
    $("question-title").textContent = `${question.id}: ${fmt(question.max_points)} point${question.max_points === 1 ? "" : "s"}` +
      (question.by_hand ? "" : " (an autograded test: a mark here overrides it)");
    $("prompt").innerHTML = question.prompt; // cleaned by the server
    say("");
    const openOnly = $("open-only").checked;
    shown = question.groups.filter((g) => !openOnly || !groupMark(g).marked);
    $("answers").replaceChildren(...shown.map((g, i) => card(g, i, shown.length)));
    for (const li of $("answers").children) drawCard(li);
    drawProgress();
    if (!shown.length) say(openOnly ? "every answer to this question is marked" : "no answers");
    select(Math.min(current, Math.max(shown.length - 1, 0)), false);
  }

  async function loadQuestion(id, keepPlace = false) {
    if (!keepPlace) current = 0;
    question = await api("api/questions/" + encodeURIComponent(id));
    history.replaceState(null, "", "#q=" + encodeURIComponent(id));
    draw();
  }

  function select(i, scroll = true) {
    const cards = $("answers").children;
    if (!cards.length) return;
    current = Math.max(0, Math.min(i, cards.length - 1));
    for (const li of cards) li.classList.toggle("current", Number(li.dataset.index) === current);
    if (scroll) cards[current].scrollIntoView({block: "center"});
  }

  async function save(i, points, comment) {
    const g = shown[i];
    const li = $("answers").children[i];
    say("");
    try {
      for (const s of g.students) {
        const expected = s.marked_by_hand ? {points: s.points, comment: s.comment} : null;
        const saved = await api(`api/marks/${encodeURIComponent(question.id)}/${encodeURIComponent(s.id)}`,
          {method: "PUT", body: JSON.stringify({points, comment, expected})});
        Object.assign(s, saved);
      }
    } catch (e) {
      say(e.message);
      if (e.status === 409) await loadQuestion(question.id, true);
      return false;
    } finally {
      if (li) drawCard(li);
      drawProgress();
    }
    return true;
  }

  function saveFrom(li) {
    const i = Number(li.dataset.index), text = li.querySelector("input.points").value.trim();
    const points = text === "" ? null : Number(text);
    if (points !== null && (!Number.isFinite(points) || points < 0 || points > question.max_points)) {
      say(`points must be a number from 0 to ${fmt(question.max_points)}`);
      return Promise.resolve(false);
    }
    return save(i, points, li.querySelector("textarea").value);
  }

  document.addEventListener("keydown", async (event) => {
    const target = event.target, cards = $("answers").children;
    if (target instanceof HTMLTextAreaElement || target instanceof HTMLInputElement && target.type === "number") {
      const li = target.closest("li.answer");
      if (event.key === "Escape") { target.blur(); return; }
      if (event.key === "Enter" && !event.shiftKey && li) {
        event.preventDefault();
        target.blur();
        if (await saveFrom(li)) select(Number(li.dataset.index) + 1);
      }
      return;
    }
    if (target instanceof HTMLSelectElement || event.ctrlKey || event.metaKey || event.altKey) return;
    const key = event.key;
    if (key === "j" || key === "ArrowDown") { event.preventDefault(); select(current + 1); }
    else if (key === "k" || key === "ArrowUp") { event.preventDefault(); select(current - 1); }
    else if (/^[0-9]$/.test(key) && cards.length) {
      const points = Number(key);
      if (points > question.max_points) { say(`${points} is more than ${fmt(question.max_points)}, what this question is worth`); return; }
      const li = cards[current];
      if (await save(current, points, li.querySelector("textarea").value)) select(current + 1);
    } else if (key === "c" && cards.length) { event.preventDefault(); cards[current].querySelector("textarea").focus(); }
    else if (key === "u") { $("open-only").checked = !$("open-only").checked; current = 0; draw(); }
    else if (key === "n") { $("show-names").checked = !$("show-names").checked; for (const li of cards) drawCard(li); }
    else if (key === "[" || key === "]") {
      const qs = listed(), at = qs.findIndex((q) => q.id === question.id), next = qs[at + (key === "]" ? 1 : -1)];
      if (next) { $("question").value = next.id; await loadQuestion(next.id); }
    }
  });

  $("question").addEventListener("change", () => loadQuestion($("question").value));
  $("open-only").addEventListener("change", () => { current = 0; draw(); });
  $("show-names").addEventListener("change", () => { for (const li of $("answers").children) drawCard(li); });
  $("show-tests").addEventListener("change", drawSelect);

  (async () => {
    try {
      await loadOverview();
      const fromHash = new URLSearchParams(location.hash.slice(1)).get("q");
      const first = (fromHash && overview.questions.some((q) => q.id === fromHash)) ? fromHash : (listed()[0] || overview.questions[0] || {}).id;
      if (fromHash && !listed().some((q) => q.id === fromHash)) { $("show-tests").checked = true; drawSelect(); }
      if (first) { $("question").value = first; await loadQuestion(first); }
      document.body.dataset.ready = "yes";
    } catch (e) { say(e.message); }
  })();
})();
