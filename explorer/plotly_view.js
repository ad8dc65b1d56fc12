// One plotly chart that stays on the page across reruns (explorer/plotly_view.py; docs/performance.md).
//
// Streamlit calls this function each time the chart's data changes (a Custom Component v2, mounted in the page, no
// iframe). The plot element is made once and kept: a new figure goes to Plotly.react, which draws what changed in
// one pass, and a figure identical to the one shown (same JSON, same theme) is not drawn at all. plotly.js is the
// cartesian bundle (scatter, bar, heatmap: every trace type the app draws), 1.5 MB instead of the 4.7 MB chunk of
// st.plotly_chart, loaded once per page from the app's static files.
//
// The theme is Streamlit's own for plotly (what st.plotly_chart applies in the browser): its template's
// placeholder colours (#000001..#000040, streamlit/elements/lib/streamlit_plotly_theme.py) become the theme's
// chart colours, and its fonts, greys and backgrounds sit under the figure's own layout. They are read from the
// CSS properties Streamlit gives every component (--st-*), so a chart follows the light or dark theme, and is
// drawn again when the theme changes.

const GREYS = {                       // Streamlit's greys for chart text and grid lines, by the theme's lightness
  light: { text: "#808495", grid: "#e6eaf1", gray90: "#31333F" },
  dark: { text: "#e6eaf1", grid: "#31333F", gray90: "#e6eaf1" },
};
const CONFIG = { displaylogo: false, responsive: true, modeBarButtonsToRemove: ["sendDataToCloud"] };

function loadPlotly(src) {
  if (!window.__rnnPlotly) {
    window.__rnnPlotly = new Promise((resolve, reject) => {
      if (window.Plotly) { resolve(window.Plotly); return; }
      const script = document.createElement("script");
      script.src = src;
      script.async = true;
      script.onload = () => resolve(window.Plotly);
      script.onerror = () => { window.__rnnPlotly = null; reject(new Error(src)); };
      document.head.appendChild(script);
    });
  }
  return window.__rnnPlotly;
}

function isDark(hex) {               // a background darker than mid-grey (relative luminance, sRGB)
  const m = /^#?([0-9a-f]{2})([0-9a-f]{2})([0-9a-f]{2})/i.exec(hex.trim());
  if (!m) return false;
  const [r, g, b] = m.slice(1).map(h => parseInt(h, 16) / 255)
    .map(c => (c <= 0.03928 ? c / 12.92 : ((c + 0.055) / 1.055) ** 2.4));
  return 0.2126 * r + 0.7152 * g + 0.0722 * b < 0.18;
}

function themeOf(element) {
  const style = getComputedStyle(element);
  const v = name => style.getPropertyValue(name).trim();
  const list = name => v(name).split(",").map(c => c.trim()).filter(Boolean);
  const background = v("--st-background-color") || "#ffffff";
  const greys = GREYS[isDark(background) ? "dark" : "light"];
  return {
    background, greys,
    text: v("--st-text-color"), heading: v("--st-heading-color") || v("--st-text-color"),
    border: v("--st-border-color"), font: v("--st-font") || "sans-serif",
    headingFont: v("--st-heading-font") || v("--st-font") || "sans-serif",
    categorical: list("--st-chart-categorical-colors"), sequential: list("--st-chart-sequential-colors"),
    diverging: list("--st-chart-diverging-colors"),
  };
}

// The placeholders of Streamlit's plotly template ("#000001".."#000040"), replaced in the JSON text as Streamlit
// does, in one pass over it (a figure's text is mostly its arrays).
function withColours(json, t) {
  const colours = {};
  const put = (first, list) => list.forEach((c, i) => { colours[first + i] = c; });
  put(1, t.categorical);
  put(11, t.sequential);
  put(21, t.diverging);
  put(32, ["#29b09d", "#ff2b2b", "#0068c9", t.greys.grid, t.greys.text, t.greys.gray90, t.background, t.border,
    t.background]);
  return json.replace(/"#0000([0-9]{2})"/g, (whole, n) => (colours[Number(n)] ? `"${colours[Number(n)]}"` : whole));
}

