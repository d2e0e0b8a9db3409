#!/usr/bin/env python3
"""Build lmConf-1.json for one test IdP instance from the Debian default config.

The equivalent of a Keycloak realm: the users of setup.sh (SQLite), the OIDC
confidential client 'sesame', the SAML SP of sp-metadata.xml and the CAS server.
Usage: mkconf.py <default lmConf-1.json> <output> <port> <state dir>; the
environment gives SP_URL and optionally OIDC_REDIRECT_URI and POST_LOGOUT_URI."""
import json, os, sys, time

src, dst, port, D = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4]
sp = os.environ["SP_URL"]
redirect = os.environ.get("OIDC_REDIRECT_URI") or f"{sp}/callback"
post_logout = os.environ.get("POST_LOGOUT_URI") or f"{sp}/logged-out"
portal = f"http://127.0.0.1:{port}/"
rd = lambda p: open(p).read()

c = json.load(open(src))
c.update({
    "cfgNum": 1, "cfgDate": str(int(time.time())), "cfgAuthor": "infra/idp",
    "portal": portal,
    "domain": "127.0.0.1",          # sent as ".127.0.0.1": see hostCookies in proxy.go
    "securedCookie": 0,
    # SameSite=None (its default with SAML) needs Secure, so a browser drops it on plain HTTP; the
    # requests come to this IdP by redirects (GET), which Lax cookies follow
    "sameSite": "Lax",
    "https": 0,
    "logLevel": "warn",
    "globalStorage": "Apache::Session::File",
    "globalStorageOptions": {"Directory": f"{D}/sessions", "LockDirectory": f"{D}/sessions/lock",
                              "generateModule": "Lemonldap::NG::Common::Apache::Session::Generate::SHA256"},
    "persistentStorage": "Apache::Session::File",
    "persistentStorageOptions": {"Directory": f"{D}/psessions", "LockDirectory": f"{D}/psessions/lock"},
    "localSessionStorageOptions": {"cache_depth": 3, "cache_root": f"{D}/cache", "default_expires_in": 600,
                                    "directory_umask": "007", "namespace": "lemonldap-ng-sessions"},
    "loginHistoryEnabled": 0,
    "captcha": "::Captcha::None",   # stub in llng/lib (stock one needs Image::Magick)
    "captcha_login_enabled": 0, "captcha_mail_enabled": 0, "captcha_register_enabled": 0,
    "notification": 0,
    "locationRules": {"127.0.0.1": {"default": "accept"}},
    "exportedHeaders": {},
    "applicationList": {},

    # --- users: SQLite through DBI ---
    "authentication": "DBI", "userDB": "Same", "passwordDB": "Null", "registerDB": "Null",
    "dbiAuthChain": f"dbi:SQLite:dbname={D}/users.db", "dbiAuthUser": "", "dbiAuthPassword": "",
    "dbiAuthTable": "users", "dbiAuthLoginCol": "user", "dbiAuthPasswordCol": "password",
    "dbiAuthPasswordHash": "",
    "dbiExportedVars": {"uid": "user", "cn": "name", "mail": "mail", "ent_profile": "profile", "uai": "uai"},
    "whatToTrace": "uid",

    # --- OpenID Connect provider ---
    "issuerDBOpenIDConnectActivation": 1,
    "oidcServiceMetaDataIssuer": portal.rstrip("/"),
    "oidcServicePrivateKeySig": rd(f"{D}/keys/oidc.key"),
    "oidcServicePublicKeySig": rd(f"{D}/keys/oidc.pub"),
    "oidcServiceKeyIdSig": "test-key-1",
    # two confidential clients with the same redirect URI: "sesame-other" is
    # another relying party of the same provider (another school's client)
    "oidcRPMetaDataOptions": {cid: {
        "oidcRPMetaDataOptionsClientID": cid,
        "oidcRPMetaDataOptionsClientSecret": cid + "-secret",
        "oidcRPMetaDataOptionsPublic": 0,
        "oidcRPMetaDataOptionsRedirectUris": redirect,
        "oidcRPMetaDataOptionsPostLogoutRedirectUris": post_logout,
        "oidcRPMetaDataOptionsIDTokenSignAlg": "RS256",
        "oidcRPMetaDataOptionsBypassConsent": 1,
        "oidcRPMetaDataOptionsRequirePKCE": 1,  # a code is exchanged only with its verifier
        # sesame's ID tokens carry every claim; sesame-other's only the
        # required ones, the others coming from the userinfo endpoint
        "oidcRPMetaDataOptionsIDTokenForceClaims": 1 if cid == "sesame" else 0,
        "oidcRPMetaDataOptionsDisplayName": cid,
    } for cid in ("sesame", "sesame-other")},
    "oidcRPMetaDataExportedVars": {cid: {
        "email": "mail", "name": "cn", "preferred_username": "uid",
        "ent_profile": "ent_profile", "uai": "uai"} for cid in ("sesame", "sesame-other")},
    "oidcRPMetaDataOptionsExtraClaims": {cid: {"ent": "ent_profile uai"} for cid in ("sesame", "sesame-other")},

    # --- SAML 2.0 IdP ---
    "issuerDBSAMLActivation": 1,
    "samlServicePrivateKeySig": rd(f"{D}/keys/saml.key"),
    "samlServicePublicKeySig": rd(f"{D}/keys/saml.crt"),
    "samlServicePrivateKeySigPwd": "",
    "samlServiceUseCertificateInResponse": 1,
    "samlIDPSSODescriptorWantAuthnRequestsSigned": 0,
    "samlSPMetaDataXML": {"ent-sp": {"samlSPMetaDataXML": open(f"{D}/sp-metadata.xml").read()}},
    "samlSPMetaDataOptions": {"ent-sp": {
        "samlSPMetaDataOptionsNameIDFormat": "unspecified",
        "samlSPMetaDataOptionsNameIDSessionKey": "uid",
        "samlSPMetaDataOptionsCheckSSOMessageSignature": 0,
        "samlSPMetaDataOptionsCheckSLOMessageSignature": 0,
        "samlSPMetaDataOptionsSignSSOMessage": 1,
        "samlSPMetaDataOptionsSignSLOMessage": 1,
        "samlSPMetaDataOptionsEncryptionMode": "none",
        "samlSPMetaDataOptionsOneTimeUse": 0,
        "samlSPMetaDataOptionsForceUTF8": 1,
        "samlSPMetaDataOptionsNotOnOrAfterTimeout": 72000,
        "samlSPMetaDataOptionsSessionNotOnOrAfterTimeout": 72000,
    }},
    # "mandatory;name;format;friendlyName"
    "samlSPMetaDataExportedAttributes": {"ent-sp": {
        "uid": "1;uid;urn:oasis:names:tc:SAML:2.0:attrname-format:basic",
        "mail": "0;mail;urn:oasis:names:tc:SAML:2.0:attrname-format:basic",
        "cn": "0;cn;urn:oasis:names:tc:SAML:2.0:attrname-format:basic",
        "ent_profile": "0;ent_profile;urn:oasis:names:tc:SAML:2.0:attrname-format:basic",
        "uai": "0;uai;urn:oasis:names:tc:SAML:2.0:attrname-format:basic"}},

    # --- CAS server (protocol 3: /cas/login, /cas/p3/serviceValidate) ---
    "issuerDBCASActivation": 1,
    "casAccessControlPolicy": "none",
    "casAttr": "uid",
    "casAttributes": {"cn": "cn", "mail": "mail", "uid": "uid", "ent_profile": "ent_profile"},
})
json.dump(c, open(dst, "w"), indent=2, sort_keys=True)
