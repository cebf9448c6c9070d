// The live view: polls api/state every second and redraws. Plain DOM and SVG, no libraries.
"use strict";

const SVG = "http://www.w3.org/2000/svg";
const TASK_COLORS = ["#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#17becf", "#8c564b", "#e377c2"];
const UNIT_HUES = [212, 28, 140, 280, 0, 180, 50, 320];

const $ = id => document.getElementById(id);

function el(name, attrs, text) {
  const node = document.createElementNS(SVG, name);
  for (const [k, v] of Object.entries(attrs || {})) node.setAttribute(k, v);
  if (text !== undefined) node.textContent = text;
  return node;
}

function html(tag, attrs, text) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) node.setAttribute(k, v);
  if (text !== undefined) node.textContent = text;
  return node;
}

function fixed(value, digits) {
  return typeof value === "number" && isFinite(value) ? value.toFixed(digits) : "-";
}

function duration(seconds) {
  if (typeof seconds !== "number" || !isFinite(seconds)) return "-";
  const s = Math.round(seconds);
  const h = Math.floor(s / 3600), m = Math.floor((s % 3600) / 60), r = s % 60;
  return h > 0 ? `${h}h ${String(m).padStart(2, "0")}m` : m > 0 ? `${m}m ${String(r).padStart(2, "0")}s` : `${r}s`;
}

function taskColor(tasks, task) {
  const i = tasks.indexOf(task);
  return TASK_COLORS[(i < 0 ? tasks.length : i) % TASK_COLORS.length];
}

function renderFigures(s) {
  $("job-name").textContent = s.job.name;
  const status = $("status");
  status.textContent = s.hostsTraining ? s.status : "not the coordinator's node";
  status.className = "status " + s.status;
  $("remote-note").hidden = s.hostsTraining;
  $("step").textContent = s.step;
  $("max-steps").textContent = "/ " + s.job.maxSteps;
  $("rate").textContent = fixed(s.stepsPerSecond, 2);
  $("eta").textContent = s.status === "finished" ? "done" : duration(s.etaSeconds);
  $("epoch").textContent = s.epoch;
  $("world-size").textContent = s.worldSize;
  $("images").textContent = fixed(s.imagesPerSecond, 1);
  $("lr").textContent = typeof s.learningRate === "number" ? s.learningRate.toExponential(2) : "-";
  $("tau").textContent = fixed(s.tau, 3);
}

function renderMembers(s) {
  const body = $("members").tBodies[0];
  body.replaceChildren();
  const single = s.members.length === 1 && s.members[0].address === "this process";
  const byNode = new Map();
  for (const d of s.devices) {
    const key = single ? s.members[0].address : d.node;
    if (!byNode.has(key)) byNode.set(key, []);
    byNode.get(key).push(d);
  }
  const rows = s.members.map(m => ({ member: m, devices: byNode.get(m.address) || [] }));
  for (const [node, devices] of byNode) {
    if (!s.members.some(m => m.address === node)) rows.push({ member: { address: node || "-", status: "-", self: false, coordinator: false, reachable: true }, devices });
  }
  for (const { member, devices } of rows) {
    const span = Math.max(1, devices.length);
    for (let i = 0; i < span; i++) {
      const tr = html("tr", { class: "member" + (member.reachable ? "" : " unreachable") });
      if (i === 0) {
        tr.appendChild(html("td", { rowspan: span, class: (member.self ? "self " : "") + (member.coordinator ? "coordinator" : "") }, member.address));
        tr.appendChild(html("td", { rowspan: span }, member.reachable ? member.status : member.status + ", unreachable"));
      }
      const d = devices[i];
      tr.appendChild(html("td", { class: "device" }, d ? d.device : "-"));
      const task = html("td", { class: "task" }, d ? d.task : "-");
      if (d) task.style.color = taskColor(s.job.tasks, d.task);
      tr.appendChild(task);
      tr.appendChild(html("td", {}, d ? fixed(d.seconds, 2) + " s" : "-"));
      body.appendChild(tr);
    }
  }
}

