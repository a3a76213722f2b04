// The preview page: follows /events, reloads /state.json, and shows the exact email bytes in two frames.
"use strict";

const $ = (id) => document.getElementById(id);
const frames = [$("frame-desktop"), $("frame-phone")];
let shownEmailVersion = null;
let dark = false;
let connection = "connecting";  // then "open" or "down": the event stream, see connect()
let watching = true;  // the server still re-renders on saves (state.watching)
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
  let loaded = 0;
  for (const frame of frames) {
    const win = frame.contentWindow;
    const scroll = win && win.scrollY ? [win.scrollX, win.scrollY] : [0, 0];
    frame.onload = () => {
      applyScheme(frame);
      frame.contentWindow.scrollTo(scroll[0], scroll[1]);
      loaded += 1;
      if (loaded === frames.length) document.body.dataset.emailVersion = String(version);  // both frames show it
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
  // A note informs and asks for nothing: with only notes, there are still no errors or warnings.
  // A save that could not be checked at all has no findings, and that is not "no errors".
  const empty = $("findings-empty");
  empty.hidden = state.findings.some((f) => f.level === "error" || f.level === "warning");
  empty.textContent = state.error ? "Not checked: the last save has a problem (above)." : "No errors or warnings.";
  empty.className = state.error ? "unchecked" : "";

  if (state.email_version > 0 && state.email_version !== shownEmailVersion) {
    shownEmailVersion = state.email_version;
    loadEmail(state.email_version);
  }
  watching = state.watching !== false;
  showConnection();
  document.body.dataset.version = String(state.version);
}

// Several saves in a row start several fetches: show only the answer to the latest one, so a slow
// older answer cannot overwrite a newer state.
let latestRequest = 0;
async function refresh() {
  const request = ++latestRequest;
  const response = await fetch("/state.json", { cache: "no-store" });
  const state = await response.json();
  if (request === latestRequest) show(state);
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

// The status line must not lie: "live" only while the event stream is open and the server is
// still watching the files. body[data-connection] says the same for scripts and tests.
let events = null;
let reconnectTimer = null;

function showConnection() {
  const status = $("status");
  let state;
  if (connection === "connecting") {
    state = "connecting";
    status.textContent = "connecting…";
  } else if (connection === "down") {
    state = "reconnecting";
    status.textContent = "disconnected, reconnecting… (is `newsletter preview` still running?)";
  } else if (!watching) {
    state = "stale";
    status.textContent = "not watching files any more: restart `newsletter preview`";
  } else {
    state = "live";
    status.textContent = "live";
  }
  status.className = "status " + state;
  document.body.dataset.connection = state;
}

function connect() {
  reconnectTimer = null;
  events = new EventSource("/events");
  events.onopen = () => {
    if (connection === "down") shownEmailVersion = null;  // a restarted preview counts from 1 again: reload the email
    connection = "open";
    showConnection();
    refresh().catch(() => {});  // saves made while the stream was down
  };
  events.onerror = () => {
    connection = "down";
    showConnection();
    // Reconnect ourselves, every second: the browser's own retries back off (or stop for good after
    // an HTTP error), and a preview restarted with the same port should be found at once.
    events.close();
    if (reconnectTimer === null) reconnectTimer = setTimeout(connect, 1000);
  };
  events.onmessage = () => refresh().catch(() => {});
}

showConnection();
connect();
refresh().catch(() => {});
