// Package tabledef reads the DynamoDB table declared in the project's SAM
// template (template.yaml at the repository root) and turns it into the
// requests that create the same table elsewhere: DynamoDB Local in tests, or
// a missing table created by `sesame --create-table`.
//
// The template is the schema of record, so the tests and the CLI cannot drift
// from what CloudFormation deploys. Only the properties that shape the data
// are translated: AttributeDefinitions, KeySchema, GlobalSecondaryIndexes,
// LocalSecondaryIndexes, BillingMode, ProvisionedThroughput,
// StreamSpecification and TimeToLiveSpecification. Those must be literal
// values; other properties (SSE, point-in-time recovery, tags, …) may use
// CloudFormation intrinsic functions (!Ref, !Sub, !GetAtt, …) and are ignored.
//
// Go cannot embed a file from a parent directory, so this package takes the
// template's bytes ([Parse]) or its path ([Load]); a binary that must work
// away from the repository should embed template.yaml from the root package.
package tabledef
