/* Sésame — the Utilisateurs page (/utilisateurs).
   Searches the base's accounts (GET /api/v1/users: q over the login and the
   name, accents and case ignored; kind; a page of 50 with its "next"
   cursor), creates one (POST /api/v1/users: the generated password is shown
   once), edits its name, admin group and profile (PATCH
   /api/v1/users/{login} with the version read), links it to a person of
   the school's ENT (its entId; empty unlinks), deactivates or reactivates
   it (PATCH enabled; deactivating ends its connections at once) and resets
   its password (POST /api/v1/users/{login}/password, shown once).
   Admin groups and profiles come from GET /api/v1/groups and /profiles.
   Administrative accounts are the SPR's (spr.utilisateurs); the others
   also need ressources.creer-modifier-ressources. */
'use strict';

(function () {
  const S = window.Sesame;
  const { h, $, NBSP, busy, markInvalid } = S;

  const PAGE = 50;
  const SPR_USERS = 'spr.utilisateurs';
  const RESOURCES = 'ressources.creer-modifier-ressources';

  const status = $('statut');
  const announce = $('annonce');
  const errors = $('erreur');
  const view = $('vue');
  const searchForm = $('recherche');
  const qInput = $('q');
  const kindSelect = $('kind');
  const tbody = $('users').tBodies[0];
  const prevButton = $('precedent');
  const nextButton = $('suivant');
  const edit = $('edition');
  const editForm = $('form-edition');
  const createCard = $('creation-card');
  const createForm = $('creation');

  let me = null;
  let canSPR = false; // spr.utilisateurs: administrative accounts and groups
  let canResources = false; // ressources.creer-modifier-ressources
  let groups = []; // admin groups: {id, name, type}
  let profiles = { teacher: [], 'vie-scolaire': [] };
  let cursors = ['']; // the "after" cursor of each page seen
  let pageIndex = 0;
  let nextCursor = null;
  let searchSeq = 0;
  let debounce = null;
  let current = null; // the account being edited, as last read
  let confirming = null; // 'disable', 'enable' or 'password'
  let forbidden = false;

  function say(region, kind, text) {
    S.alertBox(region, kind, text ? [text] : []);
  }

  /* ---- Groups and profiles ---- */

  function groupOf(id) {
    return groups.find((g) => g.id === id);
  }
  function profileOf(id) {
    return profiles.teacher.concat(profiles['vie-scolaire']).find((p) => p.id === id);
  }
  function groupName(id) {
    const g = groupOf(id);
    return g ? g.name : id;
  }
  function profileName(id) {
    const p = profileOf(id);
    return p ? p.name : id;
  }
  const profileMode = S.profileMode;

  async function loadChoices() {
    const [g, p] = await Promise.all([S.api.get('/groups'), S.api.get('/profiles')]);
    groups = g.items.map((x) => ({ id: x.id, name: x.name, type: x.type }));
    profiles = { teacher: [], 'vie-scolaire': [] };
    for (const x of p.items) {
      if (profiles[x.mode]) profiles[x.mode].push({ id: x.id, name: x.name });
    }
  }

  /** Fills a select with the admin groups a user may be put in. */
  function fillGroups(select, user) {
    const opts = [h('option', { value: '' }, 'Aucun (pas d\u2019accès au mode administratif)')];
    for (const g of groups) {
      if (g.type === 'admin' && !(user && user.adminGroup === g.id)) continue;
      const suffix = g.type === 'consult' ? ' (consultation seulement)' : '';
      opts.push(h('option', { value: g.id }, g.name + suffix));
    }
    if (user && user.adminGroup && !groupOf(user.adminGroup)) {
      opts.push(h('option', { value: user.adminGroup }, user.adminGroup));
    }
    select.replaceChildren(...opts);
    select.value = user && user.adminGroup ? user.adminGroup : '';
  }

  /** Fills a select with the profiles of a kind of account. */
  function fillProfiles(select, kind, selected) {
    const list = profiles[profileMode(kind)] || [];
    const opts = list.map((p) => h('option', { value: p.id }, p.name));
    if (selected && !list.some((p) => p.id === selected)) opts.push(h('option', { value: selected }, selected));
    select.replaceChildren(...opts);
    const fallback = S.defaultProfile(kind);
    select.value = selected || (list.some((p) => p.id === fallback) ? fallback : (list[0] ? list[0].id : ''));
  }

  /* ---- Errors ---- */

  /** Explains a failed call; fields maps the API's error.field to inputs. */
  function failed(err, what, fields) {
    if (S.leaveOn401(err)) return;
    const lines = [h('p', {}, h('strong', {}, what + NBSP + ':')), h('p', { class: 'detail', 'data-code': err.code }, err.message)];
    if (err.code === 'conflict' && current) {
      const reload = h('button', { type: 'button', class: 'button button-small', id: 'recharger' }, 'Recharger le compte');
      reload.addEventListener('click', () => openEdit(current.login));
      lines.push(h('p', {}, reload));
    }
    const field = err.details && err.details.field;
    if (field && fields && fields[field]) markInvalid(fields[field]);
    S.alertBox(errors, 'error', lines, { focus: true });
  }

  function showForbidden(err) {
    forbidden = true;
    view.hidden = true;
    status.textContent = '';
    S.alertBox(errors, 'error', [
      h('p', {}, h('strong', {}, err ? err.message : 'Vous n\u2019avez pas le droit de gérer les comptes.')),
      h('p', {}, 'Cette page est réservée au superviseur (SPR) et aux utilisateurs administratifs autorisés à créer et modifier les ressources. ',
        h('a', { href: '/accueil' }, 'Revenir à l\u2019accueil')),
    ]);
  }

  /* ---- The list ---- */

  function stateBadge(u) {
    return u.enabled
      ? h('span', { class: 'badge badge-ok' }, 'actif')
      : h('span', { class: 'badge badge-danger' }, 'désactivé');
  }

  function membership(u) {
    const parts = [];
    if (u.adminGroup) parts.push(h('span', { class: 'sub' }, 'Groupe' + NBSP + ': ' + groupName(u.adminGroup)));
    if (u.profile) parts.push(h('span', { class: 'sub' }, 'Profil' + NBSP + ': ' + profileName(u.profile)));
    return parts.length ? parts : '—';
  }

  function renderList(page) {
    const users = page.users;
    nextCursor = page.next || null;
    tbody.replaceChildren(...users.map((u) => {
      const open = h('button', {
        type: 'button',
        class: 'button button-secondary button-small',
        'data-action': 'edit',
        'aria-label': 'Modifier ' + u.displayName + ' (' + u.login + ')',
      }, 'Modifier');
      open.addEventListener('click', () => openEdit(u.login));
      return h('tr', { 'data-login': u.login, class: u.enabled ? null : 'is-disabled' },
        h('th', { scope: 'row' }, u.displayName, u.supervisor ? [' ', h('span', { class: 'badge' }, 'superviseur')] : null),
        h('td', {}, u.login, u.entId ? h('span', { class: 'sub', 'data-ent': '' }, 'Identifiant ENT' + NBSP + ': ' + u.entId) : null),
        h('td', {}, S.kindLabel(u.kind)),
        h('td', {}, membership(u)),
        h('td', {}, stateBadge(u)),
        h('td', { class: 'row-actions' }, open));
    }));
    $('aucun').hidden = users.length > 0;
    $('users').hidden = users.length === 0;
    prevButton.hidden = pageIndex === 0;
    nextButton.hidden = !nextCursor;
    $('page').textContent = pageIndex > 0 || nextCursor ? 'Page ' + (pageIndex + 1) : '';
    const q = qInput.value.trim();
    let text = users.length === 0 ? 'Aucun compte' : S.plural(users.length, 'compte', 'comptes');
    if (nextCursor || pageIndex > 0) text += ' sur cette page';
    if (q) text += ' pour «' + NBSP + q + NBSP + '»';
    if (kindSelect.value) text += ' (' + kindSelect.options[kindSelect.selectedIndex].text.toLowerCase() + ')';
    $('resultat').textContent = text + '.';
  }

  function rememberQuery() {
    const p = new URLSearchParams();
    if (qInput.value.trim()) p.set('q', qInput.value.trim());
    if (kindSelect.value) p.set('type', kindSelect.value);
    const qs = p.toString();
    history.replaceState(null, '', location.pathname + (qs ? '?' + qs : ''));
  }

  /** Loads the page pageIndex of the current search. */
  async function search() {
    const seq = ++searchSeq;
    const p = new URLSearchParams();
    const q = qInput.value.trim();
    if (q) p.set('q', q);
    if (kindSelect.value) p.set('kind', kindSelect.value);
    if (cursors[pageIndex]) p.set('after', cursors[pageIndex]);
    p.set('limit', String(PAGE));
    $('users').setAttribute('aria-busy', 'true');
    try {
      const page = await S.api.get('/users?' + p.toString());
      if (seq !== searchSeq) return; // a newer search is under way
      renderList(page);
      if (errors.dataset.stale) {
        errors.replaceChildren();
        delete errors.dataset.stale;
      }
    } catch (err) {
      if (seq !== searchSeq) return;
      if (err.status === 403) {
        showForbidden(err);
        return;
      }
      failed(err, 'La recherche a échoué', { q: qInput, kind: kindSelect });
      errors.dataset.stale = '1';
    } finally {
      if (seq === searchSeq) $('users').removeAttribute('aria-busy');
    }
  }

  function newSearch() {
    clearTimeout(debounce);
    cursors = [''];
    pageIndex = 0;
    rememberQuery();
    return search();
  }

  searchForm.addEventListener('submit', (ev) => {
    ev.preventDefault();
    newSearch();
  });
  qInput.addEventListener('input', () => {
    clearTimeout(debounce);
    debounce = setTimeout(newSearch, 300);
  });
  kindSelect.addEventListener('change', newSearch);
  nextButton.addEventListener('click', async () => {
    if (!nextCursor) return;
    cursors[pageIndex + 1] = nextCursor;
    pageIndex++;
    await search();
    $('h-liste').focus();
  });
  prevButton.addEventListener('click', async () => {
    if (pageIndex === 0) return;
    pageIndex--;
    await search();
    $('h-liste').focus();
  });

  /* ---- The password, shown once ---- */

  function showPassword(region, user, password, title) {
    const done = h('button', { type: 'button', class: 'button button-small button-secondary' }, 'J\u2019ai noté le mot de passe');
    done.addEventListener('click', () => region.replaceChildren());
    const box = S.alertBox(region, 'ok', [
      h('p', {}, h('strong', {}, title)),
      h('p', {}, 'Mot de passe de ' + user.displayName + ' (' + user.login + ')' + NBSP + ': ',
        h('code', { class: 'secret', 'data-login': user.login }, password)),
      h('p', { class: 'detail' }, 'Il ne sera plus jamais affiché' + NBSP + ': notez-le ou transmettez-le maintenant à l\u2019utilisateur.'),
      h('p', {}, done),
    ], { focus: true });
    box.classList.add('password-once');
  }

  /* ---- Editing an account ---- */

  /** Whether the signed-in user may change account u (the server decides; this only shapes the form). */
  function mayManage(u) {
    if (u.supervisor) return canSPR && me.user.supervisor;
    if (u.adminGroup) return canSPR;
    return canSPR || canResources;
  }

  function confirmGroup(label, question, yesText, danger, onYes) {
    const yes = h('button', { type: 'button', class: 'button button-small ' + (danger ? 'button-danger' : ''), 'data-action': 'confirm' }, yesText);
    const no = h('button', { type: 'button', class: 'button button-quiet button-small', 'data-action': 'cancel' }, 'Annuler');
    yes.addEventListener('click', () => onYes(yes));
    no.addEventListener('click', () => {
      confirming = null;
      renderEdit();
    });
    const group = h('div', { class: 'confirm', role: 'group', 'aria-label': label },
      h('span', { class: 'confirm-text' }, question), yes, no);
    group.addEventListener('keydown', (ev) => {
      if (ev.key === 'Escape') {
        ev.preventDefault();
        confirming = null;
        renderEdit();
      }
    });
    return group;
  }

  function renderEdit() {
    const u = current;
    const manage = mayManage(u);
    edit.dataset.login = u.login;
    $('h-edition').textContent = 'Modifier le compte de ' + u.displayName;
    $('e-login').textContent = u.login;
    $('e-kind').textContent = S.kindLabel(u.kind) + (u.supervisor ? ', superviseur (SPR)' : '');
    $('e-state').replaceChildren(stateBadge(u));
    const note = $('edition-note');
    note.hidden = manage;
    note.textContent = manage ? '' : (u.supervisor
      ? 'Le compte du superviseur (SPR) ne peut être modifié que par lui-même.'
      : 'Ce compte est un utilisateur administratif' + NBSP + ': seul le superviseur (SPR) peut le modifier.');

    const name = $('e-name');
    name.value = u.displayName;
    name.disabled = !manage;

    const staff = u.kind === 'staff';
    $('e-group-field').hidden = !staff;
    const group = $('e-group');
    fillGroups(group, u);
    group.disabled = !manage || !canSPR || u.supervisor;
    $('e-group-hint').textContent = u.supervisor
      ? 'Le superviseur (SPR) reste dans le groupe Administration.'
      : canSPR
        ? 'Donne accès au mode administratif. Changer de groupe ferme ses connexions en mode administratif.'
        : 'Les utilisateurs administratifs sont gérés par le superviseur (SPR) seul.';

    const mode = profileMode(u.kind);
    $('e-profile-field').hidden = !mode;
    if (mode) fillProfiles($('e-profile'), u.kind, u.profile);
    $('e-profile').disabled = !manage;
    $('e-ent').value = u.entId || '';
    $('e-ent').disabled = !manage;
    $('enregistrer').disabled = !manage;

    // The password.
    const pwActions = $('e-password-actions');
    if (!manage) {
      pwActions.replaceChildren(h('p', { class: 'note' }, 'Vous ne pouvez pas réinitialiser ce mot de passe.'));
    } else if (confirming === 'password') {
      pwActions.replaceChildren(confirmGroup('Confirmer la réinitialisation du mot de passe de ' + u.displayName,
        'Remplacer le mot de passe de ' + u.displayName + NBSP + '? L\u2019ancien ne fonctionnera plus.',
        'Oui, réinitialiser', false, resetPassword));
    } else {
      const b = h('button', { type: 'button', class: 'button button-secondary', id: 'reinitialiser' }, 'Réinitialiser le mot de passe');
      b.addEventListener('click', () => ask('password'));
      pwActions.replaceChildren(b);
    }

    // Deactivation.
    const stateNote = $('e-state-note');
    const stateActions = $('e-state-actions');
    if (u.supervisor) {
      stateNote.textContent = 'Le compte du superviseur (SPR) ne peut pas être désactivé.';
      stateActions.replaceChildren();
    } else if (u.enabled) {
      stateNote.textContent = 'Désactiver le compte ferme aussitôt toutes ses connexions en cours et libère ses places' + NBSP +
        '; l\u2019utilisateur ne pourra plus se connecter tant que le compte n\u2019est pas réactivé. Rien n\u2019est supprimé.';
      if (!manage) stateActions.replaceChildren();
      else if (confirming === 'disable') {
        stateActions.replaceChildren(confirmGroup('Confirmer la désactivation du compte de ' + u.displayName,
          'Désactiver le compte de ' + u.displayName + ' et fermer ses connexions' + NBSP + '?',
          'Oui, désactiver', true, (b) => setEnabled(false, b)));
      } else {
        const b = h('button', { type: 'button', class: 'button button-danger', id: 'desactiver' }, 'Désactiver le compte');
        b.addEventListener('click', () => ask('disable'));
        stateActions.replaceChildren(b);
      }
    } else {
      stateNote.textContent = 'Ce compte est désactivé' + NBSP + ': l\u2019utilisateur ne peut pas se connecter.';
      if (!manage) stateActions.replaceChildren();
      else if (confirming === 'enable') {
        stateActions.replaceChildren(confirmGroup('Confirmer la réactivation du compte de ' + u.displayName,
          'Réactiver le compte de ' + u.displayName + NBSP + '? Il pourra de nouveau se connecter.',
          'Oui, réactiver', false, (b) => setEnabled(true, b)));
      } else {
        const b = h('button', { type: 'button', class: 'button', id: 'reactiver' }, 'Réactiver le compte');
        b.addEventListener('click', () => ask('enable'));
        stateActions.replaceChildren(b);
      }
    }
    edit.hidden = false;
  }

  function ask(what) {
    confirming = what;
    errors.replaceChildren();
    renderEdit();
    const yes = edit.querySelector('[data-action="confirm"]');
    if (yes) yes.focus();
  }

  async function openEdit(login) {
    errors.replaceChildren();
    $('e-password').replaceChildren();
    confirming = null;
    try {
      current = await S.api.get('/users/' + encodeURIComponent(login));
    } catch (err) {
      failed(err, 'Le compte «' + NBSP + login + NBSP + '» n\u2019a pas pu être lu');
      return;
    }
    renderEdit();
    $('h-edition').focus();
  }

  /** Puts the saved account in place: the form and its row. */
  function saved(u) {
    current = u;
    confirming = null;
    renderEdit();
    search();
  }

  editForm.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    const u = current;
    if (!u) return;
    errors.replaceChildren();
    const body = { version: u.version };
    const name = $('e-name').value.trim();
    if (!name) {
      markInvalid($('e-name'));
      S.alertBox(errors, 'error', [h('p', {}, h('strong', {}, 'Indiquez le nom du compte.'))], { focus: true });
      return;
    }
    if (name !== u.displayName) body.displayName = name;
    if (!$('e-group-field').hidden && !$('e-group').disabled && $('e-group').value !== (u.adminGroup || '')) {
      body.adminGroup = $('e-group').value;
    }
    if (!$('e-profile-field').hidden && $('e-profile').value && $('e-profile').value !== (u.profile || '')) {
      body.profile = $('e-profile').value;
    }
    const ent = $('e-ent').value.trim();
    if (ent !== (u.entId || '')) body.entId = ent; // "" unlinks
    if (Object.keys(body).length === 1) {
      say(announce, 'info', 'Aucune modification à enregistrer.');
      return;
    }
    const button = $('enregistrer');
    busy(button, true);
    try {
      const v = await S.api.patch('/users/' + encodeURIComponent(u.login), body);
      say(announce, 'ok', 'Le compte de ' + v.displayName + ' (' + v.login + ') est enregistré.' +
        (body.adminGroup !== undefined ? ' Ses connexions en mode administratif ont été fermées.' : '') +
        (body.entId === undefined ? '' : v.entId ? ' Identifiant ENT' + NBSP + ': ' + v.entId + '.' : ' Il n\u2019est plus relié à l\u2019ENT.'));
      saved(v);
    } catch (err) {
      failed(err, 'Le compte n\u2019a pas été enregistré', { displayName: $('e-name'), adminGroup: $('e-group'), profile: $('e-profile'), entId: $('e-ent') });
    } finally {
      busy(button, false);
    }
  });

  async function setEnabled(enabled, button) {
    const u = current;
    busy(button, true);
    try {
      const v = await S.api.patch('/users/' + encodeURIComponent(u.login), { enabled, version: u.version });
      say(announce, 'ok', enabled
        ? 'Le compte de ' + v.displayName + ' (' + v.login + ') est réactivé' + NBSP + ': il peut de nouveau se connecter.'
        : 'Le compte de ' + v.displayName + ' (' + v.login + ') est désactivé' + NBSP + ': ses connexions ont été fermées et ses places libérées.');
      saved(v);
      $('h-edition').focus();
    } catch (err) {
      confirming = null;
      renderEdit();
      failed(err, enabled ? 'Le compte n\u2019a pas été réactivé' : 'Le compte n\u2019a pas été désactivé');
    }
  }

  async function resetPassword(button) {
    const u = current;
    busy(button, true);
    try {
      const r = await S.api.post('/users/' + encodeURIComponent(u.login) + '/password', {});
      confirming = null;
      // The reset wrote the account: read its new version, for the next save.
      try {
        current = await S.api.get('/users/' + encodeURIComponent(u.login));
      } catch (err) {
        /* the save will say "conflict" and offer to reload */
      }
      renderEdit();
      showPassword($('e-password'), u, r.password, 'Nouveau mot de passe de ' + u.displayName);
    } catch (err) {
      confirming = null;
      renderEdit();
      failed(err, 'Le mot de passe n\u2019a pas été réinitialisé');
    }
  }

  $('fermer').addEventListener('click', () => {
    const login = current && current.login;
    current = null;
    edit.hidden = true;
    $('e-password').replaceChildren();
    const b = login && tbody.querySelector('tr[data-login="' + CSS.escape(login) + '"] button[data-action="edit"]');
    if (b) b.focus();
    else $('h-liste').focus();
  });

  /* ---- Creating an account ---- */

  function syncCreate() {
    const kind = $('c-kind').value;
    const staff = kind === 'staff';
    $('c-group-field').hidden = !staff;
    $('c-group').disabled = !canSPR;
    $('c-group-hint').textContent = canSPR
      ? 'Pour un personnel qui utilisera le mode administratif.'
      : 'Les utilisateurs administratifs sont créés par le superviseur (SPR) seul.';
    const mode = profileMode(kind);
    $('c-profile-field').hidden = !mode;
    if (mode) fillProfiles($('c-profile'), kind, $('c-profile').dataset.kind === kind ? $('c-profile').value : '');
    $('c-profile').dataset.kind = kind;
  }
  $('c-kind').addEventListener('change', syncCreate);

  createForm.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    errors.replaceChildren();
    $('c-password').replaceChildren();
    const fields = { login: $('c-login'), displayName: $('c-name'), kind: $('c-kind'), adminGroup: $('c-group'), profile: $('c-profile') };
    const body = { login: fields.login.value.trim(), displayName: fields.displayName.value.trim(), kind: fields.kind.value };
    const problems = [];
    if (!body.login) problems.push([fields.login, 'Indiquez l\u2019identifiant du compte.']);
    if (!body.displayName) problems.push([fields.displayName, 'Indiquez le nom du compte.']);
    if (problems.length) {
      for (const [el] of problems) markInvalid(el);
      S.alertBox(errors, 'error', problems.length === 1
        ? [h('p', {}, h('strong', {}, problems[0][1]))]
        : [h('p', {}, h('strong', {}, 'Des champs sont à corriger' + NBSP + ':')), h('ul', {}, problems.map((p) => h('li', {}, p[1])))],
      { focus: true });
      return;
    }
    if (!$('c-group-field').hidden && !fields.adminGroup.disabled && fields.adminGroup.value) body.adminGroup = fields.adminGroup.value;
    if (!$('c-profile-field').hidden && fields.profile.value) body.profile = fields.profile.value;
    const button = $('creer');
    busy(button, true);
    try {
      const r = await S.api.post('/users', body);
      createForm.reset();
      syncCreate();
      say(announce, 'ok', 'Le compte de ' + r.user.displayName + ' (' + r.user.login + ') est créé.');
      showPassword($('c-password'), r.user, r.password, 'Compte créé' + NBSP + ': ' + r.user.displayName);
      search();
    } catch (err) {
      // The login is what already exists (the API names no field then).
      if (err.code === 'already_exists' && !(err.details && err.details.field)) markInvalid(fields.login);
      failed(err, 'Le compte n\u2019a pas été créé', fields);
    } finally {
      busy(button, false);
    }
  });

  /* ---- Loading ---- */

  const logout = $('logout');
  logout.addEventListener('click', () => S.logout(logout, errors));

  async function start() {
    me = await S.loadSession('Utilisateurs', status, errors);
    if (!me) return;
    canSPR = S.can(me, SPR_USERS);
    canResources = S.can(me, RESOURCES);
    if (!canSPR && !canResources) {
      showForbidden(null);
      return;
    }
    try {
      await loadChoices();
    } catch (err) {
      if (S.leaveOn401(err)) return;
      status.textContent = '';
      S.alertBox(errors, 'error', ['Les groupes et les profils n\u2019ont pas pu être chargés' + NBSP + ': ' + err.message]);
      return;
    }
    const p = new URLSearchParams(location.search);
    qInput.value = p.get('q') || '';
    if (p.get('type') && [...kindSelect.options].some((o) => o.value === p.get('type'))) kindSelect.value = p.get('type');
    fillGroups($('c-group'), null);
    syncCreate();
    createCard.hidden = false;
    await newSearch();
    if (forbidden) return;
    status.textContent = '';
    view.hidden = false;
  }

  start();
})();
