// The preview page: follows /events, reloads /state.json, and shows the exact email bytes in two frames.
"use strict";

const $ = (id) => document.getElementById(id);
const frames = [$("frame-desktop"), $("frame-phone")];
let shownEmailVersion = null;
let dark = false;
const originalMedia = new WeakMap();

function kb(bytes) { return (bytes / 1000).toFixed(1) + " KB"; }

// Dark mode: switch on the email's own @media (prefers-color-scheme: dark) rules in the frame's
// stylesheets, as a mail client in dark mode would. The email's bytes are not changed.
function applyScheme(frame) {
  const doc = frame.contentDocument;
  if (!doc) return;
  for (const sheet of doc.styleSheets) {
    let rules;
    try { rules = sheet.cssRules; } catch (e) { continue; }
    for (const rule of rules) {
      if (!rule.media) continue;
      if (!originalMedia.has(rule)) originalMedia.set(rule, rule.media.mediaText);
      const original = originalMedia.get(rule);
      if (/prefers-color-scheme:\s*dark/.test(original)) rule.media.mediaText = dark ? "all" : original;
    }
  }
  doc.documentElement.style.colorScheme = dark ? "dark" : "light";
}

function loadEmail(version) {
  for (const frame of frames) {
    const win = frame.contentWindow;
    const scroll = win && win.scrollY ? [win.scrollX, win.scrollY] : [0, 0];
    frame.onload = () => {
      applyScheme(frame);
      frame.contentWindow.scrollTo(scroll[0], scroll[1]);
      document.body.dataset.emailVersion = String(version);
    };
    frame.src = "/email.html?v=" + version;
  }
}

function show(state) {
  $("issue-file").textContent = state.issue_file;
  $("sender").textContent = state.sender;
  $("avatar").textContent = (state.sender || "?").trim().charAt(0).toUpperCase();
  $("subject").textContent = state.subject;
  $("preheader").textContent = state.preheader;
  $("text").textContent = state.text;
  document.title = (state.error ? "⚠ " : "") + (state.subject || "Preview") + " · newsletter";

  $("problem").hidden = !state.error;
  $("problem-text").textContent = state.error || "";

  const meter = $("size-meter");
  meter.max = state.clip_bytes;
  meter.low = state.warn_bytes;
  meter.high = state.clip_bytes - 1;
  meter.value = state.size_bytes;
  $("size-label").textContent = `${kb(state.size_bytes)} of Gmail's ~${Math.round(state.clip_bytes / 1000)} KB clip`;

  const list = $("findings");
  list.replaceChildren(...state.findings.map((f) => {
    const item = document.createElement("li");
    item.className = f.level;
    item.textContent = `${f.level}: ${f.message}`;
    return item;
  }));
  $("findings-empty").hidden = state.findings.length > 0;

  if (state.email_version > 0 && state.email_version !== shownEmailVersion) {
    shownEmailVersion = state.email_version;
    loadEmail(state.email_version);
  }
  document.body.dataset.version = String(state.version);
}

async function refresh() {
  const response = await fetch("/state.json", { cache: "no-store" });
  show(await response.json());
}

function selectTab(name) {
  for (const tab of ["email", "text"]) {
    $("tab-" + tab).setAttribute("aria-selected", String(tab === name));
    $("panel-" + tab).hidden = tab !== name;
  }
}

$("tab-email").addEventListener("click", () => selectTab("email"));
$("tab-text").addEventListener("click", () => selectTab("text"));
$("dark").addEventListener("change", (event) => {
  dark = event.target.checked;
  frames.forEach(applyScheme);
});

const events = new EventSource("/events");
events.onopen = () => { $("status").textContent = "live"; $("status").className = "status live"; };
events.onerror = () => { $("status").textContent = "reconnecting… (is `newsletter preview` still running?)"; $("status").className = "status"; };
events.onmessage = () => refresh().catch(() => {});
refresh().catch(() => {});
