// gankit web page: plain JS, no build step, no external URL. It only talks to the /v1 API of the
// server that served it (relative URLs, so it also works behind a reverse proxy under a sub-path).
"use strict";

const KEY_STORE = "gankit-api-key";
const $ = (id) => document.getElementById(id);
const state = { model: null, caps: new Set(), inputHW: null, mode: null, hasImage: false, maskPainted: false };

// ---------------------------------------------------------------- API access and errors

class ApiError extends Error {
  constructor(status, message) { super(message); this.status = status; }
}

function authHeaders() {
  const key = sessionStorage.getItem(KEY_STORE);
  return key ? { Authorization: "Bearer " + key } : {};
}

/** One request to the API; throws ApiError with the server's `detail` so the page can show it. */
async function api(path, { json, form } = {}) {
  const opts = { method: json !== undefined || form ? "POST" : "GET", headers: authHeaders() };
  if (json !== undefined) { opts.headers["Content-Type"] = "application/json"; opts.body = JSON.stringify(json); }
  if (form) opts.body = form;
  let res;
  try { res = await fetch(path, opts); } catch (e) {
    throw new ApiError(0, "The server did not answer (" + e.message + "). Is `gankit serve` still running?");
  }
  if (res.status === 401) showAuth();
  if (!res.ok) throw new ApiError(res.status, await errorText(res));
  return res;
}

function formatDetail(detail) {
  if (typeof detail === "string") return detail;
  if (Array.isArray(detail)) {  // FastAPI validation errors: [{loc, msg}, ...]
    return detail.map((e) => (e.loc ? e.loc.filter((p) => p !== "body").join(".") + ": " : "") + (e.msg || JSON.stringify(e))).join("; ");
  }
  return JSON.stringify(detail);
}

async function errorText(res) {
  let detail = res.statusText || "request failed";
  try { const body = await res.json(); if (body && body.detail !== undefined) detail = formatDetail(body.detail); } catch (e) { /* not JSON */ }
  const retry = res.headers.get("Retry-After");
  return `${res.status}: ${detail}` + (retry ? ` (the server is busy: retry after ${retry} s)` : "");
}

function showError(message) { const el = $("error"); el.textContent = message; el.hidden = false; }
function clearError() { const el = $("error"); el.textContent = ""; el.hidden = true; }
function setStatus(message) { $("status").textContent = message; }

/** Runs one user action: disables its button, shows progress, and turns any failure into a message. */
async function act(button, label, fn) {
  clearError();
  button.disabled = true;
  setStatus(label + "…");
  try { await fn(); setStatus(""); } catch (e) {
    setStatus("");
    showError(e instanceof ApiError ? e.message : "Error: " + e.message);
  } finally { button.disabled = false; }
}

/** Shows an image response in an <img>; resolves once it is decoded (data-version counts updates). */
function showBlob(img, blob) {
  return new Promise((resolve, reject) => {
    const old = img.dataset.url;
    const url = URL.createObjectURL(blob);
    img.onload = () => { if (old) URL.revokeObjectURL(old); img.dataset.version = String(Number(img.dataset.version || 0) + 1); resolve(); };
    img.onerror = () => reject(new Error("the server's answer is not an image the browser can show"));
    img.dataset.url = url;
    img.src = url;
  });
}

function intField(id, what) {
  const raw = $(id).value.trim();
  if (raw === "" || !/^-?\d+$/.test(raw)) throw new Error(`${what}: give a whole number (got "${raw}").`);
  return Number(raw);
}

function seedList(id, what) {
  const parts = $(id).value.split(/[\s,]+/).filter((s) => s !== "");
  if (!parts.length || parts.some((s) => !/^\d+$/.test(s))) throw new Error(`${what}: give seeds as whole numbers separated by commas, e.g. 0,1,2.`);
  return parts.map(Number);
}

// ---------------------------------------------------------------- auth

function showAuth() {
  $("auth-section").hidden = false;
  $("api-key").value = sessionStorage.getItem(KEY_STORE) || "";
}

$("auth-form").addEventListener("submit", (ev) => {
  ev.preventDefault();
  const key = $("api-key").value.trim();
  if (key) sessionStorage.setItem(KEY_STORE, key); else sessionStorage.removeItem(KEY_STORE);
  clearError();
  setStatus(key ? "key saved for this tab" : "key cleared");
  if (!state.model) loadModel();
});
$("api-key-forget").addEventListener("click", () => { sessionStorage.removeItem(KEY_STORE); $("api-key").value = ""; setStatus("key forgotten"); });

// ---------------------------------------------------------------- the model and its card

