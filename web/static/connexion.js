/* Sésame — the sign-in page (/).
   Shows why the last session ended (?raison=…&duree=…), signs in with
   POST /api/v1/login or through the school's ENT (GET
   /api/v1/login/sso/start) and explains every refusal in French. */
'use strict';

(function () {
  const S = window.Sesame;
  const { h, $, NBSP } = S;

  const form = $('connexion');
  const fields = {
    school: $('school'),
    login: $('login'),
    password: $('password'),
    mode: $('mode'),
    year: $('year'),
  };
  const accessField = $('access-field');
  const yearDetails = $('year-details');
  const submit = $('submit');
  const status = $('statut');
  const errors = $('erreur');
  const reasonRegion = $('raison');

  const SCHOOL_KEY = 'sesame.school';
  const MODE_KEY = 'sesame.mode';

  function stored(key) {
    try {
      return localStorage.getItem(key);
    } catch (e) {
      return null;
    }
  }
  function store(key, value) {
    try {
      localStorage.setItem(key, value);
    } catch (e) {
      /* private browsing: nothing remembered */
    }
  }

  /* ---- Why the last session ended ---- */

  // The domain's end reasons (libelles.js), "missing" (no session at all)
  // among them.
  const reasons = S.reasons;

  const reasonKinds = {
    logged_out: 'ok',
    idle_timeout: 'warn',
    disconnected: 'warn',
    replaced: 'warn',
    seat_lost: 'warn',
    expired: 'info',
    missing: 'info',
  };

  // Refusals of a sign-in through the school's ENT (GET
  // /api/v1/login/sso/callback sends the browser back with ?raison=<code>):
  // the domain's messages (libelles.js), never text from the address.
  const ssoRefusals = window.SesameLabels.refusals;

  function showReason() {
    const q = new URLSearchParams(window.location.search);
    const reason = q.get('raison');
    if (reason && Object.hasOwn(ssoRefusals, reason)) {
      const box = S.alertBox(reasonRegion, 'error', [ssoRefusals[reason]]);
      box.id = 'raison-message';
      box.dataset.reason = reason;
      return;
    }
    if (!reason || !Object.hasOwn(reasons, reason)) return; // nothing from the address is ever shown
    let text = reasons[reason];
    if (reason === 'idle_timeout') {
      const d = Number.parseInt(q.get('duree') || '', 10);
      if (d > 0 && d < 1e7) {
        text = 'Vous avez été déconnecté automatiquement après ' + S.duration(d) + ' d\u2019inactivité.';
      }
      text += ' Reconnectez-vous pour continuer.';
    }
    const box = S.alertBox(reasonRegion, reasonKinds[reason] || 'info', [text]);
    box.id = 'raison-message';
    box.dataset.reason = reason;
  }

  /* ---- The form ---- */

  function isAdmin() {
    return fields.mode.value === 'admin';
  }

  function syncAccess() {
    accessField.hidden = !isAdmin();
  }

  function access() {
    const checked = form.querySelector('input[name="access"]:checked');
    return checked ? checked.value : 'modify';
  }

  /** Marks a field wrong, and ties the error message to it. */
  function markInvalid(input, on) {
    const ids = (input.getAttribute('aria-describedby') || '').split(' ').filter((id) => id && id !== 'erreur-message');
    if (on) {
      input.setAttribute('aria-invalid', 'true');
      ids.push('erreur-message');
    } else {
      input.removeAttribute('aria-invalid');
    }
    if (ids.length) input.setAttribute('aria-describedby', ids.join(' '));
    else input.removeAttribute('aria-describedby');
  }

  function clearInvalid() {
    for (const el of form.querySelectorAll('[aria-invalid]')) markInvalid(el, false);
  }

  /** The field an error of the API is about (error.field). */
  function fieldFor(name) {
    switch (name) {
      case 'uai':
      case 'school':
        return fields.school;
      case 'login':
        return fields.login;
      case 'password':
        return fields.password;
      case 'mode':
        return fields.mode;
      case 'access':
        return form.querySelector('input[name="access"]:checked') || $('access-modify');
      case 'year':
        yearDetails.open = true;
        return fields.year;
    }
    return null;
  }

  /** Checks the fields before sending; returns the French problems. */
  function validate() {
    const problems = [];
    const school = fields.school.value.trim().toUpperCase();
    fields.school.value = school;
    const check = (input, ok, message) => {
      markInvalid(input, !ok);
      if (!ok) problems.push({ input, message });
    };
    check(fields.school, /^[0-9]{7}[A-Z]$/.test(school),
      school === ''
        ? 'Indiquez le code établissement (UAI).'
        : 'Le code établissement «' + NBSP + school + NBSP + '» est incorrect' + NBSP + ': il faut 7 chiffres puis une lettre, par exemple 0751234A.');
    check(fields.login, fields.login.value.trim() !== '', 'Indiquez votre identifiant.');
    check(fields.password, fields.password.value !== '', 'Indiquez votre mot de passe.');
    const year = fields.year.value.trim();
    const m = /^([0-9]{4})-([0-9]{4})$/.exec(year);
    const yearOK = year === '' || (m !== null && Number(m[2]) === Number(m[1]) + 1);
    check(fields.year, yearOK,
      'L\u2019année scolaire «' + NBSP + year + NBSP + '» est incorrecte' + NBSP + ': écrivez-la comme 2026-2027.');
    if (!yearOK) yearDetails.open = true;
    return problems;
  }

  function setBusy(busy) {
    submit.disabled = busy;
    form.setAttribute('aria-busy', busy ? 'true' : 'false');
    status.textContent = busy ? 'Connexion en cours…' : '';
  }

  /** Explains a refusal of the API, with the details each code carries. */
  function explain(err) {
    const d = err.details || {};
    const lines = [h('p', {}, h('strong', {}, err.message))];
    let focus = null;
    switch (err.code) {
      case 'invalid_credentials':
        lines.push('Vérifiez le code établissement, l\u2019identifiant et le mot de passe (attention aux majuscules), puis réessayez.');
        fields.password.value = '';
        focus = fields.password;
        break;
      case 'too_many_attempts': {
        const s = Number(d.retryAfterSeconds) || 0;
        if (s > 0) {
          const at = new Date(Date.now() + s * 1000).toISOString();
          lines.push(h('p', { class: 'detail', id: 'retry-at' },
            'Vous pourrez réessayer dans ' + S.duration(s) + ', à partir de ' + S.when(at, true) + '.'));
        }
        lines.push('Par sécurité, les essais sont ralentis après plusieurs mots de passe incorrects.');
        break;
      }
      case 'seats_exhausted': {
        const pool = S.poolLabel(d.pool);
        const items = [];
        if (d.limit === 0) {
          items.push(h('li', {}, 'Places ouvertes en ' + pool + NBSP + ': aucune (la licence ne le prévoit pas).'));
        } else {
          items.push(h('li', {}, 'Connexions simultanées en ' + pool + NBSP + ': ' +
            (d.limit === null || d.limit === undefined ? 'illimitées' : d.limit) + ', toutes occupées.'));
          const s = Number(d.retryAfterSeconds) || 0;
          if (s > 0) {
            const at = new Date(Date.now() + s * 1000).toISOString();
            items.push(h('li', {}, 'Une place peut se libérer dans ' + S.roughDuration(s) +
              ' (vers ' + S.when(at, true) + ')' + NBSP + ': réessayez à ce moment-là.'));
          }
        }
        lines.push(h('ul', { class: 'detail', id: 'seats-details' }, items));
        lines.push('Le superviseur (SPR) de l\u2019établissement peut voir qui est connecté et libérer une place.');
        break;
      }
      case 'mode_forbidden':
      case 'consultation_unlicensed':
        focus = fieldFor(d.field) || fields.mode;
        if (err.code === 'consultation_unlicensed') {
          lines.push('Choisissez l\u2019accès «' + NBSP + 'Modification' + NBSP + '», ou demandez la licence de consultation au superviseur de l\u2019établissement.');
        } else if (d.field !== 'year') {
          lines.push('Choisissez un autre mode de connexion.');
        }
        break;
      case 'account_disabled':
        break;
      default:
        focus = fieldFor(d.field);
    }
    if (focus) markInvalid(focus, true);
    const box = S.alertBox(errors, 'error', lines, { focus: !focus });
    box.id = 'erreur-message';
    box.dataset.code = err.code;
    if (focus) focus.focus();
  }

  /** The longest the page keeps retrying a sign-in the server cannot take now. */
  const BUSY_PATIENCE_MS = 120 * 1000;

  /**
   * The 503 answers after which the page tries a sign-in again on its own,
   * and what it says meanwhile: too many sign-ins at the same moment in
   * the school, or the service briefly out of reach (nothing was decided).
   */
  const RETRIED = {
    busy: 'L\u2019établissement reçoit beaucoup de connexions en ce moment',
    unavailable: 'Le service est momentanément indisponible',
  };

  /**
   * POST /login; while the server answers one of the RETRIED codes, says
   * so and tries again on its own after the Retry-After it gives, plus a
   * random part, so that a whole class does not come back at the same
   * instant.
   */
  async function postLogin(body) {
    const until = Date.now() + BUSY_PATIENCE_MS;
    for (;;) {
      try {
        return await S.api.post('/login', body);
      } catch (err) {
        if (!(err instanceof S.ApiError) || !Object.hasOwn(RETRIED, err.code) || Date.now() > until) throw err;
        const wait = Math.max(1, Number((err.details || {}).retryAfterSeconds) || 1) * (1 + Math.random() / 2);
        status.textContent = RETRIED[err.code] + NBSP + ': nouvel essai automatique dans ' + S.duration(Math.ceil(wait)) + '…';
        status.dataset.busy = err.code;
        await new Promise((resolve) => setTimeout(resolve, wait * 1000));
        status.textContent = 'Connexion en cours…';
        delete status.dataset.busy;
      }
    }
  }

  async function onSubmit(ev) {
    ev.preventDefault();
    if (form.getAttribute('aria-busy') === 'true') return;
    reasonRegion.replaceChildren();
    errors.replaceChildren();
    clearInvalid();
    const problems = validate();
    if (problems.length) {
      const box = S.alertBox(errors, 'error', [
        h('p', {}, h('strong', {}, problems.length === 1 ? 'Un champ est à corriger' + NBSP + ':' : 'Des champs sont à corriger' + NBSP + ':')),
        h('ul', {}, problems.map((p) => h('li', {}, p.message))),
      ]);
      box.id = 'erreur-message';
      box.dataset.code = 'form';
      problems[0].input.focus();
      return;
    }
    const body = {
      school: fields.school.value,
      login: fields.login.value.trim(),
      password: fields.password.value,
      mode: fields.mode.value,
    };
    if (isAdmin()) body.access = access();
    const year = fields.year.value.trim();
    if (year) body.year = year;

    setBusy(true);
    try {
      const session = await postLogin(body);
      store(SCHOOL_KEY, body.school);
      store(MODE_KEY, body.mode);
      S.rememberIdle(session.idle);
      status.textContent = 'Connexion réussie. Ouverture de l\u2019accueil…';
      window.location.assign('/accueil');
    } catch (err) {
      setBusy(false);
      if (err instanceof S.ApiError) {
        explain(err);
      } else {
        S.alertBox(errors, 'error', ['Une erreur inattendue est survenue' + NBSP + ': ' + err.message], { focus: true });
      }
    }
  }

  /* ---- Show / hide the password ---- */

  const toggle = $('show-password');
  toggle.addEventListener('click', () => {
    const show = fields.password.type === 'password';
    fields.password.type = show ? 'text' : 'password';
    toggle.setAttribute('aria-pressed', show ? 'true' : 'false');
    toggle.textContent = show ? 'Masquer' : 'Afficher';
    toggle.setAttribute('aria-label', show ? 'Masquer le mot de passe' : 'Afficher le mot de passe');
  });
  toggle.setAttribute('aria-label', 'Afficher le mot de passe');

  /* ---- The school's ENT (GET /api/v1/login/providers) ---- */

  const ent = $('ent');
  const entChoices = $('ent-choix');
  let entSchool = '';

  async function loadProviders() {
    const school = fields.school.value.trim().toUpperCase();
    if (school === entSchool) return;
    entSchool = school;
    entChoices.replaceChildren();
    ent.hidden = true;
    if (!/^[0-9]{7}[A-Z]$/.test(school)) return;
    let items = [];
    try {
      const res = await fetch('/api/v1/login/providers?school=' + encodeURIComponent(school), { headers: { Accept: 'application/json' } });
      if (!res.ok) return;
      items = (await res.json()).items || [];
    } catch (e) {
      return; /* the password sign-in still works */
    }
    if (school !== entSchool) return;
    for (const p of items) {
      const b = h('button', { type: 'button', class: 'button button-block button-quiet', 'aria-describedby': 'ent-hint' },
        'Se connecter avec ' + p.displayName);
      b.dataset.provider = p.id;
      b.addEventListener('click', () => leaveFor(school, p.id));
      entChoices.append(b);
    }
    ent.hidden = items.length === 0;
  }

  // leaveFor goes to the provider with the mode chosen here.
  function leaveFor(school, provider) {
    store(SCHOOL_KEY, school);
    store(MODE_KEY, fields.mode.value);
    const q = new URLSearchParams({ school, provider, mode: fields.mode.value, access: access() });
    window.location.assign('/api/v1/login/sso/start?' + q.toString());
  }

  /* ---- Start ---- */

  const school = stored(SCHOOL_KEY);
  if (school && /^[0-9]{7}[A-Z]$/.test(school)) fields.school.value = school;
  const mode = stored(MODE_KEY);
  if (mode && Object.hasOwn(S.modes, mode)) fields.mode.value = mode;

  fields.mode.addEventListener('change', syncAccess);
  form.addEventListener('submit', onSubmit);
  for (const input of Object.values(fields)) {
    input.addEventListener('input', () => markInvalid(input, false));
  }
  fields.school.addEventListener('change', loadProviders);
  fields.school.addEventListener('input', loadProviders);
  syncAccess();
  showReason();
  loadProviders();
  (fields.school.value ? fields.login : fields.school).focus();
})();
