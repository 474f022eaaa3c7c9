// The cohort explorer: a definition built with a form, counted by Group/$cohort-count (or $cohort-federate),
// and the protected answer drawn as charts with the numbers beside them.
import { call, clearError, element, session, showError, signedIn, start, t } from "./app.js";
import { EVENT_KINDS, Incomplete, fromDefinition, newItem, toDefinition } from "./cohort-definition.js";
import { renderAnswer, parseAnswer } from "./cohort-results.js";

const SYSTEMS = [
  { alias: "icd10", url: "http://hl7.org/fhir/sid/icd-10", name: "ICD-10" },
  { alias: "kcd", url: "http://www.hl7korea.or.kr/CodeSystem/kostat-kcd-8", name: "KCD" },
  { alias: "orpha", url: "http://www.orpha.net", name: "ORPHA" },
];
const ADDABLE = ["age", "sex", "lab", "medication", "procedure", "variant", "encounter", "group"];
const SAVED = "fhir-server-saved-cohorts";
let model = { root: { ...newItem("group"), op: "and" }, index: null };
let lastAnswer = null;
let searchTimer = null;
let searchNumber = 0;

start(() => {
  renderCriteria();
  renderIndex();
  renderSaved();
  if (lastAnswer) renderAnswer(lastAnswer);
});

document.getElementById("search").addEventListener("input", (event) => {
  clearTimeout(searchTimer);
  searchTimer = setTimeout(() => search(event.target.value.trim()), 250);
});
document.getElementById("count").addEventListener("click", () => count());
document.getElementById("save").addEventListener("click", save);
document.getElementById("open").addEventListener("click", () => open(document.getElementById("open-id").value.trim()));

function today() {
  return new Date().toISOString().slice(0, 10);
}

// -- terminology search: ValueSet/$expand over each code system, filtered by the words typed
async function search(text) {
  const number = ++searchNumber;
  const area = document.getElementById("suggestions");
  if (text.length < 2) {
    area.replaceChildren();
    return;
  }
  area.replaceChildren(element("p", { class: "note", text: t("cohorts.loading") }));
  const found = await Promise.all(SYSTEMS.map((system) => expand(system, text)));
  if (number !== searchNumber) return; // a newer search is under way
  const groups = found.filter((group) => group.concepts.length);
  area.replaceChildren(...(groups.length ? groups.map(renderSuggestions) : [element("p", { text: t("cohorts.noMatch") })]));
}

async function expand(system, text) {
  const parameters = { resourceType: "Parameters", parameter: [
    { name: "valueSet", resource: { resourceType: "ValueSet", status: "active", compose: { include: [{ system: system.url }] } } },
    { name: "filter", valueString: text }, { name: "count", valueInteger: 8 },
    { name: "displayLanguage", valueCode: session.language }] };
  try {
    const expansion = (await (await call("/ValueSet/$expand", { method: "POST", body: parameters })).json()).expansion;
    return { system, concepts: expansion.contains || [] };
  } catch (error) {
    if (error.status !== 404) showError(error.message); // 404: this code system is not loaded here
    return { system, concepts: [] };
  }
}

function renderSuggestions({ system, concepts }) {
  return element("div", { class: "suggestions" },
    element("h4", { text: system.name }),
    element("ul", {}, ...concepts.map((concept) => element("li", {},
      element("button", { type: "button", class: "suggestion", "data-code": concept.code, "data-system": system.alias,
        onclick: () => pick(system, concept) },
      element("code", { text: concept.code }), " ", concept.display || "")))));
}

