// The playground page: controls -> websocket -> frames -> views. Everything is drawn
// here from the frame's numbers; the server only trains and looks. No library, no
// request leaves this machine.
"use strict";

const SETTINGS = ["task", "symbols", "table", "task_seed", "hidden", "activation", "head",
  "bias", "optimizer", "lr", "logit_scale", "population", "seed"];
const $ = (id) => document.getElementById(id);
const SVG_NS = "http://www.w3.org/2000/svg";

const state = {
  config: null, ws: null, info: null, frame: null, history: [], net: 0,
  playing: false, speed: 0, edits: [], step: 0, drag: null, editing: null, walk: null,
};

// ---- colours: the same rule as bottlenet.draw.common.signed_colour -----------------

function signedColour(value, scale) {
  let x = scale <= 0 ? 0 : Math.min(1, Math.max(-1, value / scale));
  x = x !== 0 ? Math.sign(x) * (0.25 + 0.75 * Math.abs(x)) : 0;
  const table = state.config.colours.scale;
  const n = table.length;
  return table[Math.min(n - 1, Math.floor((0.5 + 0.5 * x) * n))];
}

function outputHue(j, n) { return `hsl(${(j * 360 / Math.max(n, 1) + 200) % 360}, 60%, 82%)`; }

const fmt = (v, d = 3) => (v === null || v === undefined ? "nan" : Number(v).toFixed(d));

// ---- settings <-> controls <-> URL --------------------------------------------------

function readControls() {
  const s = {};
  for (const name of SETTINGS) {
    const el = $(name);
    if (el.type === "checkbox") s[name] = el.checked;
    else if (el.type === "number") s[name] = el.value === "" ? null : Number(el.value);
    else if (name === "hidden") s[name] = parseHidden(el.value);
    else s[name] = el.value;
  }
  return s;
}

// "2" -> 2 (one hidden layer), "3,3" -> [3, 3] (several); anything else goes to the
// server as it is, which says what is wrong
function parseHidden(text) {
  const parts = String(text).split(",").map((t) => t.trim());
  const nums = parts.map(Number);
  if (parts.some((t) => t === "" || !Number.isInteger(Number(t)))) return text;
  return nums.length === 1 ? nums[0] : nums;
}

function writeControls(s) {
  for (const name of SETTINGS) {
    if (!(name in s)) continue;
    const el = $(name);
    if (el.type === "checkbox") el.checked = !!s[name];
    else el.value = Array.isArray(s[name]) ? s[name].join(",") : s[name];
  }
  $("table-box").hidden = $("task").value !== "table";
  $("symbols").disabled = $("task").value === "table";
}

function parseHash() {
  const p = new URLSearchParams(location.hash.slice(1));
  const d = state.config.defaults;
  const s = {};
  for (const name of SETTINGS) {
    if (!p.has(name)) continue;
    const v = p.get(name);
    if (typeof d[name] === "boolean") s[name] = v === "1" || v === "true";
    else if (name === "hidden") s[name] = parseHidden(v);
    else if (typeof d[name] === "number") s[name] = Number(v);
    else s[name] = v;
  }
  let edits = [];
  try { edits = JSON.parse(p.get("edits") || "[]"); } catch (e) { edits = []; }
  return { settings: s, speed: p.has("speed") ? Number(p.get("speed")) : null,
    net: Number(p.get("net") || 0),
    step: Number(p.get("step") || 0), edits };
}

function writeHash() {
  if (!state.info) return;
  const s = state.info.settings;
  const p = new URLSearchParams();
  for (const name of SETTINGS) {
    if (name === "table" && s.task !== "table") continue;
    if (name === "symbols" && s.task === "table") continue;
    p.set(name, typeof s[name] === "boolean" ? (s[name] ? "1" : "0") : s[name]);
  }
  p.set("speed", state.speed);
  p.set("net", state.net);
  p.set("step", state.step);
  if (state.edits.length) p.set("edits", JSON.stringify(state.edits));
  history.replaceState(null, "", "#" + p.toString());
}

// ---- the connection -----------------------------------------------------------------

function send(msg) {
  if (state.ws && state.ws.readyState === WebSocket.OPEN) state.ws.send(JSON.stringify(msg));
}

function showError(text) {
  $("error").textContent = text;
  $("error").hidden = !text;
}

function configure(extra = {}) {
  showError("");
  state.info = null;
  setButtons(false);
  $("status").textContent = state.started ? "building the networks..."
    : "starting the engine: the first run compiles its programs (a few seconds)...";
  state.started = true;
  send({ type: "configure", settings: readControls(), net: state.net, ...extra });
}

