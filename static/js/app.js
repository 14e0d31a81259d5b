// 医养结合登记系统: the menu, confirmations and the institution pickers (no inline scripts).

// The 菜单 button folds the left menu away and back. A phone starts with it folded (the page first);
// on a wide screen it stays as the user left it.
(function () {
  "use strict";
  var button = document.querySelector(".menu-toggle");
  var menu = document.getElementById("app-menu");
  if (!button || !menu) { return; }
  var body = menu.parentElement;
  var wide = window.matchMedia("(min-width: 992px)");
  var stored = function () {
    try { return window.localStorage.getItem("menu-folded") === "1"; } catch (e) { return false; }
  };
  var show = function () {
    var open = wide.matches ? !body.classList.contains("menu-folded") : body.classList.contains("menu-open");
    button.setAttribute("aria-expanded", open ? "true" : "false");
    button.title = button.getAttribute(open ? "data-open-label" : "data-closed-label");
  };
  body.classList.toggle("menu-folded", stored());
  button.addEventListener("click", function () {
    if (wide.matches) {
      var folded = body.classList.toggle("menu-folded");
      try { window.localStorage.setItem("menu-folded", folded ? "1" : "0"); } catch (e) { /* private mode */ }
    } else {
      body.classList.toggle("menu-open");
    }
    show();
  });
  // Escape on a phone folds the open menu and gives the focus back to the button.
  menu.addEventListener("keydown", function (event) {
    if (event.key === "Escape" && !wide.matches && body.classList.contains("menu-open")) {
      body.classList.remove("menu-open");
      show();
      button.focus();
    }
  });
  wide.addEventListener("change", show);
  show();
})();

(function () {
  "use strict";

  // A form with data-confirm asks before it submits (close, terminate, delete, deactivate).
  document.querySelectorAll("form[data-confirm]").forEach(function (form) {
    form.addEventListener("submit", function (event) {
      if (!window.confirm(form.getAttribute("data-confirm"))) {
        event.preventDefault();
      }
    });
  });

  // An input with data-picker fills its datalist from the search endpoint as the user types.
  document.querySelectorAll("input[data-picker]").forEach(function (input) {
    var list = document.getElementById(input.getAttribute("list"));
    var timer = null;
    input.addEventListener("input", function () {
      clearTimeout(timer);
      var term = input.value.trim();
      if (!list || term.length < 1) { return; }
      timer = setTimeout(function () {
        var url = new URL(input.getAttribute("data-picker"), window.location.href);
        url.searchParams.set("q", term);
        fetch(url, { credentials: "same-origin", headers: { "Accept": "application/json" } })
          .then(function (response) { return response.ok ? response.json() : []; })
          .then(function (rows) {
            list.innerHTML = "";
            rows.forEach(function (row) {
              var option = document.createElement("option");
              option.value = row.code + " " + row.name;
              list.appendChild(option);
            });
          })
          .catch(function () { /* offline or logged out: the field still accepts a code */ });
      }, 200);
    });
  });
})();

// A button with data-busy says so while its form submits (uploads and imports take a while).
(function () {
  "use strict";
  document.querySelectorAll("button[data-busy]").forEach(function (button) {
    button.form && button.form.addEventListener("submit", function () {
      window.setTimeout(function () {
        button.disabled = true;
        button.textContent = button.getAttribute("data-busy");
      }, 0);
    });
  });
})();

