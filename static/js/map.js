// The map page: district boundaries, institutions as points, active agreements as lines (ECharts, offline).
(function () {
  "use strict";
  var box = document.getElementById("registry-map");
  if (!box || !window.echarts) { return; }
  Promise.all([
    fetch(box.dataset.geojson).then(function (r) { return r.json(); }),
    fetch(box.dataset.source, { credentials: "same-origin" }).then(function (r) { return r.json(); })
  ]).then(function (loaded) {
    var geojson = loaded[0], data = loaded[1];
    echarts.registerMap("maoming", geojson);
    var chart = echarts.init(box);
    var point = function (p) { return { name: p.name, value: [p.lon, p.lat], id: p.id }; };
    chart.setOption({
      animation: false,
      // A formatter's string is HTML: names and codes are typed by users, so they are escaped.
      tooltip: { trigger: "item", className: "map-tooltip", formatter: function (p) {
        return echarts.format.encodeHTML(p.seriesType === "lines" ? p.data.name : p.name);
      } },
      legend: { top: 8, left: 8 },
      geo: { map: "maoming", roam: true, itemStyle: { areaColor: "#f3f6fa", borderColor: "#7a8ca3" },
             label: { show: true, color: "#5c636a" }, emphasis: { disabled: true } },
      series: [
        { name: box.dataset.homeLabel, type: "scatter", coordinateSystem: "geo", symbolSize: 7,
          itemStyle: { color: "#0b4f8a" }, data: data.points.filter(function (p) { return p.kind === "eldercare"; }).map(point) },
        { name: box.dataset.medicalLabel, type: "scatter", coordinateSystem: "geo", symbolSize: 6,
          itemStyle: { color: "#b02a37" }, data: data.points.filter(function (p) { return p.kind === "medical"; }).map(point) },
        { name: box.dataset.lineLabel, type: "lines", coordinateSystem: "geo", lineStyle: { color: "#198754", width: 1.5, opacity: 0.7 },
          data: data.lines.map(function (l) { return { name: l.code, coords: [l.from, l.to] }; }) }
      ]
    });
    chart.on("click", function (p) {
      if (p.data && p.data.id) { window.location.href = box.dataset.detail.replace(/0$/, String(p.data.id)); }
    });
    if (data.truncated) { document.getElementById("map-note").textContent = box.dataset.truncated; }
    window.addEventListener("resize", function () { chart.resize(); });
  });
})();