function connect(initial) {
  const ws = new WebSocket(`${location.protocol === "https:" ? "wss" : "ws"}://${location.host}/ws`);
  state.ws = ws;
  ws.onopen = () => {
    send({ type: "speed", steps_per_s: state.speed });
    configure({ step: initial.step, edits: initial.edits });
  };
  ws.onmessage = (ev) => receive(JSON.parse(ev.data));
  ws.onclose = () => {
    setButtons(false);
    $("status").textContent = "disconnected: reload the page to start again";
  };
}

function receive(msg) {
  if (msg.type === "error") {
    showError(msg.message);
    if (!state.info) $("status").textContent = "not running: change the settings";
  } else if (msg.type === "ready") {
    state.info = msg;
    state.history = [];
    state.edits = msg.edits || [];  // a link's edits, as the server replayed them
    writeControls(msg.settings);
    setButtons(true);
    $("walk").hidden = true;
    $("editor").hidden = true;
  } else if (msg.type === "frame") {
    onFrame(msg);
  } else if (msg.type === "file") {
    download(msg.name, msg.data);
  } else if (msg.type === "edited") {
    state.edits.push(msg.edit);  // [the step the server applied it at, ...op]
    writeHashSoon();
  } else if (msg.type === "status") {
    $("status").textContent = msg.message;  // a replay's progress, a wait for a slot
  }
}

function setButtons(on) {
  for (const id of ["play", "step", "reset"]) $(id).disabled = !on;
}

// ---- frames -------------------------------------------------------------------------

function onFrame(f) {
  if (!state.info) return;
  if (f.step < state.step || f.step === 0) state.history = state.history.filter((h) => h.step < f.step);
  if (f.edits < state.edits.length) state.edits = state.edits.slice(0, f.edits);
  const bytes = Uint8Array.from(atob(f.net.outputs), (c) => c.charCodeAt(0));
  const nOut = state.info.spec.n_out;
  f.net.outputs = Array.from({ length: state.info.spec.n_in }, (_, i) =>
    Array.from(bytes.subarray(i * nOut, (i + 1) * nOut), (b) => b / 255));
  state.frame = f;
  state.step = f.step;
  state.net = f.net.index;
  state.playing = f.playing;
  const last = state.history[state.history.length - 1];
  if (!last || last.step < f.step) {
    state.history.push({ step: f.step, loss: f.population.loss, acc: f.population.accuracy,
      netLoss: f.net.loss, netAcc: f.net.accuracy });
    if (state.history.length > 3000) state.history = state.history.filter((_, i) => i % 2 === 0);
  }
  $("play").textContent = f.playing ? "pause" : "play";
  $("net").value = f.net.index;
  $("net").max = f.population.size - 1;
  const p = f.population;
  $("status").textContent = `step ${f.step.toLocaleString()}` +
    (f.playing ? ` · ${f.rate.toLocaleString()} steps/s` : " · paused") +
    ` · solved ${p.solved}/${p.size}` + (p.diverged ? ` · diverged ${p.diverged}` : "") +
    ` · network ${f.net.index}: accuracy ${(100 * f.net.accuracy).toFixed(0)}%` +
    (f.net.solved ? " (solved)" : "");
  $("step-count").textContent = `step ${f.step.toLocaleString()}`;
  $("status").dataset.accuracy = f.net.accuracy;
  $("status").dataset.step = f.step;
  drawNetworks(f);
  drawDiagram(f);
  if (!state.drag) drawSpace(f);
  drawCurves();
  drawGrid(f);
  if (state.walk !== null) drawWalk(state.walk);
  writeHashSoon();
  // Flow control: the server sends the next frame once this one is on the screen
  requestAnimationFrame(() => send({ type: "drawn" }));
}

let hashTimer = null;
function writeHashSoon() {
  if (hashTimer) return;
  hashTimer = setTimeout(() => { hashTimer = null; writeHash(); }, state.playing ? 400 : 0);
}

function drawNetworks(f) {
  const box = $("networks");
  const acc = f.population.accuracy_each;
  if (box.children.length !== acc.length) {
    box.innerHTML = "";
    acc.forEach((_, i) => {
      const s = document.createElement("span");
      s.dataset.net = i;
      s.addEventListener("click", () => select(i));
      box.appendChild(s);
    });
  }
  acc.forEach((a, i) => {
    const s = box.children[i];
    const solved = a === 1;
    s.style.background = solved ? state.config.colours.win : `hsl(0, 0%, ${90 - 60 * (a || 0)}%)`;
    s.className = i === f.net.index ? "selected" : "";
    s.title = `network ${i}: accuracy ${(100 * (a || 0)).toFixed(0)}%, loss ${fmt(f.population.loss_each[i], 4)}`;
  });
}

