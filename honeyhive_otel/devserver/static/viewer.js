// honeyhive-otel devserver viewer. Vanilla JS, no build step, no external assets.
// Safety rule: event data only ever reaches the page through textContent / text nodes and
// setAttribute on data-* attributes; never innerHTML, never a URL or a style from the data.
"use strict";

(function () {
  const API = "/_dev/viewer/api";
  const REFRESH_MS = 3000;
  const state = { sessionId: null, sessionsJson: "", sessionJson: "", expanded: new Set(), timer: null };

  // ----- DOM helpers -----------------------------------------------------------------
  function el(tag, className, ...children) {
    const node = document.createElement(tag);
    if (className) node.className = className;
    for (const child of children) {
      if (child === null || child === undefined || child === false) continue;
      node.appendChild(child instanceof Node ? child : document.createTextNode(String(child)));
    }
    return node;
  }
  function clear(node) { while (node.firstChild) node.removeChild(node.firstChild); }
  function cssToken(value) { return String(value || "").toLowerCase().replace(/[^a-z0-9_-]/g, ""); }
  function isObject(value) { return value !== null && typeof value === "object" && !Array.isArray(value); }
  function isEmpty(value) {
    return value === null || value === undefined || (isObject(value) && Object.keys(value).length === 0) ||
      (Array.isArray(value) && value.length === 0);
  }
  function pretty(value) {
    if (typeof value === "string") {
      try { const parsed = JSON.parse(value); if (typeof parsed === "object" && parsed !== null) return JSON.stringify(parsed, null, 2); } catch (e) { /* not JSON */ }
      return value;
    }
    return JSON.stringify(value, null, 2);
  }
  function fmtTime(ms) {
    if (typeof ms !== "number") return "";
    const d = new Date(ms);
    return d.toLocaleString(undefined, { hour12: false }) + "." + String(d.getMilliseconds()).padStart(3, "0");
  }
  function fmtDuration(ms) {
    if (typeof ms !== "number" || !isFinite(ms)) return "";
    if (ms >= 1000) return (ms / 1000).toFixed(ms >= 10000 ? 1 : 2) + " s";
    return ms.toFixed(ms >= 100 ? 0 : 1) + " ms";
  }
  function setStatus(text) { document.getElementById("status").textContent = text; }

  async function getJson(path) {
    const response = await fetch(path, { cache: "no-store", headers: { Accept: "application/json" } });
    if (!response.ok) throw new Error(path + " answered " + response.status);
    return response.json();
  }

  // ----- sessions list ---------------------------------------------------------------
  async function loadSessions() {
    let data;
    try { data = await getJson(API + "/sessions?limit=200"); } catch (error) { setStatus(String(error)); return; }
    const json = JSON.stringify(data);
    setStatus("updated " + new Date().toLocaleTimeString(undefined, { hour12: false }));
    if (json === state.sessionsJson) return;
    state.sessionsJson = json;
    const list = document.getElementById("session-list");
    clear(list);
    const sessions = data.sessions || [];
    if (!sessions.length) list.appendChild(el("li", "empty", "No sessions yet. Point an exporter at this server."));
    for (const session of sessions) {
      const id = String(session.session_id || "");
      const button = el("button", "session-item",
        el("div", "session-name", session.session_name || session.event_name || "(unnamed session)"),
        el("div", "session-meta", fmtTime(session.start_time) + " · " + (session.source || "") + " · " + id.slice(0, 8)));
      button.type = "button";
      button.setAttribute("data-session-id", id);
      if (id === state.sessionId) button.classList.add("selected");
      button.addEventListener("click", () => { location.hash = "#/sessions/" + encodeURIComponent(id); });
      list.appendChild(el("li", null, button));
    }
  }

  function markSelected() {
    for (const item of document.querySelectorAll(".session-item")) {
      item.classList.toggle("selected", item.getAttribute("data-session-id") === state.sessionId);
    }
  }

  // ----- one session -----------------------------------------------------------------
  async function loadSession(force) {
    const id = state.sessionId;
    if (!id) return;
    let data;
    try { data = await getJson(API + "/sessions/" + encodeURIComponent(id)); } catch (error) {
      const detail = document.getElementById("detail");
      clear(detail);
      detail.appendChild(el("p", "empty", "Session " + id + " not found (" + error.message + ")."));
      state.sessionJson = "";
      return;
    }
    if (id !== state.sessionId) return;
    const json = JSON.stringify(data);
    if (!force && json === state.sessionJson) return;
    state.sessionJson = json;
    renderSession(data.session, data.events || []);
  }

  function renderSession(session, events) {
    const detail = document.getElementById("detail");
    const scroll = window.scrollY;
    clear(detail);
    const header = el("div", "session-header");
    header.appendChild(el("h2", null, (session && (session.session_name || session.event_name)) || "Session"));
    const starts = events.map((e) => e.start_time).filter((t) => typeof t === "number");
    const ends = events.map((e) => (typeof e.end_time === "number" ? e.end_time : e.start_time)).filter((t) => typeof t === "number");
    const t0 = starts.length ? Math.min(...starts) : 0;
    const t1 = ends.length ? Math.max(...ends) : t0;
    let tokens = 0;
    let cost = 0;
    for (const event of events) {
      const meta = event.metadata || {};
      if (event.event_type === "model" && typeof meta.total_tokens === "number") tokens += meta.total_tokens;
      if (event.event_type === "model" && typeof meta.cost === "number") cost += meta.cost;
    }
    const errors = events.filter((e) => e.error).length;
    const facts = el("div", "facts");
    const fact = (label, value) => facts.appendChild(el("span", null, label + " ", el("b", null, value)));
    fact("id", state.sessionId);
    if (session && session.source) fact("source", session.source);
    if (starts.length) fact("started", fmtTime(t0));
    fact("events", String(events.length));
    fact("span", fmtDuration(t1 - t0));
    if (tokens) fact("tokens", String(tokens));
    if (cost) fact("cost", "$" + cost.toFixed(6));
    if (errors) fact("errors", String(errors));
    header.appendChild(facts);
    if (session && !isEmpty(session.metadata)) header.appendChild(section("Session metadata", jsonBlock(session.metadata)));
    detail.appendChild(header);

    const tree = el("div", "tree");
    tree.setAttribute("role", "tree");
    if (!events.length) tree.appendChild(el("p", "empty", "No events in this session yet."));
    const ids = new Set(events.map((e) => e.event_id));
    const children = new Map();
    const ordered = events.slice().sort((a, b) => (a.start_time || 0) - (b.start_time || 0));
    for (const event of ordered) {
      const parent = ids.has(event.parent_id) && event.parent_id !== event.event_id ? event.parent_id : "";
      if (!children.has(parent)) children.set(parent, []);
      children.get(parent).push(event);
    }
    const seen = new Set();
    const walk = (parentId, depth) => {
      for (const event of children.get(parentId) || []) {
        if (seen.has(event.event_id)) continue; // cycles in hostile data
        seen.add(event.event_id);
        addRow(tree, event, depth, t0, Math.max(t1 - t0, 0.001));
        walk(event.event_id, depth + 1);
      }
    };
    walk("", 0);
    for (const event of ordered) if (!seen.has(event.event_id)) addRow(tree, event, 0, t0, Math.max(t1 - t0, 0.001));
    detail.appendChild(tree);
    window.scrollTo(0, scroll);
  }

  function addRow(tree, event, depth, t0, range) {
    const id = String(event.event_id);
    const type = cssToken(event.event_type);
    const row = el("div", "event-row");
    row.setAttribute("role", "treeitem");
    row.setAttribute("tabindex", "0");
    row.setAttribute("data-event-id", id);
    if (event.error) row.classList.add("has-error");
    const label = el("div", "event-label");
    label.style.paddingLeft = (Math.min(depth, 30) * 16) + "px";
    const caret = el("span", "caret", "▸");
    label.appendChild(caret);
    label.appendChild(el("span", "badge " + (["model", "tool", "chain"].includes(type) ? type : "other"), event.event_type || "?"));
    label.appendChild(el("span", "event-name", event.event_name || "(unnamed)"));
    if (event.error) label.appendChild(el("span", "badge error", "error"));
    row.appendChild(label);
    const track = el("div", "bar-track");
    const bar = el("div", "bar " + (event.error ? "error" : type));
    const start = typeof event.start_time === "number" ? event.start_time - t0 : 0;
    const duration = typeof event.duration === "number" ? event.duration : 0;
    bar.style.left = Math.max(0, Math.min(100, (start / range) * 100)) + "%";
    bar.style.width = Math.max(0.4, Math.min(100, (duration / range) * 100)) + "%";
    bar.title = fmtDuration(duration) + " from +" + fmtDuration(start);
    track.appendChild(bar);
    row.appendChild(track);
    row.appendChild(el("div", "duration", fmtDuration(duration)));
    tree.appendChild(row);
    const detail = el("div", "event-detail");
    detail.hidden = true;
    tree.appendChild(detail);
    const toggle = () => {
      const open = detail.hidden;
      detail.hidden = !open;
      row.classList.toggle("expanded", open);
      row.setAttribute("aria-expanded", String(open));
      caret.textContent = open ? "▾" : "▸";
      if (open) { state.expanded.add(id); if (!detail.firstChild) renderEvent(detail, event); } else state.expanded.delete(id);
    };
    row.addEventListener("click", toggle);
    row.addEventListener("keydown", (e) => { if (e.key === "Enter" || e.key === " ") { e.preventDefault(); toggle(); } });
    if (state.expanded.has(id)) toggle();
  }

  // ----- one event -------------------------------------------------------------------
  function section(title, ...content) {
    return el("div", "section", el("h3", null, title), ...content);
  }
  function jsonBlock(value) { return el("pre", "json", pretty(value)); }
  function sourceNotes(sources, prefix) {
    const notes = [];
    for (const [field, attribute] of Object.entries(sources || {})) {
      if (field === prefix || field.startsWith(prefix + ".")) notes.push(el("p", "source-note", field + " ← " + attribute));
    }
    return notes;
  }
  function kvTable(object) {
    const table = el("table", "kv");
    for (const [key, value] of Object.entries(object || {})) {
      table.appendChild(el("tr", null, el("td", null, key), el("td", "value", typeof value === "string" ? value : JSON.stringify(value))));
    }
    return table;
  }

  function renderEvent(container, event) {
    const meta = isObject(event.metadata) ? event.metadata : {};
    const otel = isObject(meta.otel) ? meta.otel : {};
    const sources = isObject(otel.sources) ? otel.sources : {};
    if (event.error) container.appendChild(section("Error", el("div", "error-box", String(event.error))));
    container.appendChild(section("Timing", kvTable({ start: fmtTime(event.start_time), end: fmtTime(event.end_time), duration: fmtDuration(event.duration) })));
    container.appendChild(renderInputs(event, sources));
    container.appendChild(renderOutputs(event, sources));
    if (!isEmpty(event.config)) container.appendChild(section("Config", ...sourceNotes(sources, "config"), kvTable(event.config)));
    const plain = {};
    for (const [key, value] of Object.entries(meta)) if (key !== "otel" && key !== "attributes") plain[key] = value;
    if (!isEmpty(plain)) container.appendChild(section("Metadata", ...sourceNotes(sources, "metadata"), kvTable(plain)));
    if (!isEmpty(meta.attributes)) container.appendChild(section("Unmapped span attributes (metadata.attributes)", jsonBlock(meta.attributes)));
    if (Object.keys(sources).length) {
      container.appendChild(section("Field sources (metadata.otel.sources)", kvTable(sources)));
    }
    const otelShown = {};
    for (const [key, value] of Object.entries(otel)) if (key !== "sources") otelShown[key] = value;
    if (!isEmpty(otelShown)) container.appendChild(section("OpenTelemetry (metadata.otel)", jsonBlock(otelShown)));
    for (const [name, title] of [["metrics", "Metrics"], ["user_properties", "User properties"], ["feedback", "Feedback"]]) {
      if (!isEmpty(event[name])) container.appendChild(section(title, kvTable(event[name])));
    }
    const raw = el("details", null, el("summary", null, "Raw event JSON"), jsonBlock(event));
    container.appendChild(raw);
  }

  function renderInputs(event, sources) {
    const inputs = isObject(event.inputs) ? event.inputs : {};
    const parts = [];
    const rest = {};
    for (const [key, value] of Object.entries(inputs)) {
      if (key === "chat_history" && Array.isArray(value)) parts.push(conversation(value));
      else if (key === "tools" && Array.isArray(value)) parts.push(el("div", "section", el("h3", null, "Tools offered"), toolDefinitions(value)));
      else rest[key] = value;
    }
    if (!isEmpty(rest)) parts.push(jsonBlock(rest));
    if (!parts.length) parts.push(el("p", "empty", "none"));
    return section("Inputs", ...sourceNotes(sources, "inputs"), ...parts);
  }

  function renderOutputs(event, sources) {
    const outputs = isObject(event.outputs) ? event.outputs : {};
    const parts = [];
    const looksLikeMessage = "role" in outputs || "tool_calls" in outputs || (event.event_type === "model" && "content" in outputs);
    if (looksLikeMessage) {
      const shown = { role: outputs.role || "assistant", content: outputs.content, tool_calls: outputs.tool_calls };
      parts.push(el("div", "conversation", message(shown)));
      if (outputs.finish_reason) parts.push(el("div", "finish", "finish_reason: " + outputs.finish_reason));
      const rest = {};
      for (const [key, value] of Object.entries(outputs)) {
        if (!["role", "content", "tool_calls", "finish_reason"].includes(key) && !isEmpty(value)) rest[key] = value;
      }
      if (!isEmpty(rest)) parts.push(jsonBlock(rest));
    } else if (!isEmpty(outputs)) {
      parts.push(jsonBlock(outputs));
    } else {
      parts.push(el("p", "empty", "none"));
    }
    return section("Outputs", ...sourceNotes(sources, "outputs"), ...parts);
  }

  function conversation(messages) {
    const box = el("div", "conversation");
    for (const item of messages) box.appendChild(message(item));
    return box;
  }

  function message(item) {
    if (!isObject(item)) return el("div", "msg", el("div", "msg-content", pretty(item)));
    const role = String(item.role || "unknown");
    const node = el("div", "msg role-" + cssToken(role));
    node.setAttribute("data-role", role);
    const head = el("div", "msg-head", el("span", "msg-role", role));
    if (item.name) head.appendChild(el("span", "msg-extra", "name: " + item.name));
    if (item.tool_call_id) head.appendChild(el("span", "msg-extra", "result of " + item.tool_call_id));
    node.appendChild(head);
    const content = item.content;
    if (Array.isArray(content)) {
      for (const part of content) node.appendChild(contentPart(part));
    } else if (content === null || content === undefined || content === "") {
      if (!Array.isArray(item.tool_calls) || !item.tool_calls.length) node.appendChild(el("div", "msg-content empty-content", "(no content)"));
    } else {
      node.appendChild(el("div", "msg-content", typeof content === "string" ? content : pretty(content)));
    }
    for (const call of Array.isArray(item.tool_calls) ? item.tool_calls : []) node.appendChild(toolCall(call));
    for (const [key, value] of Object.entries(item)) {
      if (!["role", "content", "tool_calls", "tool_call_id", "name"].includes(key) && !isEmpty(value)) {
        node.appendChild(el("div", "msg-extra", key + ": " + (typeof value === "string" ? value : JSON.stringify(value))));
      }
    }
    return node;
  }

  function contentPart(part) {
    if (isObject(part) && part.type === "text" && typeof part.text === "string") return el("div", "msg-content", part.text);
    if (isObject(part) && part.type === "image_url") {
      const url = isObject(part.image_url) ? part.image_url.url : part.image_url;
      const text = typeof url === "string" && url.startsWith("data:") ? url.slice(0, 40) + "…" : String(url);
      return el("div", "msg-content msg-extra", "[image] " + text);
    }
    return el("pre", "json", pretty(part));
  }

  function toolCall(call) {
    const fn = isObject(call) && isObject(call.function) ? call.function : (isObject(call) ? call : {});
    const box = el("div", "tool-call");
    box.appendChild(el("div", null, "→ tool call ", el("span", "tool-call-name", String(fn.name || "(unnamed)")),
      call && call.id ? el("span", "msg-extra", "  id " + call.id) : null));
    if (fn.arguments !== undefined && fn.arguments !== "") box.appendChild(el("pre", "json tool-call-arguments", pretty(fn.arguments)));
    return box;
  }

  function toolDefinitions(tools) {
    const list = el("div", "conversation");
    for (const tool of tools) {
      const fn = isObject(tool) && isObject(tool.function) ? tool.function : (isObject(tool) ? tool : {});
      const box = el("div", "tool-call", el("span", "tool-call-name", String(fn.name || "(unnamed)")),
        fn.description ? el("span", "msg-extra", "  " + fn.description) : null);
      if (fn.parameters) {
        const more = el("details", null, el("summary", null, "parameters"), jsonBlock(fn.parameters));
        box.appendChild(more);
      }
      list.appendChild(box);
    }
    return list;
  }

  // ----- routing and refresh ---------------------------------------------------------
  function route() {
    const match = /^#\/sessions\/(.+)$/.exec(location.hash);
    const id = match ? decodeURIComponent(match[1]) : null;
    if (id !== state.sessionId) { state.sessionId = id; state.sessionJson = ""; state.expanded.clear(); }
    markSelected();
    if (id) loadSession(true);
  }

  function refresh() { loadSessions(); if (state.sessionId) loadSession(false); }

  function schedule() {
    if (state.timer) clearInterval(state.timer);
    state.timer = document.getElementById("auto-refresh").checked ? setInterval(refresh, REFRESH_MS) : null;
  }

  window.addEventListener("hashchange", route);
  document.getElementById("refresh").addEventListener("click", refresh);
  document.getElementById("auto-refresh").addEventListener("change", schedule);
  loadSessions().then(route);
  schedule();
})();