function classNames(model) {
  const k = (model.signature && model.signature.num_classes) || 0;
  const given = model.class_names || {};
  return Array.from({ length: k }, (_, i) => (Array.isArray(given) ? given[i] : given[String(i)]) || `class ${i}`);
}

function fillClassSelect(select, names, anyLabel) {
  select.textContent = "";
  if (anyLabel) select.append(new Option(anyLabel, ""));
  names.forEach((name, i) => select.append(new Option(`${i}: ${name}`, String(i))));
}

function selectedClass(id) { const v = $(id).value; return v === "" ? null : Number(v); }

function show(selector, on) { document.querySelectorAll(selector).forEach((el) => { el.hidden = !on; }); }

function fact(dl, term, value) {
  if (value === null || value === undefined || value === "") return;
  const dt = document.createElement("dt"); dt.textContent = term;
  const dd = document.createElement("dd"); dd.textContent = typeof value === "object" ? JSON.stringify(value) : String(value);
  dl.append(dt, dd);
}

function metricRows(metrics) {
  if (Array.isArray(metrics)) return metrics.map((m) => ({ name: m.name, value: m.value, protocol: m.protocol }));
  if (metrics && Array.isArray(metrics.metrics)) return metricRows(metrics.metrics);
  return Object.entries(metrics || {}).map(([name, m]) => (m && typeof m === "object" && "value" in m
    ? { name, value: m.value, protocol: m.protocol } : { name, value: m, protocol: null }));
}

function renderMetrics(metrics) {
  const box = $("metrics");
  const rows = metricRows(metrics).filter((r) => r.name !== "protocol");
  if (!rows.length) return;
  box.textContent = "";
  const table = document.createElement("table");
  table.id = "metrics-table";
  table.innerHTML = "<thead><tr><th scope='col'>Metric</th><th scope='col'>Value</th><th scope='col'>Protocol</th></tr></thead>";
  const body = table.createTBody();
  for (const r of rows) {
    const tr = body.insertRow();
    tr.insertCell().textContent = r.name;
    tr.insertCell().textContent = typeof r.value === "number" ? r.value.toPrecision(4) : JSON.stringify(r.value);
    const cell = tr.insertCell();
    if (r.protocol && typeof r.protocol === "object") {
      const brief = Object.entries(r.protocol).filter(([k, v]) => v !== null && typeof v !== "object" && k !== "extractor_hash");
      cell.append(brief.map(([k, v]) => `${k} ${v}`).join(", ") || "—");
      const det = document.createElement("details"), sum = document.createElement("summary"), pre = document.createElement("pre");
      sum.textContent = "full protocol";
      pre.textContent = JSON.stringify(r.protocol, null, 1);
      det.append(sum, pre);
      cell.append(det);
    } else cell.textContent = r.protocol ? String(r.protocol) : "—";
  }
  box.append(table);
}

async function renderCard(m) {
  const sig = m.signature || {};
  const recipe = m.recipe || {};
  const dl = $("card-facts");
  dl.textContent = "";
  fact(dl, "Recipe", recipe.name);
  fact(dl, "Task", sig.task);
  fact(dl, "Step", m.step);
  fact(dl, "Weights", m.weights);
  fact(dl, "Backend", m.backend);
  fact(dl, "z dim", sig.z_dim || null);
  fact(dl, "Classes", sig.num_classes || null);
  fact(dl, "Input", sig.input_shape ? sig.input_shape.join("×") : null);
  fact(dl, "Output", sig.output_shape ? sig.output_shape.join("×") : null);
  fact(dl, "Scale", sig.scale);
  fact(dl, "Max images per request", m.limits && m.limits.max_n);
  $("card-description").textContent = recipe.description || "";
  renderMetrics(m.metrics);
  $("card-section").hidden = false;
  if (state.caps.has("generate")) {
    try {
      await showBlob($("card-image"), await (await api("v1/model/card.png")).blob());
      $("card-figure").hidden = false;
    } catch (e) { $("card-figure").hidden = true; }
  }
}

async function loadModel() {
  let m;
  try { m = await (await api("v1/model")).json(); } catch (e) {
    $("model-title").textContent = "(model not loaded)";
    showError(e.message);
    return;
  }
  state.model = m;
  state.caps = new Set(m.capabilities || []);
  const sig = m.signature || {};
  const recipe = m.recipe || {};
  $("model-title").textContent = recipe.name || sig.task || "model";
  $("model-subtitle").textContent = [sig.task, m.step !== undefined && m.step !== null ? `step ${m.step}` : "", m.backend].filter(Boolean).join(" · ");
  document.title = `gankit · ${recipe.name || sig.task || "model"}`;
  const names = classNames(m);
  const gen = state.caps.has("generate");
  $("generate-section").hidden = !gen;
  $("interp-section").hidden = !state.caps.has("interpolate");
  $("style-section").hidden = !state.caps.has("style-mix");
  if (m.limits && m.limits.max_n) $("n").max = String(m.limits.max_n);
  if (gen && names.length) { fillClassSelect($("class"), names, "every class in turn"); show(".cond", true); }
  setupTranslate(m, names);
  await renderCard(m);
  if (gen) await act($("generate"), "generating", generate);
}