function select(i) {
  state.net = i;
  send({ type: "select", net: i });
}

// ---- the diagram (the rules of bottlenet draw) ----------------------------------------

function layerScale(w) {
  let m = 0;
  for (const row of w) for (const v of row) if (v !== null) m = Math.max(m, Math.abs(v));
  return m || 1;
}

function el(name, attrs, parent) {
  const e = document.createElementNS(SVG_NS, name);
  for (const [k, v] of Object.entries(attrs)) e.setAttribute(k, v);
  if (parent) parent.appendChild(e);
  return e;
}

function drawDiagram(f) {
  const svg = $("diagram");
  const info = state.info;
  const spec = info.spec;
  const sizes = [spec.n_in, ...spec.hidden, spec.n_out];
  const layers = f.net.layers;
  const tallest = Math.max(...sizes);
  const numbers = Math.max(spec.n_in, spec.n_out) > state.config.numbers_above && spec.hidden.length === 1;
  const H = Math.max(300, 13 * tallest + 40);
  const W = 560;
  svg.setAttribute("viewBox", `0 0 ${W} ${H}`);
  svg.style.height = "auto";  // its width is the view's; the height follows the viewBox
  svg.innerHTML = "";
  const xs = sizes.map((_, c) => 110 + c * (W - 220) / (sizes.length - 1));
  const ys = sizes.map((size, c) => {
    let span = (size - 1) / Math.max(tallest - 1, 1);
    if (c > 0 && c < sizes.length - 1) span = Math.min(0.8, 0.3 * (size - 1));
    return Array.from({ length: size }, (_, i) =>
      H / 2 + (size > 1 ? (i / (size - 1) - 0.5) * span : 0) * (H - 40));
  });
  const scales = layers.map((l) => layerScale(l.w));
  const lines = el("g", { id: "lines" }, svg);
  layers.forEach((layer, li) => {
    layer.w.forEach((row, i) => row.forEach((w, j) => {
      const rel = Math.abs(w || 0) / scales[li];
      // width by magnitude, at least about 0.75 px on screen: a weak line stays easy to
      // hover and click (its pale colour says it is weak)
      const line = el("line", {
        x1: xs[li], y1: ys[li][i], x2: xs[li + 1], y2: ys[li + 1][j],
        stroke: signedColour(w || 0, scales[li]), "stroke-width": 1.0 + 3.0 * rel,
        "data-layer": li, "data-i": i, "data-j": j, "data-w": w, "data-scale": scales[li],
        "data-tip": `${nodeName(li, i)} → ${nodeName(li + 1, j)}: w = ${fmt(w, 4)}`,
      }, lines);
      if (numbers) line.setAttribute("stroke-opacity", 0.35);
      line.addEventListener("click", () => openEditor(["w", li, i, j], w,
        `weight ${nodeName(li, i)} → ${nodeName(li + 1, j)}`));
    }));
  });
  const nodes = el("g", { id: "nodes" }, svg);
  sizes.forEach((size, c) => {
    for (let i = 0; i < size; i++) {
      const bias = c > 0 && layers[c - 1].b ? layers[c - 1].b[i] : null;
      const r = size > 40 ? 3 : 6;
      const circle = el("circle", {
        cx: xs[c], cy: ys[c][i], r, fill: bias === null ? "#ffffff" : signedColour(bias, scales[c - 1]),
        "data-col": c, "data-index": i,
        "data-tip": nodeName(c, i) + (bias === null ? "" : `: bias ${fmt(bias, 4)}`),
      }, nodes);
      if (c === 0) circle.addEventListener("click", () => openWalk(i));
      else if (bias !== null) circle.addEventListener("click", () => openEditor(["b", c - 1, i], bias,
        `bias of ${nodeName(c, i)}`));
      const label = c === 0 ? info.task.in_names[i] : c === sizes.length - 1 ? info.task.out_names[i] : `h${i + 1}`;
      const left = c === 0;
      let text = label;
      if (numbers && c === 0 && f.net.codes) text = articleNumbers(f.net.codes[i], true) + "  " + label;
      if (numbers && c === sizes.length - 1) text = label + "  " + articleNumbers(layers[layers.length - 1].w.map((row) => row[i]), false);
      const t = el("text", { x: xs[c] + (left ? -r - 4 : r + 4), y: ys[c][i] + 3,
        "text-anchor": left ? "end" : "start" }, nodes);
      t.textContent = text;
      if (c > 0 && c < sizes.length - 1) { t.setAttribute("x", xs[c]); t.setAttribute("y", ys[c][i] - 9); t.setAttribute("text-anchor", "middle"); }
    }
  });
  $("diagram-note").textContent = numbers
    ? "numbers: left, each input's code x 10 (or its weights); right, each output's weights from h1, h2, ..."
    : "click a line or a unit to set its value; click an input for its walkthrough";
}