async function pick(system, concept) {
  const picked = { ...newItem("diagnosis"), system: system.alias, code: concept.code, display: concept.display || "" };
  const area = document.getElementById("picked");
  const below = element("input", { type: "checkbox", id: "picked-below", checked: true });
  const trail = element("ol", { class: "hierarchy", "aria-label": t("cohorts.hierarchy") });
  area.replaceChildren(element("div", { class: "picked", role: "group", "aria-label": `${system.name} ${concept.code}` },
    element("p", {}, element("strong", { text: `${system.name} ${concept.code}` }), ` ${picked.display}`),
    element("p", { class: "note", text: t("cohorts.hierarchy") }), trail,
    element("label", {}, below, ` ${t("cohorts.below")}`),
    element("div", { class: "actions" },
      element("button", { type: "button", id: "add-diagnosis", text: t("cohorts.addDiagnosis"), onclick: () => {
        model.root.items.push({ ...picked, below: below.checked });
        renderCriteria();
      } }),
      element("button", { type: "button", id: "set-index", text: t("cohorts.setIndex"), onclick: () => {
        model.index = { ...picked, below: below.checked };
        renderIndex();
        renderCriteria();
      } }))));
  for (const step of await ancestors(system, concept.code)) trail.prepend(element("li", {}, element("code", { text: step.code }), ` ${step.display}`));
  trail.append(element("li", { "aria-current": "true" }, element("code", { text: concept.code }), ` ${picked.display}`));
}

// The concept's parents up to the top of its classification, nearest first, by CodeSystem/$lookup.
async function ancestors(system, code) {
  const found = [];
  let current = code;
  for (let depth = 0; depth < 8; depth++) {
    const query = new URLSearchParams({ system: system.url, code: current, property: "parent", displayLanguage: session.language });
    let parameters;
    try {
      parameters = (await (await call(`/CodeSystem/$lookup?${query}`)).json()).parameter || [];
    } catch {
      break;
    }
    if (depth > 0) found.push({ code: current, display: (parameters.find((p) => p.name === "display") || {}).valueString || "" });
    const parent = parameters.filter((p) => p.name === "property").map((p) => p.part)
      .find((part) => part.some((x) => x.name === "code" && x.valueCode === "parent"));
    if (!parent) break;
    current = parent.find((x) => x.name === "value").valueCode;
  }
  return found;
}

// -- the criteria form
function renderIndex() {
  const area = document.getElementById("index");
  if (!model.index) {
    area.replaceChildren(element("p", { id: "index-none", text: t("cohorts.indexNone") }));
    return;
  }
  const index = model.index;
  area.replaceChildren(element("p", { id: "index-event" }, element("code", { text: index.code || index.valueSet }),
    ` ${index.display || ""}`, index.below ? ` (${t("cohorts.below")})` : ""),
  element("button", { type: "button", text: t("cohorts.clearIndex"), onclick: () => {
    model.index = null;
    renderIndex();
    renderCriteria();
  } }));
}

function renderCriteria() {
  document.getElementById("criteria").replaceChildren(renderGroup(model.root, null, "c"));
}

function field(label, id, input) {
  input.id = id;
  return element("span", { class: "field" }, element("label", { for: id, text: label }), input);
}

function textInput(item, key, attributes = {}) {
  return element("input", { type: "text", value: item[key] ?? "", ...attributes, oninput: (event) => { item[key] = event.target.value; } });
}

function choice(item, key, options) {
  const select = element("select", { onchange: (event) => { item[key] = event.target.value; } },
    ...options.map(([value, label]) => element("option", { value, text: label, selected: String(item[key]) === String(value) })));
  return select;
}

function renderGroup(group, parent, id) {
  const items = group.items.map((item, position) => (item.kind === "group"
    ? renderGroup(item, group, `${id}-${position}`) : renderItem(item, group, `${id}-${position}`)));
  const kind = element("select", { id: `${id}-kind`, "aria-label": t("cohorts.add") },
    ...ADDABLE.map((name) => element("option", { value: name, text: name === "group" ? t("cohorts.group") : t(`kind.${name}`) })));
  return element("fieldset", { class: "group", id },
    element("legend", { text: parent ? t("cohorts.group") : t("cohorts.criteria") }),
    field(t("cohorts.match"), `${id}-op`, choice(group, "op", [["and", t("cohorts.all")], ["or", t("cohorts.any")]])),
    parent ? negation(group, id) : null,
    ...(items.length ? items : [element("p", { class: "note", text: t("cohorts.empty") })]),
    element("div", { class: "actions" }, kind,
      element("button", { type: "button", id: `${id}-add`, text: t("cohorts.add"), onclick: () => {
        group.items.push(newItem(kind.value));
        renderCriteria();
      } })),
    parent ? removal(group, parent, id) : null);
}

