// Token handling for a SPA in front of authsvc: the part of this example to copy.
//
// - The access token lives in memory only (this module), never in localStorage or a cookie a script
//   can read: an XSS bug can then use it while the page is open, but not carry it away for later.
// - The refresh token lives in the `refresh_token` cookie the service sets in cookie mode
//   (`AUTH_REFRESH_COOKIE=1`): HttpOnly, so no script here ever sees it. `refresh/` reads it.
// - Refresh ahead of expiry, one refresh in flight across every tab of the browser (Web Locks); the
//   tab that refreshed hands the new access token to the others (BroadcastChannel), so they don't
//   refresh again. (Two refreshes racing anyway — an old browser without Web Locks — are harmless:
//   the service answers a repeated refresh within its grace window with the same pair.)
// - A 401 on a call: refresh once and retry once; if the refresh fails too, the session is over
//   (logged out elsewhere, revoked, expired): sign out here.
// - After a reload, one `refresh/` call restores the session from the cookie. localStorage keeps only
//   a hint that a cookie may exist (no secret), so a visitor who never signed in makes no call.

const LOCK = "authsvc-refresh";
const CHANNEL = "authsvc";
const HINT = "authsvc:signed-in";
const EARLY_MS = 60_000; // refresh this long before the access token expires (a quarter of short ones)

export class ApiError extends Error {
  constructor(status, body) {
    super(errorMessage(status, body));
    this.status = status;
    this.code = body?.code ?? null;
    this.fields = body && typeof body === "object" && !body.detail ? body : {};
  }
}

function errorMessage(status, body) {
  if (body?.detail) return body.detail;
  if (body && typeof body === "object") {
    const [field, messages] = Object.entries(body)[0] ?? [];
    if (field) return `${field === "non_field_errors" ? "" : `${field}: `}${[].concat(messages)[0]}`;
  }
  return status ? `The service answered ${status}.` : "The service could not be reached.";
}

export class AuthClient extends EventTarget {
  #access = null;
  #expiresAt = 0;
  #timer = null;
  #refreshing = null;
  #channel = new BroadcastChannel(CHANNEL);

