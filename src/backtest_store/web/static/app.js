// Draws each chart of the page from its data-figure attribute (the figure as JSON,
// rendered by the server). Everything else on the page works without this script.
"use strict";
(function () {
  var config = { displaylogo: false, responsive: true };
  document.querySelectorAll(".chart[data-figure]").forEach(function (el) {
    var figure = JSON.parse(el.getAttribute("data-figure"));
    Plotly.newPlot(el, figure.data, figure.layout, config).then(function () {
      el.setAttribute("data-drawn", "true");
    });
  });
})();
