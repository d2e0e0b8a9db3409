/* Sésame — what every page shares: the calls to the API (always with the
   session cookie, JSON bodies and the French error messages of the API),
   the French names of modes, pools and reasons, formatting of durations and
   dates, and a small DOM helper that never parses HTML. The labels come
   from libelles.js, generated from Go.

   Loaded with defer by every page, after libelles.js; exposes
   window.Sesame. */
'use strict';

(function () {
  const API = '/api/v1';
  const NBSP = '\u00a0';

  /** An answer of the API that is not a success, or no answer at all. */
  class ApiError extends Error {
    constructor(status, body) {
      super(body.message);
      this.name = 'ApiError';
      this.status = status; // 0: the server could not be reached
      this.code = body.code;
      this.details = body; // the whole "error" object: pool, limit, reason…
    }
  }

  /**
   * Calls the API and returns its JSON answer (null for 204). Every error
   * becomes an ApiError whose message is French: the API's own message, or
   * ours when the answer is not the API's.
   */
  async function call(method, path, body) {
    const init = {
      method,
      credentials: 'same-origin',
      cache: 'no-store',
      headers: { Accept: 'application/json' },
    };
    if (method !== 'GET' && method !== 'HEAD') {
      init.headers['Content-Type'] = 'application/json';
      if (body !== undefined) init.body = JSON.stringify(body);
    }
    let res;
    try {
      res = await fetch(API + path, init);
    } catch (e) {
      throw new ApiError(0, {
        code: 'network',
        message: 'Le serveur Sésame ne répond pas. Vérifiez votre connexion au réseau, puis réessayez.',
      });
    }
    if (res.status === 204) return null;
    let data = null;
    if ((res.headers.get('Content-Type') || '').includes('json')) {
      try {
        data = await res.json();
      } catch (e) {
        data = null;
      }
    }
    if (!res.ok) {
      const err = data && data.error;
      if (err && typeof err.message === 'string' && typeof err.code === 'string') {
        throw new ApiError(res.status, err);
      }
      throw new ApiError(res.status, {
        code: 'http_' + res.status,
        message: 'Le serveur a répondu par une erreur (HTTP ' + res.status + '). Réessayez dans un instant.',
      });
    }
    if (data === null) {
      throw new ApiError(res.status, {
        code: 'bad_answer',
        message: 'La réponse du serveur est illisible. Rechargez la page.',
      });
    }
    return data;
  }

  const api = {
    get: (path) => call('GET', path),
    post: (path, body) => call('POST', path, body === undefined ? {} : body),
    patch: (path, body) => call('PATCH', path, body === undefined ? {} : body),
    put: (path, body) => call('PUT', path, body === undefined ? {} : body),
    del: (path) => call('DELETE', path),
  };

  /* ---- French names ---- */

  // The domain's labels, generated from Go into libelles.js (loaded first).
  const L = window.SesameLabels;
  const modes = L.modes;
  const pools = L.pools;
  const kinds = L.kinds;
  const reasons = L.reasons;
  const accesses = L.accesses;

  /** s with its first letter upper-cased, for a label that starts a line or a cell. */
  function capitalize(s) {
    const t = String(s);
    return t.charAt(0).toUpperCase() + t.slice(1);
  }
  /** The mode's name, as it starts a line: "Mode enseignant". */
  function modeLabel(mode) {
    return capitalize(Object.hasOwn(modes, mode) ? modes[mode] : String(mode));
  }
  function modeAccessLabel(mode, access) {
    const m = modeLabel(mode);
    return mode === 'admin' ? m + ' (' + (accesses[access] || access) + ')' : m;
  }
  function poolLabel(pool) {
    return Object.hasOwn(pools, pool) ? pools[pool] : String(pool);
  }
  function kindLabel(kind) {
    return Object.hasOwn(kinds, kind) ? kinds[kind] : String(kind);
  }
  /**
   * The mode whose profiles an account of this kind belongs to
   * ("teacher", "vie-scolaire"), or null: Kind.ProfileMode in Go.
   */
  function profileMode(kind) {
    return Object.hasOwn(L.profileModes, kind) ? L.profileModes[kind] : null;
  }
  /** The profile a new account of this kind gets, or "": DefaultProfileFor in Go. */
  function defaultProfile(kind) {
    return Object.hasOwn(L.defaultProfiles, kind) ? L.defaultProfiles[kind] : '';
  }

  /* ---- Numbers, durations and dates ---- */

  function plural(n, one, many) {
    return n + NBSP + (n <= 1 ? one : many);
  }

  /** A duration in French, as the server writes it: "1 heure 30 minutes". */
  function duration(seconds) {
    let s = Math.max(0, Math.round(Number(seconds) || 0));
    const h = Math.floor(s / 3600);
    const m = Math.floor((s % 3600) / 60);
    s %= 60;
    const parts = [];
    if (h) parts.push(plural(h, 'heure', 'heures'));
    if (m) parts.push(plural(m, 'minute', 'minutes'));
    if (s || !parts.length) parts.push(plural(s, 'seconde', 'secondes'));
    return parts.join(' ');
  }

  /** A duration said roughly: whole minutes from 90 seconds on ("environ 3 minutes"). */
  function roughDuration(seconds) {
    const s = Math.max(0, Math.round(Number(seconds) || 0));
    if (s < 90) return duration(s);
    return 'environ ' + duration(Math.round(s / 60) * 60);
  }

  /** "illimité", "fermé" or "30 places". */
  function limitLabel(limit) {
    if (limit === null || limit === undefined) return 'illimité';
    if (limit === 0) return 'fermé';
    return plural(limit, 'place', 'places');
  }

  const timeFmt = new Intl.DateTimeFormat('fr-FR', { hour: '2-digit', minute: '2-digit' });
  const timeSecFmt = new Intl.DateTimeFormat('fr-FR', { hour: '2-digit', minute: '2-digit', second: '2-digit' });
  const dateFmt = new Intl.DateTimeFormat('fr-FR', { weekday: 'long', day: 'numeric', month: 'long', year: 'numeric' });
  const shortDateFmt = new Intl.DateTimeFormat('fr-FR', { day: 'numeric', month: 'short' });

  function sameDay(a, b) {
    return a.getFullYear() === b.getFullYear() && a.getMonth() === b.getMonth() && a.getDate() === b.getDate();
  }

  /** A moment in the local time, shortly: "14:02", or "12 mai à 14:02". */
  function when(iso, withSeconds) {
    const d = new Date(iso);
    if (isNaN(d)) return '';
    const t = (withSeconds ? timeSecFmt : timeFmt).format(d);
    if (sameDay(d, new Date())) return t;
    return shortDateFmt.format(d) + ' à ' + t;
  }

  /** A moment in the local time, in full: "mardi 12 mai 2026 à 14:02". */
  function longWhen(iso) {
    const d = new Date(iso);
    if (isNaN(d)) return '';
    return dateFmt.format(d) + ' à ' + timeFmt.format(d);
  }

  /** How long ago: "à l'instant", "il y a 3 minutes". */
  function ago(iso, now) {
    const d = new Date(iso);
    if (isNaN(d)) return '';
    const s = Math.round(((now || new Date()) - d) / 1000);
    if (s < 45) return 'à l\u2019instant';
    if (s < 3600) return 'il y a ' + plural(Math.round(s / 60), 'minute', 'minutes');
    if (s < 86400) return 'il y a ' + plural(Math.floor(s / 3600), 'heure', 'heures');
    return 'il y a ' + plural(Math.floor(s / 86400), 'jour', 'jours');
  }

  /* ---- DOM ---- */

  /**
   * Makes an element: h('p', {class: 'note'}, 'text', child…). Strings
   * become text nodes; HTML is never parsed.
   */
  function h(tag, attrs, ...children) {
    const el = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) {
      if (v === false || v === null || v === undefined) continue;
      if (k === 'text') el.textContent = v;
      else if (k === 'hidden') el.hidden = Boolean(v);
      else el.setAttribute(k, v === true ? '' : String(v));
    }
    append(el, children);
    return el;
  }
  function append(el, children) {
    for (const c of children.flat(Infinity)) {
      if (c === null || c === undefined || c === false) continue;
      el.append(c instanceof Node ? c : document.createTextNode(String(c)));
    }
    return el;
  }
  function $(id) {
    return document.getElementById(id);
  }

  /**
   * Fills an aria-live region with a message box. kind: "error", "ok",
   * "warn" or "info". lines: strings or nodes, one paragraph each.
   */
  function alertBox(region, kind, lines, opts) {
    const o = opts || {};
    region.replaceChildren();
    if (!lines || !lines.length) return null;
    const box = h('div', { class: 'alert alert-' + kind, tabindex: o.focus ? '-1' : null });
    for (const l of lines) box.append(l instanceof Node ? l : h('p', {}, l));
    region.append(box);
    if (o.focus) box.focus();
    return box;
  }

  /** Marks a button busy (disabled, aria-busy) while its call runs, or not. */
  function busy(button, on) {
    if (!button) return;
    button.disabled = on;
    if (on) button.setAttribute('aria-busy', 'true');
    else button.removeAttribute('aria-busy');
  }

  /** Marks a field refused (aria-invalid) until it is changed. */
  function markInvalid(el) {
    if (!el) return;
    el.setAttribute('aria-invalid', 'true');
    el.addEventListener('input', () => el.removeAttribute('aria-invalid'), { once: true });
    el.addEventListener('change', () => el.removeAttribute('aria-invalid'), { once: true });
  }

  /* ---- The session's rights ---- */

  /** Whether the session holds one of slugs (its "permissions" list). */
  function can(session, ...slugs) {
    const held = (session && session.permissions) || [];
    return slugs.flat().some((s) => held.includes(s));
  }

  /**
   * Shows the links of the page that the session may use: every element
   * with data-perm (space-separated slugs, one of which is enough), hidden
   * until then.
   */
  function showLinks(session, root) {
    for (const el of (root || document).querySelectorAll('[data-perm]')) {
      el.hidden = !can(session, el.dataset.perm.split(/\s+/).filter(Boolean));
    }
  }

  /**
   * What every signed-in page does with its session: the school in the
   * top bar, the title, the links it may use, and the idle limit kept for
   * the sign-in page.
   */
  function signedIn(session, title) {
    rememberIdle(session.idle);
    const school = session.school;
    const bar = document.getElementById('topbar-school');
    if (bar) {
      bar.textContent = school.name + ' · ' + school.year;
      bar.title = bar.textContent; // the bar may cut a long name short
    }
    if (title) document.title = title + ' — ' + school.name + ' — Sésame';
    showLinks(session);
  }

  /* ---- Leaving a signed-in page ---- */

  const IDLE_KEY = 'sesame.idleSeconds';

  /** Remembers the idle limit of this tab's session, for the sign-in page. */
  function rememberIdle(idle) {
    try {
      if (idle && idle.enabled) sessionStorage.setItem(IDLE_KEY, String(idle.timeoutSeconds));
      else sessionStorage.removeItem(IDLE_KEY);
    } catch (e) {
      /* storage refused: the message goes without the duration */
    }
  }

  /**
   * The sign-in page's address, explaining why the session ended:
   * /?raison=<reason>[&duree=<seconds>] (duree for idle_timeout).
   */
  function signInURL(reason, seconds) {
    const q = new URLSearchParams();
    if (reason) q.set('raison', reason);
    if (reason === 'idle_timeout') {
      let s = seconds;
      if (s === undefined) {
        try {
          s = sessionStorage.getItem(IDLE_KEY);
        } catch (e) {
          s = null;
        }
      }
      if (s !== null && s !== undefined && Number(s) > 0) q.set('duree', String(Math.round(Number(s))));
    }
    const qs = q.toString();
    return '/' + (qs ? '?' + qs : '');
  }

  /**
   * Goes to the sign-in page, saying why. A "sesame:leave" event tells the
   * browser agent first, which passes the news on to the session's other
   * tabs.
   */
  function leave(reason, seconds) {
    try {
      window.dispatchEvent(new CustomEvent('sesame:leave', { detail: { reason, seconds } }));
    } catch (e) {
      /* the agent's listener failed: leave all the same */
    }
    window.location.replace(signInURL(reason, seconds));
  }

  /** For a 401 of the API: go to the sign-in page with its reason. */
  function leaveOn401(err) {
    if (err instanceof ApiError && err.status === 401) {
      leave(typeof err.details.reason === 'string' ? err.details.reason : 'expired');
      return true;
    }
    return false;
  }

  /**
   * Loads the page's session and marks the page signed in (signedIn).
   * Without one it goes to the sign-in page; when the session cannot be
   * read it says so in errors and clears status. Returns the session, or
   * null.
   */
  async function loadSession(title, status, errors) {
    let me;
    try {
      me = await api.get('/session');
    } catch (err) {
      if (leaveOn401(err)) return null;
      if (status) status.textContent = '';
      alertBox(errors, 'error', ['Impossible de charger votre session' + NBSP + ': ' + err.message]);
      return null;
    }
    signedIn(me, title);
    return me;
  }

  /** Logs out, then goes to the sign-in page. */
  async function logout(button, region) {
    if (button) {
      button.disabled = true;
      button.setAttribute('aria-busy', 'true');
    }
    try {
      await api.post('/logout');
    } catch (err) {
      if (!(err instanceof ApiError) || err.status !== 401) {
        if (button) {
          button.disabled = false;
          button.removeAttribute('aria-busy');
        }
        if (region) alertBox(region, 'error', ['La déconnexion a échoué' + NBSP + ': ' + err.message]);
        return;
      }
    }
    try {
      sessionStorage.removeItem(IDLE_KEY);
    } catch (e) {
      /* nothing to forget */
    }
    // Signed in through an ENT whose single logout the SPR turned on: end
    // the ENT's session too, which comes back to the sign-in page.
    if (document.cookie.split('; ').includes('sesame_ent=1')) {
      window.location.replace('/api/v1/login/sso/logout');
      return;
    }
    leave('logged_out');
  }

  window.Sesame = Object.freeze({
    ApiError,
    api,
    NBSP,
    modes,
    accesses,
    kinds,
    pools,
    reasons,
    capitalize,
    modeLabel,
    modeAccessLabel,
    poolLabel,
    kindLabel,
    profileMode,
    defaultProfile,
    plural,
    duration,
    roughDuration,
    limitLabel,
    when,
    longWhen,
    ago,
    h,
    append,
    $,
    alertBox,
    busy,
    markInvalid,
    can,
    showLinks,
    signedIn,
    rememberIdle,
    signInURL,
    leave,
    leaveOn401,
    loadSession,
    logout,
  });
})();
