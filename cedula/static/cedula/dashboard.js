// Unfold draws charts once on page load; the dashboard's canvases swapped in by htmx need the same treatment.
// A file, not an inline <script>: the console's Content-Security-Policy allows no inline script.
document.addEventListener("htmx:afterSwap", function (event) {
    if (event.detail.target.id === "cedula-dashboard" && typeof renderCharts === "function") {
        renderCharts();
    }
});
