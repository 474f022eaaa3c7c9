// The form's model of a cohort and the definition JSON of fhir_server/cohorts/definition.py, both ways.
//   group:     {kind: "group", op: "and" | "or", items: [...], not}
//   diagnosis: {kind, system, code, display, below, valueSet, not, within}     medication, procedure: {kind, system, code, ...}
//   age: {kind, min, max, at}   sex: {kind, value}   lab: {kind, code, comparator, value, unit}
//   variant: {kind, gene, hgvs, zygosity}   encounter: {kind, cls}           within: {fromDays, toDays} or null

export const EVENT_KINDS = ["diagnosis", "lab", "medication", "procedure", "variant", "encounter"];
export const DEFAULT_SYSTEMS = { medication: "hira-medication", procedure: "hira-procedure" };

export function newItem(kind) {
  const made = { kind, not: false, within: null };
  if (kind === "group") return { ...made, op: "or", items: [] };
  if (kind === "age") return { ...made, min: "", max: "", at: "today" };
  if (kind === "sex") return { ...made, value: "female" };
  if (kind === "lab") return { ...made, code: "", comparator: "", value: "", unit: "" };
  if (kind === "variant") return { ...made, gene: "", hgvs: "", zygosity: "" };
  if (kind === "encounter") return { ...made, cls: "IMP" };
  return { ...made, system: DEFAULT_SYSTEMS[kind] || "icd10", code: "", below: true };
}

export class Incomplete extends Error {}

export function toDefinition(model, today) {
  const definition = { criteria: criterion(model.root, model.index !== null, today) };
  if (model.index) definition.index = { diagnosis: code(model.index) };
  return definition;
}

function code(item) {
  if (item.valueSet) return { valueSet: item.valueSet };
  if (!item.code) throw new Incomplete("cohorts.needCode");
  return { system: item.system, code: item.code, ...(item.kind === "diagnosis" ? { below: Boolean(item.below) } : {}) };
}

function within(item, timed) {
  const window = item.within;
  if (!timed || !window || window.fromDays === "" || window.toDays === "") return {};
  return { within: { fromDays: Number(window.fromDays), toDays: Number(window.toDays) } };
}

function criterion(item, timed, today) {
  let made;
  if (item.kind === "group") {
    if (!item.items.length) throw new Incomplete("cohorts.emptyGroup");
    made = { [item.op]: item.items.map((part) => criterion(part, timed, today)) };
  } else if (item.kind === "age") {
    made = { age: { ...(item.min !== "" ? { min: Number(item.min) } : {}), ...(item.max !== "" ? { max: Number(item.max) } : {}),
      at: item.at === "today" ? today : item.at } };
  } else if (item.kind === "sex") {
    made = { sex: item.value };
  } else if (item.kind === "lab") {
    if (!item.code) throw new Incomplete("cohorts.needCode");
    made = { lab: { code: item.code, ...(item.comparator && item.value !== "" ? { comparator: item.comparator, value: Number(item.value) } : {}),
      ...(item.unit ? { unit: item.unit } : {}), ...within(item, timed) } };
  } else if (item.kind === "variant") {
    const named = Object.fromEntries(["gene", "hgvs", "zygosity"].filter((key) => item[key]).map((key) => [key, item[key]]));
    if (!Object.keys(named).length) throw new Incomplete("cohorts.needCode");
    made = { variant: { ...named, ...within(item, timed) } };
  } else if (item.kind === "encounter") {
    made = { encounter: { class: item.cls, ...within(item, timed) } };
  } else {
    made = { [item.kind]: { ...code(item), ...within(item, timed) } };
  }
  return item.not ? { not: made } : made;
}

export function fromDefinition(definition) {
  const root = toItem(definition.criteria);
  const model = { root: root.kind === "group" && !root.not ? root : { ...newItem("group"), op: "and", items: [root] }, index: null };
  if (definition.index && definition.index.diagnosis) model.index = { ...newItem("diagnosis"), ...codeItem(definition.index.diagnosis) };
  return model;
}

function codeItem(coded) {
  return coded.valueSet ? { valueSet: coded.valueSet, code: "", system: "" }
    : { system: coded.system, code: coded.code, below: Boolean(coded.below), display: "" };
}

function windowOf(body) {
  return body.within ? { fromDays: body.within.fromDays, toDays: body.within.toDays } : null;
}

function toItem(criterion) {
  if (criterion.not) {
    const inner = toItem(criterion.not);
    return { ...inner, not: !inner.not };
  }
  if (criterion.and || criterion.or) {
    return { ...newItem("group"), op: criterion.and ? "and" : "or", items: (criterion.and || criterion.or).map(toItem) };
  }
  const [kind, body] = Object.entries(criterion)[0];
  if (kind === "sex") return { ...newItem("sex"), value: body };
  if (kind === "age") return { ...newItem("age"), min: body.min ?? "", max: body.max ?? "", at: body.at || "today" };
  if (kind === "lab") {
    return { ...newItem("lab"), code: body.code, comparator: body.comparator || "", value: body.value ?? "",
      unit: body.unit || "", within: windowOf(body) };
  }
  if (kind === "variant") {
    return { ...newItem("variant"), gene: body.gene || "", hgvs: body.hgvs || "", zygosity: body.zygosity || "", within: windowOf(body) };
  }
  if (kind === "encounter") return { ...newItem("encounter"), cls: body.class || "", within: windowOf(body) };
  return { ...newItem(kind), ...codeItem(body), within: windowOf(body) };
}
