/* Sésame — the SPR's Connexions page (/connexions).
   Lists the seat pools and the connected users (GET /api/v1/connections),
   refreshed every 15 seconds and on demand, and disconnects a user
   (DELETE /api/v1/connections/{id}) after an inline confirmation. */
'use strict';

(function () {
  const S = window.Sesame;
  const { h, $, NBSP } = S;

  const REFRESH_MS = 15000;

  const announce = $('annonce');
  const errors = $('erreur');
  const updated = $('maj');
  const refreshButton = $('refresh');
  const view = $('vue');
  const poolsBody = $('pools').tBodies[0];
  const connBody = $('connections').tBodies[0];

  let me = null; // the SPR's own session, to mark its rows
  let timer = null;
  let inflight = null;
  let confirming = null; // id of the connection awaiting confirmation
  let forbidden = false;
  let lastData = null;

  function say(region, kind, text) {
    S.alertBox(region, kind, text ? [text] : []);
  }

  /* ---- Pools ---- */

  function poolState(p) {
    if (p.limit === 0) return h('span', { class: 'badge badge-danger' }, 'fermé (hors licence)');
    if (p.limit === null || p.limit === undefined) return h('span', { class: 'badge' }, 'sans limite');
    const free = p.limit - p.used;
    if (free <= 0) return h('span', { class: 'badge badge-warn' }, 'complet');
    return h('span', { class: 'badge badge-ok' }, free > 1 ? free + ' places libres' : '1 place libre');
  }

  function renderPools(pools) {
    poolsBody.replaceChildren(...pools.map((p) =>
      h('tr', { 'data-pool': p.pool },
        h('th', { scope: 'row' }, S.capitalize(p.label || S.poolLabel(p.pool))),
        h('td', { class: 'num' }, String(p.used)),
        h('td', { class: 'num' }, S.limitLabel(p.limit)),
        h('td', {}, poolState(p)))));
  }

  /* ---- Connected users ---- */

  function isMe(c) {
    return me !== null && c.login.toLowerCase() === me.user.login.toLowerCase() && c.mode === me.mode;
  }

  function timeCell(iso, withAgo) {
    return h('td', {},
      h('time', { datetime: iso, title: S.longWhen(iso) }, S.when(iso)),
      withAgo ? h('span', { class: 'sub' }, S.ago(iso)) : null);
  }

  function actionCell(c) {
    if (confirming === c.id) {
      const label = 'Confirmer la déconnexion de ' + c.displayName;
      const yes = h('button', { type: 'button', class: 'button button-danger button-small', 'data-focus-key': 'yes:' + c.id, 'data-action': 'confirm' }, 'Oui, déconnecter');
      const no = h('button', { type: 'button', class: 'button button-quiet button-small', 'data-focus-key': 'no:' + c.id, 'data-action': 'cancel' }, 'Annuler');
      yes.addEventListener('click', () => disconnect(c));
      no.addEventListener('click', () => cancelConfirm(c.id));
      const group = h('div', { class: 'confirm', role: 'group', 'aria-label': label },
        h('span', { class: 'confirm-text' },
          isMe(c) ? 'Fermer votre propre session' + NBSP + '?' : 'Déconnecter ' + c.displayName + NBSP + '?'),
        yes, no);
      group.addEventListener('keydown', (ev) => {
        if (ev.key === 'Escape') {
          ev.preventDefault();
          cancelConfirm(c.id);
        }
      });
      return h('td', { class: 'row-actions' }, group);
    }
    const b = h('button', {
      type: 'button',
      class: 'button button-secondary button-small',
      'data-focus-key': 'disconnect:' + c.id,
      'data-action': 'disconnect',
      'aria-label': 'Déconnecter ' + c.displayName + ' (' + c.login + ')',
    }, 'Déconnecter');
    b.addEventListener('click', () => askConfirm(c.id));
    return h('td', { class: 'row-actions' }, b);
  }

  function renderConnections(conns) {
    $('count').textContent = String(conns.length);
    $('aucun').hidden = conns.length > 0;
    $('connections').hidden = conns.length === 0;
    connBody.replaceChildren(...conns.map((c) => {
      const tags = [];
      if (c.supervisor) tags.push(h('span', { class: 'badge' }, 'superviseur'));
      if (isMe(c)) tags.push(h('span', { class: 'badge badge-ok' }, 'vous'));
      return h('tr', { 'data-id': c.id, 'data-login': c.login, class: confirming === c.id ? 'is-confirming' : null },
        h('th', { scope: 'row' }, c.displayName, tags.length ? ' ' : null, tags),
        h('td', {}, c.login),
        h('td', {}, S.modeLabel(c.mode)),
        h('td', {}, c.mode === 'admin' ? (S.accesses[c.access] || c.access) : '—'),
        timeCell(c.since, false),
        timeCell(c.lastActivity, true),
        actionCell(c));
    }));
  }

  /** Re-renders, keeping the keyboard focus on the same control. */
  function render(data) {
    const active = document.activeElement;
    const key = active && active.dataset ? active.dataset.focusKey : undefined;
    if (confirming !== null && !data.connections.some((c) => c.id === confirming)) confirming = null;
    renderPools(data.pools);
    renderConnections(data.connections);
    view.hidden = false;
    if (key) {
      const again = view.querySelector('[data-focus-key="' + CSS.escape(key) + '"]');
      if (again) again.focus();
      else if (view.contains(active) || !document.body.contains(active)) $('h-connexions').focus();
    }
  }

  function rerender() {
    if (lastData) render(lastData);
  }

  function askConfirm(id) {
    confirming = id;
    errors.replaceChildren();
    rerender();
    const yes = view.querySelector('[data-focus-key="yes:' + CSS.escape(id) + '"]');
    if (yes) yes.focus();
  }

  function cancelConfirm(id) {
    confirming = null;
    rerender();
    const b = view.querySelector('[data-focus-key="disconnect:' + CSS.escape(id) + '"]');
    if (b) b.focus();
  }

  async function disconnect(c) {
    const yes = view.querySelector('[data-focus-key="yes:' + CSS.escape(c.id) + '"]');
    if (yes) {
      yes.disabled = true;
      yes.setAttribute('aria-busy', 'true');
    }
    try {
      await S.api.del('/connections/' + encodeURIComponent(c.id));
      confirming = null;
      say(announce, 'ok', c.displayName + ' (' + c.login + ') a été déconnecté' + NBSP + ': sa place est libérée.');
      if (isMe(c)) {
        S.leave('disconnected');
        return;
      }
    } catch (err) {
      confirming = null;
      if (S.leaveOn401(err)) return;
      say(errors, 'error', 'La déconnexion de ' + c.displayName + ' a échoué' + NBSP + ': ' + err.message);
    }
    if (inflight) await inflight; // it may have started before the disconnection
    await refresh(false);
    $('h-connexions').focus();
  }

  /* ---- Loading ---- */

  function stamp() {
    updated.textContent = 'Mis à jour à ' + S.when(new Date().toISOString(), true) +
      ' · actualisation toutes les 15' + NBSP + 'secondes';
  }

  function showForbidden(err) {
    forbidden = true;
    clearTimeout(timer);
    view.hidden = true;
    refreshButton.hidden = true;
    updated.textContent = '';
    S.alertBox(errors, 'error', [
      h('p', {}, h('strong', {}, err.message)),
      h('p', {}, 'Cette page est réservée au superviseur (SPR), connecté en mode administratif. ',
        h('a', { href: '/accueil' }, 'Revenir à l\u2019accueil')),
    ]);
  }

  function refresh(manual) {
    if (inflight) return inflight;
    refreshButton.setAttribute('aria-busy', 'true');
    inflight = (async () => {
      try {
        const data = await S.api.get('/connections');
        lastData = data;
        render(data);
        stamp();
        if (manual) {
          say(announce, 'info', 'Liste actualisée' + NBSP + ': ' +
            S.plural(data.connections.length, 'utilisateur connecté', 'utilisateurs connectés') + '.');
        }
        if (errors.dataset.stale) {
          errors.replaceChildren();
          delete errors.dataset.stale;
        }
      } catch (err) {
        if (S.leaveOn401(err)) return;
        if (err.status === 403) {
          showForbidden(err);
          return;
        }
        errors.dataset.stale = '1';
        say(errors, 'error', 'La liste n\u2019a pas pu être actualisée' + NBSP + ': ' + err.message);
      } finally {
        inflight = null;
        refreshButton.removeAttribute('aria-busy');
        schedule();
      }
    })();
    return inflight;
  }

  function schedule() {
    clearTimeout(timer);
    if (!forbidden) timer = setTimeout(tick, REFRESH_MS);
  }

  function tick() {
    // Never pull the rug from under a confirmation; a hidden tab waits.
    if (confirming !== null || document.hidden) {
      schedule();
      return;
    }
    refresh(false);
  }

  document.addEventListener('visibilitychange', () => {
    if (!document.hidden && confirming === null && !forbidden) refresh(false);
  });

  refreshButton.addEventListener('click', () => {
    confirming = null;
    refresh(true);
  });

  const logout = $('logout');
  logout.addEventListener('click', () => {
    clearTimeout(timer);
    S.logout(logout, errors);
  });

  async function start() {
    try {
      me = await S.api.get('/session');
    } catch (err) {
      if (S.leaveOn401(err)) return;
      me = null;
    }
    if (me) S.signedIn(me, 'Connexions');
    await refresh(false);
  }

  start();
})();