function negation(item, id) {
  const box = element("input", { type: "checkbox", id: `${id}-not`, checked: item.not, onchange: (event) => { item.not = event.target.checked; } });
  return element("label", { class: "not" }, box, ` ${t("cohorts.not")}`);
}

function removal(item, parent, id) {
  return element("button", { type: "button", class: "remove", id: `${id}-remove`, text: t("cohorts.remove"), onclick: () => {
    parent.items.splice(parent.items.indexOf(item), 1);
    renderCriteria();
  } });
}

function renderItem(item, parent, id) {
  const fields = [];
  if (item.kind === "diagnosis") {
    fields.push(element("span", {}, element("code", { text: item.code || item.valueSet }), ` ${item.display || ""} `,
      item.below ? `(${t("cohorts.below")})` : ""));
  } else if (item.kind === "age") {
    const at = [["today", t("field.atToday")], ["index", t("field.atIndex")]];
    if (!["today", "index"].includes(item.at)) at.push([item.at, item.at]);
    fields.push(field(t("field.min"), `${id}-min`, textInput(item, "min", { inputmode: "numeric", size: 4 })),
      field(t("field.max"), `${id}-max`, textInput(item, "max", { inputmode: "numeric", size: 4 })),
      field(t("field.at"), `${id}-at`, choice(item, "at", at)));
  } else if (item.kind === "sex") {
    fields.push(field(t("field.sex"), `${id}-sex`, choice(item, "value", ["female", "male", "other", "unknown"].map((sex) => [sex, t(`sex.${sex}`)]))));
  } else if (item.kind === "lab") {
    fields.push(field(t("field.loinc"), `${id}-code`, textInput(item, "code", { size: 8 })),
      field(t("field.comparator"), `${id}-comparator`, choice(item, "comparator", [["", "—"], ...[">", ">=", "<", "<=", "=", "!="].map((c) => [c, c])])),
      field(t("field.value"), `${id}-value`, textInput(item, "value", { inputmode: "decimal", size: 6 })),
      field(t("field.unit"), `${id}-unit`, textInput(item, "unit", { size: 6 })));
  } else if (item.kind === "medication" || item.kind === "procedure") {
    fields.push(field(t("field.system"), `${id}-system`, textInput(item, "system", { size: 16 })),
      field(t("field.code"), `${id}-code`, textInput(item, "code", { size: 12 })));
  } else if (item.kind === "variant") {
    fields.push(field(t("field.gene"), `${id}-gene`, textInput(item, "gene", { size: 8 })),
      field(t("field.hgvs"), `${id}-hgvs`, textInput(item, "hgvs", { size: 14 })),
      field(t("field.zygosity"), `${id}-zygosity`, choice(item, "zygosity", [["", t("field.any")], ["heterozygous", "heterozygous"],
        ["homozygous", "homozygous"], ["hemizygous", "hemizygous"]])));
  } else if (item.kind === "encounter") {
    fields.push(field(t("field.class"), `${id}-class`, choice(item, "cls", [["AMB", "AMB"], ["IMP", "IMP"], ["EMER", "EMER"]])));
  }
  if (model.index && EVENT_KINDS.includes(item.kind)) fields.push(windowFields(item, id));
  return element("fieldset", { class: "criterion", id, "data-kind": item.kind },
    element("legend", { text: t(`kind.${item.kind}`) }), ...fields, negation(item, id), removal(item, parent, id));
}

function windowFields(item, id) {
  item.within = item.within || { fromDays: "", toDays: "" };
  return element("span", { class: "window", role: "group", "aria-label": t("field.within") },
    element("span", { text: `${t("field.within")}: ` }),
    field(t("field.from"), `${id}-from`, textInput(item.within, "fromDays", { inputmode: "numeric", size: 5 })),
    field(t("field.to"), `${id}-to`, textInput(item.within, "toDays", { inputmode: "numeric", size: 5 })));
}

