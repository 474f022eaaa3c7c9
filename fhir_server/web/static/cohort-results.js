// A protected cohort answer (the Parameters of $cohort-count or $cohort-federate): its count, the rules that
// applied, and each breakdown as a Chart.js chart with a table of the same numbers (readable without the chart).
import { element, t } from "./app.js";

const AGE_BANDS = ["0-9", "10-19", "20-29", "30-39", "40-49", "50-59", "60-69", "70-79", "80-89", "90+", "unknown", "other"];
const SEXES = ["female", "male", "other", "unknown"];
const COLORS = { female: "#c2185b", male: "#1565c0", bars: "#2e7d32" };
let charts = [];

export function parseAnswer(resource, federated) {
  const answer = { federated, total: null, k: null, rules: [], breakdowns: {}, hospitals: [], epsilon: null, budgetRemaining: null };
  for (const parameter of resource.parameter || []) {
    const value = parameter.valueInteger ?? parameter.valueString ?? parameter.valueDecimal;
    if (parameter.name === "count") answer.total = value;
    else if (parameter.name === "k") answer.k = value;
    else if (parameter.name === "rule") answer.rules.push(value);
    else if (parameter.name === "epsilon" || parameter.name === "budgetRemaining") answer[parameter.name] = value;
    else if (parameter.name === "breakdown") {
      const [dimension, ...cells] = parameter.part;
      answer.breakdowns[dimension.valueCode] = Object.fromEntries(cells.map((cell) => [cell.part[0].valueString,
        cell.part[1].valueInteger ?? cell.part[1].valueString]));
    } else if (parameter.name === "hospital" && parameter.part) {
      const part = Object.fromEntries(parameter.part.map((p) => [p.name, p.valueInteger ?? p.valueString ?? p.valueCode]));
      answer.hospitals.push(part);
    }
  }
  return answer;
}

const numeric = (value) => (typeof value === "number" ? value : 0); // a suppressed cell draws as nothing

export function renderAnswer(answer) {
  for (const chart of charts) chart.destroy();
  charts = [];
  const area = document.getElementById("answer");
  area.replaceChildren(
    element("p", { class: "total" }, element("span", { text: `${t("results.count")}: ` }),
      element("strong", { id: "total", text: String(answer.total ?? "—") })),
    element("p", { class: "note", text: t("results.k", { k: answer.k }) }),
    answer.epsilon !== null ? element("p", { class: "note", id: "budget", text: t("results.budget", {
      epsilon: answer.epsilon, left: answer.budgetRemaining }) }) : null,
    answer.rules.length ? element("div", {}, element("h3", { text: t("results.rules") }),
      element("ul", { id: "rules" }, ...answer.rules.map((rule) => element("li", { text: ruleText(rule) })))) : null,
    csvLink(answer));
  const { breakdowns } = answer;
  if (breakdowns["age-sex"]) area.append(pyramid(breakdowns["age-sex"]));
  if (breakdowns.diagnosis) area.append(bars("diagnosis", t("results.diagnosis"), ordered(breakdowns.diagnosis)));
  if (breakdowns.year) area.append(bars("year", t("results.year"), Object.entries(breakdowns.year).sort()));
  if (answer.federated) area.append(hospitals(answer.hospitals));
}

// The rules as fhir_server/cohorts/service.py states them, in the page's language; any other as it came.
const RULES = [
  [/^minimum cell size k=(\d+); secondary suppression; noise seeded by the members$/, "rule.standard"],
  [/^ultra-rare diagnosis `([^`]+)`: answered only as fewer than k or at least k \(k=(\d+)\)$/, "rule.threshold"],
  [/^no breakdowns under the ultra-rare threshold rule$/, "rule.noBreakdowns"],
  [/^ultra-rare diagnosis `([^`]+)`: minimum cell size raised to k=(\d+); secondary suppression; noise seeded by the members$/, "rule.raised"],
];

function ruleText(rule) {
  for (const [pattern, key] of RULES) {
    const found = rule.match(pattern);
    if (!found) continue;
    return key === "rule.standard" ? t(key, { k: found[1] }) : t(key, { code: found[1], k: found[2] });
  }
  return rule;
}

function ordered(cells) {
  return Object.entries(cells).sort(([a, x], [b, y]) => (numeric(y) - numeric(x)) || a.localeCompare(b));
}

