// Package functions holds the Lambda functions of the hosted deployment,
// one folder each, and their shared test fixtures:
//
//	functions/login       POST /api/v1/login
//	functions/seats       /session, /heartbeat, /logout, /connections
//	functions/authorize   /authorize, /permissions, /openapi.json
//	functions/recover     /uploads, /uploads/{id}, /recoveries,
//	                      /recoveries/{id}/apply, /next-year, and the S3
//	                      events of the import bucket's imports/ prefix
//	functions/admin       /users, /groups, /profiles, /spaces (and their
//	                      /{id} or /{login}), /users/{login}/password,
//	                      /journal, /journal.csv, /usage
//	functions/internal/fn the wiring they share: environment → DynamoDB
//	                      store → service (timing, and the journal's
//	                      retention from SESAME_JOURNAL_RETENTION_DAYS) →
//	                      httpapi (their routes only) → API Gateway HTTP
//	                      API (payload 2.0) adapter; for
//	                      recover, recoverfn.Dispatch tells S3 events from HTTP
//	                      ones by their shape
//	functions/internal/s3trigger
//	                      the import bucket's trigger: options from the
//	                      object's metadata, the recovery engine, a report
//	                      under reports/, once per object version
//	functions/testdata    API Gateway v2 events, as CloudFront and the
//	                      HTTP API deliver them, and S3 notifications
//	                      (s3-*.json)
//
// httpapi.Routes names the function of each route; template.yaml declares
// the same routes on the same functions, and the Makefile's
// build-<LogicalId> targets build them (make build-LoginFunction). The
// tests in this folder check all three against each other, and feed the
// fixtures through each function's real handler.
package functions
