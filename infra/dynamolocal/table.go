package dynamolocal

import (
	"context"

	"github.com/sesame-ecole/sesame/infra/tabledef"
)

// CreateTableFromTemplate creates the table declared in the SAM template at
// templatePath under the name tableName, waits until it is ACTIVE and enables
// its TTL; see tabledef.Create.
func CreateTableFromTemplate(ctx context.Context, client tabledef.API, templatePath, tableName string) error {
	spec, err := tabledef.Load(templatePath)
	if err != nil {
		return err
	}
	return tabledef.Create(ctx, client, spec, tableName)
}
