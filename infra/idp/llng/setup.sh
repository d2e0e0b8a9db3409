#!/usr/bin/env bash
# Lay out one LemonLDAP::NG instance in $IDP_STATE (its keys, users, config and sessions); nothing is
# written elsewhere. Run by package idp (see setup.go), which then starts the portal itself.
# Inputs: IDP_ROOT (the Debian packages unpacked by fetch.sh), IDP_SRC (this folder), IDP_KEYS, IDP_STATE,
# IDP_PORT, SP_URL, and optionally OIDC_REDIRECT_URI, POST_LOGOUT_URI, SAML_SP_ENTITY, SAML_SP_ACS, SAML_SP_SLO,
# CAS_SERVICE_PREFIX.
set -euo pipefail
R=$IDP_ROOT
D=$IDP_STATE
mkdir -p "$D"/{conf,sessions/lock,cache,keys,psessions/lock}

# keys: OIDC signing key, SAML signing key with a self-signed certificate (crewjam/saml wants an
# X509Certificate in the IdP metadata). Generated once into $IDP_KEYS (a test provider's keys need
# not differ between instances; RSA generation is most of this script's time), through a rename so
# that concurrent setups never see half a folder.
if [ ! -f "$IDP_KEYS/saml.crt" ]; then
  K=$(mktemp -d "$IDP_KEYS.tmp-XXXXXX")
  openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out "$K/oidc.key" 2>/dev/null
  openssl pkey -in "$K/oidc.key" -pubout -out "$K/oidc.pub"
  openssl req -x509 -newkey rsa:2048 -nodes -days 3650 -subj "/CN=llng-test-idp" \
      -keyout "$K/saml.key" -out "$K/saml.crt" 2>/dev/null
  mv -T "$K" "$IDP_KEYS" 2>/dev/null || rm -rf "$K"   # another setup won the race: keep its keys
fi
cp "$IDP_KEYS"/* "$D/keys/"

# user store: SQLite, read by LemonLDAP::NG's DBI authentication and user modules
python3 - "$D/users.db" <<'PY'
import sqlite3, sys
c = sqlite3.connect(sys.argv[1])
c.execute("create table users (user text primary key, password text, name text, mail text, profile text, uai text)")
c.executemany("insert into users values (?,?,?,?,?,?)", [
    ('prof.martin', 'Secret123!', 'Paul Martin', 'paul.martin@ent.test', 'National_ENS', '0750001A'),
    ('eleve.durand', 'Eleve123!', 'Lucie Durand', 'lucie.durand@ent.test', 'National_ELV', '0750001A'),
])
c.commit()
PY

cat > "$D/lemonldap-ng.ini" <<INI
[all]
logLevel = ${LLNG_LOGLEVEL:-warn}
checkTime = 1
[configuration]
type = File
dirName = $D/conf
prettyPrint = 1
localStorage = Cache::FileCache
localStorageOptions = { 'namespace' => 'lemonldap-ng-config', 'default_expires_in' => 600, 'directory_umask' => '007', 'cache_root' => '$D/cache', 'cache_depth' => 3 }
[portal]
staticPrefix = /static
templateDir = $R/usr/share/lemonldap-ng/portal/templates
languages = en, fr
[handler]
status = 0
useRedirectOnError = 1
INI

sed -e "s#@SAML_SP_ENTITY@#${SAML_SP_ENTITY:-$SP_URL/saml/metadata}#g" \
    -e "s#@SAML_SP_ACS@#${SAML_SP_ACS:-$SP_URL/saml/acs}#g" \
    -e "s#@SAML_SP_SLO@#${SAML_SP_SLO:-$SP_URL/saml/slo}#g" "$IDP_SRC/sp-metadata.xml" > "$D/sp-metadata.xml"
python3 "$IDP_SRC/mkconf.py" "$R/var/lib/lemonldap-ng/conf/lmConf-1.json" "$D/conf/lmConf-1.json" "$IDP_PORT" "$D"