function niceTicks(lo, hi, count) {
  const span = hi - lo || 1;
  const step = Math.pow(10, Math.floor(Math.log10(span / count)));
  const mult = [1, 2, 5, 10].find(f => span / (step * f) <= count) || 10;
  const unit = step * mult;
  const ticks = [];
  for (let t = Math.ceil(lo / unit) * unit; t <= hi + 1e-9; t += unit) ticks.push(t);
  return ticks;
}

function renderLoss(s) {
  const svg = $("loss");
  svg.replaceChildren();
  const W = 640, H = 300, L = 52, R = 12, T = 10, B = 36;
  const series = Object.entries(s.loss).map(([task, points]) => [task, points.filter(p => typeof p.loss === "number" && isFinite(p.loss))]);
  const all = series.flatMap(([, points]) => points);
  if (all.length === 0) {
    svg.appendChild(el("text", { x: W / 2, y: H / 2, "text-anchor": "middle", class: "muted" }, "no steps yet"));
    $("loss-legend").replaceChildren();
    return;
  }
  const x0 = Math.min(...all.map(p => p.step)), x1 = Math.max(...all.map(p => p.step), x0 + 1);
  const y0 = 0, y1 = Math.max(...all.map(p => p.loss)) * 1.05 || 1;
  const x = v => L + (v - x0) / (x1 - x0) * (W - L - R);
  const y = v => H - B - (v - y0) / (y1 - y0) * (H - T - B);
  for (const t of niceTicks(y0, y1, 5)) {
    svg.appendChild(el("line", { x1: L, x2: W - R, y1: y(t), y2: y(t), class: "grid" }));
    svg.appendChild(el("text", { x: L - 6, y: y(t) + 4, "text-anchor": "end", class: "muted" }, +t.toPrecision(3)));
  }
  for (const t of niceTicks(x0, x1, 8)) {
    svg.appendChild(el("text", { x: x(t), y: H - B + 15, "text-anchor": "middle", class: "muted" }, Math.round(t)));
  }
  svg.appendChild(el("line", { x1: L, x2: W - R, y1: H - B, y2: H - B, class: "axis" }));
  svg.appendChild(el("line", { x1: L, x2: L, y1: T, y2: H - B, class: "axis" }));
  svg.appendChild(el("text", { x: (L + W - R) / 2, y: H - 4, "text-anchor": "middle", class: "muted" }, "step"));
  svg.appendChild(el("text", { x: 12, y: (T + H - B) / 2, "text-anchor": "middle", class: "muted", transform: `rotate(-90 12 ${(T + H - B) / 2})` }, "loss"));
  const legend = $("loss-legend");
  legend.replaceChildren();
  for (const [task, points] of series) {
    const color = taskColor(s.job.tasks, task);
    if (points.length > 0) {
      svg.appendChild(el("polyline", { points: points.map(p => `${x(p.step).toFixed(1)},${y(p.loss).toFixed(1)}`).join(" "), fill: "none", stroke: color, "stroke-width": 1.6, "data-task": task }));
    }
    const last = points.length > 0 ? fixed(points[points.length - 1].loss, 3) : "-";
    const item = html("span", {}, `${task} (last ${last})`);
    const swatch = html("span", { class: "swatch" });
    swatch.style.background = color;
    item.prepend(swatch);
    legend.appendChild(item);
  }
}

// Certainty of a choice among N units: 0 at probability 1/N (undecided), 1 at probability 1.
function certainty(probability, units) {
  const floor = 1 / Math.max(1, units);
  return units <= 1 ? 1 : Math.max(0, Math.min(1, (probability - floor) / (1 - floor)));
}

function unitColor(unit, level) {
  const hue = UNIT_HUES[unit % UNIT_HUES.length];
  // Lightness from 88% (undecided) to 36% (certain).
  return `hsl(${hue}, 65%, ${88 - 52 * level}%)`;
}

