// Token handling for a SPA in front of authsvc: the part of this example to copy.
//
// - The access token lives in memory only (this module), never in localStorage or a cookie a script
//   can read: an XSS bug can then use it while the page is open, but not carry it away for later.
// - The refresh token lives in the `refresh_token` cookie the service sets in cookie mode
//   (`AUTH_REFRESH_COOKIE=1`): HttpOnly, so no script here ever sees it. `refresh/` reads it.
// - Refresh ahead of expiry, one refresh in flight across every tab of the browser (Web Locks); the
//   tab that refreshed hands the new access token to the others (BroadcastChannel), so a tab that
//   waited for the lock takes that token instead of refreshing again. Whether a newer token exists is
//   not guessed from how soon the message comes (it may come after the lock): the tabs count the
//   tokens they hand out in IndexedDB (a number, no secret), and the tab that holds the lock next
//   reads the count; higher than its own token's, it waits for that token, which is on its way.
//   (Two refreshes racing anyway — an old browser without Web Locks or IndexedDB — are harmless: the
//   service answers a repeated refresh within its grace window with the same pair.)
// - A 401 on a call: refresh once and retry once; if the service refuses the refresh too, the session
//   is over (logged out elsewhere, revoked, expired): every tab signs out. A refresh that could not be
//   made (network, 5xx, 429) signs nobody out: it is tried again a little later.
// - After a reload, one `refresh/` call restores the session from the cookie. localStorage keeps only
//   a hint that a cookie may exist (no secret), so a visitor who never signed in makes no call.
// - Storage holds no token: localStorage the hint, IndexedDB the count of tokens handed out.

