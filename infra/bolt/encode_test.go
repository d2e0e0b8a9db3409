package bolt

import (
	"bytes"
	"encoding/json"
	"testing"
	"time"
)

// TestAppendJSONIsEncodingJSON holds the records that write their own
// JSON (appender) to encoding/json's bytes, for strings that need every
// kind of escape, times with and without nanoseconds or a zone, and every
// optional field present and absent.
func TestAppendJSONIsEncodingJSON(t *testing.T) {
	paris := time.FixedZone("Paris", 2*3600)
	strs := []string{"", "prof.un", "Élodie Dupré-Lefèvre", `guil"lemet`, `anti\slash`, "a<b", "a>b", "a&b", "tab\tnl\ncr\r",
		"\x00\x1f\x7f", "pas\xffde l'UTF-8", "sép\u2028\u2029", "😀 émoji", "0751234A"}
	times := []time.Time{{}, time.Date(2026, 9, 1, 8, 0, 0, 123456789, time.UTC), time.Date(2026, 9, 1, 8, 0, 0, 120000000, time.UTC),
		time.Date(2026, 12, 31, 23, 59, 59, 0, time.UTC), time.Date(2026, 9, 1, 10, 0, 0, 5, paris)}
	same := func(t *testing.T, what string, v appender, decoded any) {
		t.Helper()
		want, err := json.Marshal(v)
		if err != nil {
			t.Fatal(err)
		}
		got := v.appendJSON(nil)
		if !bytes.Equal(got, want) {
			t.Fatalf("%s:\nappendJSON   %s\nencoding/json %s", what, got, want)
		}
		if err := json.Unmarshal(got, decoded); err != nil {
			t.Fatalf("%s: decode %s: %v", what, got, err)
		}
	}
	for i, s := range strs {
		at := times[i%len(times)]
		other := times[(i+1)%len(times)]
		for _, flags := range []int{0, 1, 2, 3} {
			r := sessionRec{ID: s, UAI: s, Year: "2026-2027", Login: s, DisplayName: s, Kind: "teacher", Mode: "teacher",
				Access: "modify", CreatedAt: at, ExpiresAt: other, LastActivity: at, LastSeen: other, EndedAt: times[0]}
			if flags&1 != 0 {
				r.Supervisor, r.Pool, r.Profile, r.EndReason, r.IdleOn = true, s+"p", s+"q", "idle_timeout", true
			}
			if flags&2 != 0 {
				r.IdleAfter, r.IdleUntil = 30*time.Minute+time.Nanosecond, other
			}
			var back sessionRec
			same(t, "session "+s, r, &back)
		}
		l := leaseRec{UAI: s, Year: "2026-2027", Pool: "teacher", Login: s, Session: s, AcquiredAt: at, ExpiresAt: other}
		var back leaseRec
		same(t, "lease "+s, l, &back)
	}
}
