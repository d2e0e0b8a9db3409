package sesame

import _ "embed"

// Template is the SAM template (template.yaml) the binary was built with.
// The command line creates a missing DynamoDB table from its declaration,
// as the tests do, so the schema is written in one place.
//
//go:embed template.yaml
var Template []byte