function articleNumbers(values, code) {
  const [lo, hi] = state.info.activation;
  const squash = lo === -1 && hi === 1;
  const v = values.map((x) => (code && squash ? 10 * x : x) || 0);
  const digits = Math.max(...v.map(Math.abs)) >= 9.5 ? 0 : 1;
  return v.map((x) => (x >= 0 ? "+" : "") + x.toFixed(digits)).join(" ");
}

function nodeName(col, i) {
  const spec = state.info.spec;
  const last = spec.hidden.length + 1;
  if (col === 0) return `input ${state.info.task.in_names[i]}`;
  if (col === last) return `output ${state.info.task.out_names[i]}`;
  return `h${i + 1}`;
}

// ---- hands on the weights -------------------------------------------------------------

function openEditor(target, value, label) {
  state.editing = target;
  $("editor-label").textContent = label;
  $("edit-value").value = value === null ? "" : value;
  $("editor").hidden = false;
  $("edit-value").focus();
}

function applyEdit() {
  const v = Number($("edit-value").value);
  if ($("edit-value").value === "" || !Number.isFinite(v)) { showError("a weight must be a number"); return; }
  const [kind, ...where] = state.editing;
  const op = [kind, state.net, ...where, v];
  sendEdit(op);
}

function sendEdit(op) {
  showError("");
  send({ type: "edit", op });  // kept for the link once the server says at which step
}

function openWalk(i) {
  state.walk = i;
  drawWalk(i);
}

function drawWalk(i) {
  const f = state.frame;
  const info = state.info;
  const layers = f.net.layers;
  const out = layers[layers.length - 1];
  const h = f.net.codes && f.net.codes.length && f.net.codes[i].length ? f.net.codes[i] : null;
  const rows = [];
  for (let j = 0; j < info.spec.n_out; j++) {
    const terms = h ? h.map((hu, u) => hu * out.w[u][j]) : [out.w[i][j]];
    const b = out.b ? out.b[j] : 0;
    rows.push({ j, terms, b, sum: terms.reduce((a, x) => a + x, 0) + b });
  }
  rows.sort((a, b) => b.sum - a.sum);
  const pairAt = info.task.inputs.indexOf(i);
  const target = pairAt >= 0 ? info.task.solve_targets[pairAt] : -1;
  const head = h ? h.map((_, u) => `<th>h${u + 1}·w</th>`).join("") : "<th>w</th>";
  const body = rows.slice(0, 12).map((r, k) =>
    `<tr class="${k === 0 ? "win" : ""} ${r.j === target ? "target" : ""}"><td>${escape(info.task.out_names[r.j])}</td>` +
    r.terms.map((t) => `<td>${fmt(t, 2)}</td>`).join("") + `<td>${fmt(r.b, 2)}</td><td>${fmt(r.sum, 2)}</td></tr>`).join("");
  const code = h ? `code (${h.map((x) => fmt(x, 2)).join(", ")})` : "no hidden units";
  $("walk").innerHTML = `<b>input ${escape(info.task.in_names[i])}</b>: ${code}; the output with the largest sum wins` +
    ` <button type="button" id="walk-close">close</button>` +
    `<table><tr><th>output</th>${head}<th>bias</th><th>sum</th></tr>${body}</table>` +
    (rows.length > 12 ? `<small>${rows.length - 12} more outputs below</small>` : "");
  $("walk").hidden = false;
  $("walk-close").addEventListener("click", () => { state.walk = null; $("walk").hidden = true; });
}

function escape(text) {
  return String(text).replace(/[&<>"]/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;" })[c]);
}

// ---- the hidden space ------------------------------------------------------------------

function spaceBounds(codes) {
  const [lo, hi] = state.info.activation;
  if (lo !== null && hi !== null) {
    const pad = 0.1 * (hi - lo);
    return [lo - pad, hi + pad];
  }
  let m = 1;
  for (const c of codes) for (const v of c) if (v !== null) m = Math.max(m, Math.abs(v));
  return lo === null ? [-1.15 * m, 1.15 * m] : [lo - 0.1 * m, 1.15 * m];
}

