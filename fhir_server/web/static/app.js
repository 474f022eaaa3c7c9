// What every page shares: configuration, language, signing in (SMART standalone launch with PKCE, or a
// pasted token), and calls to the server's APIs with the token.
import { STRINGS } from "./i18n.js";

const TOKEN = "fhir-server-token";
const LAUNCH = "fhir-server-launch";
export const session = { config: null, smart: null, token: null, language: "en" };

export function t(key, values = {}) {
  const text = STRINGS[session.language][key] ?? STRINGS.en[key] ?? key;
  return text.replace(/\{(\w+)\}/g, (_, name) => String(values[name] ?? ""));
}

export function element(tag, attributes = {}, ...children) {
  const made = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes)) {
    if (value === undefined || value === null || value === false) continue;
    if (name.startsWith("on")) made.addEventListener(name.slice(2), value);
    else if (name === "text") made.textContent = value;
    else made.setAttribute(name, value === true ? "" : value);
  }
  made.append(...children.filter((child) => child !== null && child !== undefined));
  return made;
}

export async function start(onReady) {
  session.language = chosenLanguage();
  session.config = await (await fetch("config.json")).json();
  if (session.config.auth) {
    const found = await fetch(`${session.config.fhirBase}/.well-known/smart-configuration`);
    session.smart = found.ok ? await found.json() : {};
  }
  await finishSignIn();
  session.token = sessionStorage.getItem(TOKEN);
  const render = () => {
    document.documentElement.lang = session.language;
    translate(document);
    renderAccount();
    onReady();
  };
  document.getElementById("language").value = session.language;
  document.getElementById("language").addEventListener("change", (event) => {
    session.language = event.target.value;
    localStorage.setItem("language", session.language);
    render();
  });
  render();
}

function chosenLanguage() {
  const asked = new URLSearchParams(location.search).get("lang") || localStorage.getItem("language")
    || (navigator.language || "").slice(0, 2);
  return asked === "ko" ? "ko" : "en";
}

export function translate(root) {
  for (const node of root.querySelectorAll("[data-i18n]")) node.textContent = t(node.dataset.i18n);
  for (const node of root.querySelectorAll("[data-i18n-placeholder]")) node.placeholder = t(node.dataset.i18nPlaceholder);
  for (const node of root.querySelectorAll("[data-i18n-label]")) node.setAttribute("aria-label", t(node.dataset.i18nLabel));
  document.title = t(document.body.dataset.title) + " · " + t("app.title");
}

export function signedIn() {
  return !session.config.auth || Boolean(session.token);
}

// The token's claims, for showing who is signed in; the server verifies the token, the page never does.
function claims() {
  try {
    const payload = session.token.split(".")[1].replace(/-/g, "+").replace(/_/g, "/");
    return JSON.parse(decodeURIComponent(escape(atob(payload))));
  } catch {
    return {};
  }
}

function renderAccount() {
  const account = document.getElementById("account");
  account.replaceChildren();
  if (!session.config.auth) {
    account.append(element("p", { class: "note", text: t("auth.off") }));
    return;
  }
  if (session.token) {
    const who = claims();
    account.append(element("span", { id: "signed-in", text: t("auth.signedIn", {
      subject: who.sub || "?", roles: (who.roles || ["user"]).join(", ") }) }),
    element("button", { type: "button", onclick: signOut, text: t("auth.signOut") }));
    return;
  }
  if (session.smart.authorization_endpoint && session.smart.token_endpoint) {
    account.append(element("button", { type: "button", id: "sign-in", onclick: startSignIn, text: t("auth.signIn") }));
  }
  const pasted = element("textarea", { id: "token", rows: "2", "aria-describedby": "token-help" });
  account.append(element("details", {},
    element("summary", { text: t("auth.paste") }),
    element("label", { for: "token", text: t("auth.paste") }), pasted,
    element("p", { id: "token-help", class: "note", text: t("auth.pasteHelp") }),
    element("button", { type: "button", id: "use-token", text: t("auth.use"), onclick: () => {
      session.token = pasted.value.trim();
      sessionStorage.setItem(TOKEN, session.token);
      location.reload();
    } })));
}