// The agreement form lists the medical institutions nearest the chosen home; a click picks one.
(function () {
  "use strict";
  var list = document.getElementById("nearby-medical");
  var home = document.getElementById("eldercare_code");
  var medical = document.getElementById("medical_code");
  if (!list || !home || !medical) { return; }
  var show = function () {
    var code = home.value.trim().split(" ")[0];
    if (!code) { list.textContent = ""; return; }
    var url = new URL(list.dataset.source, window.location.href);
    url.searchParams.set("home_code", code);
    url.searchParams.set("limit", "8");
    fetch(url, { credentials: "same-origin" })
      .then(function (r) { return r.ok ? r.json() : { results: [] }; })
      .then(function (data) {
        list.textContent = "";
        if (data.reason === "no_coordinates") { list.textContent = list.dataset.none; return; }
        if (!data.results.length) { return; }
        var title = document.createElement("div");
        title.textContent = list.dataset.title;
        list.appendChild(title);
        data.results.forEach(function (row) {
          var button = document.createElement("button");
          button.type = "button";
          // Those within NEARBY_KM in blue; the farther ones say so.
          button.className = "btn btn-sm me-1 mb-1 " + (row.nearby ? "btn-outline-primary" : "btn-outline-secondary");
          button.textContent = row.name + " · " + row.distance +
            (row.nearby || !list.dataset.far ? "" : "（" + list.dataset.far + "）");
          button.addEventListener("click", function () { medical.value = row.code + " " + row.name; medical.focus(); });
          list.appendChild(button);
        });
      })
      .catch(function () { list.textContent = ""; });
  };
  home.addEventListener("change", show);
  show();
})();

// The 从地址获取坐标 button asks the server for the address's coordinates (WGS-84) and fills them in.
(function () {
  "use strict";
  var button = document.querySelector("button[data-geocode]");
  var form = button && button.form;
  var lat = document.getElementById("lat");
  var lon = document.getElementById("lon");
  var status = document.getElementById("geocode-status");
  if (!form || !lat || !lon || !status) { return; }
  var source = form.querySelector("input[name='coord_source']");
  var token = form.querySelector("input[name='csrf_token']");
  var label = button.textContent;
  button.hidden = false;
  // Coordinates typed by hand are the user's own: the save records them as manual.
  [lat, lon].forEach(function (input) {
    input.addEventListener("input", function () { if (source) { source.value = ""; } });
  });
  button.addEventListener("click", function () {
    var address = form.querySelector("[name='address']");
    var region = form.querySelector("[name='region_code']");
    var body = new URLSearchParams();
    body.set("address", address ? address.value : "");
    body.set("region_code", region ? region.value : "");
    button.disabled = true;
    button.textContent = button.getAttribute("data-busy-text");
    status.textContent = "";
    fetch(button.getAttribute("data-geocode"), {
      method: "POST",
      credentials: "same-origin",
      headers: { "Accept": "application/json", "X-CSRFToken": token ? token.value : "" },
      body: body
    })
      .then(function (response) {
        if (!response.ok) { throw new Error(String(response.status)); }
        return response.json();  // a login page instead (session ended) fails here too
      })
      .then(function (data) {
        if (data.status === "found") {
          lat.value = data.lat;
          lon.value = data.lon;
          if (source) { source.value = data.source; }
        }
        status.textContent = data.message;
      })
      .catch(function () { status.textContent = button.getAttribute("data-failed"); })
      .finally(function () {
        button.disabled = false;
        button.textContent = label;
      });
  });
})();

// A table wider than its box scrolls sideways (phones): such a box takes the keyboard focus, so the
// arrow keys scroll it, and is a region named after its table, for screen readers.
(function () {
  "use strict";
  var boxes = document.querySelectorAll(".table-responsive");
  if (!boxes.length) { return; }
  var nameOf = function (box) {
    var caption = box.querySelector("caption");
    if (caption && caption.textContent.trim()) { return caption.textContent.trim(); }
    for (var el = box.previousElementSibling; el; el = el.previousElementSibling) {
      var heading = /^H[1-6]$/.test(el.tagName) ? el : el.querySelector("h1, h2, h3, h4, h5, h6");
      if (heading) { return heading.textContent.trim(); }
    }
    var title = document.querySelector("h1");
    return title ? title.textContent.trim() : document.title;
  };
  var update = function () {
    boxes.forEach(function (box) {
      if (box.scrollWidth > box.clientWidth + 1) {
        box.setAttribute("tabindex", "0");
        box.setAttribute("role", "region");
        box.setAttribute("aria-label", nameOf(box));
      } else if (box.getAttribute("tabindex") === "0") {
        box.removeAttribute("tabindex");
        box.removeAttribute("role");
        box.removeAttribute("aria-label");
      }
    });
  };
  update();
  var timer = null;
  window.addEventListener("resize", function () { clearTimeout(timer); timer = setTimeout(update, 150); });
})();