const LOCK = "authsvc-refresh";
const CHANNEL = "authsvc";
const HINT = "authsvc:signed-in";
const EARLY_MS = 60_000; // refresh this long before the access token expires (a quarter of short ones)
const RETRY_MS = 15_000; // after a refresh that could not be made
const TIMEOUT_MS = 10_000; // a refresh holds the lock of every tab: never longer than this
const COUNT_DB = "authsvc"; // IndexedDB: the count of access tokens handed out in this browser

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
  #count = new TokenCount();
  #generation = 0; // the count when this tab's token was handed out (with no token: when the tab opened)
  #ready; // #generation is known
  #waiting = null; // { generation, resolve }: a token another tab counted, not here yet

  constructor(api) {
    super();
    this.api = api; // e.g. "/api/auth/"
    this.me = null; // GET me/: the user, the current org, role and permissions, their orgs
    this.#channel.onmessage = ({ data }) => this.#fromOtherTab(data);
    // Read after the channel is open: every token counted later is handed to this tab.
    this.#ready = this.#count.read().then((count) => (this.#generation = Math.max(this.#generation, count ?? 0)));
    document.addEventListener("visibilitychange", () => {
      // Timers of hidden tabs are slowed down: catch up when the tab shows again.
      if (!document.hidden && this.#access && this.#expiresAt - Date.now() < EARLY_MS) this.refresh().catch(() => {});
    });
  }

  get signedIn() {
    return this.#access !== null && this.me !== null;
  }

  /** A JSON call to the API (`path` below `api`); authenticated while signed in. The parsed body. */
  async call(path, options = {}) {
    return this.#parse(await this.#send(path, options));
  }

  /** A page of a list that tells its total (`X-Total-Count`, as org/members/ does): { items, total }. */
  async page(path) {
    const response = await this.#send(path);
    const items = await this.#parse(response);
    return { items, total: Number(response.headers.get("X-Total-Count") ?? items.length) };
  }

  async #send(path, { method = "GET", body, authenticated = true } = {}) {
    const response = await this.#fetch(path, method, body, authenticated);
    if (response.status === 401 && authenticated && this.#access) {
      // Expired or revoked: refresh once and retry once. A refused refresh has signed us out.
      if (await this.refresh()) return this.#fetch(path, method, body, true);
    }
    return response;
  }

  /** After a page load: the session the refresh cookie holds, if any. Throws when the service could
   * not be asked (the cookie may well be alive). */
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

  /** A new access token from the refresh cookie: true, or false when the service refused (signed out). */
  refresh() {
    this.#refreshing ??= this.#refreshAcrossTabs().finally(() => (this.#refreshing = null));
    return this.#refreshing;
  }

  /** Ends the session at the service, then here and in every tab. Throws (and forgets nothing) when the
   * service could not be told: on a shared computer, "signed out" must be true. */
  async signOut() {
    // The Bearer token's session; if that token is dead already, the cookie's (the body has no token).
    let response = await this.#fetch("logout/", "POST", {}, Boolean(this.#access));
    if (response.status === 401 && this.#access) response = await this.#fetch("logout/", "POST", {}, false);
    if (!response.ok && response.status !== 401) throw new ApiError(response.status, null);
    this.#forget({ here: true });
  }

  /** Signed out (here, by the service, or in another tab): forget everything, tell the other tabs. */
  #forget({ here = false, told = false } = {}) {
    const was = this.#access !== null;
    this.#access = null;
    this.#expiresAt = 0;
    this.me = null;
    clearTimeout(this.#timer);
    localStorage.removeItem(HINT);
    if (!told) this.#channel.postMessage({ type: "signed-out" });
    if (was) this.dispatchEvent(new CustomEvent("signed-out", { detail: { here } }));
  }

  async #refreshAcrossTabs() {
    if (!navigator.locks) return this.#refreshNow();
    await this.#ready;
    const held = this.#generation; // the token to replace
    const access = this.#access;
    return navigator.locks.request(LOCK, async () => {
      // Another tab may have replaced it since (while this one waited for the lock, or just before it
      // asked): its token is here, or counted and on its way.
      if (this.#access !== null && this.#access !== access) return true;
      const latest = await this.#count.read(); // null: no count kept (the message may still come late)
      return latest !== null && latest > held ? this.#handedOver(latest) : this.#refreshNow();
    });
  }

  /** The token another tab counted as `generation`: already here, or on its way (counted before sent). */
  #handedOver(generation) {
    if (this.#generation >= generation) return this.#access !== null || this.#refreshNow();
    return new Promise((resolve) => {
      // It never comes only if that tab died between counting and sending: then refresh after all.
      const timer = setTimeout(() => {
        this.#waiting = null;
        resolve(this.#refreshNow());
      }, TIMEOUT_MS);
      this.#waiting = {
        generation,
        resolve: () => {
          clearTimeout(timer);
          this.#waiting = null;
          resolve(true);
        },
      };
    });
  }

  /** Tells the other tabs of a new token, counted first (inside the lock, when it is a refresh's). */
  async #handOut(access, extra = {}) {
    const generation = await this.#count.increment();
    if (generation !== null) this.#generation = generation;
    this.#channel.postMessage({ type: "token", access, expiresAt: this.#expiresAt, generation, ...extra });
  }

  async #refreshNow() {
    let response;
    try {
      response = await fetch(this.api + "refresh/", {
        method: "POST",
        credentials: "include", // the cookie goes with it (and the page's Origin, which the service checks)
        headers: { "Content-Type": "application/json" },
        body: "{}",
        signal: AbortSignal.timeout(TIMEOUT_MS),
      });
    } catch {
      response = null; // offline, or no answer in time
    }
    if (!response || response.status >= 500 || response.status === 429) {
      this.#schedule(RETRY_MS); // the session may be fine: try again soon
      throw new ApiError(response?.status ?? 0, null);
    }
    if (!response.ok) {
      this.#forget(); // 400 no cookie, 401 dead (the service cleared it), 403 foreign origin
      return false;
    }
    const { access, expires_in } = await response.json();
    this.#setAccess(access, expires_in);
    await this.#handOut(access);
    return true;
  }

  async #adopt(access, expiresIn) {
    this.#setAccess(access, expiresIn);
    localStorage.setItem(HINT, "1");
    await this.#loadMe();
    await this.#handOut(access, { signedIn: true });
  }

  async #loadMe() {
    this.me = await this.call("me/");
    this.dispatchEvent(new Event("changed"));
    return true;
  }

  #setAccess(access, expiresIn) {
    this.#access = access;
    this.#expiresAt = Date.now() + expiresIn * 1000;
    const lifetime = expiresIn * 1000;
    this.#schedule(lifetime - Math.min(EARLY_MS, lifetime / 4));
  }

  #schedule(delay) {
    clearTimeout(this.#timer);
    this.#timer = setTimeout(() => this.refresh().catch(() => {}), delay);
  }

  async #fromOtherTab(message) {
    if (message.type === "signed-out") {
      this.#forget({ told: true });
    } else if (message.type === "token" && this.#newer(message)) {
      // Another tab refreshed the session (same user, same org), or signed in anew (switched org,
      // signed in as someone else): this tab follows.
      this.#setAccess(message.access, (message.expiresAt - Date.now()) / 1000);
      this.#generation = Math.max(this.#generation, message.generation ?? 0);
      if (this.#waiting && this.#generation >= this.#waiting.generation) this.#waiting.resolve();
      if (message.signedIn || !this.me) {
        localStorage.setItem(HINT, "1");
        await this.#loadMe().catch(() => {});
        this.dispatchEvent(new Event("switched")); // what this tab shows may belong to another org
      }
    }
  }

  #newer({ access, generation }) {
    // Two tabs' messages may cross: never go back to an older token than the one held.
    if (access === this.#access) return false;
    return this.#access === null || generation == null || generation > this.#generation;
  }

  #fetch(path, method, body, authenticated) {
    const headers = { Accept: "application/json" };
    if (body !== undefined) headers["Content-Type"] = "application/json";
    if (authenticated && this.#access) headers.Authorization = `Bearer ${this.#access}`;
    // Only ever the API: the Bearer token goes nowhere else.
    return fetch(this.api + path, {
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

/** A counter in IndexedDB, shared by the tabs: unlike localStorage (each tab's copy may lag behind
 * another tab's write), a transaction begun after another one ended sees what it wrote. `null` when the
 * browser keeps no IndexedDB (some private modes). */
class TokenCount {
  #db = Promise.race([
    new Promise((resolve, reject) => {
      const request = indexedDB.open(COUNT_DB, 1);
      request.onupgradeneeded = () => request.result.createObjectStore("count");
      request.onsuccess = () => {
        request.result.onversionchange = () => request.result.close(); // a later version's tab: let it upgrade
        resolve(request.result);
      };
      request.onerror = () => reject(request.error);
    }),
    // An open that never answers (Safari 14 had such days) must not stop every refresh: no count then.
    new Promise((resolve) => setTimeout(resolve, TIMEOUT_MS, null)),
  ]).catch(() => null);

  read() {
    return this.#transaction("readonly", (count) => count);
  }

  increment() {
    return this.#transaction("readwrite", (count, store) => {
      store.put(count + 1, "tokens");
      return count + 1;
    });
  }

  async #transaction(mode, work) {
    const db = await this.#db;
    if (!db) return null;
    return new Promise((resolve) => {
      let result = null;
      // Relaxed: not flushed to disk at once, visible to the other tabs all the same.
      const transaction = db.transaction("count", mode, { durability: "relaxed" });
      const store = transaction.objectStore("count");
      const get = store.get("tokens");
      get.onsuccess = () => (result = work(get.result ?? 0, store));
      transaction.oncomplete = () => resolve(result);
      transaction.onerror = transaction.onabort = () => resolve(null);
    }).catch(() => null);
  }
}