// Streamlit's layout theme for plotly (fonts, greys, title on the left), under the template's own layout.
function themeLayout(t) {
  const text = t.greys.text, grid = t.greys.grid;
  const axis = standoff => ({
    zerolinecolor: grid, gridcolor: grid, tickcolor: grid, minor: { gridcolor: grid }, automargin: true,
    tickfont: { color: text, size: 12 }, title: { font: { color: text, size: 14 }, standoff },
  });
  return {
    font: { color: text, family: t.font, size: 12, weight: 400 },
    title: { font: { family: t.headingFont, size: 16, color: t.heading }, pad: { l: 4 }, xanchor: "left", x: 0 },
    legend: { title: { font: { size: 12, color: text }, side: "top" }, valign: "top", bordercolor: "rgba(0,0,0,0)",
      borderwidth: 0, font: { size: 12, color: text } },
    paper_bgcolor: t.background, plot_bgcolor: t.background,
    yaxis: { ...axis(24), ticklabelposition: "outside" },
    xaxis: { ...axis(20), showgrid: false, zeroline: false },
    margin: { pad: 8, r: 0, l: 0 },
    hoverlabel: { bgcolor: t.background, bordercolor: t.border, font: { color: text, family: t.font, size: 12 } },
  };
}

function merge(under, over) {         // over's values win; objects merged key by key, arrays replaced
  const plain = x => x && typeof x === "object" && !Array.isArray(x);
  if (!plain(under) || !plain(over)) return over === undefined ? under : over;
  const out = { ...under };
  for (const [k, v] of Object.entries(over)) out[k] = merge(under[k], v);
  return out;
}

function figureFor(spec, t, config) {
  const fig = JSON.parse(withColours(spec, t));
  const layout = fig.layout || {};
  const template = layout.template || {};
  template.layout = merge(template.layout || {}, themeLayout(t));
  layout.template = template;
  layout.autosize = true;
  delete layout.width;               // the chart fills its column, as st.plotly_chart(width="stretch")
  return { data: fig.data || [], layout, config: { ...CONFIG, ...(config || {}) } };
}

export default function (component) {
  const { parentElement, data } = component;
  let plot = parentElement.querySelector(".rnn-chart > div");
  if (!plot) {                        // <div class="rnn-chart" data-testid="rnnChart"><div (the plot)></div></div>
    const box = document.createElement("div");
    box.className = "rnn-chart";
    box.dataset.testid = "rnnChart";
    plot = document.createElement("div");
    box.appendChild(plot);
    parentElement.appendChild(box);
  }
  plot.__spec = data.spec;
  const draw = Plotly => {
    if (plot.__spec !== data.spec) return;            // a newer figure came while plotly.js was loading
    const t = themeOf(plot);
    const shown = `${JSON.stringify(t)}\n${JSON.stringify(data.config || {})}\n${data.spec}`;
    if (plot.__shown === shown) return;                // the same figure in the same theme: nothing to draw
    plot.__shown = shown;
    const fig = figureFor(data.spec, t, data.config);
    Plotly.react(plot, fig.data, fig.layout, fig.config);
  };
  plot.__draw = draw;                                  // the theme watcher draws the latest figure
  loadPlotly(data.src).then(draw, () => { plot.textContent = data.failed; });   // text, never markup
  // The theme can change without new data (the settings menu, the system's setting). Streamlit gives the theme's
  // CSS properties to the component's wrappers through their class: watch those few elements' class (no subtree,
  // so a rerun's DOM changes elsewhere cost nothing) and the system setting, and draw again when it changed.
  if (!plot.__watch) {
    const media = window.matchMedia("(prefers-color-scheme: dark)");
    let last = themeOf(plot).background;
    const check = () => {
      const now = themeOf(plot).background;
      if (now !== last) { last = now; loadPlotly(data.src).then(P => plot.__draw(P)); }
    };
    const observer = new MutationObserver(check);
    for (let e = plot.parentElement, i = 0; e && i < 6; e = e.parentElement, i++) {
      observer.observe(e, { attributes: true, attributeFilter: ["class", "style"] });
      if (e.classList && e.classList.contains("stBidiComponent")) break;
    }
    media.addEventListener("change", check);
    plot.__watch = () => { observer.disconnect(); media.removeEventListener("change", check); };
  }
  return () => {
    if (plot.__watch) { plot.__watch(); plot.__watch = null; }
    if (window.Plotly && plot.isConnected === false) window.Plotly.purge(plot);
  };
}
