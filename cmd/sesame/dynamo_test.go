package main

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"

	"github.com/sesame-ecole/sesame/infra/dynamolocal"
)

// The commands on DynamoDB Local, configured as an operator would: through
// the AWS environment variables.
func TestDynamoDBStore(t *testing.T) {
	endpoint := dynamolocal.Endpoint(t)
	t.Setenv("AWS_ENDPOINT_URL_DYNAMODB", endpoint)
	t.Setenv("AWS_REGION", "eu-west-3")
	t.Setenv("AWS_ACCESS_KEY_ID", "local")
	t.Setenv("AWS_SECRET_ACCESS_KEY", "local")
	t.Setenv("AWS_PROFILE", "")
	table := dynamolocal.TableName(t)
	store := "dynamodb:" + table
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		_, _ = dynamolocal.Client(endpoint).DeleteTable(ctx, &dynamodb.DeleteTableInput{TableName: aws.String(table)})
	})

	school := []string{"school", "create", "--store", store, "--uai", uai, "--name", "Collège Jean Moulin", "--year", year, "--spr-password-stdin"}
	sesameCmd(t, pw+"\n", school...).
		refused(t, exitFailure, "La table DynamoDB « "+table+" » (ajoutez --create-table pour la créer) est introuvable. [not_found]")
	sesameCmd(t, pw+"\n", append(school, "--create-table")...).
		want(t, exitOK, []string{"Base 2026-2027 de l'établissement 0751234A (Collège Jean Moulin) créée."}, nil)
	// The table is there now: the other commands need no --create-table.
	sesameCmd(t, pw+"\n", school...).refused(t, exitFailure, "La base 2026-2027 de l'établissement 0751234A existe déjà.")
	addUser(t, store, "a001", "staff", "--admin-group", "Modification")
	addUser(t, store, "a002", "staff", "--admin-group", "Modification")
	sesameCmd(t, "", "license", "set", "--store", store, "--uai", uai, "--year", year, "--admin-seats", "1").
		want(t, exitOK, []string{"Licence : 1 connexion en mode administratif (modification)"}, nil)

	// A server on the table: the licence set above holds. The run's
	// duration counts from before the SPR's sign-in (infra/loadtest), which
	// takes seconds on a loaded machine: 6 s leaves the browsers time.
	s := serve(t, "--store", store)
	if !strings.Contains(s.stdout.String(), "(stockage "+store+")") {
		t.Errorf("stdout: %s", s.stdout)
	}
	out := sesameCmd(t, pw+"\n"+pw+"\n", "loadtest", "--url", s.url, "--uai", uai, "--year", year, "--users", "2", "--prefix", "a",
		"--mode", "admin", "--duration", "6s", "--heartbeat", "100ms", "--retry", "0", "--password-stdin", "--spr-password-stdin")
	out.want(t, exitOK, []string{"Connexions : 2 tentées, 1 réussies, 1 refusées (seats_exhausted 1).", "Aucune violation"}, nil)
}
