// Compliance dashboard: year-end progress charts and the district map (Apache ECharts, vendored).
(function () {
  "use strict";
  var source = document.getElementById("compliance-data");
  if (!source || !window.echarts) { return; }
  var data = JSON.parse(source.textContent);
  var holder = document.getElementById("charts");
  var charts = [];

  function formatter(share) {
    return function (value) {
      if (value === null || value === undefined || Number.isNaN(value)) { return "—"; }
      return share ? (value * 100).toFixed(1) + "%" : String(value);
    };
  }

  data.order.forEach(function (key) {
    var indicator = data.indicators[key];
    var format = formatter(indicator.share);
    var column = document.createElement("div");
    column.className = "col-md-6 col-xl-4";
    var title = document.createElement("h3");
    title.className = "h6";
    title.textContent = indicator.label;
    var box = document.createElement("div");
    box.className = "chart";
    box.setAttribute("role", "img");
    box.setAttribute("aria-label", indicator.label + ": " + data.years.map(function (year, i) {
      return year + " " + format(indicator.series[i]);
    }).join(", "));
    column.appendChild(title);
    column.appendChild(box);
    holder.appendChild(column);
    var chart = echarts.init(box);
    var highest = Math.max.apply(null, indicator.targets.map(function (t) { return t.value; }).concat([0]));
    chart.setOption({
      animation: false,
      grid: { left: 52, right: 20, top: 28, bottom: 28 },
      tooltip: { trigger: "axis", valueFormatter: format },
      xAxis: { type: "category", data: data.years },
      yAxis: {
        type: "value",
        max: indicator.share ? 1 : function (extent) { return Math.max(extent.max, highest); },
        axisLabel: { formatter: format }
      },
      series: [{
        type: "line",
        data: indicator.series,
        markLine: {
          symbol: "none",
          lineStyle: { type: "dashed", color: "#b02a37" },
          data: indicator.targets.map(function (target) {
            return {
              yAxis: target.value,
              label: { position: "insideEndTop", formatter: holder.dataset.targetLabel + " " + format(target.value) + " (" + target.deadline.slice(0, 4) + ")" }
            };
          })
        }
      }]
    });
    charts.push(chart);
  });

  var mapBox = document.getElementById("district-map");
  var picker = document.getElementById("map-indicator");
  if (mapBox && picker) {
    fetch(mapBox.dataset.geojson)
      .then(function (response) { return response.json(); })
      .then(function (geojson) {
        echarts.registerMap("maoming", geojson);
        var chart = echarts.init(mapBox);
        charts.push(chart);
        var draw = function () {
          var indicator = data.indicators[picker.value];
          var format = formatter(indicator.share);
          var values = geojson.features.map(function (feature) {
            var code = feature.properties.code;
            var value = indicator.regions[code];
            return { name: code, value: value === undefined ? null : value };
          });
          var numbers = values.map(function (v) { return v.value; }).filter(function (v) { return v !== null; });
          if (!numbers.length) { numbers = [0]; }
          chart.setOption({
            animation: false,
            tooltip: { trigger: "item", formatter: function (p) {
              return echarts.format.encodeHTML(data.region_names[p.name] + ": " + format(p.value));
            } },
            visualMap: {
              min: 0, max: indicator.share ? 1 : Math.max(1, Math.max.apply(null, numbers.concat([0]))),
              left: "left", bottom: 8, calculable: true, formatter: format,
              inRange: { color: ["#fbe3e4", "#0b4f8a"] }
            },
            series: [{
              type: "map", map: "maoming", nameProperty: "code", data: values,
              // Dark text with a white halo reads on the palest and on the darkest district.
              label: { show: true, color: "#212529", textBorderColor: "#fff", textBorderWidth: 3,
                       formatter: function (p) { return data.region_names[p.name] + "\n" + format(p.value); } }
            }]
          }, true);
          var shown = document.getElementById("map-indicator-shown");
          if (shown) { shown.textContent = shown.dataset.label.replace("{indicator}", indicator.label); }
          document.querySelectorAll("#zone-values li").forEach(function (item) {
            item.querySelector(".zone-value").textContent = format(indicator.regions[item.dataset.region]);
          });
        };
        picker.addEventListener("change", draw);
        draw();
      })
      .catch(function () { mapBox.textContent = holder.dataset.noData; });
  }

  // The boxes take other sizes on paper (static/css/app.css): the charts are drawn again to fit, and back.
  var redraw = function () { charts.forEach(function (c) { c.resize(); }); };
  window.addEventListener("resize", redraw);
  window.addEventListener("beforeprint", redraw);
  window.addEventListener("afterprint", redraw);
  window.matchMedia("print").addEventListener("change", redraw);
})();