function drawSpace(f, moved) {
  const canvas = $("space");
  const ctx = canvas.getContext("2d");
  const W = canvas.width;
  ctx.clearRect(0, 0, W, W);
  const layers = state.info.spec.hidden;
  const k = layers.length ? layers[layers.length - 1] : 0;  // the plane the outputs read
  if (!k) {
    $("space-note").textContent = "(no hidden units)";
    return;
  }
  const codes = f.net.codes.map((c) => c.slice());
  if (moved) codes[moved.i] = moved.code;
  const [lo, hi] = spaceBounds(codes);
  const toPx = (v) => ((v - lo) / (hi - lo)) * W;
  const out = f.net.layers[f.net.layers.length - 1];  // the output layer reads this plane
  const n = state.info.spec.n_out;
  const y2 = (c) => (k >= 2 ? c[1] : 0);
  const where = new Map();  // output -> [sum x, sum y, cells] of its region, for its label
  if (k <= 2) {  // decision regions: which output wins at each point of the plane
    const cells = 76;
    const step = W / cells;
    for (let a = 0; a < cells; a++) {
      for (let b = 0; b < cells; b++) {
        const x = lo + ((a + 0.5) / cells) * (hi - lo);
        const y = hi - ((b + 0.5) / cells) * (hi - lo);
        let best = -Infinity;
        let win = 0;
        for (let j = 0; j < n; j++) {
          const s = out.w[0][j] * x + (k === 2 ? out.w[1][j] * y : 0) + (out.b ? out.b[j] : 0);
          if (s > best) { best = s; win = j; }
        }
        ctx.fillStyle = outputHue(win, n);
        ctx.fillRect(a * step, b * step, step + 1, step + 1);
        const c = where.get(win) || [0, 0, 0];
        where.set(win, [c[0] + a * step, c[1] + b * step, c[2] + 1]);
      }
    }
  }
  ctx.font = "italic 11px system-ui";
  ctx.fillStyle = "#666";
  for (const [j, [sx, sy, count]] of where) {
    if (count >= 6) ctx.fillText(`→${state.info.task.out_names[j]}`, sx / count, sy / count);
  }
  ctx.strokeStyle = "#bbb";
  ctx.beginPath();
  ctx.moveTo(toPx(0), 0); ctx.lineTo(toPx(0), W);
  ctx.moveTo(0, W - toPx(0)); ctx.lineTo(W, W - toPx(0));
  ctx.stroke();
  ctx.font = "11px system-ui";
  codes.forEach((c, i) => {
    const x = toPx(c[0]);
    const y = W - toPx(y2(c));
    const pairAt = state.info.task.inputs.indexOf(i);
    const ok = pairAt < 0 || f.net.wins[i] === state.info.task.solve_targets[pairAt];
    ctx.fillStyle = ok ? "#222" : "#b2182b";
    ctx.beginPath(); ctx.arc(x, y, 4, 0, 2 * Math.PI); ctx.fill();
    ctx.fillText(state.info.task.in_names[i], x + 6, y - 4);
  });
  const drag = layers.length === 1 ? " Drag a code." : "";
  const layer = layers.length > 1 ? ` of the last of ${layers.length} hidden layers` : "";
  $("space-note").textContent = (k === 2
    ? `input codes (h1, h2)${layer}; background: the output that wins there.`
    : k === 1 ? `input codes on h1${layer}; background: the output that wins there.`
      : `input codes on h1, h2 of ${k} units${layer} (a projection).`) + drag;
  canvas._map = { lo, hi, W, k, codes };
  if ($("units-box").open) drawUnits(out, lo, hi, k);
}

const UNITS_SHOWN = 24;
const UNIT_CELLS = 32;

// Each output unit's softmax probability over the hidden plane (the last hidden layer,
// its first two units), as small heatmaps: where each output rises and where it dies.
function drawUnits(out, lo, hi, k) {
  const n = state.info.spec.n_out;
  const box = $("units");
  const shown = Math.min(n, UNITS_SHOWN);
  if (box.childElementCount !== shown) {
    box.innerHTML = Array.from({ length: shown }, (_, j) =>
      `<figure><canvas width="${UNIT_CELLS}" height="${UNIT_CELLS}"></canvas>` +
      `<figcaption>${state.info.task.out_names[j]}</figcaption></figure>`).join("");
  }
  const canvases = box.querySelectorAll("canvas");
  const images = Array.from({ length: shown }, () => new ImageData(UNIT_CELLS, UNIT_CELLS));
  const sums = new Float64Array(n);
  for (let b = 0; b < UNIT_CELLS; b++) {
    for (let a = 0; a < UNIT_CELLS; a++) {
      const x = lo + ((a + 0.5) / UNIT_CELLS) * (hi - lo);
      const y = hi - ((b + 0.5) / UNIT_CELLS) * (hi - lo);
      let top = -Infinity;
      for (let j = 0; j < n; j++) {
        sums[j] = out.w[0][j] * x + (k >= 2 ? out.w[1][j] * y : 0) + (out.b ? out.b[j] : 0);
        top = Math.max(top, sums[j]);
      }
      let total = 0;
      for (let j = 0; j < n; j++) total += Math.exp(sums[j] - top);
      for (let j = 0; j < shown; j++) {
        const g = Math.round(255 - 200 * Math.exp(sums[j] - top) / total);
        images[j].data.set([g, g, 255, 255], 4 * (b * UNIT_CELLS + a));
      }
    }
  }
  images.forEach((img, j) => canvases[j].getContext("2d").putImageData(img, 0, 0));
}

