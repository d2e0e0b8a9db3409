package dynamo_test

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/sesame-ecole/sesame"
)

// TestSearchFindsUsersWithoutSearchAttribute: a user item written before
// the search attribute existed is still found, and filtered, by a search
// (the filter lets it through and sesame.User.Matches decides).
func TestSearchFindsUsersWithoutSearchAttribute(t *testing.T) {
	st, client, table := open(t)
	ctx := context.Background()
	k := newBase(t, st, sesame.DefaultLicense)
	if err := st.CreateUser(ctx, k, sesame.User{Login: "hdupre", DisplayName: "Hélène Dupré", Kind: sesame.KindStaff, Enabled: true}); err != nil {
		t.Fatal(err)
	}
	// The item as the store wrote it before: no search attribute.
	item, err := attributevalue.MarshalMap(map[string]any{
		"PK": "BASE#" + string(k.UAI) + "#" + string(k.Year), "SK": "USER#lduprez",
		"login": "LDuprez", "displayName": "Léon Duprez", "kind": "teacher", "supervisor": false, "enabled": true,
		"passwordHash": "", "adminGroup": "", "profile": sesame.TeachersID,
		"createdAt": t0.Format(time.RFC3339Nano), "updatedAt": t0.Format(time.RFC3339Nano), "version": 1,
	})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := client.PutItem(ctx, &dynamodb.PutItemInput{TableName: &table, Item: item}); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		search string
		want   []string
	}{
		{"DUPR", []string{"hdupre", "lduprez"}},
		{"léon dupr", []string{"lduprez"}},
		{"helene", []string{"hdupre"}},
		{"leon helene", nil},
	} {
		p, err := st.ListUsers(ctx, k, sesame.UserQuery{Search: c.search})
		if err != nil {
			t.Fatal(err)
		}
		var got []string
		for _, u := range p.Users {
			got = append(got, u.Key())
		}
		if !slices.Equal(got, c.want) {
			t.Fatalf("search %q = %v, want %v", c.search, got, c.want)
		}
	}
}

// TestJournalTTL: a journal item carries the table's ttl attribute at its
// ExpiresAt (none without one); under WithTTLClock an entry whose time is
// past counts its retention from the clock, so that DynamoDB Local does
// not delete it during a test.
func TestJournalTTL(t *testing.T) {
	st, client, table := open(t)
	ctx := context.Background()
	k := newBase(t, st, sesame.DefaultLicense)
	future := time.Now().UTC().Add(time.Hour).Truncate(time.Second)
	past := t0
	entries := []sesame.JournalEntry{
		{ID: sesame.JournalID(future) + "a", At: future, Event: sesame.EventLogin, ExpiresAt: future.Add(48 * time.Hour)},
		{ID: sesame.JournalID(past) + "b", At: past, Event: sesame.EventLogin, ExpiresAt: past.Add(24 * time.Hour)},
		{ID: sesame.JournalID(past) + "c", At: past, Event: sesame.EventLogin},
	}
	for _, e := range entries {
		if err := st.AppendJournal(ctx, k, e); err != nil {
			t.Fatal(err)
		}
	}
	ttl := func(id string) (int64, bool) {
		t.Helper()
		out, err := client.GetItem(ctx, &dynamodb.GetItemInput{TableName: &table, ConsistentRead: aws.Bool(true),
			Key: map[string]types.AttributeValue{
				"PK": &types.AttributeValueMemberS{Value: "JOURNAL#" + string(k.UAI) + "#" + string(k.Year)},
				"SK": &types.AttributeValueMemberS{Value: id},
			}})
		if err != nil || len(out.Item) == 0 {
			t.Fatalf("journal item %s: %v (found %v)", id, err, len(out.Item) > 0)
		}
		var r struct {
			TTL *int64 `dynamodbav:"ttl"`
		}
		if err := attributevalue.UnmarshalMap(out.Item, &r); err != nil {
			t.Fatal(err)
		}
		if r.TTL == nil {
			return 0, false
		}
		return *r.TTL, true
	}
	if got, ok := ttl(entries[0].ID); !ok || got != entries[0].ExpiresAt.Unix() {
		t.Fatalf("ttl of an entry at a future time = %d (%v), want its ExpiresAt %d", got, ok, entries[0].ExpiresAt.Unix())
	}
	low, high := time.Now().Add(24*time.Hour-time.Minute).Unix(), time.Now().Add(24*time.Hour+time.Minute).Unix()
	if got, ok := ttl(entries[1].ID); !ok || got < low || got > high {
		t.Fatalf("ttl of a past entry under the real clock = %d (%v), want about now + 24 h (%d)", got, ok, low)
	}
	if got, ok := ttl(entries[2].ID); ok {
		t.Fatalf("an entry without ExpiresAt has ttl %d", got)
	}
	// And the journal reads them all back, newest (greatest ID) first.
	p, err := st.ListJournal(ctx, k, sesame.JournalQuery{})
	if err != nil || len(p.Entries) != 3 || p.Entries[0].ID != entries[0].ID || p.Entries[1].ID != entries[2].ID ||
		!p.Entries[1].ExpiresAt.IsZero() || !p.Entries[2].ExpiresAt.Equal(entries[1].ExpiresAt) {
		t.Fatalf("ListJournal = %+v, %v", p.Entries, err)
	}
}