function label(category) {
  if (category === "other") return t("results.other");
  if (category === "none") return t("results.none-diagnosis");
  return category;
}

function figure(id, caption, table) {
  const canvas = element("canvas", { id: `chart-${id}`, role: "img", "aria-label": caption });
  const made = element("figure", { id: `figure-${id}` }, element("figcaption", { text: caption }),
    element("div", { class: "chart" }, canvas), table);
  return { made, canvas };
}

function table(id, headings, rows) {
  return element("table", { id: `table-${id}` },
    element("thead", {}, element("tr", {}, ...headings.map((heading) => element("th", { scope: "col", text: heading })))),
    element("tbody", {}, ...rows.map(([category, ...values]) => element("tr", { "data-category": category },
      element("th", { scope: "row", text: label(category) }), ...values.map((value) => element("td", { text: String(value ?? "") }))))));
}

function pyramid(cells) {
  const bands = AGE_BANDS.filter((band) => SEXES.some((sex) => `${band}|${sex}` in cells));
  const cell = (band, sex) => cells[`${band}|${sex}`];
  const rows = bands.map((band) => [band, ...SEXES.map((sex) => cell(band, sex))]);
  const { made, canvas } = figure("age-sex", t("results.pyramid"),
    table("age-sex", [t("results.ageBand"), ...SEXES.map((sex) => t(`sex.${sex}`))], rows));
  const shown = [...bands].reverse(); // the oldest on top, as a pyramid is drawn
  charts.push(new Chart(canvas, {
    type: "bar",
    data: { labels: shown.map(label), datasets: [
      { label: t("results.male"), data: shown.map((band) => -numeric(cell(band, "male"))), backgroundColor: COLORS.male },
      { label: t("results.female"), data: shown.map((band) => numeric(cell(band, "female"))), backgroundColor: COLORS.female }] },
    options: { indexAxis: "y", animation: false, responsive: true, maintainAspectRatio: false,
      scales: { x: { stacked: true, ticks: { callback: (value) => Math.abs(value) } }, y: { stacked: true } },
      plugins: { tooltip: { callbacks: { label: (item) => `${item.dataset.label}: ${Math.abs(item.raw)}` } } } },
  }));
  return made;
}

function bars(id, caption, entries) {
  const { made, canvas } = figure(id, caption, table(id, [t("results.category"), t("results.count")], entries));
  charts.push(new Chart(canvas, {
    type: "bar",
    data: { labels: entries.map(([category]) => label(category)),
      datasets: [{ label: t("results.count"), data: entries.map(([, value]) => numeric(value)), backgroundColor: COLORS.bars }] },
    options: { animation: false, responsive: true, maintainAspectRatio: false, plugins: { legend: { display: false } } },
  }));
  return made;
}

function hospitals(list) {
  const rows = list.map((hospital) => [hospital.name, hospital.count ?? "", t(`hospital.${hospital.status}`), hospital.message || ""]);
  const { made, canvas } = figure("hospital", t("results.hospital"),
    table("hospital", [t("results.hospital"), t("results.count"), t("results.status"), t("results.message")], rows));
  charts.push(new Chart(canvas, {
    type: "bar",
    data: { labels: list.map((hospital) => hospital.name),
      datasets: [{ label: t("results.count"), data: list.map((hospital) => numeric(hospital.count)), backgroundColor: COLORS.bars }] },
    options: { animation: false, responsive: true, maintainAspectRatio: false, plugins: { legend: { display: false } } },
  }));
  return made;
}

// The aggregates exactly as released, one row per cell: what a researcher may take away.
function csvLink(answer) {
  const rows = [["dimension", "category", "count"], ["total", "", answer.total]];
  for (const [dimension, cells] of Object.entries(answer.breakdowns)) {
    for (const [category, value] of Object.entries(cells)) rows.push([dimension, category, value]);
  }
  for (const hospital of answer.hospitals) rows.push(["hospital", hospital.name, hospital.count ?? hospital.status]);
  const text = rows.map((row) => row.map((value) => `"${String(value ?? "").replace(/"/g, '""')}"`).join(",")).join("\r\n") + "\r\n";
  const url = URL.createObjectURL(new Blob([text], { type: "text/csv;charset=utf-8" }));
  return element("p", {}, element("a", { id: "csv", href: url, download: "cohort.csv", text: t("results.csv") }));
}
