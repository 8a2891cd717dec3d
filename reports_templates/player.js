// Optional: a click on a time seeks the recording; the links work (jump to the line) without it.
(function () {
  var audio = document.getElementById("player");
  if (!audio) { return; }
  document.addEventListener("click", function (event) {
    var link = event.target.closest ? event.target.closest("[data-t]") : null;
    if (!link) { return; }
    var t = parseFloat(link.getAttribute("data-t"));
    if (isNaN(t)) { return; }
    audio.currentTime = t;
    var playing = audio.play();
    if (playing && playing.catch) { playing.catch(function () {}); }
  });
  var turns = Array.prototype.slice.call(document.querySelectorAll(".turn"));
  var starts = turns.map(function (el) {
    var ts = el.querySelector("[data-t]");
    return ts ? parseFloat(ts.getAttribute("data-t")) : NaN;
  });
  var current = null;
  audio.addEventListener("timeupdate", function () {
    var found = null;
    for (var i = 0; i < turns.length; i++) {
      if (!isNaN(starts[i]) && starts[i] <= audio.currentTime) { found = turns[i]; }
    }
    if (found !== current) {
      if (current) { current.classList.remove("now"); }
      if (found) { found.classList.add("now"); }
      current = found;
    }
  });
})();
