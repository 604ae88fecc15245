"use strict";
// Timeline filtering over the JSON data island. Builds rows with textContent only (never innerHTML), so no
// evidence string is ever parsed as HTML. Without this script the static table stays.

// Whether island event `e` involves `pid`: as its own pid (e[6]) or as one it names (e[12]: a kill's target,
// a core's sender…), so filtering for the pid that died also shows who killed it.
function coronerPidMatches(e, pid) {
  return e[6] === pid || (Array.isArray(e[12]) && e[12].indexOf(pid) >= 0);
}

(function () {
  var island = document.getElementById("timeline-data");
  var view = document.getElementById("js-view");
  if (!island || !view) { return; }
  var data;
  try { data = JSON.parse(island.textContent); } catch (e) { return; }
  var ev = data.events || [];
  var PAGE = 500;
  var $ = function (id) { return document.getElementById(id); };
  var fSource = $("f-source"), fKind = $("f-kind"), fPid = $("f-pid"), fUser = $("f-user");
  var fText = $("f-text"), fNotable = $("f-notable"), fRange = $("f-range"), fClear = $("f-clear");
  var tbody = $("js-rows"), status = $("js-status"), info = $("p-info"), prev = $("p-prev"), next = $("p-next");
  var range = null, matches = [], page = 0, timer = null;

  function fillSelect(sel, names, used) {
    names.forEach(function (n, i) {
      if (!used[i]) { return; }
      var o = document.createElement("option");
      o.value = String(i);
      o.textContent = n;
      sel.appendChild(o);
    });
  }
  var usedS = {}, usedK = {};
  var hay = new Array(ev.length);
  for (var i = 0; i < ev.length; i++) {
    var e = ev[i];
    usedS[e[3]] = true;
    usedK[e[4]] = true;
    hay[i] = (e[8] + "\u0000" + e[9] + "\u0000" + e[10] + "\u0000" + e[11]).toLowerCase();
  }
  fillSelect(fSource, data.sources || [], usedS);
  fillSelect(fKind, data.kinds || [], usedK);

  function el(tag, cls, text) {
    var n = document.createElement(tag);
    if (cls) { n.className = cls; }
    if (text !== undefined && text !== null) { n.textContent = String(text); }
    return n;
  }

  function row(e) {
    var tr = el("tr", e[5] ? "notable" : "");
    var t = el("td", "t", e[1] + " ");
    var certs = data.certainties || [];
    t.appendChild(el("span", "cert " + (certs[e[2]] || "unknown"), certs[e[2]] || "unknown"));
    tr.appendChild(t);
    tr.appendChild(el("td", "", (data.sources || [])[e[3]]));
    tr.appendChild(el("td", "kind", (data.kinds || [])[e[4]]));
    tr.appendChild(el("td", "n", e[6] === null ? "" : e[6]));
    tr.appendChild(el("td", "", e[7]));
    tr.appendChild(el("td", "mono", e[8]));
    var td = el("td");
    var d = el("details");
    d.appendChild(el("summary", "", e[9]));
    var raw = el("div", "raw");
    raw.appendChild(el("code", "origin", e[11]));
    raw.appendChild(el("pre", "", e[10]));
    d.appendChild(raw);
    td.appendChild(d);
    tr.appendChild(td);
    return tr;
  }

  function draw() {
    var pages = Math.max(1, Math.ceil(matches.length / PAGE));
    if (page >= pages) { page = pages - 1; }
    if (page < 0) { page = 0; }
    var frag = document.createDocumentFragment();
    var end = Math.min(matches.length, (page + 1) * PAGE);
    for (var j = page * PAGE; j < end; j++) { frag.appendChild(row(ev[matches[j]])); }
    while (tbody.firstChild) { tbody.removeChild(tbody.firstChild); }
    tbody.appendChild(frag);
    var omitted = (data.total || ev.length) - ev.length;
    status.textContent = matches.length + " of " + ev.length + " events match" +
      (omitted > 0 ? " (" + omitted + " more are only in timeline.jsonl / timeline.csv)" : "") + ".";
    info.textContent = "page " + (page + 1) + " of " + pages;
    prev.disabled = page === 0;
    next.disabled = page >= pages - 1;
  }

  function apply() {
    var s = fSource.value === "" ? -1 : Number(fSource.value);
    var k = fKind.value === "" ? -1 : Number(fKind.value);
    var pidText = fPid.value.trim();
    var pid = pidText === "" ? null : Number(pidText);
    var user = fUser.value.trim().toLowerCase();
    var text = fText.value.trim().toLowerCase();
    var notableOnly = fNotable.checked;
    matches = [];
    for (var i = 0; i < ev.length; i++) {
      var e = ev[i];
      if (s >= 0 && e[3] !== s) { continue; }
      if (k >= 0 && e[4] !== k) { continue; }
      if (notableOnly && !e[5]) { continue; }
      if (pid !== null && !coronerPidMatches(e, pid)) { continue; }
      if (user && (String(e[7]) + "|" + String(e[13] || "")).toLowerCase().indexOf(user) < 0) { continue; }
      if (range && (e[0] === null || e[0] < range[0] || e[0] >= range[1])) { continue; }
      if (text && hay[i].indexOf(text) < 0) { continue; }
      matches.push(i);
    }
    page = 0;
    draw();
  }

  function later() {
    if (timer !== null) { clearTimeout(timer); }
    timer = setTimeout(function () { timer = null; apply(); }, 200);
  }

  [fSource, fKind, fNotable].forEach(function (n) { n.addEventListener("change", apply); });
  [fPid, fUser, fText].forEach(function (n) { n.addEventListener("input", later); });
  prev.addEventListener("click", function () { page--; draw(); window.scrollTo(0, view.offsetTop - 60); });
  next.addEventListener("click", function () { page++; draw(); window.scrollTo(0, view.offsetTop - 60); });
  fClear.addEventListener("click", function () {
    fSource.value = ""; fKind.value = ""; fPid.value = ""; fUser.value = ""; fText.value = "";
    fNotable.checked = false; setRange(null, null); apply();
  });

  var bars = document.querySelectorAll("#hist g.bar");
  function setRange(g, label) {
    for (var b = 0; b < bars.length; b++) { bars[b].classList.remove("sel"); }
    if (!g) { range = null; fRange.hidden = true; fRange.textContent = ""; return; }
    g.classList.add("sel");
    range = [Number(g.getAttribute("data-from")), Number(g.getAttribute("data-to"))];
    fRange.textContent = "time: " + label + " (click the bar again to clear)";
    fRange.hidden = false;
  }
  for (var b = 0; b < bars.length; b++) {
    bars[b].addEventListener("click", function () {
      var t = this.querySelector("title");
      if (this.classList.contains("sel")) { setRange(null, null); } else { setRange(this, t ? t.textContent : ""); }
      apply();
    });
  }

  $("filters").hidden = false;
  view.hidden = false;
  $("static-view").hidden = true;
  apply();
})();