// ---------------------------------------------------------------- generate, interpolate, style mix

async function generate() {
  const body = { n: intField("n", "Images (n)"), truncation: Number($("psi").value), format: "png" };
  if ($("seed").value.trim() !== "") body.seed = intField("seed", "Seed");
  const k = selectedClass("class");
  if (k !== null) body.class = k;
  const res = await api("v1/generate", { json: body });
  const used = res.headers.get("X-Seed");
  if (used !== null) $("seed").value = used;
  await showBlob($("grid"), await res.blob());
  const what = k === null ? "" : `, class ${$("class").selectedOptions[0].textContent}`;
  $("grid-caption").textContent = `${body.n} image(s), seed ${used}, ψ ${body.truncation.toFixed(2)}${what}`;
}

$("generate-form").addEventListener("submit", (ev) => { ev.preventDefault(); act($("generate"), "generating", generate); });
$("random-seed").addEventListener("click", () => {
  $("seed").value = String(Math.floor(Math.random() * 2 ** 31));
  act($("generate"), "generating", generate);
});
$("psi").addEventListener("input", () => { $("psi-value").textContent = Number($("psi").value).toFixed(2); });
$("class").addEventListener("change", () => act($("generate"), "generating", generate));

async function interpolate() {
  const fmt = $("interp-format").value;
  const body = { seed_from: intField("seed-from", "From seed"), seed_to: intField("seed-to", "To seed"),
    steps: intField("steps", "Steps"), truncation: Number($("psi").value), format: fmt };
  const k = selectedClass("class");
  if (k !== null) body.class = k;
  const res = await api("v1/interpolate", { json: body });
  await showBlob($("interp-image"), await res.blob());
  $("interp-caption").textContent = `seed ${body.seed_from} → ${body.seed_to}, ${body.steps} steps (${fmt})`;
}
$("interp-form").addEventListener("submit", (ev) => { ev.preventDefault(); act($("interpolate"), "interpolating", interpolate); });

async function styleMix() {
  const body = { row_seeds: seedList("row-seeds", "Row seeds"), col_seeds: seedList("col-seeds", "Column seeds"),
    layers: $("layers").value.trim() || "coarse" };
  const k = selectedClass("class");
  if (k !== null) body.class = k;
  await showBlob($("style-image"), await (await api("v1/style-mix", { json: body })).blob());
  $("style-caption").textContent = `rows ${body.row_seeds.join(",")} × columns ${body.col_seeds.join(",")}, layers ${body.layers}`;
}
$("style-form").addEventListener("submit", (ev) => { ev.preventDefault(); act($("style-mix"), "mixing styles", styleMix); });

// ---------------------------------------------------------------- image to image (translate, upscale, inpaint)

function setupTranslate(m, names) {
  const mode = ["inpaint", "upscale", "translate"].find((c) => state.caps.has(c));
  if (!mode) return;
  state.mode = mode;
  const sig = m.signature || {};
  state.inputHW = Array.isArray(sig.input_shape) && sig.input_shape.length === 3 ? sig.input_shape.slice(1) : null;
  const title = { inpaint: "Inpaint", upscale: "Upscale", translate: "Translate" }[mode];
  $("translate-heading").textContent = `Image to image: ${title.toLowerCase()}`;
  $("translate").textContent = title;
  // SR nets are convolutional (any size); the others need the signature's exact input size.
  $("fit").checked = mode !== "upscale";
  $("fit-size").textContent = state.inputHW ? `${state.inputHW[1]}×${state.inputHW[0]} px` : "";
  const inp = m.input;  // what /v1/translate accepts
  if (inp) {
    const size = inp.any_size ? `any size up to ${inp.max_side} px a side` + (inp.size_multiple > 1 ? `, a multiple of ${inp.size_multiple}` : "")
      : `exactly ${inp.width}×${inp.height} px`;
    $("input-help").textContent = `The model takes ${inp.channels === 1 ? "grayscale" : "colour"} images, ${size}` +
      (sig.scale ? `, and returns them ${sig.scale}× larger.` : ".");
  }
  if (state.caps.has("target-class") && names.length) { fillClassSelect($("target-class"), names, null); show(".target", true); }
  show(".inpaint", mode === "inpaint");
  $("translate-section").hidden = false;
}

let sourceImage = null;

