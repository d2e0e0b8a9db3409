/* Sésame — the SPR's "Récupérer les utilisateurs" page (/recuperation).
   Previews a recovery (POST /api/v1/recoveries with dryRun) from last
   year's base or from a rentrée file (POST /api/v1/uploads, then a PUT of
   the file where it says), then applies it (POST
   /api/v1/recoveries/{id}/apply). Also offers "Préparer l'année suivante":
   the downloads of GET /api/v1/next-year?format=zip|profils. */
'use strict';

(function () {
  const S = window.Sesame;
  const { h, $, NBSP } = S;

  const status = $('statut');
  const errors = $('erreur');
  const view = $('vue');
  const form = $('recuperation');
  const srcYear = $('src-year');
  const srcFile = $('src-file');
  const yearInput = $('from-year');
  const fileInput = $('file');
  const optAdd = $('opt-add');
  const optUpdate = $('opt-update');
  const previewButton = $('preview');
  const report = $('rapport');
  const applyButton = $('apply');

  const YEAR_RE = /^(\d{4})-(\d{4})$/;

  // The French names of the fields a recovery updates.
  const fieldNames = {
    displayName: 'nom',
    password: 'mot de passe',
    enabled: 'compte actif',
    adminGroup: 'groupe',
    profile: 'profil',
  };
  // What becomes of a group, a profile or a space setting.
  const actions = {
    add: 'ajouté',
    update: 'mis à jour',
    unchanged: 'inchangé',
    protected: 'protégé, laissé tel quel',
    skipped: 'ignoré',
    rejected: 'rejeté',
  };

  let plan = null; // the report of the last preview, while it can be applied
  let busy = false;
  let forbidden = false;
  let sessionYear = ''; // the school year of the session's base

  function fieldLabel(f) {
    return fieldNames[f] || f;
  }

  /** The school year before y ("2026-2027" → "2025-2026"), or "". */
  function previousYear(y) {
    const m = YEAR_RE.exec(y || '');
    if (!m) return '';
    return (Number(m[1]) - 1) + '-' + (Number(m[2]) - 1);
  }

  /* ---- The form ---- */

  function syncSource() {
    $('year-field').hidden = !srcYear.checked;
    $('file-field').hidden = !srcFile.checked;
  }
  srcYear.addEventListener('change', syncSource);
  srcFile.addEventListener('change', syncSource);

  function clearInvalid() {
    for (const el of [yearInput, fileInput, $('options')]) el.removeAttribute('aria-invalid');
  }

  /** Checks the form; returns the problems, each with what to focus. */
  function check() {
    const problems = [];
    if (!optAdd.checked && !optUpdate.checked) {
      problems.push({ el: optAdd, mark: $('options'), text: 'Choisissez «' + NBSP + 'Ajouter des utilisateurs' + NBSP + '» et/ou «' + NBSP + 'Mettre à jour des utilisateurs' + NBSP + '».' });
    }
    if (srcYear.checked) {
      const y = yearInput.value.trim();
      const m = YEAR_RE.exec(y);
      if (!y) problems.push({ el: yearInput, text: 'Indiquez l\u2019année scolaire à récupérer, par exemple ' + previousYear(sessionYear) + '.' });
      else if (!m || Number(m[2]) !== Number(m[1]) + 1) problems.push({ el: yearInput, text: 'L\u2019année «' + NBSP + y + NBSP + '» est incorrecte' + NBSP + ': écrivez-la comme 2025-2026.' });
    } else if (!fileInput.files || fileInput.files.length === 0) {
      problems.push({ el: fileInput, text: 'Choisissez le fichier .zip ou .profils à récupérer.' });
    }
    return problems;
  }

  function showProblems(problems) {
    for (const p of problems) (p.mark || p.el).setAttribute('aria-invalid', 'true');
    const lines = problems.length === 1
      ? [h('p', {}, h('strong', {}, problems[0].text))]
      : [h('p', {}, h('strong', {}, 'Des choix sont à corriger' + NBSP + ':')), h('ul', {}, problems.map((p) => h('li', {}, p.text)))];
    S.alertBox(errors, 'error', lines, { focus: true });
  }

  function setBusy(button, on) {
    busy = on;
    button.disabled = on;
    if (on) button.setAttribute('aria-busy', 'true');
    else button.removeAttribute('aria-busy');
  }

  /** Sends the file where POST /uploads says; returns the upload's id. */
  async function upload(file) {
    // The URL binds the file's exact size and type; a .profils is octet-stream.
    const contentType = /\.zip$/i.test(file.name) ? 'application/zip' : 'application/octet-stream';
    const target = await S.api.post('/uploads', { size: file.size, contentType });
    let res;
    try {
      res = await fetch(target.url, {
        method: target.method || 'PUT',
        headers: target.headers || {},
        body: file,
        credentials: 'same-origin',
        cache: 'no-store',
      });
    } catch (e) {
      throw new S.ApiError(0, {
        code: 'network',
        message: 'Le fichier n\u2019a pas pu être envoyé. Vérifiez votre connexion au réseau, puis réessayez.',
      });
    }
    if (!res.ok) {
      let body = null;
      try {
        body = (await res.json()).error;
      } catch (e) {
        body = null;
      }
      if (body && typeof body.message === 'string' && typeof body.code === 'string') throw new S.ApiError(res.status, body);
      throw new S.ApiError(res.status, {
        code: 'http_' + res.status,
        message: 'L\u2019envoi du fichier a échoué (HTTP ' + res.status + '). Réessayez dans un instant.',
      });
    }
    return target.uploadId;
  }

  async function preview() {
    if (busy || forbidden) return;
    clearInvalid();
    errors.replaceChildren();
    const problems = check();
    if (problems.length) {
      showProblems(problems);
      return;
    }
    plan = null;
    report.hidden = true;
    setBusy(previewButton, true);
    try {
      const body = { add: optAdd.checked, update: optUpdate.checked, dryRun: true };
      if (srcYear.checked) {
        body.fromYear = yearInput.value.trim();
        status.textContent = 'Lecture de la base ' + body.fromYear + '…';
      } else {
        status.textContent = 'Envoi du fichier…';
        body.upload = await upload(fileInput.files[0]);
        status.textContent = 'Lecture du fichier…';
      }
      const rep = await S.api.post('/recoveries', body);
      status.textContent = '';
      plan = rep;
      render(rep);
      $('h-rapport').focus();
    } catch (err) {
      status.textContent = '';
      failed(err, 'L\u2019aperçu a échoué');
    } finally {
      setBusy(previewButton, false);
    }
  }

  async function apply() {
    if (busy || !plan) return;
    errors.replaceChildren();
    setBusy(applyButton, true);
    status.textContent = 'Application de la récupération…';
    try {
      const rep = await S.api.post('/recoveries/' + encodeURIComponent(plan.id) + '/apply');
      status.textContent = '';
      plan = null;
      render(rep);
      $('h-rapport').focus();
    } catch (err) {
      status.textContent = '';
      failed(err, 'La récupération n\u2019a pas été appliquée');
    } finally {
      setBusy(applyButton, false);
    }
  }

  /** Explains a failed call in French; err.message is the API's own. */
  function failed(err, what) {
    if (S.leaveOn401(err)) return;
    if (err.status === 403) {
      showForbidden(err.message);
      return;
    }
    if (err.code === 'plan_stale') {
      plan = null;
      applyButton.hidden = true;
      const redo = h('button', { type: 'button', class: 'button button-small', id: 'redo' }, 'Refaire l\u2019aperçu');
      redo.addEventListener('click', preview);
      S.alertBox(errors, 'warn', [h('p', {}, h('strong', {}, err.message)), h('p', {}, redo)], { focus: true });
      return;
    }
    if (err.code === 'invalid_import') {
      if (srcFile.checked) fileInput.setAttribute('aria-invalid', 'true');
      S.alertBox(errors, 'error', [
        h('p', {}, h('strong', {}, 'Le fichier est refusé' + NBSP + ': rien n\u2019a été modifié.')),
        h('p', { class: 'detail', id: 'refus', 'data-reason': err.details.reason || '' }, err.message),
      ], { focus: true });
      return;
    }
    if (err.details && err.details.field === 'options') $('options').setAttribute('aria-invalid', 'true');
    if (err.details && err.details.field === 'fromYear') yearInput.setAttribute('aria-invalid', 'true');
    S.alertBox(errors, 'error', [h('p', {}, h('strong', {}, what + NBSP + ':')), h('p', { class: 'detail' }, err.message)], { focus: true });
  }

  /* ---- The report ---- */

  function count(id, n, label) {
    return [h('dt', {}, label), h('dd', { id: 'n-' + id, 'data-count': String(n) }, String(n))];
  }

  function list(id, title, items) {
    if (!items.length) return null;
    const hid = 'h-' + id;
    return h('section', { class: 'report-list', 'aria-labelledby': hid },
      h('h3', { id: hid }, title, ' ', h('span', { class: 'badge' }, String(items.length))),
      h('ul', { id }, items));
  }

  /** A rejected entry: where it is (line of the file), who, and why. */
  function rejection(r) {
    const where = r.line > 0 ? 'Ligne ' + r.line + (r.entry ? ' de ' + r.entry : '') : '';
    const who = r.login || '';
    return h('li', { 'data-login': who, 'data-code': r.code },
      where ? h('strong', {}, where) : h('strong', {}, who),
      where && who ? ' (' + who + ')' : '',
      NBSP + ': ' + r.message);
  }

  function sourceText(rep) {
    if (rep.source === 'sesame-base') return 'la base ' + rep.fromYear;
    return 'le fichier' + (rep.fromYear ? ' de l\u2019année ' + rep.fromYear : '');
  }

  /** "3 inchangés, 0 ignoré, 1 rejeté". */
  function rest(rep, rejected) {
    return S.plural(rep.unchanged, 'inchangé', 'inchangés') + ', ' + S.plural(rep.skipped, 'ignoré', 'ignorés') + ', ' +
      S.plural(rejected.length, 'rejeté', 'rejetés');
  }

  function render(rep) {
    const dry = rep.dryRun;
    const rejected = rep.rejected || [];
    const toAdd = rep.toAdd || [];
    const toUpdate = rep.toUpdate || [];
    const profiles = rep.profiles || [];
    report.dataset.state = dry ? 'preview' : 'applied';
    $('h-rapport').textContent = dry ? 'Aperçu de la récupération' : 'Récupération appliquée';

    const nAdd = S.plural(rep.added, dry ? 'utilisateur à ajouter' : 'utilisateur ajouté', dry ? 'utilisateurs à ajouter' : 'utilisateurs ajoutés');
    const nUpd = rep.updated + NBSP + (dry ? 'à mettre à jour' : 'mis à jour');
    const summary = [];
    if (dry && rep.alreadyApplied) {
      summary.push('Cette récupération a déjà été appliquée' + NBSP + ': l\u2019appliquer de nouveau ne changera rien.');
    } else if (dry) {
      summary.push('Depuis ' + sourceText(rep) + NBSP + ': ' + nAdd + ', ' + nUpd + ', ' + rest(rep, rejected) +
        '. Rien n\u2019est encore modifié.');
    } else if (rep.alreadyApplied) {
      summary.push('Cette récupération avait déjà été appliquée' + NBSP + ': rien n\u2019a changé.');
    } else {
      summary.push('Récupération appliquée' + NBSP + ': ' + nAdd + ', ' + nUpd + ', ' + rest(rep, rejected) + '.');
    }
    $('resume').textContent = summary.join(' ');

    $('counts').replaceChildren(
      ...count('added', rep.added, dry ? 'À ajouter' : 'Ajoutés'),
      ...count('updated', rep.updated, dry ? 'À mettre à jour' : 'Mis à jour'),
      ...count('unchanged', rep.unchanged, 'Inchangés'),
      ...count('skipped', rep.skipped, 'Ignorés'),
      ...count('rejected', rejected.length, 'Rejetés'));

    const shownProfiles = profiles.filter((p) => p.action !== 'unchanged');
    const details = [
      list('to-add', dry ? 'Utilisateurs à ajouter' : 'Utilisateurs ajoutés',
        toAdd.map((l) => h('li', { 'data-login': l }, l))),
      list('to-update', dry ? 'Utilisateurs à mettre à jour' : 'Utilisateurs mis à jour',
        toUpdate.map((u) => h('li', { 'data-login': u.login }, h('strong', {}, u.login), ' — ',
          (u.fields || []).map(fieldLabel).join(', ')))),
      list('profiles', 'Groupes et profils',
        shownProfiles.map((p) => h('li', { 'data-action': p.action },
          h('strong', {}, p.name), ' (' + S.modeLabel(p.mode) + ')' + NBSP + ': ' + (actions[p.action] || p.action),
          p.fields && p.fields.length ? ' — ' + p.fields.map(fieldLabel).join(', ') : ''))),
      profiles.length > shownProfiles.length
        ? h('p', { class: 'note' }, S.plural(profiles.length - shownProfiles.length, 'groupe ou profil inchangé', 'groupes ou profils inchangés') + '.')
        : null,
      list('rejected', 'Entrées rejetées', rejected.map(rejection)),
    ];
    if (rep.truncated) {
      details.push(h('p', { class: 'note', id: 'tronque' }, 'Les listes sont abrégées' + NBSP + ': seules les premières entrées sont montrées. Les nombres ci-dessus sont complets.'));
    }
    $('details').replaceChildren(...details.filter(Boolean));

    const changes = rep.added + rep.updated + profiles.filter((p) => p.action === 'add' || p.action === 'update').length;
    applyButton.hidden = !dry || rep.alreadyApplied || changes === 0;
    if (dry && !rep.alreadyApplied && changes === 0) {
      $('details').append(h('p', { class: 'note', id: 'rien' }, 'Rien à appliquer' + NBSP + ': la base de cette année est déjà à jour pour ces options.'));
    }
    report.hidden = false;
  }

  /* ---- Loading ---- */

  function showForbidden(message) {
    forbidden = true;
    view.hidden = true;
    status.textContent = '';
    S.alertBox(errors, 'error', [
      h('p', {}, h('strong', {}, message)),
      h('p', {}, 'Cette page est réservée au superviseur (SPR), connecté en mode administratif. ',
        h('a', { href: '/accueil' }, 'Revenir à l\u2019accueil')),
    ]);
  }

  form.addEventListener('submit', (ev) => {
    ev.preventDefault();
    preview();
  });
  applyButton.addEventListener('click', apply);
  for (const el of [optAdd, optUpdate]) el.addEventListener('change', () => $('options').removeAttribute('aria-invalid'));
  yearInput.addEventListener('input', () => yearInput.removeAttribute('aria-invalid'));
  fileInput.addEventListener('change', () => fileInput.removeAttribute('aria-invalid'));

  const logout = $('logout');
  logout.addEventListener('click', () => S.logout(logout, errors));

  async function start() {
    const me = await S.loadSession('Récupérer les utilisateurs', status, errors);
    if (!me) return;
    if (!me.user.supervisor || me.mode !== 'admin') {
      showForbidden('Seul le superviseur (SPR) peut récupérer les utilisateurs.');
      return;
    }
    sessionYear = me.school.year;
    yearInput.value = previousYear(me.school.year);
    yearInput.placeholder = previousYear(me.school.year);
    $('dl-zip').href = '/api/v1/next-year?format=zip';
    $('dl-profils').href = '/api/v1/next-year?format=profils';
    syncSource();
    status.textContent = '';
    view.hidden = false;
  }

  start();
})();