function spacePoint(ev) {
  const canvas = $("space");
  const r = canvas.getBoundingClientRect();
  const m = canvas._map;
  const px = ((ev.clientX - r.left) / r.width) * m.W;
  const py = ((ev.clientY - r.top) / r.height) * m.W;
  return { px, py, x: m.lo + (px / m.W) * (m.hi - m.lo), y: m.lo + ((m.W - py) / m.W) * (m.hi - m.lo) };
}

function setupSpaceDrag() {
  const canvas = $("space");
  canvas.addEventListener("mousedown", (ev) => {
    const m = canvas._map;
    if (!m || !state.frame || state.info.spec.hidden.length !== 1) return;  // codes of one layer
    const p = spacePoint(ev);
    let best = -1;
    let dist = 10;
    m.codes.forEach((c, i) => {
      const x = ((c[0] - m.lo) / (m.hi - m.lo)) * m.W;
      const y = m.W - (((m.k >= 2 ? c[1] : 0) - m.lo) / (m.hi - m.lo)) * m.W;
      const d = Math.hypot(x - p.px, y - p.py);
      if (d < dist) { dist = d; best = i; }
    });
    if (best >= 0) state.drag = { i: best, code: m.codes[best].slice() };
  });
  canvas.addEventListener("mousemove", (ev) => {
    if (!state.drag) return;
    const p = spacePoint(ev);
    state.drag.code[0] = p.x;
    if (canvas._map.k >= 2) state.drag.code[1] = p.y;
    drawSpace(state.frame, state.drag);
  });
  const drop = () => {
    if (!state.drag) return;
    const d = state.drag;
    state.drag = null;
    sendEdit(["code", state.net, d.i, d.code.map((v) => Number(v.toFixed(4)))]);
  };
  canvas.addEventListener("mouseup", drop);
  canvas.addEventListener("mouseleave", drop);
}

// ---- loss and accuracy, and the grid of winners ------------------------------------------

function drawChart(canvas, rows, get, band, log, label) {
  const ctx = canvas.getContext("2d");
  const W = canvas.width;
  const H = canvas.height;
  ctx.clearRect(0, 0, W, H);
  ctx.font = "11px system-ui";
  ctx.fillStyle = "#555";
  ctx.fillText(label, 4, 12);
  if (rows.length < 1) return;
  const steps = rows.map((r) => r.step);
  const s0 = steps[0];
  const s1 = Math.max(steps[steps.length - 1], s0 + 1);
  const tr = (v) => (log ? Math.log10(Math.max(v, 1e-8)) : v);
  let lo = log ? Infinity : 0;
  let hi = log ? -Infinity : 1;
  if (log) {
    for (const r of rows) for (const v of [...band(r), get(r)]) if (v !== null) { lo = Math.min(lo, tr(v)); hi = Math.max(hi, tr(v)); }
    if (!(hi > lo)) { hi = lo + 1; }
  }
  const X = (s) => 30 + ((s - s0) / (s1 - s0)) * (W - 36);
  const Y = (v) => H - 14 - ((tr(v) - lo) / (hi - lo)) * (H - 30);
  ctx.fillStyle = "rgba(74, 144, 194, 0.25)";
  ctx.beginPath();
  rows.forEach((r, i) => { const v = band(r)[2]; if (v !== null) (i ? ctx.lineTo : ctx.moveTo).call(ctx, X(r.step), Y(v)); });
  for (let i = rows.length - 1; i >= 0; i--) { const v = band(rows[i])[0]; if (v !== null) ctx.lineTo(X(rows[i].step), Y(v)); }
  ctx.fill();
  const line = (f, colour) => {
    ctx.strokeStyle = colour; ctx.lineWidth = 1.5; ctx.beginPath();
    rows.forEach((r, i) => { const v = f(r); if (v !== null) (i ? ctx.lineTo : ctx.moveTo).call(ctx, X(r.step), Y(v)); });
    ctx.stroke();
  };
  line((r) => band(r)[1], "#4a90c2");
  line(get, "#222");
  // axes: readable ticks (powers of ten on the log scale, 0/50/100% on the other; a few
  // round steps along the bottom), faint grid lines under the curves' labels
  ctx.font = "10px system-ui";
  ctx.fillStyle = "#555";
  ctx.strokeStyle = "#e5e5e5";
  ctx.lineWidth = 1;
  const yTicks = log
    ? Array.from({ length: Math.floor(hi) - Math.ceil(lo) + 1 }, (_, i) => Math.ceil(lo) + i)
    : [0, 0.5, 1];
  for (const t of (log && yTicks.length > 6 ? yTicks.filter((_, i) => i % 2 === 0) : yTicks)) {
    const y = H - 14 - ((t - lo) / (hi - lo)) * (H - 30);
    ctx.beginPath(); ctx.moveTo(30, y); ctx.lineTo(W - 6, y); ctx.stroke();
    const text = log ? (t >= 0 ? String(10 ** t) : (10 ** t).toExponential(0).replace("e", "e"))
      : `${100 * t}%`;
    ctx.fillText(log && t < 0 && t >= -3 ? String(Number((10 ** t).toFixed(-t))) : text, 0, y + 3);
  }
  const span = s1 - s0;
  const unit = 10 ** Math.floor(Math.log10(Math.max(span, 1)));
  const every = [1, 2, 5, 10].map((m) => m * unit).find((e) => span / e <= 5) || 10 * unit;
  for (let s = Math.ceil(s0 / every) * every; s <= s1; s += every) {
    ctx.fillText(s.toLocaleString(), Math.min(X(s) - 4, W - 40), H - 2);
  }
}

