// Package rentree reads and writes the rentrée files of Sésame: the .zip
// written by « Préparer l'année suivante » and the .profils file of users
// and their rights. Both are read as a [sesame.RentreeSource] by the one
// merge engine of « Récupérer les utilisateurs ».
//
//	src, err := rentree.Open(f, size, sesame.DefaultRentreeLimits)
//	// err is a *sesame.ImportError: the file is refused as a whole.
//	h := src.Header()          // school, year, counts
//	ps := src.Profiles()       // groups, profiles, space settings
//	err = src.Users(ctx, func(u sesame.RentreeUser) error { … }) // streamed, re-readable
//	key := src.Digest()        // SHA-256 of the file, for idempotency
//
//	err = rentree.WriteZip(w, base, now)     // or WriteProfils
//
// # Format, version 1
//
// Everything is UTF-8 JSON. Field names are exact (case matters), every
// field listed is required unless said optional, null is never accepted,
// an unknown field refuses the file, and so does a field given twice.
// Times are RFC 3339 in UTC. Password hashes only: a clear password has
// no field to go in ("password" is an unknown field, so it is refused).
//
// # The rentrée .zip
//
// A zip archive (stored or deflated entries, no encryption, no zip64
// needed) holding exactly these five entries, in this order, and no
// others (no directories, no symbolic links):
//
// manifest.json, one JSON object:
//
//	{"format":"sesame-rentree","version":1,
//	 "school":{"uai":"0751234A","name":"Collège Jean Moulin"},
//	 "year":"2026-2027","createdAt":"2026-06-30T18:00:00Z",
//	 "counts":{"groups":3,"profiles":2,"spaces":4,"users":1234}}
//
// year is the school year of the base the file was prepared from. The
// counts are those of the four other entries' lines; they must match.
//
// groups.jsonl, the admin groups (groupes d'utilisateurs administratifs),
// one JSON object per line:
//
//	{"name":"Modification","type":"modif","grants":["notes.saisir-notes"],
//	 "autoDisconnect":{"enabled":true,"seconds":1800}}
//
// type is admin (the Administration group), modif or consult. grants are
// slugs of the permission catalogue (GET /api/v1/permissions), SPR-only
// actions excluded; the list may be empty but not missing. seconds is
// within the domain's bounds (sesame.AutoDisconnect.Validate: 60 to 43200,
// or 0 for a setting turned off). Names are 1 to 100 characters, unique per kind
// without regard to case.
//
// profiles.jsonl, the teacher and staff profiles (profils d'autorisation):
//
//	{"name":"Professeurs","mode":"teacher","grants":[…],"autoDisconnect":{…}}
//
// mode is teacher or vie-scolaire.
//
// spaces.jsonl, the setting of each space, at most one line per space:
//
//	{"space":"parent","autoDisconnect":{"enabled":true,"seconds":1800}}
//
// space is parent, student, company or academy.
//
// users.jsonl, one user per line:
//
//	{"login":"prof.martin","displayName":"M. Martin","kind":"teacher",
//	 "enabled":true,"supervisor":false,"passwordHash":"$argon2id$v=19$…",
//	 "adminGroup":"Modification","profile":"Professeurs"}
//
// kind is staff, teacher, parent, student, mentor or inspector. Logins
// are 1 to 64 letters, digits and . - _ @, unique without regard to case.
// displayName is 1 to 200 characters. Optional: supervisor (false),
// passwordHash (absent or "": no password; otherwise argon2id, or bcrypt of
// cost 10 or more), adminGroup and profile (the name of a group or profile,
// which need not be in the file: the target base may have it), entId (the
// account's identifiant ENT, up to 256 printable characters without spaces
// around; a recovery that updates an account never drops its link).
//
// # The .profils file
//
// JSON Lines (one object per line, "\n" or "\r\n"; a UTF-8 byte-order
// mark is tolerated before the first line). Line 1 is the header:
//
//	{"format":"sesame-profils","version":1,
//	 "school":{"uai":"0751234A","name":"Collège Jean Moulin"},
//	 "year":"2026-2027","createdAt":"2026-06-30T18:00:00Z"}
//
// then, in this order, the group lines, the profile lines and the user
// lines, each an object with one field:
//
//	{"group":{…as in groups.jsonl…}}
//	{"profile":{…as in profiles.jsonl…}}
//	{"user":{…as in users.jsonl…}}
//
// Only staff and teachers (kinds staff and teacher); no spaces. A group or
// profile line after a user line is refused.
//
// # Reading and its limits
//
// [Open] checks the whole file before it returns, so a bad line 9000
// refuses the file before anything is applied, but keeps only the header
// and the groups, profiles and spaces; [Source.Users] reads the users
// again from the file at each call. Memory therefore does not grow with
// the file, except while Open looks for duplicate logins: it keeps a
// 64-bit keyed hash of each login and its line, some 25 bytes a user (a
// collision of two hashes is confirmed by re-reading the earlier line, so
// it never refuses a good file, and the key is random, so a file cannot
// be made to collide).
//
// Every refusal is a *sesame.ImportError with a stable Reason, the entry
// (".profils" for a .profils file), line and field when known, and a
// French message. The checks, in order, with [sesame.RentreeLimits]:
//
//   - the file's size (MaxCompressedIn): too_large;
//   - its first bytes: "PK\x03\x04" is a .zip, "{" a .profils; anything
//     else is not_a_zip (or wrong_format for other JSON);
//   - for a .zip, before the archive's directory is parsed: the end of
//     central directory record (and its zip64 form) is read directly and
//     more than MaxEntries entries are refused (too_many_entries); the
//     directory must hold exactly the entries announced, ending where the
//     record says (truncated otherwise), so that archive/zip parses no
//     more than MaxEntries headers;
//   - for each entry, before inflating: its name (unsafe_path for
//     absolute paths, "..", backslashes, drive letters; unknown_entry;
//     duplicate_entry), its type (symlink; unknown_entry for directories
//     and other special files), its method (schema unless stored or
//     deflated, or if encrypted), its declared size (MaxEntrySize, and
//     MaxTotalSize for all entries: too_large) and its declared ratio
//     uncompressed ÷ max(compressed, 1) (MaxRatio: compression_ratio);
//     then the order of the entries (missing_entry, schema);
//   - while inflating, the actual bytes: an entry that holds more than it
//     declared is refused (too_large), one that holds less or whose
//     checksum differs is refused (truncated);
//   - the manifest or header: format (wrong_format), version
//     (wrong_version), then its fields (bad_manifest);
//   - each line: at most MaxLineSize bytes (line_too_long), valid UTF-8,
//     exactly one JSON object, the exact fields above, the right types,
//     the values above (schema, bad_hash), duplicates (duplicate_login,
//     duplicate_name), MaxUsers users (too_many_users) and MaxProfiles
//     groups, profiles and spaces together (too_large);
//   - the counts of the manifest: more than MaxUsers users or MaxProfiles
//     groups, profiles and spaces announced are refused before they are
//     read; counts that differ from what the entries hold are refused
//     (schema).
//
// The reasons too_large and too_many_users set ImportError.TooLarge
// (HTTP 413); the others are refusals of content (422). Another error
// from Open is a failure of the ReaderAt itself (a disk, a network), not
// of the file. Users checks every line again as it reads it, and returns
// [ErrChanged] if the file no longer holds what Open checked.
//
// Left to the merge engine, since the target base decides them: a user's
// adminGroup or profile naming a group or profile absent from the file;
// whether grants are within their mode's ceiling (sesame.Profile.Validate);
// the lower bound of an enabled automatic disconnection; the rules between
// a user's kind, groups and supervisor flag (sesame.User.Validate).
//
// # Writing
//
// [WriteZip] and [WriteProfils] write the format above from any source,
// streaming the users, and refuse a source that Open would refuse (an
// unknown grant, a clear password, a duplicate name…). The entries are
// deflated, except a small entry that would compress more than 50 to 1
// (many groups with the same grants), which is stored so as to stay far
// from MaxRatio. The zip's timestamps are the given time. The output is
// deterministic: the same source and the same time give the same bytes,
// hence the same digest.
package rentree