function drawSource() {
  if (!sourceImage) return;
  const src = $("source-canvas"), mask = $("mask-canvas");
  const fit = $("fit").checked && state.inputHW;
  const [h, w] = fit ? state.inputHW : [sourceImage.naturalHeight, sourceImage.naturalWidth];
  src.width = mask.width = w;
  src.height = mask.height = h;
  const ctx = src.getContext("2d");
  ctx.imageSmoothingQuality = "high";
  ctx.drawImage(sourceImage, 0, 0, w, h);
  state.maskPainted = false;
  $("source-caption").textContent = `input ${w}×${h} px` + (state.mode === "inpaint" ? " (paint the hole)" : "");
}

$("upload").addEventListener("change", () => {
  const file = $("upload").files[0];
  if (!file) return;
  clearError();
  const img = new Image();
  const url = URL.createObjectURL(file);
  img.onload = () => {
    URL.revokeObjectURL(url);
    sourceImage = img;
    state.hasImage = true;
    drawSource();
    $("translate").disabled = false;
    $("upload").dataset.loaded = String(Number($("upload").dataset.loaded || 0) + 1);
  };
  img.onerror = () => { URL.revokeObjectURL(url); showError(`${file.name}: the browser cannot read this file as an image (use png or jpeg).`); };
  img.src = url;
});
$("fit").addEventListener("change", drawSource);

// The mask is painted in model pixels (square brush) so the hole sent is exactly what is shown.
let painting = null;
function maskPoint(ev) {
  const c = $("mask-canvas"), r = c.getBoundingClientRect();
  return [(ev.clientX - r.left) * c.width / r.width, (ev.clientY - r.top) * c.height / r.height];
}
function paint(from, to) {
  const ctx = $("mask-canvas").getContext("2d"), b = Number($("brush").value);
  ctx.fillStyle = "#ff2d95";
  const steps = Math.max(1, Math.ceil(Math.hypot(to[0] - from[0], to[1] - from[1])));
  for (let i = 0; i <= steps; i++) {
    const x = from[0] + (to[0] - from[0]) * i / steps, y = from[1] + (to[1] - from[1]) * i / steps;
    ctx.fillRect(Math.floor(x - b / 2), Math.floor(y - b / 2), b, b);
  }
  state.maskPainted = true;
}
$("mask-canvas").addEventListener("pointerdown", (ev) => {
  if (!state.hasImage) return;
  ev.preventDefault();
  $("mask-canvas").setPointerCapture(ev.pointerId);
  painting = maskPoint(ev);
  paint(painting, painting);
});
$("mask-canvas").addEventListener("pointermove", (ev) => { if (painting) { const p = maskPoint(ev); paint(painting, p); painting = p; } });
for (const name of ["pointerup", "pointercancel"]) $("mask-canvas").addEventListener(name, () => { painting = null; });
$("clear-mask").addEventListener("click", () => {
  const c = $("mask-canvas");
  c.getContext("2d").clearRect(0, 0, c.width, c.height);
  state.maskPainted = false;
});

function canvasPng(canvas) {
  return new Promise((resolve, reject) => canvas.toBlob((b) => (b ? resolve(b) : reject(new Error("could not encode the canvas"))), "image/png"));
}

/** The mask as the API wants it: a PNG of the image's size, white = hole, black = keep. */
async function maskPng() {
  const src = $("mask-canvas");
  const out = document.createElement("canvas");
  out.width = src.width; out.height = src.height;
  const px = src.getContext("2d").getImageData(0, 0, src.width, src.height);
  for (let i = 0; i < px.data.length; i += 4) {
    const v = px.data[i + 3] >= 128 ? 255 : 0;
    px.data[i] = px.data[i + 1] = px.data[i + 2] = v;
    px.data[i + 3] = 255;
  }
  out.getContext("2d").putImageData(px, 0, 0);
  return canvasPng(out);
}

async function translate() {
  if (!state.hasImage) throw new Error("choose an image to upload first.");
  const form = new FormData();
  form.append("image", await canvasPng($("source-canvas")), "input.png");
  if (state.mode === "inpaint") {
    if (!state.maskPainted) throw new Error("paint the hole to fill on the image first (drag on it).");
    form.append("mask", await maskPng(), "mask.png");
  }
  if (!$("target-class").hidden) form.append("target_class", $("target-class").value);
  form.append("format", "png");
  const res = await api("v1/translate", { form });
  const img = $("translate-output");
  await showBlob(img, await res.blob());
  $("translate-caption").textContent = `output ${img.naturalWidth}×${img.naturalHeight} px`;
}
$("translate-form").addEventListener("submit", (ev) => { ev.preventDefault(); act($("translate"), "running the model", translate); });

loadModel();