function drawCurves() {
  const rows = state.history;
  drawChart($("loss"), rows, (r) => r.netLoss, (r) => r.loss, true,
    "loss (log): this network (black), population (blue)");
  drawChart($("accuracy"), rows, (r) => r.netAcc, (r) => r.acc, false, "accuracy");
}

function drawGrid(f) {
  const canvas = $("grid");
  const ctx = canvas.getContext("2d");
  const nIn = state.info.spec.n_in;
  const nOut = state.info.spec.n_out;
  const task = state.info.task;
  // room for the labels: inputs down the left, outputs along the top
  const left = 28;
  const top = 14;
  const cell = Math.max(1, Math.min(24, Math.floor(352 / Math.max(nIn, nOut))));
  canvas.width = left + cell * nOut;
  canvas.height = top + cell * nIn;
  // One pixel a cell, then scaled up without smoothing: at n = 200, 40,000 cells drawn
  // one by one took a third of a frame's drawing.
  const o = f.net.outputs;
  const win = state.config.colours.win.match(/[0-9a-f]{2}/gi).map((h) => parseInt(h, 16));
  const img = new ImageData(nOut, nIn);
  for (let i = 0; i < nIn; i++) {
    for (let j = 0; j < nOut; j++) {
      const g = Math.round(255 - 170 * o[i][j]);
      const rgb = f.net.wins[i] === j ? win : [g, g, g];
      img.data.set([rgb[0], rgb[1], rgb[2], 255], 4 * (i * nOut + j));
    }
  }
  const cells = state.gridCells || (state.gridCells = document.createElement("canvas"));
  cells.width = nOut;
  cells.height = nIn;
  cells.getContext("2d").putImageData(img, 0, 0);
  ctx.clearRect(0, 0, canvas.width, canvas.height);
  ctx.imageSmoothingEnabled = false;
  ctx.drawImage(cells, left, top, cell * nOut, cell * nIn);
  ctx.strokeStyle = "#000";
  ctx.lineWidth = Math.max(1, cell / 10);
  task.inputs.forEach((i, p) => {
    const j = task.solve_targets[p];
    ctx.strokeRect(left + j * cell + 0.5, top + i * cell + 0.5, cell - 1, cell - 1);
  });
  // labels: every symbol while they fit, else every few (about 16 a side)
  ctx.font = "9px system-ui";
  ctx.fillStyle = "#444";
  ctx.textAlign = "right";
  const rowsEvery = Math.max(1, Math.ceil(11 / cell));
  for (let i = 0; i < nIn; i += rowsEvery) {
    ctx.fillText(task.in_names[i].slice(0, 5), left - 3, top + i * cell + Math.min(cell, 11) / 2 + 3);
  }
  ctx.textAlign = "center";
  const colsEvery = Math.max(1, Math.ceil(16 / cell));
  for (let j = 0; j < nOut; j += colsEvery) {
    ctx.fillText(task.out_names[j].slice(0, 3), left + j * cell + cell / 2, top - 4);
  }
  ctx.textAlign = "left";
}

