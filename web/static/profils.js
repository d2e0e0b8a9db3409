/* Sésame — the Groupes et profils page (/profils).
   Lists the admin groups (GET /api/v1/groups), the teacher and staff
   profiles (GET /api/v1/profiles) and the spaces' settings (GET
   /api/v1/spaces), each with what the signed-in user may change ("can").
   An editor per item:
     - the grants: the catalogue (GET /api/v1/permissions) as categories of
       actions, a checkbox each; actions outside the mode's ceiling are shown
       disabled, "non permis dans ce mode";
     - the automatic disconnection: a checkbox, then a duration in minutes
       (fractions of a minute only when the server allows less than one);
     - the name, and the type of a group.
   Saved with PATCH and the version read (a conflict says so in French);
   groups and profiles are created (POST) and deleted (DELETE) by the SPR. */
'use strict';

(function () {
  const S = window.Sesame;
  const { h, $, NBSP, busy } = S;

  const status = $('statut');
  const announce = $('annonce');
  const errors = $('erreur');
  const view = $('vue');

  // The four lists of the page: where each class of item is served and
  // shown.
  const sections = {
    group: { path: '/groups', list: 'liste-groupes', heading: 'h-groupes', what: 'Le groupe' },
    teacher: { path: '/profiles', list: 'liste-professeurs', heading: 'h-professeurs', what: 'Le profil' },
    staff: { path: '/profiles', list: 'liste-personnels', heading: 'h-personnels', what: 'Le profil' },
    space: { path: '/spaces', list: 'liste-espaces', heading: 'h-espaces', what: 'Le réglage' },
  };

  let me = null;
  let catalogue = []; // the actions a group or profile may grant, in order
  let categories = []; // [category, [actions]] in the catalogue's order
  let items = { group: [], teacher: [], staff: [], space: [] };
  let bounds = { min: 60, max: 43200 }; // autoDisconnectSeconds
  const open = new Set(); // ids of the items whose editor is open
  let confirmingDelete = null;

  function say(kind, text) {
    S.alertBox(announce, kind, text ? [text] : []);
  }

  function find(id) {
    for (const cls of Object.keys(items)) {
      const p = items[cls].find((x) => x.id === id);
      if (p) return p;
    }
    return null;
  }

  function put(p) {
    const list = items[p.class];
    const i = list.findIndex((x) => x.id === p.id);
    if (i >= 0) list[i] = p;
    else list.push(p);
  }

  /* ---- Durations in minutes ---- */

  const fractions = () => bounds.min < 60;

  /** Seconds as minutes in French: "30", "0,15". */
  function minutesText(seconds) {
    const m = seconds / 60;
    if (Number.isInteger(m)) return String(m);
    return String(Math.round(m * 100) / 100).replace('.', ',');
  }

  /** Reads a duration in minutes ("30", "0,5", "0.5"); returns {seconds} or {error}. */
  function readMinutes(text) {
    const t = text.trim().replace(',', '.');
    if (!/^\d+(\.\d+)?$/.test(t)) {
      return { error: 'Indiquez la durée d\u2019inactivité en minutes, par exemple 30.' };
    }
    const m = Number(t);
    if (!fractions() && !Number.isInteger(m)) return { error: 'Indiquez un nombre entier de minutes.' };
    const seconds = Math.round(m * 60);
    if (seconds < bounds.min || seconds > bounds.max) {
      return { error: 'La durée doit être comprise entre ' + S.duration(bounds.min) + ' et ' + S.duration(bounds.max) + '.' };
    }
    return { seconds };
  }

  function boundsHint() {
    const text = 'Entre ' + minutesText(bounds.min) + ' et ' + minutesText(bounds.max) + ' minutes.';
    return fractions() ? text + ' Les fractions de minute sont permises (0,5 = 30 secondes).' : text;
  }

  function autoText(ad) {
    return ad.enabled
      ? 'Déconnexion automatique après ' + S.duration(ad.seconds) + ' d\u2019inactivité'
      : 'Sans déconnexion automatique';
  }

  /* ---- Ceilings ---- */

  /** The ceiling of an admin group of type t, from the catalogue. */
  function groupCeiling(t) {
    const access = t === 'consult' ? 'consult' : 'modify';
    return catalogue.filter((a) => a.allowedIn.some((x) => x.mode === 'admin' && x.access === access)).map((a) => a.slug);
  }

  /* ---- One item ---- */

  function typeBadge(p) {
    if (p.class !== 'group') return null;
    const names = { admin: 'administration', modif: 'modification', consult: 'consultation' };
    return h('span', { class: 'badge', 'data-type': p.type }, names[p.type] || p.type);
  }

  function summary(p) {
    const parts = [];
    if (p.class !== 'space') {
      parts.push(S.plural(p.grants.length, 'action autorisée', 'actions autorisées') + ' sur ' + p.ceiling.length + ' permises dans ce mode');
    }
    parts.push(autoText(p.autoDisconnect));
    return parts.join(' · ');
  }

  function editable(p) {
    const c = p.can || {};
    return Boolean(c.rename || c.type || c.grants || c.autoDisconnect || c.delete);
  }

  function renderItem(p) {
    const pid = p.id;
    const isOpen = p.class === 'space' || open.has(pid);
    const badges = [typeBadge(p)];
    if (p.protected && p.type === 'admin') badges.push(h('span', { class: 'badge badge-warn', 'data-protected': '' }, 'protégé'));
    else if (p.protected && p.class !== 'space') badges.push(h('span', { class: 'badge' }, 'par défaut'));
    const head = h('div', { class: 'profile-head' },
      h('div', {},
        h('h3', { id: 'ph-' + pid, tabindex: '-1' }, h('span', { class: 'profile-name' }, p.name), ' ', badges.filter(Boolean)),
        h('p', { class: 'sub', id: 'ps-' + pid }, summary(p))));
    if (p.class !== 'space') {
      const toggle = h('button', {
        type: 'button',
        class: 'button button-secondary button-small',
        'data-action': 'toggle',
        'aria-expanded': isOpen ? 'true' : 'false',
        'aria-controls': 'pe-' + pid,
        'aria-describedby': 'ph-' + pid,
      }, isOpen ? 'Fermer' : (editable(p) ? 'Modifier' : 'Voir'));
      toggle.addEventListener('click', () => {
        if (open.has(pid)) open.delete(pid);
        else open.add(pid);
        confirmingDelete = null;
        rerender(pid);
        const again = document.querySelector('#p-' + CSS.escape(pid) + ' [data-action="toggle"]');
        if (again) again.focus();
      });
      head.append(toggle);
    }
    return h('article', { class: 'profile', id: 'p-' + pid, 'data-id': pid, 'data-name': p.name, 'aria-labelledby': 'ph-' + pid },
      head, isOpen ? editor(p) : null);
  }

  function rerender(pid) {
    const p = find(pid);
    const old = document.getElementById('p-' + pid);
    if (p && old) old.replaceWith(renderItem(p));
  }

  function renderList(cls) {
    const box = $(sections[cls].list);
    const list = items[cls];
    box.replaceChildren(...list.map(renderItem));
    if (!list.length) box.append(h('p', { class: 'empty' }, 'Aucun pour le moment.'));
  }

  /* ---- The editor ---- */

  function editor(p) {
    const pid = p.id;
    const c = p.can || {};
    const form = h('form', { class: 'profile-editor', id: 'pe-' + pid, novalidate: true, 'aria-labelledby': 'ph-' + pid });
    if (p.protected && p.class !== 'space') form.append(h('p', { class: 'note', id: 'pp-' + pid }, p.protected));

    if (p.class !== 'space') {
      const nameHint = c.rename ? null : h('span', { class: 'hint', id: 'pn-hint-' + pid },
        p.type === 'admin' ? 'Le nom du groupe Administration ne change pas.' : 'Seul le superviseur (SPR) renomme les groupes et les profils.');
      form.append(h('div', { class: 'field' },
        h('label', { for: 'pn-' + pid }, p.class === 'group' ? 'Nom du groupe' : 'Nom du profil'),
        nameHint,
        h('input', { type: 'text', id: 'pn-' + pid, name: 'name', maxlength: '100', value: p.name, autocomplete: 'off',
          disabled: !c.rename, 'aria-describedby': nameHint ? 'pn-hint-' + pid : null })));
    }
    if (p.class === 'group') form.append(typeField(p));
    if (p.class !== 'space') form.append(grantsEditor(p, p.ceiling));
    form.append(autoField(p));

    const actions = h('div', { class: 'actions' });
    const anything = c.rename || c.type || c.grants || c.autoDisconnect;
    actions.append(h('button', { type: 'submit', class: 'button', 'data-action': 'save', disabled: !anything }, 'Enregistrer'));
    if (!anything) actions.append(h('span', { class: 'hint' }, 'Vous pouvez consulter ce réglage, mais pas le modifier.'));
    if (c.delete) {
      if (confirmingDelete === pid) {
        const yes = h('button', { type: 'button', class: 'button button-danger button-small', 'data-action': 'confirm-delete' }, 'Oui, supprimer');
        const no = h('button', { type: 'button', class: 'button button-quiet button-small', 'data-action': 'cancel-delete' }, 'Annuler');
        yes.addEventListener('click', () => remove(p, yes));
        no.addEventListener('click', () => {
          confirmingDelete = null;
          rerender(pid);
          const b = document.querySelector('#p-' + CSS.escape(pid) + ' [data-action="delete"]');
          if (b) b.focus();
        });
        const group = h('div', { class: 'confirm', role: 'group', 'aria-label': 'Confirmer la suppression de ' + p.name },
          h('span', { class: 'confirm-text' }, 'Supprimer «' + NBSP + p.name + NBSP + '»' + NBSP + '?'), yes, no);
        group.addEventListener('keydown', (ev) => {
          if (ev.key === 'Escape') {
            ev.preventDefault();
            no.click();
          }
        });
        actions.append(group);
      } else {
        const del = h('button', { type: 'button', class: 'button button-secondary', 'data-action': 'delete' }, 'Supprimer');
        del.addEventListener('click', () => {
          confirmingDelete = pid;
          rerender(pid);
          const yes = document.querySelector('#p-' + CSS.escape(pid) + ' [data-action="confirm-delete"]');
          if (yes) yes.focus();
        });
        actions.append(del);
      }
    }
    form.append(actions);
    form.addEventListener('submit', (ev) => {
      ev.preventDefault();
      save(p, form);
    });
    return form;
  }

  function typeField(p) {
    const pid = p.id;
    const c = p.can || {};
    const fs = h('fieldset', { class: 'group-type' }, h('legend', {}, 'Type du groupe'));
    if (p.type === 'admin') {
      fs.append(h('p', { class: 'note' }, 'Administration' + NBSP + ': le groupe du superviseur (SPR), avec tous les droits.'));
      return fs;
    }
    for (const [value, label, hint] of [
      ['modif', 'Modification', 'En modification (places limitées par la licence) ou en consultation.'],
      ['consult', 'Consultation', 'En consultation seulement, sans limite de places (licence de consultation).'],
    ]) {
      const id = 'pt-' + value + '-' + pid;
      const input = h('input', { type: 'radio', id, name: 'type', value, checked: p.type === value, disabled: !c.type, 'aria-describedby': id + '-hint' });
      input.addEventListener('change', () => {
        // The grants follow the ceiling of the new type.
        const form = document.getElementById('pe-' + pid);
        const old = form.querySelector('.grants');
        const checked = new Set([...old.querySelectorAll('input[type="checkbox"]:checked')].map((x) => x.value));
        const ceiling = groupCeiling(value);
        old.replaceWith(grantsEditor(p, ceiling, [...checked].filter((s) => ceiling.includes(s))));
      });
      fs.append(h('div', { class: 'choice' }, input,
        h('div', {}, h('label', { for: id }, label), h('span', { class: 'hint', id: id + '-hint' }, hint))));
    }
    return fs;
  }

  /**
   * The grants editor: the catalogue by category, a fieldset each, with a
   * checkbox per action; actions outside ceiling are disabled and say so.
   */
  function grantsEditor(p, ceilingSlugs, grants) {
    const pid = p.id;
    const canEdit = Boolean(p.can && p.can.grants);
    const ceiling = new Set(ceilingSlugs);
    const granted = new Set(grants || p.grants);
    const why = canEdit ? null : h('p', { class: 'note', id: 'pg-why-' + pid },
      p.type === 'admin'
        ? 'Le groupe Administration a toujours tous les droits du mode administratif.'
        : p.class === 'staff'
          ? 'Seuls le superviseur (SPR) et les utilisateurs autorisés à «' + NBSP + 'Modifier les profils d\u2019autorisations des personnels' + NBSP + '» modifient ces autorisations.'
          : 'Seul le superviseur (SPR) modifie ces autorisations.');
    const count = h('span', { class: 'badge', id: 'pg-count-' + pid });
    const fs = h('fieldset', { class: 'grants', id: 'pg-' + pid, 'aria-describedby': why ? 'pg-why-' + pid : null },
      h('legend', {}, 'Autorisations ', count), why);
    const update = () => {
      const n = fs.querySelectorAll('input[type="checkbox"]:checked').length;
      count.textContent = n + ' sur ' + ceiling.size;
      for (const cat of fs.querySelectorAll('.grant-cat')) {
        const boxes = cat.querySelectorAll('input[type="checkbox"]');
        const on = [...boxes].filter((b) => b.checked).length;
        const allowed = [...boxes].filter((b) => b.dataset.outside !== 'true').length;
        cat.querySelector('.cat-count').textContent = on + ' sur ' + allowed;
      }
    };
    let i = 0;
    const cats = h('div', { class: 'grant-cats' });
    for (const [category, actions] of categories) {
      const inCeiling = actions.filter((a) => ceiling.has(a.slug)).length;
      const cat = h('fieldset', { class: 'grant-cat', 'data-category': category },
        h('legend', {}, h('span', {}, category), ' ', h('span', { class: 'badge cat-count' })));
      if (canEdit && inCeiling > 0) {
        const all = h('button', { type: 'button', class: 'button button-quiet button-small', 'aria-label': 'Tout cocher' + NBSP + ': ' + category }, 'Tout cocher');
        const none = h('button', { type: 'button', class: 'button button-quiet button-small', 'aria-label': 'Tout décocher' + NBSP + ': ' + category }, 'Tout décocher');
        const setAll = (v) => {
          for (const b of cat.querySelectorAll('input[type="checkbox"]:not(:disabled)')) b.checked = v;
          update();
        };
        all.addEventListener('click', () => setAll(true));
        none.addEventListener('click', () => setAll(false));
        cat.append(h('div', { class: 'cat-tools' }, all, none));
      }
      for (const a of actions) {
        const outside = !ceiling.has(a.slug);
        const id = 'g-' + pid + '-' + i++;
        const box = h('input', {
          type: 'checkbox', id, name: 'grant', value: a.slug, 'data-slug': a.slug,
          'data-outside': outside ? 'true' : 'false',
          checked: !outside && granted.has(a.slug),
          disabled: outside || !canEdit,
        });
        box.addEventListener('change', update);
        cat.append(h('div', { class: 'choice grant' + (outside ? ' is-outside' : '') },
          box,
          h('label', { for: id }, a.label, outside ? h('span', { class: 'outside-note' }, ' — non permis dans ce mode') : null)));
      }
      cats.append(cat);
    }
    fs.append(cats);
    update();
    return fs;
  }

  function autoField(p) {
    const pid = p.id;
    const canEdit = Boolean(p.can && p.can.autoDisconnect);
    const ad = p.autoDisconnect;
    const whyId = 'pa-why-' + pid;
    const hintId = 'pa-hint-' + pid;
    const equivId = 'pa-equiv-' + pid;
    const errId = 'pa-err-' + pid;
    const on = h('input', { type: 'checkbox', id: 'pa-on-' + pid, name: 'autoDisconnect', checked: ad.enabled, disabled: !canEdit,
      'aria-describedby': canEdit ? null : whyId });
    const minutes = h('input', {
      type: 'text', id: 'pa-min-' + pid, name: 'minutes', inputmode: 'decimal', autocomplete: 'off', spellcheck: 'false',
      class: 'short', value: minutesText(ad.seconds), disabled: !canEdit || !ad.enabled,
      'aria-describedby': [hintId, equivId, canEdit ? null : whyId].filter(Boolean).join(' '),
    });
    const equiv = h('span', { class: 'hint', id: equivId });
    const err = h('p', { class: 'field-error', id: errId, hidden: true });
    const sync = () => {
      minutes.disabled = !canEdit || !on.checked;
      const r = readMinutes(minutes.value);
      equiv.textContent = r.error ? '' : 'Soit ' + S.duration(r.seconds) + '.';
    };
    on.addEventListener('change', sync);
    minutes.addEventListener('input', () => {
      minutes.removeAttribute('aria-invalid');
      err.hidden = true;
      sync();
    });
    const fs = h('fieldset', { class: 'auto-disconnect' },
      h('legend', {}, 'Inactivité'),
      h('div', { class: 'choice' }, on, h('label', { for: 'pa-on-' + pid }, 'Déconnexion automatique')),
      h('div', { class: 'field sub-field' },
        h('label', { for: 'pa-min-' + pid }, 'Durée d\u2019inactivité avant la déconnexion (minutes)'),
        h('span', { class: 'hint', id: hintId }, boundsHint()),
        minutes, equiv, err),
      canEdit ? null : h('p', { class: 'note', id: whyId }, 'Seul le superviseur (SPR) modifie la déconnexion automatique.'));
    sync();
    return fs;
  }

  /* ---- Saving, creating, deleting ---- */

  function itemPath(p) {
    return sections[p.class].path + '/' + encodeURIComponent(p.id);
  }

  /** Explains a failed call in the alert region. */
  function failed(err, what, p) {
    if (S.leaveOn401(err)) return;
    const lines = [h('p', {}, h('strong', {}, what + NBSP + ':')), h('p', { class: 'detail', 'data-code': err.code }, err.message)];
    if (err.code === 'conflict' && p) {
      const reload = h('button', { type: 'button', class: 'button button-small', 'data-action': 'reload' }, 'Recharger «' + NBSP + p.name + NBSP + '»');
      reload.addEventListener('click', () => reloadItem(p));
      lines.push(h('p', {}, reload));
    }
    S.alertBox(errors, 'error', lines, { focus: true });
  }

  async function reloadItem(p) {
    try {
      const fresh = await S.api.get(itemPath(p));
      put(fresh);
      errors.replaceChildren();
      rerender(p.id);
      say('info', '«' + NBSP + fresh.name + NBSP + '» est rechargé' + NBSP + ': voici ses réglages actuels.');
      const hd = document.getElementById('ph-' + p.id);
      if (hd) hd.focus();
    } catch (err) {
      failed(err, '«' + NBSP + p.name + NBSP + '» n\u2019a pas pu être rechargé');
    }
  }

  async function save(p, form) {
    const c = p.can || {};
    const body = { version: p.version };
    errors.replaceChildren();
    if (c.rename) {
      const name = form.querySelector('[name="name"]').value.trim();
      if (!name) {
        form.querySelector('[name="name"]').setAttribute('aria-invalid', 'true');
        S.alertBox(errors, 'error', [h('p', {}, h('strong', {}, 'Indiquez un nom.'))], { focus: true });
        return;
      }
      if (name !== p.name) body.name = name;
    }
    if (c.type && p.class === 'group') {
      const t = form.querySelector('[name="type"]:checked');
      if (t && t.value !== p.type) body.type = t.value;
    }
    if (c.grants && p.class !== 'space') {
      const grants = [...form.querySelectorAll('input[name="grant"]:checked')].map((b) => b.value);
      const before = [...p.grants].sort().join(' ');
      if (grants.slice().sort().join(' ') !== before || body.type) body.grants = grants;
    }
    if (c.autoDisconnect) {
      const on = form.querySelector('[name="autoDisconnect"]').checked;
      const input = form.querySelector('[name="minutes"]');
      let seconds = p.autoDisconnect.seconds;
      if (on) {
        const r = readMinutes(input.value);
        if (r.error) {
          input.setAttribute('aria-invalid', 'true');
          const err = form.querySelector('.field-error');
          err.textContent = r.error;
          err.hidden = false;
          input.setAttribute('aria-describedby', input.getAttribute('aria-describedby') + ' ' + err.id);
          S.alertBox(errors, 'error', [h('p', {}, h('strong', {}, r.error))], { focus: true });
          return;
        }
        seconds = r.seconds;
      }
      if (on !== p.autoDisconnect.enabled || seconds !== p.autoDisconnect.seconds) {
        body.autoDisconnect = { enabled: on, seconds };
      }
    }
    if (Object.keys(body).length === 1) {
      say('info', 'Aucune modification à enregistrer pour «' + NBSP + p.name + NBSP + '».');
      return;
    }
    const button = form.querySelector('[data-action="save"]');
    busy(button, true);
    try {
      const saved = await S.api.patch(itemPath(p), body);
      put(saved);
      rerender(saved.id);
      say('ok', '«' + NBSP + saved.name + NBSP + '» est enregistré' + NBSP + ': ' + summary(saved) + '.');
      const again = document.querySelector('#p-' + CSS.escape(saved.id) + ' [data-action="save"]');
      if (again) again.focus();
    } catch (err) {
      busy(button, false);
      failed(err, '«' + NBSP + p.name + NBSP + '» n\u2019a pas été enregistré', p);
    }
  }

  async function remove(p, button) {
    busy(button, true);
    try {
      await S.api.del(itemPath(p) + '?version=' + encodeURIComponent(p.version));
      items[p.class] = items[p.class].filter((x) => x.id !== p.id);
      open.delete(p.id);
      confirmingDelete = null;
      renderList(p.class);
      say('ok', '«' + NBSP + p.name + NBSP + '» est supprimé.');
      $(sections[p.class].heading).focus();
    } catch (err) {
      confirmingDelete = null;
      rerender(p.id);
      failed(err, '«' + NBSP + p.name + NBSP + '» n\u2019a pas été supprimé', p);
    }
  }

  function creator(formId, inputId, cls, body) {
    const form = $(formId);
    form.addEventListener('submit', async (ev) => {
      ev.preventDefault();
      errors.replaceChildren();
      const input = $(inputId);
      const name = input.value.trim();
      if (!name) {
        input.setAttribute('aria-invalid', 'true');
        S.alertBox(errors, 'error', [h('p', {}, h('strong', {}, 'Indiquez le nom.'))], { focus: true });
        input.focus();
        return;
      }
      input.removeAttribute('aria-invalid');
      const button = form.querySelector('button[type="submit"]');
      busy(button, true);
      try {
        const p = await S.api.post(sections[cls].path, Object.assign({ name }, body(form)));
        put(p);
        open.add(p.id);
        renderList(cls);
        form.reset();
        say('ok', '«' + NBSP + p.name + NBSP + '» est créé' + NBSP + ': réglez ses autorisations et sa déconnexion automatique ci-dessous.');
        $('ph-' + p.id).focus();
      } catch (err) {
        if (err.details && err.details.field === 'name') input.setAttribute('aria-invalid', 'true');
        failed(err, '«' + NBSP + name + NBSP + '» n\u2019a pas été créé');
      } finally {
        busy(button, false);
      }
    });
  }

  creator('creer-groupe', 'cg-name', 'group', (form) => ({ type: form.querySelector('[name="type"]:checked').value }));
  creator('creer-professeurs', 'cp-teacher-name', 'teacher', () => ({ mode: 'teacher' }));
  creator('creer-personnels', 'cp-staff-name', 'staff', () => ({ mode: 'vie-scolaire' }));

  /* ---- Loading ---- */

  function showForbidden(message) {
    view.hidden = true;
    status.textContent = '';
    S.alertBox(errors, 'error', [
      h('p', {}, h('strong', {}, message)),
      h('p', {}, 'Cette page est réservée au superviseur (SPR) et aux utilisateurs administratifs autorisés à modifier les profils d\u2019autorisations. ',
        h('a', { href: '/accueil' }, 'Revenir à l\u2019accueil')),
    ]);
  }

  const logout = $('logout');
  logout.addEventListener('click', () => S.logout(logout, errors));

  async function start() {
    me = await S.loadSession('Groupes et profils', status, errors);
    if (!me) return;
    let answers;
    try {
      answers = await Promise.all([S.api.get('/permissions'), S.api.get('/groups'), S.api.get('/profiles'), S.api.get('/spaces')]);
    } catch (err) {
      if (S.leaveOn401(err)) return;
      if (err.status === 403) {
        showForbidden(err.message);
        return;
      }
      status.textContent = '';
      S.alertBox(errors, 'error', ['Les groupes et les profils n\u2019ont pas pu être chargés' + NBSP + ': ' + err.message]);
      return;
    }
    const [perms, groups, profiles, spaces] = answers;
    catalogue = perms.filter((a) => !a.sprOnly && !a.slug.startsWith('spr.'));
    const byCat = new Map();
    for (const a of catalogue) {
      if (!byCat.has(a.category)) byCat.set(a.category, []);
      byCat.get(a.category).push(a);
    }
    categories = [...byCat];
    bounds = groups.autoDisconnectSeconds || bounds;
    items = { group: groups.items, teacher: [], staff: [], space: spaces.items };
    for (const p of profiles.items) {
      if (items[p.class]) items[p.class].push(p);
    }
    for (const cls of Object.keys(items)) renderList(cls);
    const sprUsers = S.can(me, 'spr.utilisateurs');
    for (const id of ['creer-groupe', 'creer-professeurs', 'creer-personnels']) $(id).hidden = !sprUsers;
    status.textContent = '';
    view.hidden = false;
  }

  start();
})();
