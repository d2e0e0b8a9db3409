/* Sésame — the domain's French labels and small rules, for the page
   scripts. GENERATED from package sesame by `go generate ./web`
   (web/cmd/webgen): do not edit; a test fails when it drifts.

   modes: Mode.Label; accesses: Access.Label; pools: Pool.Label;
   kinds: Kind.Label;
   profileModes: Kind.ProfileMode, the mode whose profiles an account of
   that kind belongs to (kinds without one are absent);
   defaultProfiles: DefaultProfileFor, the profile a new account gets;
   reasons: EndReason.Message, why a session ended (the API's 401 reasons);
   events: Event.Label, the journal's event types, in their order;
   refusals: SignInRefusals, what the sign-in page says when a sign-in or
   a logout through the school's ENT comes back refused (?raison=<code>).

   Loaded first, with defer, by every page; exposes window.SesameLabels. */
'use strict';

window.SesameLabels = Object.freeze({
  modes: Object.freeze({
    "admin": "mode administratif",
    "vie-scolaire": "mode vie scolaire",
    "teacher": "mode enseignant",
    "parent": "Espace Parents",
    "student": "Espace Élèves",
    "company": "Espace Entreprise",
    "academy": "Espace Académie",
  }),
  accesses: Object.freeze({
    "modify": "modification",
    "consult": "consultation",
  }),
  pools: Object.freeze({
    "admin-modify": "mode administratif (modification)",
    "admin-consult": "mode administratif (consultation)",
    "teacher": "mode enseignant",
    "vie-scolaire": "mode vie scolaire",
    "parent": "Espace Parents",
    "student": "Espace Élèves",
    "company": "Espace Entreprise",
    "academy": "Espace Académie",
  }),
  kinds: Object.freeze({
    "staff": "personnel",
    "teacher": "professeur",
    "parent": "parent",
    "student": "élève",
    "mentor": "maître de stage",
    "inspector": "inspecteur",
  }),
  profileModes: Object.freeze({
    "staff": "vie-scolaire",
    "teacher": "teacher",
  }),
  defaultProfiles: Object.freeze({
    "staff": "personnels",
    "teacher": "professeurs",
  }),
  reasons: Object.freeze({
    "expired": "Votre session a expiré. Reconnectez-vous.",
    "idle_timeout": "Vous avez été déconnecté après une période d’inactivité.",
    "disconnected": "Votre session a été fermée par l’établissement : déconnexion forcée ou compte désactivé.",
    "replaced": "Vous vous êtes connecté ailleurs avec le même identifiant dans ce mode : cette session a été fermée.",
    "seat_lost": "Votre connexion a été perdue (pas de signal pendant trop longtemps) et toutes les places sont occupées.",
    "logged_out": "Vous êtes déconnecté.",
    "missing": "Connectez-vous pour accéder à cette page.",
  }),
  events: Object.freeze({
    "login": "Connexion",
    "login_refused": "Connexion refusée",
    "logout": "Déconnexion",
    "idle_timeout": "Déconnexion automatique",
    "disconnected": "Déconnexion forcée",
    "seat_lost": "Connexion perdue",
    "user_created": "Utilisateur créé",
    "user_updated": "Utilisateur modifié",
    "user_disabled": "Utilisateur désactivé",
    "user_enabled": "Utilisateur réactivé",
    "password_reset": "Mot de passe réinitialisé",
    "profile_created": "Groupe ou profil créé",
    "profile_updated": "Groupe, profil ou réglage modifié",
    "profile_deleted": "Groupe ou profil supprimé",
    "recovery": "Récupération des utilisateurs",
    "provider_edited": "Connexion via l’ENT modifiée",
  }),
  refusals: Object.freeze({
    "identity_unknown": "Votre compte de l’ENT n’est relié à aucun compte Sésame de l’établissement. Demandez au superviseur (SPR) de renseigner votre identifiant ENT.",
    "provider_forbidden": "Votre type de compte ne peut pas se connecter par ce service. Utilisez votre identifiant et votre mot de passe Sésame.",
    "assertion_replayed": "Cette réponse du service de connexion a déjà servi. Recommencez la connexion depuis la page d’accueil.",
    "provider_unavailable": "Le service de connexion de l’établissement ne répond pas. Réessayez dans quelques instants, ou connectez-vous avec votre identifiant et votre mot de passe Sésame.",
    "response_refused": "La réponse du service de connexion a été refusée (connexion trop longue, ouverte dans un autre navigateur, ou réponse non valable). Recommencez la connexion.",
    "cancelled": "La connexion a été annulée sur le service de connexion.",
    "provider_misconfigured": "Le service de connexion de l’établissement est mal réglé. Prévenez le superviseur (SPR).",
    "provider_logout_refused": "Votre session Sésame est bien fermée, mais la déconnexion du service de connexion (ENT) n’a pas été confirmée. Fermez le navigateur pour quitter aussi l’ENT.",
    "seats_exhausted": "Toutes les connexions de ce mode sont occupées. Réessayez plus tard, ou demandez au superviseur (SPR) d’en libérer une.",
    "account_disabled": "Votre compte Sésame est désactivé. Adressez-vous au superviseur (SPR).",
    "mode_forbidden": "Votre compte ne peut pas entrer dans ce mode. Choisissez un autre mode de connexion.",
    "not_found": "Ce service de connexion n’existe pas pour cet établissement.",
    "unavailable": "Le service est momentanément indisponible : la connexion n’a pas abouti. Réessayez dans quelques instants.",
  }),
});
