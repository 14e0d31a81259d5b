// The map page: district boundaries, institutions as points, active agreements as lines (ECharts, offline).
// It opens on the region of `data-region` (the whole city when empty).
(function () {
  "use strict";
  var box = document.getElementById("registry-map");
  if (!box || !window.echarts) { return; }
  var names = JSON.parse(box.dataset.regionNames);  // region code → name in the page's language
  var region = box.dataset.region;
  var encode = echarts.format.encodeHTML;

  // The smallest [[west, north], [east, south]] holding `points` ([lon, lat] pairs) and at least `least` degrees
  // across each way; null for no points.
  function bounds(points, least) {
    if (!points.length) { return null; }
    var lons = points.map(function (p) { return p[0]; }), lats = points.map(function (p) { return p[1]; });
    var west = Math.min.apply(null, lons), east = Math.max.apply(null, lons);
    var south = Math.min.apply(null, lats), north = Math.max.apply(null, lats);
    var padLon = Math.max((least - (east - west)) / 2, 0), padLat = Math.max((least - (north - south)) / 2, 0);
    return [[west - padLon, north + padLat], [east + padLon, south - padLat]];
  }

  // Every corner of a feature's polygons.
  function corners(feature) {
    var geometry = feature.geometry;
    var polygons = geometry.type === "Polygon" ? [geometry.coordinates] : geometry.coordinates;
    return [].concat.apply([], [].concat.apply([], polygons));
  }

  // Where the map opens: the region's boundary, or, for a zone without one, where its institutions are.
  function opening(geojson, points) {
    if (!region) { return null; }
    var feature = geojson.features.find(function (f) { return f.properties.code === region; });
    if (feature) { return bounds(corners(feature), 0); }
    // A zone is some 20 km across: its institutions are shown with that much around them.
    return bounds(points.filter(function (p) { return p.region === region; }).map(function (p) { return [p.lon, p.lat]; }), 0.2);
  }

  // A point's tooltip: name, type, beds and the way to its record; every typed value is escaped.
  function tooltip(p) {
    if (p.seriesType === "lines") { return encode(p.data.name); }
    var point = p.data.point;
    var lines = ["<strong>" + encode(point.name) + "</strong>", encode(point.type)];
    if (point.beds !== null && point.beds !== undefined) { lines.push(encode(box.dataset.beds.replace("{beds}", String(point.beds)))); }
    lines.push("<a href=\"" + encode(box.dataset.detail.replace(/0$/, String(point.id))) + "\">" + encode(box.dataset.openLabel) + "</a>");
    return lines.join("<br>");
  }

  Promise.all([
    fetch(box.dataset.geojson).then(function (r) { return r.json(); }),
    fetch(box.dataset.source, { credentials: "same-origin" }).then(function (r) { return r.json(); })
  ]).then(function (loaded) {
    var geojson = loaded[0], data = loaded[1];
    echarts.registerMap("maoming", geojson);
    var chart = echarts.init(box);
    var point = function (p) { return { name: p.name, value: [p.lon, p.lat], id: p.id, point: p }; };
    chart.setOption({
      animation: false,
      // Enterable, so the pointer can reach the record's link; in the page's body, not inside the role=img box.
      // Shown at once and held still (no sliding after the cursor), so its 查看记录 link can be reached.
      tooltip: { trigger: "item", className: "map-tooltip", enterable: true, appendTo: "body", formatter: tooltip,
                 transitionDuration: 0 },
      legend: { top: 8, left: 8 },
      geo: { map: "maoming", nameProperty: "code", roam: true, boundingCoords: opening(geojson, data.points),
             itemStyle: { areaColor: "#f3f6fa", borderColor: "#7a8ca3" },
             regions: region ? [{ name: region, itemStyle: { areaColor: "#e3edf8", borderColor: "#0b4f8a", borderWidth: 2 } }] : [],
             label: { show: true, color: "#5c636a", formatter: function (p) { return names[p.name] || p.name; } },
             emphasis: { disabled: true } },
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
