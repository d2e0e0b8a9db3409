/* Sésame — the Connexion via l'ENT page (/ent).
   The school's identity providers (the ENT, ÉduConnect), the SPR's
   (spr.securite): listed (GET /api/v1/providers), added (POST), edited
   (PUT /api/v1/providers/{id} with the version read) and deleted (DELETE
   with ?version=). The client secret is write-only: the API answers only
   hasSecret, the field is never filled, and an edit that leaves it empty
   keeps the stored one (the API's rule). Every rule is the server's: the
   page sends what was typed for the chosen protocol and shows the API's
   French message beside the form. */
'use strict';

(function () {
  const S = window.Sesame;
  const { h, $, NBSP, busy, markInvalid } = S;

  const status = $('statut');
  const announce = $('annonce');
  const errors = $('erreur');
  const view = $('vue');
  const tbody = $('providers').tBodies[0];
  const card = $('edition');
  const form = $('form-ent');
  const formErrors = $('form-erreur');
  const secret = $('p-secret');

  // The inputs of the API's fields, by the name the API gives them in
  // error.field.
  const fields = {
    id: $('p-id'),
    displayName: $('p-name'),
    issuer: $('p-issuer'),
    clientId: $('p-client'),
    clientSecret: secret,
    metadataUrl: $('p-metadata-url'),
    metadataXml: $('p-metadata-xml'),
    casUrl: $('p-cas'),
    claim: $('p-claim'),
    protocol: form.querySelector('input[name="protocol"]'),
    kinds: form.querySelector('input[name="kinds"]'),
  };
  // The settings of each protocol: the only ones sent for it.
  const settings = {
    oidc: ['issuer', 'clientId', 'clientSecret'],
    saml: ['metadataUrl', 'metadataXml'],
    cas: ['casUrl'],
  };

  let providers = [];
  let current = null; // the provider being edited, as last read; null: a new one
  let confirming = null; // the id whose deletion waits for its confirmation
  let opener = null; // what to give the focus back to when the form closes

  function say(region, kind, text) {
    S.alertBox(region, kind, text ? [text] : []);
  }

  /* ---- Errors ---- */

  function clearInvalid() {
    for (const el of form.querySelectorAll('[aria-invalid]')) el.removeAttribute('aria-invalid');
  }

  /** Explains a failed call in region, with the API's message; a conflict offers to reload. */
  function failed(err, what, region) {
    if (S.leaveOn401(err)) return;
    const lines = [h('p', {}, h('strong', {}, what + NBSP + ':')), h('p', { class: 'detail', 'data-code': err.code }, err.message)];
    if (err.code === 'conflict') {
      const reload = h('button', { type: 'button', class: 'button button-small', id: 'recharger' }, 'Recharger les services');
      reload.addEventListener('click', reloadAfterConflict);
      lines.push(h('p', {}, reload));
    }
    const field = err.details && err.details.field;
    if (field && fields[field]) markInvalid(fields[field]);
    S.alertBox(region, 'error', lines, { focus: true });
  }

  async function reloadAfterConflict() {
    const id = current && current.id;
    if (!(await load())) return;
    formErrors.replaceChildren();
    errors.replaceChildren();
    const p = id && providers.find((x) => x.id === id);
    if (p && !card.hidden) openForm(p);
    else $('h-liste').focus();
    say(announce, 'info', 'Les services de connexion sont rechargés' + NBSP + ': voici leurs réglages actuels.');
  }

  function showForbidden(err) {
    view.hidden = true;
    status.textContent = '';
    S.alertBox(errors, 'error', [
      h('p', {}, h('strong', {}, err.message)),
      h('p', {}, 'Cette page est réservée au superviseur (SPR), connecté en mode administratif. ',
        h('a', { href: '/accueil' }, 'Revenir à l\u2019accueil')),
    ]);
  }

  /* ---- The list ---- */

  function kindsLabel(kinds) {
    return S.capitalize(kinds.map((k) => S.kindLabel(k)).join(', '));
  }

  function options(p) {
    const out = [];
    if (p.protocol === 'oidc') {
      out.push(p.hasSecret
        ? h('span', { class: 'badge badge-ok', 'data-secret': 'set' }, 'secret enregistré')
        : h('span', { class: 'badge badge-warn', 'data-secret': 'none' }, 'aucun secret'));
    }
    if (p.matchLogin) out.push(h('span', { class: 'badge' }, 'relié aussi par l\u2019identifiant'));
    if (p.singleLogout) out.push(h('span', { class: 'badge' }, 'déconnexion de l\u2019ENT'));
    return out.length ? out : '—';
  }

  function actions(p) {
    if (confirming === p.id) {
      const yes = h('button', { type: 'button', class: 'button button-danger button-small', 'data-action': 'confirm-delete' }, 'Oui, supprimer');
      const no = h('button', { type: 'button', class: 'button button-quiet button-small', 'data-action': 'cancel' }, 'Annuler');
      yes.addEventListener('click', () => remove(p, yes));
      const cancel = () => {
        confirming = null;
        render();
        focusRow(p.id, 'delete');
      };
      no.addEventListener('click', cancel);
      const group = h('div', { class: 'confirm', role: 'group', 'aria-label': 'Confirmer la suppression de ' + p.displayName },
        h('span', { class: 'confirm-text' }, 'Supprimer «' + NBSP + p.displayName + NBSP + '»' + NBSP + '? Ses utilisateurs ne pourront plus s\u2019y connecter.'),
        yes, no);
      group.addEventListener('keydown', (ev) => {
        if (ev.key === 'Escape') {
          ev.preventDefault();
          cancel();
        }
      });
      return group;
    }
    const edit = h('button', { type: 'button', class: 'button button-secondary button-small', 'data-action': 'edit', 'aria-label': 'Modifier ' + p.displayName }, 'Modifier');
    const del = h('button', { type: 'button', class: 'button button-quiet button-small', 'data-action': 'delete', 'aria-label': 'Supprimer ' + p.displayName }, 'Supprimer');
    edit.addEventListener('click', () => {
      opener = edit;
      openForm(p);
    });
    del.addEventListener('click', () => {
      confirming = p.id;
      errors.replaceChildren();
      render();
      const yes = tbody.querySelector('[data-action="confirm-delete"]');
      if (yes) yes.focus();
    });
    return [edit, ' ', del];
  }

  function render() {
    tbody.replaceChildren(...providers.map((p) => h('tr', { 'data-id': p.id },
      h('th', { scope: 'row' }, p.displayName, h('span', { class: 'sub' }, 'Identifiant' + NBSP + ': ', h('code', {}, p.id))),
      h('td', {}, p.protocolLabel),
      h('td', {}, h('code', {}, p.claim)),
      h('td', {}, kindsLabel(p.kinds)),
      h('td', {}, options(p)),
      h('td', { class: 'row-actions' }, actions(p)))));
    $('aucun').hidden = providers.length > 0;
    $('providers-wrap').hidden = providers.length === 0; // no empty stop for Tab
    // What each provider's administrator registers Sésame with: the
    // addresses and their names come from the API (registration).
    $('adresses-liste').replaceChildren(...providers.map((p) => h('div', { class: 'registration', 'data-id': p.id },
      h('h3', {}, p.displayName + ' (' + p.protocolLabel + ')'),
      h('dl', {}, ...(p.registration || []).flatMap((r) => [h('dt', {}, r.label), h('dd', {}, h('code', {}, r.value))])))));
    $('adresses').hidden = providers.length === 0;
  }

  function focusRow(id, action) {
    const b = tbody.querySelector('tr[data-id="' + CSS.escape(id) + '"] [data-action="' + action + '"]');
    if (b) b.focus();
    else $('h-liste').focus();
  }

  /** Reads the providers again; false when that failed (said in errors). */
  async function load() {
    try {
      providers = (await S.api.get('/providers')).items;
    } catch (err) {
      if (S.leaveOn401(err)) return false;
      if (err.status === 403) {
        showForbidden(err);
        return false;
      }
      status.textContent = '';
      failed(err, 'Les services de connexion n\u2019ont pas pu être chargés', errors);
      return false;
    }
    render();
    return true;
  }

  /* ---- The form ---- */

  function protocol() {
    const r = form.querySelector('input[name="protocol"]:checked');
    return r ? r.value : '';
  }

  /** Shows the settings of the chosen protocol only. */
  function syncProtocol() {
    const chosen = protocol();
    for (const part of form.querySelectorAll('.protocol-fields')) part.hidden = part.dataset.protocol !== chosen;
  }
  for (const r of form.querySelectorAll('input[name="protocol"]')) r.addEventListener('change', syncProtocol);

  /** The secret's hint: whether one is stored, and that empty keeps it. */
  function secretHint(p) {
    const kept = p && p.protocol === 'oidc' && p.hasSecret;
    $('p-secret-hint').textContent = kept
      ? 'Un secret est enregistré (jamais réaffiché)' + NBSP + ': laissez ce champ vide pour le garder, ou saisissez-en un nouveau pour le remplacer.'
      : 'Le secret que le fournisseur a donné pour Sésame. Il ne sera jamais réaffiché.';
  }

  /** Opens the form for p, or for a new provider when p is null. */
  function openForm(p) {
    current = p;
    confirming = null;
    form.reset();
    clearInvalid();
    formErrors.replaceChildren();
    errors.replaceChildren();
    const editing = p !== null;
    $('h-edition').textContent = editing ? 'Modifier «' + NBSP + p.displayName + NBSP + '»' : 'Ajouter un service de connexion';
    $('p-id-field').hidden = editing;
    $('p-id-fact').hidden = !editing;
    $('p-id-value').textContent = editing ? p.id : '';
    $('enregistrer').textContent = editing ? 'Enregistrer' : 'Ajouter le service';
    if (editing) {
      fields.displayName.value = p.displayName;
      const radio = form.querySelector('input[name="protocol"][value="' + CSS.escape(p.protocol) + '"]');
      if (radio) radio.checked = true;
      fields.issuer.value = p.issuer || '';
      fields.clientId.value = p.clientId || '';
      fields.metadataUrl.value = p.metadataUrl || '';
      fields.metadataXml.value = p.metadataXml || '';
      fields.casUrl.value = p.casUrl || '';
      fields.claim.value = p.claim;
      for (const box of form.querySelectorAll('input[name="kinds"]')) box.checked = p.kinds.includes(box.value);
      $('p-match-login').checked = p.matchLogin;
      $('p-single-logout').checked = p.singleLogout;
    }
    secret.value = ''; // write-only: never filled
    secretHint(p);
    syncProtocol();
    render();
    card.hidden = false;
    $('h-edition').focus();
  }

  function closeForm() {
    const back = opener;
    current = null;
    opener = null;
    form.reset();
    secret.value = '';
    clearInvalid();
    formErrors.replaceChildren();
    card.hidden = true;
    if (back && back.isConnected) back.focus();
    else $('h-liste').focus();
  }

  /** The body the API reads: the chosen protocol's settings only. */
  function body() {
    const chosen = protocol();
    const b = {
      protocol: chosen,
      displayName: fields.displayName.value,
      claim: fields.claim.value,
      kinds: [...form.querySelectorAll('input[name="kinds"]:checked')].map((box) => box.value),
      matchLogin: $('p-match-login').checked,
      singleLogout: $('p-single-logout').checked,
    };
    for (const name of settings[chosen] || []) {
      if (fields[name].value !== '') b[name] = fields[name].value;
    }
    return b;
  }

  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    clearInvalid();
    formErrors.replaceChildren();
    announce.replaceChildren();
    const b = body();
    const button = $('enregistrer');
    const editing = current !== null;
    busy(button, true);
    try {
      let p;
      if (editing) {
        b.version = current.version;
        p = await S.api.put('/providers/' + encodeURIComponent(current.id), b);
      } else {
        b.id = fields.id.value;
        p = await S.api.post('/providers', b);
      }
      secret.value = '';
      const i = providers.findIndex((x) => x.id === p.id);
      if (i >= 0) providers[i] = p;
      else providers.push(p);
      opener = null;
      closeForm();
      render();
      say(announce, 'ok', '«' + NBSP + p.displayName + NBSP + '» est ' + (editing ? 'enregistré' : 'ajouté') + '.' +
        (p.protocol === 'oidc' && p.hasSecret ? ' Son secret client est enregistré.' : ''));
      focusRow(p.id, 'edit');
    } catch (err) {
      failed(err, editing ? 'Le service n\u2019a pas été enregistré' : 'Le service n\u2019a pas été ajouté', formErrors);
    } finally {
      busy(button, false);
    }
  });

  $('fermer').addEventListener('click', closeForm);
  card.addEventListener('keydown', (ev) => {
    if (ev.key === 'Escape' && !ev.defaultPrevented) {
      ev.preventDefault();
      closeForm();
    }
  });
  $('ajouter').addEventListener('click', () => {
    opener = $('ajouter');
    openForm(null);
  });

  /* ---- Deleting ---- */

  async function remove(p, button) {
    busy(button, true);
    try {
      await S.api.del('/providers/' + encodeURIComponent(p.id) + '?version=' + encodeURIComponent(p.version));
      confirming = null;
      providers = providers.filter((x) => x.id !== p.id);
      if (current && current.id === p.id) closeForm();
      render();
      say(announce, 'ok', '«' + NBSP + p.displayName + NBSP + '» est supprimé' + NBSP + ': il n\u2019apparaît plus sur la page de connexion.');
      $('h-liste').focus();
    } catch (err) {
      confirming = null;
      render();
      failed(err, '«' + NBSP + p.displayName + NBSP + '» n\u2019a pas été supprimé', errors);
    }
  }

  /* ---- Loading ---- */

  const logout = $('logout');
  logout.addEventListener('click', () => S.logout(logout, errors));

  async function start() {
    const me = await S.loadSession('Connexion via l\u2019ENT', status, errors);
    if (!me) return;
    if (!(await load())) return;
    status.textContent = '';
    view.hidden = false;
  }

  start();
})();
