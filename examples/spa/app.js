// The reference SPA: every authsvc flow on one small page, no build step. Token handling: auth.js.

import { ApiError, AuthClient } from "./auth.js";
import { actionButton, ask, form, h, when } from "./ui.js";

const BASE = new URL(".", import.meta.url).pathname; // where this app is served, e.g. "/example/"
const API = document.querySelector('meta[name="authsvc-api"]').content;
const GOOGLE_CLIENT_ID = document.querySelector('meta[name="authsvc-google-client-id"]').content;
const ROLES = ["member", "admin", "owner"];
const SCOPES = ["members:read", "members:write", "invitations:read", "invitations:write", "audit:read"];

const auth = new AuthClient(API);
window.authsvcExample = { auth }; // for the browser's console (and the browser tests)

const main = document.getElementById("main");
const nav = document.getElementById("nav");
const status = document.getElementById("status");

// --- Routing ---------------------------------------------------------------------------------------
// [pattern, view, needs]: needs "user" (signed in) or "org" (signed in with an org chosen).
const ROUTES = [
  [/^$/, home, "user"],
  [/^login$/, login],
  [/^signup$/, signup],
  [/^magic$/, magicRequest],
  [/^auth\/magic\/([^/]+)$/, magicVerify],
  [/^auth\/verify-email\/([^/]+)$/, verifyEmail],
  [/^forgot$/, forgot],
  [/^auth\/reset\/([^/]+)$/, reset],
  [/^auth\/google\/callback$/, googleCallback],
  [/^invite(?:\/([^/]+))?$/, invitation],
  [/^orgs$/, orgs, "user"],
  [/^members$/, members, "org"],
  [/^invitations$/, invitations, "org"],
  [/^api-keys$/, apiKeys, "org"],
  [/^sessions$/, sessions, "user"],
  [/^security$/, security, "user"],
  [/^audit$/, audit, "org"],
];

/** The page's title: focused after each navigation, so screen readers announce the new page. */
function heading(text) {
  return h("h1", { tabindex: -1 }, text);
}

function link(path, text, attributes = {}) {
  return h("a", { href: BASE + path, ...attributes }, text);
}

function navigate(path, { replace = false, message = "" } = {}) {
  history[replace ? "replaceState" : "pushState"](null, "", BASE + path);
  say(message);
  render();
}

function say(message) {
  status.textContent = message;
}

// What the next rendering of the page shows on top (a key shown once, a development link).
let flash = null;
function takeFlash() {
  const nodes = flash;
  flash = null;
  return nodes;
}
async function renderWith(nodes) {
  flash = nodes;
  await render();
  main.querySelector(".secret")?.focus(); // a key shown once: read out first
}

document.addEventListener("click", (event) => {
  const anchor = event.target.closest("a[href]");
  if (
    !anchor ||
    anchor.getAttribute("href").startsWith("#") || // "Skip to content": the browser's own job
    anchor.origin !== location.origin ||
    !anchor.pathname.startsWith(BASE) ||
    anchor.target ||
    event.button !== 0 ||
    event.ctrlKey ||
    event.metaKey ||
    event.shiftKey
  )
    return;
  event.preventDefault();
  navigate(anchor.pathname.slice(BASE.length) + anchor.search);
});
window.addEventListener("popstate", () => render());

let rendering = 0;
async function render() {
  const turn = ++rendering;
  const path = location.pathname.startsWith(BASE) ? location.pathname.slice(BASE.length) : "";
  const query = new URLSearchParams(location.search);
  const route = routeOf(path);
  if (!route) return show("Not found", [heading("Not found"), h("p", {}, link("", "Home"))]);
  const [pattern, view, needs] = route;
  if (needs && !auth.signedIn) return navigate(`login?next=${encodeURIComponent(path)}`, { replace: true });
  if (needs === "org" && !auth.me.org)
    return navigate("orgs", { replace: true, message: "Choose an organization first." });
  main.setAttribute("aria-busy", "true");
  let nodes;
  try {
    nodes = await view(...path.match(pattern).slice(1), query);
  } catch (error) {
    if (!(error instanceof ApiError)) throw error;
    if (error.code === "no_active_org")
      return navigate("orgs", { replace: true, message: "Choose an organization first." });
    nodes =
      error.code === "mfa_enrolment_required"
        ? [
            heading("Two-step sign-in required"),
            h(
              "p",
              {},
              `${auth.me.org.name} asks every member to turn on two-step sign-in. `,
              link("security", "Turn it on"),
            ),
          ]
        : [heading("Something went wrong"), h("p", { class: "error", role: "alert" }, error.message)];
  }
  if (turn === rendering) show(nodes[0].textContent, nodes);
}

function show(title, nodes) {
  document.title = `${title} · authsvc example`;
  main.replaceChildren(...nodes.flat().filter((node) => node != null && node !== false));
  main.removeAttribute("aria-busy");
  (main.querySelector("h1") ?? main).focus(); // screen readers announce the new page
  markCurrent();
}

/** The menu says which page is open (aria-current), for eyes and screen readers alike. */
function markCurrent() {
  for (const anchor of nav.querySelectorAll("a")) {
    if (anchor.pathname === location.pathname) anchor.setAttribute("aria-current", "page");
    else anchor.removeAttribute("aria-current");
  }
}

