// The integrators' view of import jobs: each job's state and summary, refreshed while any runs, and a job's
// rejects with where each came from and why, filterable, so the source can be fixed and imported again.
import { call, clearError, element, session, showError, signedIn, start, t } from "./app.js";

const SUMMARY = [["read", "imports.read"], ["mapped", "imports.mapped"], ["rejected", "imports.rejected"],
  ["created", "imports.createdCount"], ["updated", "imports.updatedCount"], ["unchanged", "imports.unchanged"]];
let jobs = [];
let rejects = { id: null, lines: [] };
let refreshTimer = null;

start(() => {
  load();
  if (rejects.id) renderRejects();
});
document.getElementById("refresh").addEventListener("click", load);
document.getElementById("reject-filter").addEventListener("input", renderRejects);
document.getElementById("reject-file").addEventListener("change", renderRejects);
document.getElementById("upload").addEventListener("submit", upload);

async function load() {
  clearTimeout(refreshTimer);
  clearError();
  if (!signedIn()) return showError(t("auth.needed"));
  try {
    jobs = (await (await call(`${session.config.importBase}/jobs`, { absolute: true, accept: "application/json" })).json()).jobs;
  } catch (error) {
    return showError(error.message);
  }
  renderJobs();
  if (jobs.some((job) => job.state === "running")) refreshTimer = setTimeout(load, 2000);
}

function renderJobs() {
  const area = document.getElementById("jobs");
  if (!jobs.length) {
    area.replaceChildren(element("p", { text: t("imports.none") }));
    return;
  }
  const headings = [t("imports.job"), t("imports.format"), t("imports.state"), t("imports.created"), t("imports.updated"),
    ...SUMMARY.map(([, key]) => t(key)), t("imports.rejects")];
  area.replaceChildren(element("table", { id: "jobs-table" },
    element("thead", {}, element("tr", {}, ...headings.map((heading) => element("th", { scope: "col", text: heading })))),
    element("tbody", {}, ...jobs.map((job) => element("tr", { "data-job": job.id },
      element("th", { scope: "row" }, element("code", { text: job.id })),
      element("td", { text: job.format }),
      element("td", { class: `state ${job.state}`, text: t(`state.${job.state}`) + (job.message ? `: ${job.message}` : "") }),
      element("td", { text: local(job.created) }), element("td", { text: local(job.updated) }),
      ...SUMMARY.map(([name]) => element("td", { "data-summary": name, text: String((job.summary || {})[name] ?? "") })),
      element("td", {}, element("button", { type: "button", class: "show-rejects", disabled: !(job.summary || {}).rejected,
        text: t("imports.showRejects"), onclick: () => showRejects(job) })))))));
}

function local(instant) {
  return new Date(instant).toLocaleString(session.language === "ko" ? "ko-KR" : "en-GB");
}

async function showRejects(job) {
  clearError();
  try {
    const text = await (await call(job.rejects, { absolute: true, accept: "application/x-ndjson" })).text();
    rejects = { id: job.id, lines: text.split("\n").filter(Boolean).map((line) => JSON.parse(line)) };
  } catch (error) {
    return showError(error.message);
  }
  const files = [...new Set(rejects.lines.map((reject) => (reject.source || {}).file).filter(Boolean))].sort();
  document.getElementById("reject-file").replaceChildren(element("option", { value: "", text: t("imports.allFiles") }),
    ...files.map((file) => element("option", { value: file, text: file })));
  document.getElementById("reject-filter").value = "";
  document.getElementById("rejects").hidden = false;
  renderRejects();
  document.getElementById("rejects-heading").focus();
}

function renderRejects() {
  document.getElementById("rejects-heading").textContent = t("imports.rejectsOf", { id: rejects.id });
  document.getElementById("rejects-heading").tabIndex = -1;
  const words = document.getElementById("reject-filter").value.trim().toLowerCase();
  const file = document.getElementById("reject-file").value;
  const shown = rejects.lines.filter((reject) => (!file || (reject.source || {}).file === file)
    && (!words || JSON.stringify(reject).toLowerCase().includes(words)));
  document.getElementById("reject-count").textContent = t("imports.shown", { shown: shown.length, total: rejects.lines.length });
  document.getElementById("reject-table").replaceChildren(shown.length ? element("table", { id: "rejects-table" },
    element("thead", {}, element("tr", {}, ...["imports.file", "imports.line", "imports.field", "imports.reason"]
      .map((key) => element("th", { scope: "col", text: t(key) })))),
    element("tbody", {}, ...shown.slice(0, 1000).map((reject) => element("tr", {},
      element("td", { text: (reject.source || {}).file || "" }),
      element("td", { text: String((reject.source || {}).line ?? (reject.source || {}).part ?? "") }),
      element("td", { text: reject.field || "" }), element("td", { text: reject.reason || "" })))))
    : element("p", { text: t("imports.noRejects") }));
}

async function upload(event) {
  event.preventDefault();
  clearError();
  const file = document.getElementById("upload-file").files[0];
  if (!file) return;
  const format = document.getElementById("upload-format").value;
  const spec = document.getElementById("upload-spec").value.trim();
  const query = format === "tabular" && spec ? `?${new URLSearchParams({ spec })}` : "";
  try {
    const answered = await call(`${session.config.importBase}/${format}${query}`,
      { method: "POST", absolute: true, accept: "application/json", body: new Blob([file], { type: "application/zip" }) });
    const id = (answered.headers.get("Content-Location") || "").split("/").pop();
    document.getElementById("upload-status").textContent = t("imports.started", { id });
    load();
  } catch (error) {
    showError(error.message);
  }
}
