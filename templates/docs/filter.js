// Hide the index rows whose journey does not mention every word typed in the filter box.
(function () {
  "use strict";
  var box = document.getElementById("filter");
  var shown = document.getElementById("shown");
  var rows = Array.prototype.slice.call(document.querySelectorAll("#journeys tbody tr"));
  function apply() {
    var words = box.value.toLowerCase().split(/\s+/).filter(Boolean);
    var count = 0;
    rows.forEach(function (row) {
      var text = row.getAttribute("data-search");
      var match = words.every(function (word) { return text.indexOf(word) !== -1; });
      row.classList.toggle("hidden", !match);
      if (match) { count += 1; }
    });
    shown.textContent = count + " shown";
  }
  box.addEventListener("input", apply);
  apply();
})();