function renderNav() {
  const me = auth.me;
  const can = (resource, action) => me?.permissions?.[resource]?.includes(action);
  const items = me
    ? [
        link("", "Home"),
        link("orgs", me.org ? me.org.name : "Choose organization"),
        me.org && link("members", "Members"),
        can("invitations", "write") && link("invitations", "Invitations"),
        can("api_keys", "write") && link("api-keys", "API keys"),
        can("audit", "read") && link("audit", "Audit log"),
        link("sessions", "Sessions"),
        link("security", "Security"),
        h("button", { type: "button", class: "link", onclick: signOut }, "Sign out"),
      ]
    : [link("login", "Sign in"), link("signup", "Create account")];
  nav.replaceChildren(
    h(
      "ul",
      {},
      items.filter(Boolean).map((item) => h("li", {}, item)),
    ),
  );
  markCurrent();
}

async function signOut() {
  try {
    await auth.signOut(); // the "signed-out" listener below shows the sign-in page
  } catch (error) {
    say(`You are still signed in: ${error.message} Try again.`);
  }
}

function routeOf(path) {
  return ROUTES.find(([pattern]) => pattern.test(path.split("?")[0]));
}

/** After any sign-in: go where the visitor was heading (a page of this app), or pick an org first. */
function signedIn(next = "") {
  const target = routeOf(next) && !/^(login|signup)\b/.test(next) ? next : "";
  const needs = target ? routeOf(target)[2] : "org"; // home wants an org chosen
  if (!auth.me.org && needs === "org") return navigate("orgs", { replace: true, message: "Choose an organization." });
  navigate(target, { replace: true });
}

/** Runs a sensitive action; when the service asks for a recent sign-in, asks for the password (or an
 * authenticator code), calls reauthenticate/, and runs the action again. */
async function sensitive(action) {
  try {
    return await action();
  } catch (error) {
    if (error?.code !== "reauthentication_required") throw error;
  }
  const fields = [
    { name: "password", label: "Password", type: "password", autocomplete: "current-password", required: false },
  ];
  if (auth.me.mfa_enabled)
    fields.push({
      name: "code",
      label: "Or an authenticator code",
      inputmode: "numeric",
      autocomplete: "one-time-code",
      required: false,
    });
  const confirmed = await ask({
    title: "Confirm it's you",
    text: "This change needs a recent sign-in.",
    fields,
    submit: "Confirm",
    onSubmit: ({ password, code }) =>
      auth.call("reauthenticate/", { method: "POST", body: password ? { password } : { code } }),
  });
  if (!confirmed) throw new ApiError(403, { detail: "Not confirmed: nothing was changed." });
  return action();
}

// --- Signing in ------------------------------------------------------------------------------------
function login(query) {
  const next = query.get("next") ?? "";
  const step = h("div");
  step.append(
    form({
      name: "Sign in",
      submit: "Sign in",
      fields: [
        { name: "email", label: "Email", type: "email", autocomplete: "username" },
        { name: "password", label: "Password", type: "password", autocomplete: "current-password" },
      ],
      onSubmit: async (values) => {
        const { mfa } = await auth.signIn("login/", values);
        if (mfa) return step.replaceChildren(...mfaStep(mfa, next));
        signedIn(next);
      },
    }),
  );
  return [
    heading("Sign in"),
    step,
    PASSKEYS &&
      h(
        "p",
        {},
        actionButton("Sign in with a passkey", async () => {
          const { mfa } = await passkeySignIn();
          if (mfa) return step.replaceChildren(...mfaStep(mfa, next));
          signedIn(next);
        }),
      ),
    GOOGLE_CLIENT_ID ? h("p", {}, h("button", { type: "button", onclick: googleSignIn }, "Sign in with Google")) : null,
    h("ul", { class: "links" }, [
      h("li", {}, link("magic", "Email me a sign-in link")),
      h("li", {}, link("forgot", "Forgot your password?")),
      h("li", {}, link("signup", "Create an account")),
    ]),
  ];
}

function mfaStep(challenge, next) {
  const recovery = challenge.methods.includes("recovery_code");
  const title = h("h2", { tabindex: -1 }, "Two-step sign-in");
  queueMicrotask(() => title.focus());
  return [
    title,
    h("p", {}, "Enter the 6-digit code from your authenticator app."),
    form({
      name: "Authenticator code",
      submit: "Verify",
      fields: [{ name: "code", label: "Code", inputmode: "numeric", autocomplete: "one-time-code" }],
      onSubmit: async ({ code }) => {
        await auth.signIn("mfa/verify/", { mfa_token: challenge.mfa_token, code });
        signedIn(next);
      },
    }),
    recovery &&
      h(
        "details",
        {},
        h("summary", {}, "Use a recovery code instead"),
        form({
          name: "Recovery code",
          submit: "Use recovery code",
          fields: [{ name: "recovery_code", label: "Recovery code" }],
          onSubmit: async ({ recovery_code }) => {
            await auth.signIn("mfa/verify/", { mfa_token: challenge.mfa_token, recovery_code });
            signedIn(next);
          },
        }),
      ),
  ].filter(Boolean);
}

