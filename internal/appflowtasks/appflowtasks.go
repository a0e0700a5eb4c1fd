// Package appflowtasks builds the task list both AppFlow flows need: one
// projection of the source fields, then one mapping per field. AppFlow
// refuses a flow without a projection (or map_all) task.
package appflowtasks

import (
	"github.com/aws/aws-cdk-go/awscdk/v2/awsappflow"
	"github.com/aws/jsii-runtime-go"
)

// Field maps one source field to one destination field.
type Field struct{ Source, Destination string }

// ProjectAndMap returns a Filter/PROJECTION task over every source field and
// a Map/NO_OP task per field. operator builds the connector-keyed operator,
// e.g. {Marketo: op} or {S3: op}.
func ProjectAndMap(operator func(op string) *awsappflow.CfnFlow_ConnectorOperatorProperty, fields []Field) *[]interface{} {
	sources := make([]string, 0, len(fields))
	for _, f := range fields {
		sources = append(sources, f.Source)
	}
	tasks := []interface{}{&awsappflow.CfnFlow_TaskProperty{
		TaskType:          jsii.String("Filter"),
		ConnectorOperator: operator("PROJECTION"),
		SourceFields:      jsii.Strings(sources...),
	}}
	for _, f := range fields {
		tasks = append(tasks, &awsappflow.CfnFlow_TaskProperty{
			TaskType:          jsii.String("Map"),
			ConnectorOperator: operator("NO_OP"),
			SourceFields:      jsii.Strings(f.Source),
			DestinationField:  jsii.String(f.Destination),
		})
	}
	return &tasks
}