function signOut() {
  sessionStorage.removeItem(TOKEN);
  location.reload();
}

function randomText(bytes) {
  return base64url(crypto.getRandomValues(new Uint8Array(bytes)));
}

function base64url(buffer) {
  return btoa(String.fromCharCode(...new Uint8Array(buffer))).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
}

function redirectUri() {
  return location.origin + location.pathname;
}

async function startSignIn() {
  const verifier = randomText(48);
  const challenge = base64url(await crypto.subtle.digest("SHA-256", new TextEncoder().encode(verifier)));
  const state = randomText(18);
  sessionStorage.setItem(LAUNCH, JSON.stringify({ verifier, state, redirect: redirectUri() }));
  const url = new URL(session.smart.authorization_endpoint);
  url.search = new URLSearchParams({
    response_type: "code", client_id: session.config.clientId, redirect_uri: redirectUri(),
    scope: session.config.scopes, state, code_challenge: challenge, code_challenge_method: "S256",
    aud: new URL(session.config.fhirBase, location.href).href,
  }).toString();
  location.assign(url.href);
}

// Back from the authorization server with ?code=&state=: exchange the code for the token (PKCE).
async function finishSignIn() {
  const params = new URLSearchParams(location.search);
  if (!params.has("code") && !params.has("error")) return;
  const launch = JSON.parse(sessionStorage.getItem(LAUNCH) || "null");
  sessionStorage.removeItem(LAUNCH);
  history.replaceState(null, "", location.pathname);
  try {
    if (params.has("error")) throw new Error(params.get("error_description") || params.get("error"));
    if (!launch || params.get("state") !== launch.state) throw new Error("state mismatch");
    const answered = await fetch(session.smart.token_endpoint, {
      method: "POST", headers: { "Content-Type": "application/x-www-form-urlencoded" },
      body: new URLSearchParams({ grant_type: "authorization_code", code: params.get("code"),
        redirect_uri: launch.redirect, client_id: session.config.clientId, code_verifier: launch.verifier }),
    });
    const body = await answered.json();
    if (!answered.ok || !body.access_token) throw new Error(body.error_description || body.error || answered.status);
    sessionStorage.setItem(TOKEN, body.access_token);
  } catch (error) {
    showError(t("auth.failed", { reason: error.message }));
  }
}

export function showError(message) {
  const area = document.getElementById("errors");
  area.replaceChildren(element("p", { role: "alert", class: "error", text: message }));
}

export function clearError() {
  document.getElementById("errors").replaceChildren();
}

// A call to the FHIR API (path under its base) or, with absolute=true, to another path of this server.
// An error answer becomes an Error carrying the OperationOutcome's diagnostics.
export async function call(path, { method = "GET", body, absolute = false, accept = "application/fhir+json" } = {}) {
  const headers = { Accept: accept };
  if (session.token) headers.Authorization = `Bearer ${session.token}`;
  if (body !== undefined && !(body instanceof Blob)) headers["Content-Type"] = "application/fhir+json";
  if (body instanceof Blob) headers["Content-Type"] = body.type;
  const answered = await fetch(absolute ? path : session.config.fhirBase + path, {
    method, headers, body: body === undefined || body instanceof Blob ? body : JSON.stringify(body) });
  if (!answered.ok) {
    let message = answered.statusText;
    try {
      const outcome = await answered.json();
      message = (outcome.issue || []).map((issue) => issue.diagnostics).filter(Boolean).join(" ") || message;
    } catch { /* not JSON: the status text says enough */ }
    if (answered.status === 401 && session.token) {
      // The token expired or was revoked: forget it and offer signing in again.
      sessionStorage.removeItem(TOKEN);
      session.token = null;
      renderAccount();
    }
    const failure = new Error(t("error.status", { status: answered.status, message }));
    failure.status = answered.status;
    throw failure;
  }
  return answered;
}