function signup() {
  return [
    heading("Create an account"),
    form({
      submit: "Create account",
      fields: [
        { name: "email", label: "Email", type: "email", autocomplete: "username" },
        {
          name: "password",
          label: "Password",
          type: "password",
          autocomplete: "new-password",
          hint: "8 characters or more; not a common one.",
        },
        { name: "organization_name", label: "Organization", autocomplete: "organization" },
        { name: "first_name", label: "First name", autocomplete: "given-name", required: false },
        { name: "last_name", label: "Last name", autocomplete: "family-name", required: false },
      ],
      onSubmit: async (values) => {
        await auth.signIn("register/", values);
        signedIn("");
      },
    }),
    h("p", {}, "Have an account? ", link("login", "Sign in")),
  ];
}

/** In development (DEBUG) the service answers with the emailed link too: shown here for convenience. */
function devLink(answer) {
  return answer?.debug_link
    ? h("p", { class: "dev" }, "Development: ", h("a", { href: answer.debug_link }, "open the emailed link"))
    : null;
}

/** A form for an email address to which the service sends a link (`path`); its answer shows below. */
function emailLinkForm(submit, path, note = "") {
  const sent = h("div", { role: "status" });
  const ask = form({
    submit,
    fields: [{ name: "email", label: "Email", type: "email", autocomplete: "username" }],
    onSubmit: async ({ email }) => {
      const answer = await auth.call(path, { method: "POST", body: { email }, authenticated: false });
      sent.replaceChildren(h("p", {}, answer.detail, note), devLink(answer));
    },
  });
  return [ask, sent];
}

/** What an emailed link's page shows when the service refuses its token. */
function unusable(...message) {
  return [heading("This link can't be used"), h("p", {}, ...message)];
}

function magicRequest() {
  return [
    heading("Sign in by email"),
    ...emailLinkForm("Email me a link", "magic-link/request/", " The email also has a 6-digit code."),
    h("h2", {}, "Have a code?"),
    form({
      submit: "Sign in with the code",
      fields: [
        { name: "email", label: "Email", type: "email", autocomplete: "username" },
        { name: "code", label: "Code", inputmode: "numeric", autocomplete: "one-time-code" },
      ],
      onSubmit: async (values) => {
        const { mfa } = await auth.signIn("magic-link/verify/", values);
        if (mfa) return main.replaceChildren(...mfaStep(mfa, ""));
        signedIn("");
      },
    }),
  ];
}

/** The emailed link's token, taken out of the address bar (and so out of the history) at once. */
function takeToken(token, path) {
  history.replaceState(null, "", BASE + path);
  return decodeURIComponent(token);
}

async function magicVerify(token) {
  token = takeToken(token, "auth/magic");
  try {
    const { mfa } = await auth.signIn("magic-link/verify/", { token });
    if (mfa) return [heading("Sign in by email"), ...mfaStep(mfa, "")];
  } catch (error) {
    if (error.code !== "token_invalid") throw error;
    return unusable(error.message, " ", link("magic", "Get a new link"));
  }
  signedIn("");
  return [heading("Signed in")];
}

async function verifyEmail(token) {
  token = takeToken(token, "auth/verify-email");
  let answer;
  try {
    // Signed in, the Bearer goes along: the link is bound to the account's own sessions. Without one,
    // the service treats the click as the address's owner claiming an account someone else may have set up.
    answer = await auth.call("email/verify/", { method: "POST", body: { token } });
  } catch (error) {
    if (error.code !== "token_invalid") throw error;
    return unusable(error.message);
  }
  if (answer.account_claimed) {
    return [
      heading("Email address verified"),
      h(
        "p",
        {},
        "The account is yours now. Anything set up on it before (its password, passkeys, linked accounts and " +
          "two-factor authentication) was removed, since the link was opened outside a signed-in session. ",
        link("magic", "Sign in with a link"),
      ),
    ];
  }
  if (auth.signedIn) await auth.reload().catch(() => {}); // me/ says verified now
  return [heading("Email address verified"), h("p", {}, link("", "Continue"))];
}

function forgot() {
  return [heading("Reset your password"), ...emailLinkForm("Email me a reset link", "password/forgot/")];
}

async function reset(token) {
  token = takeToken(token, "auth/reset");
  let valid;
  try {
    valid = await auth.call(`password/reset/validate/?token=${encodeURIComponent(token)}`, { authenticated: false });
  } catch (error) {
    if (error.status !== 400 && error.status !== 404) throw error;
    return unusable(error.message, " ", link("forgot", "Get a new link"));
  }
  return [
    heading("Choose a new password"),
    h("p", {}, `For ${valid.email}. Every session of this account will be signed out.`),
    form({
      submit: "Set password",
      fields: [{ name: "new_password", label: "New password", type: "password", autocomplete: "new-password" }],
      onSubmit: async ({ new_password }) => {
        await auth.call("password/reset/", { method: "POST", body: { token, new_password }, authenticated: false });
        if (auth.signedIn) await auth.signOut().catch(() => {});
        navigate("login", { message: "Your password is changed: sign in with it." });
      },
    }),
  ];
}

// Passkeys (WebAuthn): the service's options go to the browser as they are (JSON, base64url), the
// browser's credential comes back as JSON (PublicKeyCredential's JSON methods: no base64 code here).
const PASSKEYS = Boolean(window.PublicKeyCredential?.parseCreationOptionsFromJSON);

/** Sign in with a passkey the browser offers (a discoverable credential: no address needed). */
async function passkeySignIn() {
  const { challenge_id, ...options } = await auth.call("passkeys/login/options/", {
    method: "POST",
    body: {},
    authenticated: false,
  });
  const credential = await browserCredential(() =>
    navigator.credentials.get({ publicKey: PublicKeyCredential.parseRequestOptionsFromJSON(options) }),
  );
  return auth.signIn("passkeys/login/", { challenge_id, credential: credential.toJSON() });
}