// ---- keeping ------------------------------------------------------------------------

function download(name, data) {
  const bytes = Uint8Array.from(atob(data), (c) => c.charCodeAt(0));
  const a = document.createElement("a");
  a.href = URL.createObjectURL(new Blob([bytes]));
  a.download = name;
  document.body.appendChild(a);
  a.click();
  a.remove();
}

// ---- start --------------------------------------------------------------------------

function fillSelect(id, options, label = (x) => x) {
  $(id).innerHTML = options.map((o) => `<option value="${o}">${label(o)}</option>`).join("");
}

async function start() {
  state.config = await (await fetch("/api/config")).json();
  const c = state.config.choices;
  for (const name of ["task", "activation", "head", "optimizer"]) fillSelect(name, c[name]);
  fillSelect("speed", c.speed, (s) => (s === 0 ? "full" : `${s} steps/s`));
  const caps = state.config.caps;
  $("symbols").max = caps.symbols;
  $("hidden").title += ` (at most ${caps.hidden} units a layer)`;
  $("population").max = caps.population;
  $("table").maxLength = caps.table_chars;
  const initial = parseHash();
  writeControls({ ...state.config.defaults, ...initial.settings });
  // A first visit plays at a watchable 30 steps/s (at full speed 11 symbols are learnt
  // before one sees anything); a link keeps its own speed.
  state.speed = c.speed.includes(initial.speed) ? initial.speed : 30;
  $("speed").value = state.speed;
  state.net = initial.net;
  let timer = null;
  const rebuild = () => { timer = null; state.step = 0; configure(); };
  // A settings change waits a moment (typing) before the run is rebuilt; a button pressed
  // meanwhile rebuilds at once and then acts on the new run (the server handles messages
  // in order), so the first click after a change plays the new run. (Typing a number and
  // clicking play fires the field's change just before the click.)
  const flush = () => {
    if (timer === null) return false;
    clearTimeout(timer);
    rebuild();
    return true;
  };
  for (const name of SETTINGS) {
    $(name).addEventListener("change", () => {
      writeControls({});
      clearTimeout(timer);
      timer = setTimeout(rebuild, 150);
    });
  }
  $("play").addEventListener("click", () => {
    const rebuilt = flush();
    send({ type: !rebuilt && state.playing ? "pause" : "play" });
  });
  $("step").addEventListener("click", () => { flush(); send({ type: "step" }); });
  $("reset").addEventListener("click", () => {
    if (flush()) return;  // a new run starts at step 0 anyway
    state.history = [];
    send({ type: "reset" });
  });
  $("speed").addEventListener("change", () => {
    state.speed = Number($("speed").value);
    send({ type: "speed", steps_per_s: state.speed });
    writeHash();
  });
  $("net").addEventListener("change", () => select(Number($("net").value)));
  $("units-box").addEventListener("toggle", () => { if (state.frame) drawSpace(state.frame); });
  $("best").addEventListener("click", () => {
    const f = state.frame;
    if (!f) return;
    let best = 0;
    f.population.loss_each.forEach((l, i) => {
      const a = f.population.accuracy_each;
      if (a[i] > a[best] || (a[i] === a[best] && l < f.population.loss_each[best])) best = i;
    });
    select(best);
  });
  $("edit-apply").addEventListener("click", applyEdit);
  $("edit-value").addEventListener("keydown", (ev) => { if (ev.key === "Enter") applyEdit(); });
  $("edit-close").addEventListener("click", () => { $("editor").hidden = true; });
  document.querySelectorAll("[data-export]").forEach((b) =>
    b.addEventListener("click", () => send({ type: "export", what: b.dataset.export })));
  $("link").addEventListener("click", async () => {
    writeHash();
    $("link-text").value = location.href;
    $("link-text").hidden = false;
    $("link-text").select();
    try { await navigator.clipboard.writeText(location.href); } catch (e) { /* shown instead */ }
  });
  const tip = $("tip");
  $("diagram").addEventListener("mousemove", (ev) => {
    const t = ev.target.dataset && ev.target.dataset.tip;
    tip.hidden = !t;
    if (t) { tip.textContent = t; tip.style.left = `${ev.clientX + 12}px`; tip.style.top = `${ev.clientY + 12}px`; }
  });
  $("diagram").addEventListener("mouseleave", () => { tip.hidden = true; });
  setupSpaceDrag();
  connect(initial);
}

start();