function renderHeatmap(s) {
  const svg = $("heatmap");
  svg.replaceChildren();
  const tasks = [...new Set(s.routing.map(c => c.task))];
  const layers = Math.max(s.job.numLayers, ...s.routing.map(c => c.layer + 1));
  const cellW = 64, cellH = 34, left = 110, top = 22;
  const W = left + layers * cellW + 10, H = top + Math.max(1, tasks.length) * cellH + 8;
  svg.setAttribute("viewBox", `0 0 ${W} ${H}`);
  svg.style.maxWidth = `${Math.max(W, 400)}px`;
  svg.dataset.step = s.routingStep === null ? "" : s.routingStep;
  $("routing-caption").textContent = s.routingStep === null
    ? "tasks x lego layers: no routing probabilities yet (they come with each evaluation)"
    : `tasks x lego layers at step ${s.routingStep}: chosen unit and its probability`;
  for (let l = 0; l < layers; l++) {
    svg.appendChild(el("text", { x: left + l * cellW + cellW / 2, y: 14, "text-anchor": "middle", class: "muted" }, `layer ${l}`));
  }
  tasks.forEach((task, row) => {
    svg.appendChild(el("text", { x: left - 8, y: top + row * cellH + cellH / 2 + 4, "text-anchor": "end" }, task));
  });
  for (const c of s.routing) {
    const row = tasks.indexOf(c.task);
    const gx = left + c.layer * cellW, gy = top + row * cellH;
    const level = certainty(c.probability, c.units.length);
    const rect = el("rect", {
      x: gx + 1, y: gy + 1, width: cellW - 2, height: cellH - 2, rx: 3, fill: unitColor(c.unit, level), class: "cell",
      "data-task": c.task, "data-layer": c.layer, "data-unit": c.unit, "data-p": c.probability.toFixed(4),
    });
    rect.appendChild(el("title", {}, `${c.task}, layer ${c.layer}, step ${c.step}: ` + c.units.map((p, u) => `unit ${u} ${p.toFixed(3)}`).join(", ")));
    svg.appendChild(rect);
    const ink = level > 0.55 ? "#ffffff" : "#1d2330";
    svg.appendChild(el("text", { x: gx + cellW / 2, y: gy + cellH / 2 + 4, "text-anchor": "middle", style: `fill: ${ink}` },
      `u${c.unit} ${c.probability.toFixed(2)}`));
  }
  const legend = $("heatmap-legend");
  legend.replaceChildren();
  for (let u = 0; u < Math.max(1, s.job.numUnits); u++) {
    const item = html("span", {}, `unit ${u}`);
    for (const level of [0.1, 0.5, 0.9]) {
      const swatch = html("span", { class: "swatch" });
      swatch.style.background = unitColor(u, level);
      item.insertBefore(swatch, item.lastChild);
    }
    legend.appendChild(item);
  }
  legend.appendChild(html("span", {}, `each cell: the chosen unit (arg max) and its probability; light = undecided (1/${s.job.numUnits}), dark = certain (1)`));
}

function renderEvents(s) {
  const list = $("events");
  list.replaceChildren();
  for (const e of s.events) {
    const li = html("li", { class: "event " + e.kind });
    li.appendChild(html("span", { class: "time" }, new Date(e.time).toLocaleTimeString([], { hour12: false })));
    li.appendChild(html("span", { class: "kind " + e.kind }, e.kind));
    li.appendChild(document.createTextNode(e.text));
    list.appendChild(li);
  }
}

async function refresh() {
  try {
    const response = await fetch("api/state", { cache: "no-store" });
    if (!response.ok) throw new Error(`HTTP ${response.status}`);
    const s = await response.json();
    renderFigures(s);
    renderMembers(s);
    renderLoss(s);
    renderHeatmap(s);
    renderEvents(s);
    document.body.dataset.step = s.step;
  } catch (error) {
    const status = $("status");
    status.textContent = "disconnected";
    status.className = "status failed";
  }
}

refresh();
setInterval(refresh, 1000);