/** Register a passkey for the signed-in user (a recent sign-in needed: `sensitive`). */
async function passkeyAdd(name) {
  const options = await sensitive(() => auth.call("passkeys/register/options/", { method: "POST", body: {} }));
  const credential = await browserCredential(() =>
    navigator.credentials.create({ publicKey: PublicKeyCredential.parseCreationOptionsFromJSON(options) }),
  );
  return auth.call("passkeys/register/", { method: "POST", body: { credential: credential.toJSON(), name } });
}

/** The browser's ceremony; cancelling it (or no authenticator) is an error shown like the service's. */
async function browserCredential(ceremony) {
  try {
    return await ceremony();
  } catch (error) {
    throw new ApiError(0, { detail: `No passkey was used (${error.name}).` });
  }
}

// Google: the authorization code flow with PKCE, redirecting to Google and back to
// FRONTEND_URL/auth/google/callback (OAUTH_REDIRECT_URIS), which sends the code to social/google/.
const GOOGLE_STATE = "authsvc:google";
const base64url = (bytes) =>
  btoa(String.fromCharCode(...bytes))
    .replace(/\+/g, "-")
    .replace(/\//g, "_")
    .replace(/=+$/, "");
const googleRedirect = () => `${location.origin}${BASE}auth/google/callback`;

async function googleSignIn() {
  const verifier = base64url(crypto.getRandomValues(new Uint8Array(32)));
  const digest = await crypto.subtle.digest("SHA-256", new TextEncoder().encode(verifier));
  const state = base64url(crypto.getRandomValues(new Uint8Array(16)));
  sessionStorage.setItem(GOOGLE_STATE, JSON.stringify({ state, verifier }));
  const params = new URLSearchParams({
    client_id: GOOGLE_CLIENT_ID,
    redirect_uri: googleRedirect(),
    response_type: "code",
    scope: "openid email profile",
    state,
    code_challenge: base64url(new Uint8Array(digest)),
    code_challenge_method: "S256",
  });
  location.assign(`https://accounts.google.com/o/oauth2/v2/auth?${params}`);
}

async function googleCallback(query) {
  const saved = JSON.parse(sessionStorage.getItem(GOOGLE_STATE) ?? "null");
  sessionStorage.removeItem(GOOGLE_STATE);
  history.replaceState(null, "", BASE + "auth/google/callback"); // the code leaves the address bar
  if (!saved || query.get("state") !== saved.state || !query.get("code")) {
    // Fixed words only: the address is anybody's to write.
    const why =
      query.get("error") === "access_denied" ? "You did not allow it." : "Google's answer did not match the request.";
    return [heading("Google sign-in failed"), h("p", {}, `${why} `, link("login", "Try again"))];
  }
  const { mfa } = await auth.signIn("social/google/", {
    code: query.get("code"),
    redirect_uri: googleRedirect(),
    code_verifier: saved.verifier,
  });
  if (mfa) return [heading("Sign in"), ...mfaStep(mfa, "")];
  signedIn("");
  return [heading("Signed in")];
}

const INVITATION = "authsvc:invitation"; // this tab's pending invitation token (sessionStorage)

async function invitation(token) {
  // The token moves out of the address (and the history) into this tab's storage: signing in first
  // comes back to "invite", which finds it there.
  if (token) sessionStorage.setItem(INVITATION, takeToken(token, "invite"));
  token = sessionStorage.getItem(INVITATION);
  if (!token) return [heading("No invitation"), h("p", {}, "Open the link in your invitation email.")];
  let invite;
  try {
    invite = await auth.call(`invitations/validate/?token=${encodeURIComponent(token)}`, { authenticated: false });
  } catch (error) {
    if (error.status !== 400 && error.status !== 404) throw error;
    sessionStorage.removeItem(INVITATION);
    return [heading("This invitation can't be used"), h("p", {}, error.message)];
  }
  const joined = () => {
    sessionStorage.removeItem(INVITATION);
    navigate("members", { replace: true, message: `You joined ${invite.organization.name}.` });
  };
  const accept = async (values = {}) => {
    const { mfa } = await auth.signIn("invitations/accept/", { token, ...values }, { authenticated: auth.signedIn });
    if (mfa) return main.replaceChildren(...mfaStep(mfa, "members"));
    joined();
  };
  const intro = h(
    "p",
    {},
    `${invite.invited_by} invited ${invite.email} to join ${invite.organization.name} as ${invite.role}.`,
  );
  const title = heading(`Join ${invite.organization.name}`);
  if (auth.signedIn) {
    if (auth.me.email.toLowerCase() !== invite.email.toLowerCase())
      return [title, intro, h("p", {}, `You are signed in as ${auth.me.email}. Sign out, then open the link again.`)];
    return [title, intro, actionButton("Accept invitation", () => accept())];
  }
  return [
    title,
    intro,
    h(
      "p",
      {},
      "Have an account with this address? ",
      link("login?next=invite", "Sign in to accept"),
      ". Otherwise choose a password:",
    ),
    form({
      submit: "Create account and join",
      fields: [
        { name: "first_name", label: "First name", autocomplete: "given-name", required: false },
        { name: "last_name", label: "Last name", autocomplete: "family-name", required: false },
        { name: "password", label: "Password", type: "password", autocomplete: "new-password" },
      ],
      onSubmit: accept,
    }),
  ];
}

// --- Signed in -------------------------------------------------------------------------------------
function verifyEmailButton() {
  const sent = h("div", { role: "status" });
  return h(
    "div",
    {},
    actionButton("Send a verification email", async () => {
      const answer = await auth.call("email/verify/request/", { method: "POST", body: {} });
      sent.replaceChildren(h("p", {}, answer.detail), devLink(answer));
    }),
    sent,
  );
}

function home() {
  const me = auth.me;
  return [
    heading(`Hello, ${me.first_name || me.email}`),
    h("dl", { class: "facts" }, [
      h("dt", {}, "Email"),
      h("dd", { "data-testid": "me-email" }, me.email, me.email_verified ? " (verified)" : " (not verified)"),
      h("dt", {}, "Organization"),
      h("dd", { "data-testid": "me-org" }, me.org ? me.org.name : "none chosen"),
      h("dt", {}, "Role"),
      h("dd", {}, me.role ?? "—"),
      h("dt", {}, "Two-step sign-in"),
      h("dd", { "data-testid": "me-mfa" }, me.mfa_enabled ? "on" : "off"),
    ]),
    !me.email_verified && verifyEmailButton(),
    h("h2", {}, "Your name"),
    form({
      submit: "Save",
      fields: [
        { name: "first_name", label: "First name", value: me.first_name, required: false, autocomplete: "given-name" },
        { name: "last_name", label: "Last name", value: me.last_name, required: false, autocomplete: "family-name" },
      ],
      onSubmit: async (values) => {
        await auth.call("me/", { method: "PATCH", body: values });
        await auth.reload();
        say("Saved.");
      },
    }),
  ];
}

async function orgs() {
  const list = await auth.call("orgs/");
  const current = auth.me.org?.id;
  return [
    heading(current ? "Organizations" : "Choose an organization"),
    list.length
      ? h(
          "ul",
          { class: "cards" },
          list.map((org) =>
            h(
              "li",
              {},
              h("strong", {}, org.name),
              ` ${org.role}`,
              org.id === current
                ? h("span", { class: "badge" }, "current")
                : actionButton(`Switch to ${org.name}`, async () => {
                    await auth.signIn("switch-org/", { org_id: org.id }, { authenticated: true });
                    navigate("", { message: `Now in ${org.name}.` });
                  }),
            ),
          ),
        )
      : h("p", {}, "You are in no organization yet: create one."),
    h("h2", {}, "New organization"),
    form({
      submit: "Create organization",
      fields: [{ name: "name", label: "Name", autocomplete: "organization" }],
      onSubmit: async ({ name }) => {
        const org = await auth.call("orgs/", { method: "POST", body: { name } });
        await auth.signIn("switch-org/", { org_id: org.id }, { authenticated: true });
        navigate("", { message: `Created ${org.name}; you are its owner.` });
      },
    }),
  ];
}

const PAGE = 50;

async function members(query) {
  const me = auth.me;
  const search = query.get("search") ?? "";
  const offset = Math.max(0, Number(query.get("offset")) || 0);
  const params = (extra) => new URLSearchParams({ ...(search && { search }), ...extra }); // no empty search
  const { items: list, total } = await auth.page(`org/members/?${params({ offset, limit: PAGE })}`);
  const pageLink = (start, text) => link(`members?${params({ offset: start })}`, text);
  const manage = me.permissions.members?.includes("write");
  const roles = assignableRoles(me);
  const rows = list.map((member) => {
    const self = member.user.id === me.id;
    const mayTouch = manage && !self && roles.includes(member.role);
    // A select and a button: a select that acts on change would act on every arrow key.
    const select = h(
      "select",
      { "aria-label": `Role of ${member.user.email}` },
      roles.map((value) => h("option", { value, selected: value === member.role }, value)),
    );
    const role = mayTouch
      ? [
          select,
          actionButton(
            "Change",
            async () => {
              await sensitive(() =>
                auth.call(`org/members/${member.profile_id}/`, { method: "PATCH", body: { role: select.value } }),
              );
              say(`${member.user.email} is now ${select.value}.`);
            },
            { "aria-label": `Change the role of ${member.user.email}` },
          ),
        ]
      : member.role;
    return h(
      "tr",
      {},
      h("td", {}, member.user.email, self ? " (you)" : ""),
      h("td", {}, [member.user.first_name, member.user.last_name].filter(Boolean).join(" ")),
      h("td", {}, role),
      h("td", {}, when(member.joined_at)),
      h(
        "td",
        {},
        mayTouch &&
          actionButton(
            "Remove",
            async () => {
              if (!confirm(`Remove ${member.user.email} from ${me.org.name}?`)) return;
              await auth.call(`org/members/${member.profile_id}/`, { method: "DELETE" });
              render();
            },
            { "aria-label": `Remove ${member.user.email}` },
          ),
      ),
    );
  });
  return [
    heading(`Members of ${me.org.name}`),
    h(
      "form",
      {
        role: "search",
        class: "inline",
        onsubmit: (event) => {
          event.preventDefault();
          const search = event.target.elements.search.value.trim();
          navigate(search ? `members?${new URLSearchParams({ search })}` : "members");
        },
      },
      h("label", { for: "member-search" }, "Find a member"),
      h("input", { id: "member-search", name: "search", type: "search", value: search }),
      h("button", { type: "submit", class: "secondary" }, "Search"),
    ),
    table(["Email", "Name", "Role", "Joined", ""], rows, "members"),
    h(
      "p",
      { class: "pager" },
      total ? `${offset + 1}–${offset + list.length} of ${total} ` : "",
      offset > 0 && pageLink(Math.max(0, offset - PAGE), "Previous"),
      " ",
      offset + list.length < total && pageLink(offset + PAGE, "Next"),
    ),
    h(
      "p",
      {},
      actionButton("Leave organization", async () => {
        if (!confirm(`Leave ${me.org.name}? You will need a new invitation to come back.`)) return;
        await auth.call("org/leave/", { method: "POST", body: {} });
        await auth.signOut().catch(() => {}); // leaving ended this session: sign in again
        say(`You left ${me.org.name}. Sign in again to go on.`);
      }),
    ),
  ];
}

/** The roles `me` may give or take away: admins can't touch owners. */
function assignableRoles(me) {
  return ROLES.filter((role) => role !== "owner" || me.role === "owner");
}

function table(headings, rows, name) {
  if (!rows.length) return h("p", { "data-testid": name }, "None yet.");
  for (const row of rows) [...row.children].forEach((cell, index) => cell.setAttribute("data-label", headings[index]));
  return h(
    "div",
    { class: "table" },
    h(
      "table",
      { "data-testid": name },
      h(
        "thead",
        {},
        h(
          "tr",
          {},
          headings.map((text) => h("th", { scope: "col" }, text)),
        ),
      ),
      h("tbody", {}, rows),
    ),
  );
}

async function invitations() {
  const me = auth.me;
  const list = await auth.call("org/invitations/");
  const made = h("div", { role: "status" }, takeFlash());
  const rows = list.map((invite) =>
    h(
      "tr",
      {},
      h("td", {}, invite.email),
      h("td", {}, invite.role),
      h("td", {}, invite.status),
      h("td", {}, when(invite.expires_at)),
      h(
        "td",
        {},
        invite.status === "pending" && [
          actionButton(
            "Resend",
            async () => {
              const answer = await auth.call(`org/invitations/${invite.id}/resend/`, { method: "POST", body: {} });
              await renderWith([h("p", {}, `Sent again to ${invite.email}.`), devLink(answer)]);
            },
            { "aria-label": `Resend the invitation to ${invite.email}` },
          ),
          actionButton(
            "Revoke",
            async () => {
              await auth.call(`org/invitations/${invite.id}/`, { method: "DELETE" });
              render();
            },
            { "aria-label": `Revoke the invitation to ${invite.email}` },
          ),
        ],
      ),
    ),
  );
  const roles = assignableRoles(me);
  return [
    heading("Invitations"),
    form({
      submit: "Invite",
      name: "Invite a teammate",
      fields: [
        { name: "email", label: "Email", type: "email" },
        { name: "role", label: "Role", options: roles.map((role) => [role, role]), value: "member" },
      ],
      onSubmit: async (values) => {
        const invite = await auth.call("org/invitations/", { method: "POST", body: values });
        await renderWith([h("p", {}, `Invitation sent to ${invite.email}.`), devLink(invite)]);
      },
    }),
    made,
    table(["Email", "Role", "Status", "Expires", ""], rows, "invitations"),
  ];
}

function keyShown(created) {
  return h(
    "div",
    { class: "secret", tabindex: -1 },
    h("p", {}, h("strong", {}, `Key “${created.name}”: copy it now, it is shown only once.`)),
    h("code", { "data-testid": "api-key" }, created.key),
    actionButton("Copy", () => navigator.clipboard.writeText(created.key)),
  );
}

async function apiKeys() {
  const list = await auth.call("org/api-keys/");
  const shown = h("div", {}, takeFlash());
  const rows = list.map((key) =>
    h(
      "tr",
      {},
      h("td", {}, key.name),
      h("td", {}, h("code", {}, key.prefix)),
      h("td", {}, key.scopes.join(", ")),
      h("td", {}, when(key.last_used_at)),
      h("td", {}, key.active ? (key.expires_at ? `until ${when(key.expires_at)}` : "active") : "revoked or expired"),
      h(
        "td",
        {},
        key.active && [
          actionButton(
            "Roll",
            async () => {
              const choice = await ask({
                title: `Roll “${key.name}”`,
                text: "A new key replaces this one. How long may the old one keep working?",
                fields: [
                  {
                    name: "hours",
                    label: "Old key works for",
                    options: [
                      ["0", "no longer"],
                      ["1", "1 hour"],
                      ["24", "24 hours"],
                      ["168", "7 days"],
                    ],
                    value: "24",
                  },
                ],
                submit: "Roll key",
              });
              if (!choice) return;
              const created = await sensitive(() =>
                auth.call(`org/api-keys/${key.id}/roll/`, {
                  method: "POST",
                  body: { expires_in_hours: Number(choice.hours) },
                }),
              );
              await renderWith(keyShown(created));
            },
            { "aria-label": `Roll the key ${key.name}` },
          ),
          actionButton(
            "Revoke",
            async () => {
              if (!confirm(`Revoke “${key.name}”? It stops working at once.`)) return;
              await auth.call(`org/api-keys/${key.id}/`, { method: "DELETE" });
              render();
            },
            { "aria-label": `Revoke the key ${key.name}` },
          ),
        ],
      ),
    ),
  );
  return [
    heading("API keys"),
    h("p", {}, "Servers call the API with ", h("code", {}, "X-API-Key: <key>"), ", as this organization."),
    form({
      submit: "Create key",
      name: "New API key",
      fields: [
        { name: "name", label: "Name" },
        {
          name: "scopes",
          label: "Scopes",
          type: "checkboxes",
          choices: SCOPES,
          value: SCOPES.filter((scope) => scope.endsWith(":read")),
        },
      ],
      onSubmit: async (values) => {
        const body = values.scopes.length ? values : { name: values.name }; // none ticked: the read scopes
        const created = await sensitive(() => auth.call("org/api-keys/", { method: "POST", body }));
        await renderWith(keyShown(created));
      },
    }),
    shown,
    table(["Name", "Prefix", "Scopes", "Last used", "Status", ""], rows, "api-keys"),
  ];
}

async function sessions() {
  const list = await auth.call("sessions/");
  const rows = list.map((session) =>
    h(
      "tr",
      {},
      h(
        "td",
        {},
        session.user_agent || "unknown device",
        session.current ? h("span", { class: "badge" }, "this one") : "",
      ),
      h("td", {}, session.ip ?? "—"),
      h("td", {}, when(session.created_at)),
      h("td", {}, when(session.last_used_at)),
      h(
        "td",
        {},
        actionButton(
          session.current ? "Sign out here" : "Revoke",
          async () => {
            if (session.current) return signOut();
            await auth.call(`sessions/${session.id}/`, { method: "DELETE" });
            render();
          },
          {
            "aria-label": session.current
              ? "Sign out here"
              : `Revoke the session of ${session.user_agent || "an unknown device"}`,
          },
        ),
      ),
    ),
  );
  return [
    heading("Where you are signed in"),
    table(["Device", "IP address", "Signed in", "Last used", ""], rows, "sessions"),
    h(
      "p",
      {},
      actionButton("Sign out everywhere", async () => {
        await auth.call("logout-all/", { method: "POST", body: {} });
        await auth.signOut().catch(() => {});
        navigate("login", { message: "Every session is signed out." });
      }),
    ),
  ];
}

async function security() {
  const me = auth.me;
  const mfa = h("section", { "aria-labelledby": "mfa-heading" }, h("h2", { id: "mfa-heading" }, "Two-step sign-in"));
  if (me.mfa_enabled) {
    mfa.append(
      h("p", {}, "On: signing in asks for a code from your authenticator app."),
      actionButton("New recovery codes", async () => {
        const { recovery_codes } = await sensitive(() =>
          auth.call("mfa/recovery-codes/", { method: "POST", body: {} }),
        );
        const shown = recoveryCodes(recovery_codes);
        mfa.append(shown);
        shown.focus();
      }),
      actionButton("Turn off", async () => {
        const done = await ask({
          title: "Turn off two-step sign-in",
          text: "Confirm with a code from your app, a recovery code, or your password.",
          fields: [
            { name: "code", label: "Authenticator or recovery code", autocomplete: "one-time-code", required: false },
            {
              name: "password",
              label: "Or your password",
              type: "password",
              autocomplete: "current-password",
              required: false,
            },
          ],
          submit: "Turn off",
          onSubmit: ({ code, password }) =>
            auth.call("mfa/totp/", { method: "DELETE", body: code ? { code } : { password } }).then(() => true),
        });
        if (done) {
          await auth.reload();
          render();
        }
      }),
    );
  } else if (!me.email_verified) {
    mfa.append(h("p", {}, "Off. Verify your email address first, then turn it on."), verifyEmailButton());
  } else {
    mfa.append(
      h("p", {}, "Off. Turn it on to be asked for a code from an authenticator app when you sign in."),
      actionButton("Set up an authenticator app", async () => {
        const setup = await sensitive(() => auth.call("mfa/totp/setup/", { method: "POST", body: {} }));
        mfa.replaceChildren(...totpSetup(setup));
        mfa.querySelector("input")?.focus();
      }),
    );
  }
  const [identities, passkeys] = await Promise.all([auth.call("me/identities/"), auth.call("passkeys/")]);
  return [
    heading("Security"),
    mfa,
    h("h2", {}, "Passkeys"),
    h("p", {}, "Sign in with your device's screen lock or a security key instead of a password."),
    table(
      ["Name", "Added", "Last used", ""],
      passkeys.map((passkey) =>
        h(
          "tr",
          {},
          h("td", {}, passkey.name),
          h("td", {}, when(passkey.created_at)),
          h("td", {}, when(passkey.last_used_at)),
          h(
            "td",
            {},
            actionButton(
              "Rename",
              async () => {
                const renamed = await ask({
                  title: `Rename “${passkey.name}”`,
                  fields: [{ name: "name", label: "Name", value: passkey.name }],
                  submit: "Rename",
                });
                if (!renamed) return;
                await auth.call(`passkeys/${passkey.id}/`, { method: "PATCH", body: renamed });
                render();
              },
              { "aria-label": `Rename the passkey ${passkey.name}` },
            ),
            actionButton(
              "Delete",
              async () => {
                if (!confirm(`Delete the passkey “${passkey.name}”?`)) return;
                await auth.call(`passkeys/${passkey.id}/`, { method: "DELETE" });
                render();
              },
              { "aria-label": `Delete the passkey ${passkey.name}` },
            ),
          ),
        ),
      ),
      "passkeys",
    ),
    PASSKEYS
      ? h(
          "p",
          {},
          actionButton("Add a passkey", async () => {
            const named = await ask({
              title: "Add a passkey",
              text: "Your browser will ask you to confirm with your device's screen lock or a security key.",
              fields: [{ name: "name", label: "Name it", value: "Passkey", autocomplete: "off" }],
              submit: "Continue",
            });
            if (!named) return;
            const added = await passkeyAdd(named.name);
            await render();
            say(`Passkey “${added.name}” added.`);
          }),
        )
      : h("p", {}, "This browser can't make passkeys."),
    h("h2", {}, "Change password"),
    form({
      submit: "Change password",
      fields: [
        { name: "current_password", label: "Current password", type: "password", autocomplete: "current-password" },
        { name: "new_password", label: "New password", type: "password", autocomplete: "new-password" },
      ],
      onSubmit: async (values) => {
        await sensitive(() => auth.signIn("password/change/", values, { authenticated: true }));
        say("Password changed; every other session is signed out.");
        render();
      },
    }),
    h("h2", {}, "Linked accounts"),
    identities.length
      ? h(
          "ul",
          {},
          identities.map((identity) =>
            h(
              "li",
              {},
              `${identity.provider}: ${identity.email || "—"} `,
              actionButton(
                "Unlink",
                async () => {
                  await auth.call(`me/identities/${identity.id}/`, { method: "DELETE" });
                  render();
                },
                { "aria-label": `Unlink ${identity.provider} ${identity.email}` },
              ),
            ),
          ),
        )
      : h("p", {}, "None."),
  ];
}

function totpSetup(setup) {
  const qr = h("img", {
    src: `data:image/svg+xml;base64,${btoa(setup.qr_svg)}`,
    alt: "QR code of the authenticator secret",
    width: 200,
    height: 200,
  });
  return [
    h("h2", { id: "mfa-heading" }, "Set up an authenticator app"),
    h("p", {}, "Scan the QR code with your authenticator app, or enter this secret:"),
    qr,
    h("p", {}, h("code", { "data-testid": "totp-secret" }, setup.secret)),
    form({
      name: "Confirm authenticator",
      submit: "Turn on",
      fields: [{ name: "code", label: "Code from the app", inputmode: "numeric", autocomplete: "one-time-code" }],
      onSubmit: async ({ code }) => {
        const { recovery_codes } = await auth.call("mfa/totp/confirm/", { method: "POST", body: { code } });
        await auth.reload();
        const section = main.querySelector('[aria-labelledby="mfa-heading"]');
        section.replaceChildren(
          h("h2", { id: "mfa-heading" }, "Two-step sign-in is on"),
          recoveryCodes(recovery_codes),
        );
        section.querySelector("h2").setAttribute("tabindex", "-1");
        section.querySelector("h2").focus();
      },
    }),
  ];
}

function recoveryCodes(codes) {
  return h(
    "div",
    { class: "secret", tabindex: -1 },
    h("p", {}, h("strong", {}, "Recovery codes: keep them somewhere safe. Each works once; they are shown only now.")),
    h(
      "ul",
      { class: "codes", "data-testid": "recovery-codes" },
      codes.map((code) => h("li", {}, h("code", {}, code))),
    ),
  );
}

async function audit(query) {
  const cursor = query.get("cursor");
  const page = await auth.call(`org/audit-log/${cursor ? `?cursor=${encodeURIComponent(cursor)}` : ""}`);
  const rows = page.results.map((event) =>
    h(
      "tr",
      {},
      h("td", {}, when(event.occurred_at)),
      h("td", {}, h("code", {}, event.type)),
      h("td", {}, event.actor?.email ?? event.actor?.type ?? "—"),
      h("td", {}, event.subject?.user?.email ?? event.subject?.type ?? ""),
      h("td", {}, event.ip ?? "—"),
    ),
  );
  // Only the cursor of the service's paging links travels in our address (never a URL to call).
  const pageLink = (url, text) =>
    url && link(`audit?cursor=${encodeURIComponent(new URL(url).searchParams.get("cursor"))}`, text);
  return [
    heading("Audit log"),
    table(["When", "Event", "By", "Subject", "IP address"], rows, "audit"),
    h("p", { class: "pager" }, pageLink(page.previous, "Newer"), " ", pageLink(page.next, "Older")),
  ];
}

// --- Start -----------------------------------------------------------------------------------------
auth.addEventListener("changed", renderNav);
auth.addEventListener("switched", () => render()); // another tab signed in anew or switched org
auth.addEventListener("signed-out", ({ detail }) => {
  renderNav();
  const message = detail.here ? "You are signed out." : "You were signed out.";
  const path = location.pathname.slice(BASE.length);
  if (routeOf(path)?.[2]) {
    navigate(detail.here ? "login" : `login?next=${encodeURIComponent(path)}`, { replace: !detail.here, message });
  } else {
    say(message); // a public page (an emailed link's, an invitation): it stays, now signed out
    render();
  }
});

try {
  await auth.restore();
} catch (error) {
  say(`${error.message} Your session may still be alive: reload to try again.`);
}
renderNav();
render();