  constructor(api) {
    super();
    this.api = api; // e.g. "/api/auth/"
    this.me = null; // GET me/: the user, the current org, role and permissions, their orgs
    this.#channel.onmessage = ({ data }) => this.#fromOtherTab(data);
    document.addEventListener("visibilitychange", () => {
      // Timers of hidden tabs are slowed down: catch up when the tab shows again.
      if (!document.hidden && this.#access && this.#expiresAt - Date.now() < EARLY_MS) this.refresh();
    });
  }

  get signedIn() {
    return this.#access !== null && this.me !== null;
  }

  /** A JSON call; authenticated while signed in. Returns the parsed body (null for 204). */
  async call(path, { method = "GET", body, authenticated = true } = {}) {
    const response = await this.#fetch(path, method, body, authenticated);
    if (response.status === 401 && authenticated && this.#access) {
      // Expired or revoked: refresh once and retry once. A failed refresh has signed us out.
      if (await this.refresh()) return this.#parse(await this.#fetch(path, method, body, true));
    }
    return this.#parse(response);
  }

  /** After a page load: the session the refresh cookie holds, if any. */
  async restore() {
    if (!localStorage.getItem(HINT)) return false;
    return (await this.refresh()) && this.#loadMe();
  }

  /** Any call that signs in (login/, register/, magic-link/verify/, mfa/verify/, switch-org/, …):
   * returns { mfa } when a second factor is asked for, else the new session is current. */
  async signIn(path, body, { authenticated = false } = {}) {
    const answer = await this.call(path, { method: "POST", body, authenticated });
    if (answer.mfa_required) return { mfa: answer };
    await this.#adopt(answer.access, answer.expires_in);
    return { me: this.me };
  }

  /** me/ again, after a change to the user (name, email verified, MFA). */
  reload() {
    return this.#loadMe();
  }

  refresh() {
    this.#refreshing ??= this.#refreshOnce().finally(() => (this.#refreshing = null));
    return this.#refreshing;
  }

  async signOut() {
    try {
      // The Bearer token's session; if that token is dead already, the cookie's (the body has no token).
      const response = await this.#fetch("logout/", "POST", {}, Boolean(this.#access));
      if (response.status === 401 && this.#access) await this.#fetch("logout/", "POST", {}, false);
    } finally {
      this.#channel.postMessage({ type: "signed-out" });
      this.#forget();
    }
  }

  /** Signed out by the service (a failed refresh) or by another tab: forget everything. */
  #forget() {
    const was = this.#access !== null;
    this.#access = null;
    this.#expiresAt = 0;
    this.me = null;
    clearTimeout(this.#timer);
    localStorage.removeItem(HINT);
    if (was) this.dispatchEvent(new Event("signed-out"));
  }

  async #refreshOnce() {
    const held = this.#access;
    const run = async () => {
      // Waiting for the lock, we may have been handed a fresh token by the tab that held it.
      if (this.#access && this.#access !== held && this.#expiresAt - Date.now() > EARLY_MS / 2) return true;
      const response = await fetch(this.api + "refresh/", {
        method: "POST",
        credentials: "include", // the cookie goes with it (and the page's Origin, which the service checks)
        headers: { "Content-Type": "application/json" },
        body: "{}",
      });
      if (!response.ok) {
        if (response.status >= 500 || response.status === 429) throw new ApiError(response.status, null);
        this.#forget(); // 400 no cookie, 401 dead (the service cleared it), 403 foreign origin
        return false;
      }
      const { access, expires_in } = await response.json();
      this.#setAccess(access, expires_in);
      this.#channel.postMessage({ type: "token", access, expiresAt: this.#expiresAt });
      return true;
    };
    return navigator.locks ? navigator.locks.request(LOCK, run) : run();
  }

  async #adopt(access, expiresIn) {
    this.#setAccess(access, expiresIn);
    localStorage.setItem(HINT, "1");
    await this.#loadMe();
    this.#channel.postMessage({ type: "token", access, expiresAt: this.#expiresAt, signedIn: true });
  }

  async #loadMe() {
    this.me = await this.call("me/");
    this.dispatchEvent(new Event("changed"));
    return true;
  }

  #setAccess(access, expiresIn) {
    this.#access = access;
    this.#expiresAt = Date.now() + expiresIn * 1000;
    clearTimeout(this.#timer);
    const lifetime = expiresIn * 1000;
    const early = Math.min(EARLY_MS, lifetime / 4);
    this.#timer = setTimeout(() => this.refresh().catch(() => {}), lifetime - early);
  }

  async #fromOtherTab(message) {
    if (message.type === "signed-out") {
      this.#forget();
    } else if (message.type === "token" && message.access !== this.#access) {
      // Another tab refreshed the session (same user, same org), or signed in anew: switched org,
      // signed in as someone else. Then this tab follows.
      this.#setAccess(message.access, (message.expiresAt - Date.now()) / 1000);
      if (message.signedIn || !this.me) {
        localStorage.setItem(HINT, "1");
        await this.#loadMe().catch(() => {});
      }
    }
  }

  #fetch(path, method, body, authenticated) {
    const headers = { Accept: "application/json" };
    if (body !== undefined) headers["Content-Type"] = "application/json";
    if (authenticated && this.#access) headers.Authorization = `Bearer ${this.#access}`;
    const url = path.startsWith("http") ? path : this.api + path; // paging links are absolute
    return fetch(url, {
      method,
      headers,
      credentials: "include",
      body: body === undefined ? undefined : JSON.stringify(body),
    }).catch(() => {
      throw new ApiError(0, null);
    });
  }

  async #parse(response) {
    const body = response.status === 204 ? null : await response.json().catch(() => null);
    if (!response.ok) throw new ApiError(response.status, body);
    return body;
  }
}
