/* Sésame — the Journal page (/journal).
   The journal (GET /api/v1/journal, spr.journal): filters (from, to, event
   type, login), newest first, 50 entries a page with "Plus anciens" (the
   "next" cursor), and the CSV export of the same selection
   (/api/v1/journal.csv?…). The seat usage (GET /api/v1/usage,
   spr.connexions): per day and pool, the peak of simultaneous seats against
   the licence's limit and the sign-ins refused for a full pool, with a
   verdict per pool, so the school sees whether its licence fits. */
'use strict';

(function () {
  const S = window.Sesame;
  const { h, $, NBSP } = S;

  const PAGE = 50;

  // The journal's event types and their French names (sesame.Events,
  // Event.Label), from libelles.js.
  const events = Object.entries(window.SesameLabels.events);

  const status = $('statut');
  const errors = $('erreur');
  const view = $('vue');
  const filters = $('filtres');
  const tbody = $('entries').tBodies[0];
  const more = $('plus');
  const exportLink = $('export');

  let next = null;
  let selection = ''; // the query of the rows shown
  let seq = 0;

  function failed(err, what) {
    if (S.leaveOn401(err)) return;
    S.alertBox(errors, 'error', [h('p', {}, h('strong', {}, what + NBSP + ':')), h('p', { class: 'detail', 'data-code': err.code }, err.message)], { focus: true });
  }

  /* ---- Dates ---- */

  /** The start of a local day (an <input type="date"> value), as an instant; plusDays moves it. */
  function dayStart(value, plusDays) {
    const m = /^(\d{4})-(\d{2})-(\d{2})$/.exec(value || '');
    if (!m) return '';
    return new Date(Number(m[1]), Number(m[2]) - 1, Number(m[3]) + (plusDays || 0)).toISOString();
  }

  function isoDay(d) {
    const pad = (n) => String(n).padStart(2, '0');
    return d.getFullYear() + '-' + pad(d.getMonth() + 1) + '-' + pad(d.getDate());
  }

  const dayFmt = new Intl.DateTimeFormat('fr-FR', { weekday: 'short', day: 'numeric', month: 'short', year: 'numeric', timeZone: 'UTC' });

  /* ---- The journal ---- */

  /** The filters as the API reads them (local days as instants). */
  function query() {
    const p = new URLSearchParams();
    const from = dayStart($('from').value, 0);
    const to = dayStart($('to').value, 1); // "to" includes its day
    if (from) p.set('from', from);
    if (to) p.set('to', to);
    if ($('event').value) p.set('event', $('event').value);
    const login = $('login').value.trim();
    if (login) p.set('login', login);
    return p;
  }

  function cell(v) {
    return h('td', {}, v === null || v === undefined || v === '' ? '—' : String(v));
  }

  /** The mode, and the seat pool when it says more (the admin access). */
  function modeCell(e) {
    if (!e.mode) return h('td', {}, '—');
    const mode = S.modeLabel(e.mode);
    const pool = e.pool ? S.poolLabel(e.pool) : '';
    const more = pool && pool.toLowerCase() !== mode.toLowerCase();
    return h('td', {}, mode, more ? h('span', { class: 'sub' }, 'Places' + NBSP + ': ' + pool) : null);
  }

  function row(e) {
    const refused = e.event === 'login_refused' || e.event === 'seat_lost';
    return h('tr', { 'data-event': e.event, 'data-id': e.id },
      h('td', {}, h('time', { datetime: e.at, title: S.longWhen(e.at) }, S.when(e.at, true))),
      h('td', {}, h('span', { class: 'badge' + (refused ? ' badge-warn' : '') }, e.eventLabel || e.event)),
      cell(e.actor),
      cell(e.subject),
      modeCell(e),
      h('td', { class: 'detail-cell' }, e.detail || '—', e.reason ? h('span', { class: 'sub' }, 'Code' + NBSP + ': ' + e.reason) : null),
      cell(e.address));
  }

  function summarize() {
    const n = tbody.rows.length;
    $('vide').hidden = n > 0;
    $('entries').hidden = n === 0;
    more.hidden = !next;
    $('resultat').textContent = n === 0 ? '' : S.plural(n, 'entrée affichée', 'entrées affichées') +
      (next ? NBSP + '; «' + NBSP + 'Plus anciens' + NBSP + '» affiche la suite.' : ', jusqu\u2019à la plus ancienne.');
  }

  /** Loads the first page of the filters (append: the next, older page). */
  async function load(append) {
    const my = ++seq;
    const p = append ? new URLSearchParams(selection) : query();
    if (!append) {
      selection = p.toString();
      exportLink.href = '/api/v1/journal.csv' + (selection ? '?' + selection : '');
    }
    if (append && next) p.set('before', next);
    p.set('limit', String(PAGE));
    const button = append ? more : $('afficher');
    button.setAttribute('aria-busy', 'true');
    try {
      const page = await S.api.get('/journal?' + p.toString());
      if (my !== seq) return;
      errors.replaceChildren();
      const first = tbody.rows.length;
      if (!append) tbody.replaceChildren();
      tbody.append(...page.entries.map(row));
      next = page.next || null;
      if (page.retentionDays) {
        $('conservation').textContent = 'Ils sont gardés ' + S.plural(page.retentionDays, 'jour', 'jours') + ', puis effacés.';
      }
      summarize();
      if (append && tbody.rows[first]) {
        // The first new row takes the focus, for keyboard and screen readers.
        const c = tbody.rows[first].cells[0];
        c.tabIndex = -1;
        c.focus();
      }
    } catch (err) {
      if (my !== seq) return;
      if (err.details && (err.details.field === 'from' || err.details.field === 'to')) {
        $(err.details.field).setAttribute('aria-invalid', 'true');
      }
      failed(err, 'Le journal n\u2019a pas pu être lu');
    } finally {
      button.removeAttribute('aria-busy');
    }
  }

  filters.addEventListener('submit', (ev) => {
    ev.preventDefault();
    for (const id of ['from', 'to']) $(id).removeAttribute('aria-invalid');
    const from = $('from').value;
    const to = $('to').value;
    if (from && to && to < from) {
      $('to').setAttribute('aria-invalid', 'true');
      S.alertBox(errors, 'error', [h('p', {}, h('strong', {}, 'La date de fin doit suivre la date de début.'))], { focus: true });
      return;
    }
    load(false);
  });
  more.addEventListener('click', () => load(true));

  /* ---- Seat usage ---- */

  function limitText(limit) {
    if (limit === null || limit === undefined) return 'sans limite';
    if (limit === 0) return 'fermé';
    return String(limit);
  }

  function dayState(d, limit) {
    if (d.refused > 0) return h('span', { class: 'badge badge-danger' }, S.plural(d.refused, 'refus', 'refus'));
    if (limit === null || limit === undefined) return h('span', { class: 'badge' }, 'sans limite');
    if (limit > 0 && d.peak >= limit) return h('span', { class: 'badge badge-warn' }, 'complet');
    return h('span', { class: 'badge badge-ok' }, 'places libres');
  }

  /** A sentence per pool: its highest peak against its limit, its refusals. */
  function verdicts(u) {
    const out = [];
    for (const p of u.pools) {
      const days = u.days.filter((d) => d.pool === p.pool);
      if (!days.length) continue;
      const peak = Math.max(...days.map((d) => d.peak));
      const refused = days.reduce((n, d) => n + d.refused, 0);
      const signIns = days.reduce((n, d) => n + (d.signIns || 0), 0);
      const limited = p.limit !== null && p.limit !== undefined;
      const full = limited ? days.filter((d) => p.limit > 0 && d.peak >= p.limit).length : 0;
      const label = S.poolLabel(p.pool);
      const name = label.charAt(0).toUpperCase() + label.slice(1);
      let text = name + NBSP + ': au plus ' + S.plural(peak, 'connexion simultanée', 'connexions simultanées');
      let kind = 'ok';
      if (!limited && peak === 0) {
        // Sessions without a seat leave no peak: their sign-ins are counted.
        text = name + NBSP + ': ' + S.plural(signIns, 'connexion', 'connexions') + ' sur la période, sans place à réserver (sans limite).';
      } else if (!limited) {
        text += ' (sans limite).';
      } else {
        text += ' pour ' + S.plural(p.limit, 'place', 'places') + '.';
        if (refused > 0) {
          kind = 'error';
          text += ' ' + S.plural(refused, 'connexion refusée', 'connexions refusées') + ' faute de place' +
            (full ? ', ' + S.plural(full, 'jour complet', 'jours complets') : '') + NBSP + ': la licence est trop juste.';
        } else if (full > 0) {
          kind = 'warn';
          text += ' Complet ' + S.plural(full, 'jour', 'jours') + ', sans refus' + NBSP + ': la licence est tout juste suffisante.';
        } else {
          text += ' La licence suffit.';
        }
      }
      out.push(h('li', { class: 'verdict verdict-' + kind, 'data-pool': p.pool }, text));
    }
    return out;
  }

  async function loadUsage() {
    const p = new URLSearchParams();
    if ($('u-from').value) p.set('from', $('u-from').value);
    if ($('u-to').value) p.set('to', $('u-to').value);
    const button = $('u-afficher');
    button.setAttribute('aria-busy', 'true');
    try {
      const u = await S.api.get('/usage' + (p.toString() ? '?' + p.toString() : ''));
      $('u-from').value = u.from;
      $('u-to').value = u.to;
      const limits = new Map(u.pools.map((x) => [x.pool, x.limit]));
      const order = new Map(u.pools.map((x, i) => [x.pool, i]));
      const days = u.days.slice().sort((a, b) => (a.day < b.day ? 1 : a.day > b.day ? -1 : order.get(a.pool) - order.get(b.pool)));
      $('days').tBodies[0].replaceChildren(...days.map((d) => {
        const limit = limits.get(d.pool);
        return h('tr', { 'data-day': d.day, 'data-pool': d.pool },
          h('td', {}, h('time', { datetime: d.day }, dayFmt.format(new Date(d.day + 'T00:00:00Z')))),
          h('td', {}, S.poolLabel(d.pool)),
          h('td', { class: 'num' }, String(d.peak)),
          h('td', { class: 'num' }, limitText(limit)),
          h('td', { class: 'num' }, String(d.refused)),
          h('td', { class: 'num' }, String(d.signIns || 0)),
          h('td', {}, dayState(d, limit)));
      }));
      $('days').hidden = days.length === 0;
      $('u-vide').hidden = days.length > 0;
      const v = verdicts(u);
      $('verdicts').replaceChildren(v.length ? h('ul', { class: 'verdicts' }, v) : '');
    } catch (err) {
      failed(err, 'Les places utilisées n\u2019ont pas pu être lues');
    } finally {
      button.removeAttribute('aria-busy');
    }
  }

  $('usage-filtres').addEventListener('submit', (ev) => {
    ev.preventDefault();
    loadUsage();
  });

  /* ---- Loading ---- */

  const logout = $('logout');
  logout.addEventListener('click', () => S.logout(logout, errors));

  async function start() {
    const me = await S.loadSession('Journal', status, errors);
    if (!me) return;
    const journal = S.can(me, 'spr.journal');
    const usage = S.can(me, 'spr.connexions');
    if (!journal && !usage) {
      status.textContent = '';
      S.alertBox(errors, 'error', [
        h('p', {}, h('strong', {}, 'Le journal et les places de connexion sont réservés au superviseur (SPR).')),
        h('p', {}, h('a', { href: '/accueil' }, 'Revenir à l\u2019accueil')),
      ]);
      return;
    }
    $('event').append(...events.map(([v, l]) => h('option', { value: v }, l)));
    const today = new Date();
    $('to').max = isoDay(today);
    $('from').max = isoDay(today);
    $('journal').hidden = !journal;
    $('usage').hidden = !usage;
    status.textContent = '';
    view.hidden = false;
    await Promise.all([journal ? load(false) : null, usage ? loadUsage() : null]);
  }

  start();
})();