// -- asking
function definition() {
  try {
    return toDefinition(model, today());
  } catch (error) {
    if (error instanceof Incomplete) {
      showError(t("cohorts.invalid", { reason: t(error.message) }));
      return null;
    }
    throw error;
  }
}

// Each breakdown costs as much privacy budget as the count itself, so the researcher chooses them.
function breakdowns(withIndex, federated) {
  const chosen = ["age-sex", "diagnosis", "year"].filter((name) => document.getElementById(`breakdown-${name}`).checked);
  return chosen.filter((name) => name !== "year" || withIndex).concat(federated ? ["hospital"] : []);
}

function countParameters(source, withIndex, federated) {
  return { resourceType: "Parameters", parameter: [
    ...(source ? [{ name: "definition", valueString: JSON.stringify(source) }] : []),
    ...breakdowns(withIndex, federated).map((name) => ({ name: "breakdown", valueCode: name }))] };
}

async function count() {
  clearError();
  if (!signedIn()) return showError(t("auth.needed"));
  const source = definition();
  if (!source) return;
  const federated = document.getElementById("federate").checked;
  try {
    const answered = await call(`/Group/$cohort-${federated ? "federate" : "count"}`,
      { method: "POST", body: countParameters(source, Boolean(source.index), federated) });
    lastAnswer = parseAnswer(await answered.json(), federated);
    renderAnswer(lastAnswer);
  } catch (error) {
    showError(error.message);
  }
}

async function save() {
  clearError();
  const source = definition();
  if (!source) return;
  const name = document.getElementById("cohort-name").value.trim();
  try {
    const group = await (await call("/Group/$cohort-save", { method: "POST", body: { resourceType: "Parameters", parameter: [
      { name: "definition", valueString: JSON.stringify(source) }, ...(name ? [{ name: "name", valueString: name }] : [])] } })).json();
    const saved = JSON.parse(localStorage.getItem(SAVED) || "[]").filter((entry) => entry.id !== group.id);
    saved.unshift({ id: group.id, name: name || group.id });
    localStorage.setItem(SAVED, JSON.stringify(saved.slice(0, 50)));
    document.getElementById("save-status").textContent = t("cohorts.saved", { reference: `Group/${group.id}` });
    renderSaved();
  } catch (error) {
    showError(error.message);
  }
}

function renderSaved() {
  const saved = JSON.parse(localStorage.getItem(SAVED) || "[]");
  document.getElementById("saved-list").replaceChildren(...(saved.length ? saved.map((entry) => element("li", {},
    `${entry.name} (Group/${entry.id}) `,
    element("button", { type: "button", class: "open-saved", "data-id": entry.id, text: t("cohorts.open"),
      onclick: () => open(entry.id) }))) : [element("li", { class: "note", text: t("cohorts.savedNone") })]));
}

// Reopen a saved Group: counting it again returns its definition too, which refills the form.
async function open(id) {
  clearError();
  if (!id) return;
  try {
    // The year breakdown needs an index event; which the saved definition has is learnt from the answer.
    let answered = await call(`/Group/${encodeURIComponent(id)}/$cohort-count`, { method: "POST", body: countParameters(null, true, false) })
      .catch(async (error) => {
        if (error.status !== 400) throw error;
        return call(`/Group/${encodeURIComponent(id)}/$cohort-count`, { method: "POST", body: countParameters(null, false, false) });
      });
    const body = await answered.json();
    const returned = Object.fromEntries(body.parameter.filter((p) => ["definition", "name"].includes(p.name)).map((p) => [p.name, p.valueString]));
    model = fromDefinition(JSON.parse(returned.definition));
    document.getElementById("cohort-name").value = returned.name || "";
    lastAnswer = parseAnswer(body, false);
    renderIndex();
    renderCriteria();
    renderAnswer(lastAnswer);
  } catch (error) {
    showError(error.message);
  }
}
