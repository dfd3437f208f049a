// Pages that follow work still running, without a reload and without losing what staff are doing.
// - A list: rows marked data-live="1" (queued, in a lookup, a batch with work left) get their cells refreshed every
//   5 s from the same URL; ticked boxes, the rest of the list and the scroll position stay as they are.
// - A page of one row marked data-live-state: when the row's state changes, the page reloads once to show the answer.
// A file, not an inline <script>: the console's Content-Security-Policy allows no inline script.
(function () {
    "use strict";
    var EVERY_MS = 5000;

    function visible() {
        return document.visibilityState === "visible";
    }

    function fetchPage() {
        return fetch(window.location.href, { credentials: "same-origin", headers: { "X-Live-Refresh": "1" } })
            .then(function (response) { return response.ok ? response.text() : null; })
            .then(function (html) { return html ? new DOMParser().parseFromString(html, "text/html") : null; });
    }

    function rowKey(row) {
        var box = row.querySelector("input[name=_selected_action]");
        if (box) { return box.value; }
        var link = row.querySelector("a[href]");
        return link ? link.getAttribute("href") : null;
    }

    function liveRows(root) {
        var rows = {};
        root.querySelectorAll("#result_list tbody tr").forEach(function (row) {
            if (row.querySelector("[data-live='1']")) { rows[rowKey(row)] = row; }
        });
        return rows;
    }

    function refreshList() {
        var mine = liveRows(document);
        if (!Object.keys(mine).length || !visible()) { return; }
        fetchPage().then(function (doc) {
            if (!doc) { return; }
            doc.querySelectorAll("#result_list tbody tr").forEach(function (fresh) {
                var row = mine[rowKey(fresh)];
                if (!row) { return; }
                var cells = row.children, news = fresh.children;
                for (var i = 0; i < cells.length && i < news.length; i++) {
                    if (cells[i].querySelector("input[name=_selected_action]")) { continue; }  // keep the tick
                    if (cells[i].innerHTML !== news[i].innerHTML) { cells[i].innerHTML = news[i].innerHTML; }
                }
            });
        });
    }

    function refreshDetail() {
        var marker = document.querySelector("[data-live-state]");
        if (!marker || !visible()) { return; }
        fetchPage().then(function (doc) {
            var fresh = doc && doc.querySelector("[data-live-state]");
            var now = fresh ? fresh.getAttribute("data-live-state") : "gone";
            if (now !== marker.getAttribute("data-live-state")) { window.location.reload(); }
        });
    }

    // A phone's list names each cell by its column (data-label): capitalized as Spanish writes it, first letter only.
    function capitalizeLabels() {
        document.querySelectorAll("#result_list td[data-label], #result_list th[data-label]").forEach(function (cell) {
            var label = cell.getAttribute("data-label") || "";
            cell.setAttribute("data-label", label.charAt(0).toLocaleUpperCase("es") + label.slice(1));
        });
    }

    document.addEventListener("DOMContentLoaded", function () {
        capitalizeLabels();
        if (document.querySelector("#result_list [data-live='1']")) { window.setInterval(refreshList, EVERY_MS); }
        if (document.querySelector("[data-live-state]")) { window.setInterval(refreshDetail, EVERY_MS); }
    });
})();
