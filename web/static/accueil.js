/* Sésame — the home page (/accueil).
   Shows the signed-in session (GET /api/v1/session): who, which school and
   year, which mode, the seat, the automatic disconnection, the
   permissions grouped by category (labels from GET /api/v1/permissions),
   and the links to the administration pages the permissions open
   (Utilisateurs, Groupes et profils, Journal). */
'use strict';

(function () {
  const S = window.Sesame;
  const { h, $, NBSP } = S;

  const status = $('statut');
  const errors = $('erreur');

  function set(id, ...content) {
    $(id).replaceChildren(...content.flat().filter((c) => c !== null && c !== undefined));
  }

  function seatText(session) {
    const seat = session.seat;
    if (!seat) {
      return session.user.supervisor ? 'aucune place réservée (superviseur)' : 'aucune place réservée';
    }
    const pool = S.poolLabel(seat.pool);
    if (seat.limit === null || seat.limit === undefined) return pool + ' — illimité';
    return pool + ' — ' + S.plural(seat.limit, 'connexion simultanée', 'connexions simultanées') + ' au plus';
  }

  function idleText(idle) {
    if (!idle || !idle.enabled) return 'Déconnexion automatique désactivée';
    return 'Déconnexion automatique après ' + S.duration(idle.timeoutSeconds) + ' d\u2019inactivité';
  }

  function kindText(user) {
    const k = S.kindLabel(user.kind);
    return user.supervisor ? k + ', superviseur (SPR)' : k;
  }

  function timeEl(iso, text) {
    return h('time', { datetime: iso }, text);
  }

  function renderSession(s) {
    const school = s.school;
    S.signedIn(s, 'Accueil');
    set('bonjour', 'Bonjour, ' + s.user.displayName);
    set('sous-titre', S.modeAccessLabel(s.mode, s.access) + ' · ' + school.name + ' (' + school.uai + ') · année ' + school.year);
    set('f-name', s.user.displayName);
    set('f-login', s.user.login);
    set('f-kind', kindText(s.user));
    set('f-school', school.name + ' (' + school.uai + ')');
    set('f-year', school.year);
    if (s.mode === 'admin') {
      set('f-mode', S.modeLabel(s.mode) + ', en ' + (S.accesses[s.access] || s.access));
    } else {
      set('f-mode', S.modeLabel(s.mode));
    }
    set('f-seat', seatText(s));
    set('f-idle', idleText(s.idle));
    set('f-since', s.since ? timeEl(s.since, S.longWhen(s.since)) : '—');
    set('f-expires', s.expiresAt ? ['au plus tard ', timeEl(s.expiresAt, S.longWhen(s.expiresAt))] : '—');

    $('spr').hidden = !(s.user.supervisor && s.mode === 'admin');
    // The administration pages this session may use (S.signedIn showed
    // their links).
    const admin = $('administration');
    admin.hidden = ![...admin.querySelectorAll('[data-perm]')].some((li) => !li.hidden);
  }

  /** Groups the granted permissions by category, in the catalogue's order. */
  function renderPermissions(granted, catalogue) {
    const slugs = new Set(granted);
    const groups = new Map();
    const known = new Set();
    for (const p of catalogue) {
      known.add(p.slug);
      if (!slugs.has(p.slug)) continue;
      if (!groups.has(p.category)) groups.set(p.category, []);
      groups.get(p.category).push(p.label);
    }
    const unknown = granted.filter((s) => !known.has(s));
    if (unknown.length) groups.set('Autres', unknown);

    const n = granted.length;
    const summary = $('perm-summary');
    const box = $('permissions');
    if (n === 0) {
      summary.textContent = 'Aucune autorisation du catalogue dans ce mode' + NBSP + ': les Espaces donnent accès aux informations qui vous concernent.';
      box.replaceChildren();
      return;
    }
    summary.textContent = 'Vous avez ' + S.plural(n, 'autorisation', 'autorisations') + ' dans ce mode, en ' +
      S.plural(groups.size, 'catégorie', 'catégories') + '.';
    let i = 0;
    box.replaceChildren(...[...groups].map(([category, labels]) => {
      const id = 'cat-' + i++;
      return h('section', { class: 'perm-group', 'aria-labelledby': id, 'data-category': category },
        h('h3', { id },
          h('span', {}, category),
          h('span', { class: 'badge' }, String(labels.length),
            h('span', { class: 'visually-hidden' }, labels.length > 1 ? ' autorisations' : ' autorisation'))),
        h('ul', {}, labels.map((l) => h('li', {}, l))));
    }));
  }

  async function load() {
    const perms = S.api.get('/permissions').catch((err) => err);
    let session;
    try {
      session = await S.api.get('/session');
    } catch (err) {
      if (S.leaveOn401(err)) return;
      status.textContent = '';
      S.alertBox(errors, 'error', ['Impossible de charger votre session' + NBSP + ': ' + err.message]);
      return;
    }
    renderSession(session);
    const catalogue = await perms;
    if (catalogue instanceof Error) {
      $('perm-summary').textContent = 'La liste des autorisations n\u2019a pas pu être chargée' + NBSP + ': ' + catalogue.message;
    } else {
      renderPermissions(session.permissions || [], catalogue);
    }
    $('vue').hidden = false;
    status.textContent = '';
  }

  const logout = $('logout');
  logout.addEventListener('click', () => S.logout(logout, errors));
  load();
})();
